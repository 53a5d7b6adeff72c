// A control node's own API endpoint (the lab's world.apiserverEndpoint is lab-only): the node's address as the
// SSH layer resolves it, and its port: inventory `kubernetes.apiserverPort` when the operator set one, else the
// --secure-port of the node's kube-apiserver manifest (also while a renewal has it parked), else what the
// load-balancer code falls back to (the apiServer URL's port), so the certificate cookbooks and the LB steps
// look at the same endpoint.
import type { Context } from '../../core/context.js';
import type { NodeEndpoint } from '../../certs/endpoint.js';
import { nodeEndpoint, securePortOf } from '../loadbalancer/hosts.js';

/** Where the kubelet reads static pod manifests. */
export const MANIFEST_DIR = '/etc/kubernetes/manifests';
/** Where manifests wait while the kubelet stops their pods: fixed, so any later run finds and restores them. */
export const PARKED_DIR = '/etc/kubernetes/tmp/cluster-cookbooks-static-pods';

/** The --secure-port of the node's kube-apiserver manifest, where it is or where a renewal parked it. */
async function manifestPort(ctx: Context, node: string): Promise<number | undefined> {
  const remote = await ctx.remote();
  for (const dir of [MANIFEST_DIR, PARKED_DIR]) {
    const r = await remote.query(node, ['cat', `${dir}/kube-apiserver.yaml`], { sudo: ctx.cluster.ssh.sudo, okExitCodes: 'any' });
    const port = r.exitCode === 0 ? securePortOf(r.stdout) : undefined;
    if (port) return port;
  }
  return undefined;
}

/** A control node's own endpoint (see the module comment). */
export async function nodeApiEndpoint(ctx: Context, node: string): Promise<NodeEndpoint> {
  const port = ctx.cluster.kubernetes.apiserverPort ?? (await manifestPort(ctx, node));
  const at = await nodeEndpoint(ctx, node, port ? [port] : []);
  return { node, address: at.address, port: at.port };
}
