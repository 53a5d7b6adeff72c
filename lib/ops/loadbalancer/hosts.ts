// Who the load balancers and control nodes are, and how to reach a control node's own API endpoint: shared by
// the LB steps, the LB preflight and k8s.control-plane.resize. Reads only.
import type { Context } from '../../core/context.js';
import { Haproxy } from '../../haproxy/client.js';
import { hostsOfRole, roleNames, rolePattern, roleOf } from '../../inventory/naming.js';
import type { LoadBalancersConfig } from '../../inventory/schema.js';
import type { ReadyzResult } from '../../k8s/index.js';

/** The inventory's load-balancer settings, or undefined when the cluster has none. */
export function lbSettings(ctx: Context): LoadBalancersConfig | undefined {
  return ctx.cluster.kubernetes.loadBalancers;
}

/** True when `name` is a host of a control-plane role. */
export function isControlNode(ctx: Context, name: string): boolean {
  const role = roleOf(ctx.cluster, name);
  return role !== undefined && ctx.cluster.roles[role]?.node === 'control-plane';
}

/** The inventory roles whose hosts are control nodes. */
export function controlRoles(ctx: Context): string[] {
  return roleNames(ctx.cluster).filter((r) => ctx.cluster.roles[r]!.node === 'control-plane');
}

/** The control nodes: Kubernetes Nodes named as hosts of a control-plane role, sorted. */
export async function controlNodes(ctx: Context): Promise<string[]> {
  const nodes = (await (await ctx.k8s()).listNodes()).map((n) => n.metadata?.name ?? '');
  return controlRoles(ctx).flatMap((r) => hostsOfRole(ctx.cluster, r, nodes)).sort();
}

const lbCache = new WeakMap<Context, Promise<Haproxy[]>>();

/** One HAProxy client per load-balancer host that exists as a VM (none without `kubernetes.loadBalancers`). */
export function loadBalancers(ctx: Context): Promise<Haproxy[]> {
  let p = lbCache.get(ctx);
  if (!p) {
    p = (async () => {
      const lb = lbSettings(ctx);
      const role = lb ? ctx.cluster.roles[lb.role] : undefined;
      if (!lb || !role) return [];
      const re = rolePattern(ctx.cluster, role);
      const servers = await (await ctx.openstack()).listServers({ name: re.source });
      const remote = await ctx.remote();
      const settings = { backend: lb.backend, config: lb.config, socket: lb.socket, sudo: ctx.cluster.ssh.sudo };
      return servers
        .map((s) => s.name)
        .filter((n) => re.test(n))
        .sort()
        .map((h) => new Haproxy(remote, h, settings));
    })();
    // A failed listing is not cached: the next call asks again.
    p.catch(() => lbCache.delete(ctx));
    lbCache.set(ctx, p);
  }
  return p;
}

/** The port of kubernetes.apiServer's URL (6443 when it names none): the last resort for a node's own port. */
export function apiserverPort(ctx: Context): number {
  const url = new URL(ctx.cluster.kubernetes.apiServer);
  return url.port ? Number(url.port) : 6443;
}

/** The `--secure-port` of a kube-apiserver static-pod manifest, if it sets one. */
export function securePortOf(manifest: string): number | undefined {
  const m = /--secure-port=(\d{1,5})\b/.exec(manifest);
  return m ? Number(m[1]) : undefined;
}

/** Where the kubelet reads static pod manifests. */
export const MANIFEST_DIR = '/etc/kubernetes/manifests';
/** Where a certificate renewal parks manifests while the kubelet stops their pods (fixed: any later run finds them). */
export const PARKED_DIR = '/etc/kubernetes/tmp/cluster-cookbooks-static-pods';

const portCache = new WeakMap<Context, Map<string, Promise<number>>>();

/**
 * The port the node's own API server listens on: its kube-apiserver manifest's --secure-port (where it is, or
 * where a renewal parked it), else apiserverPort(). Read once per run and node.
 */
function manifestPort(ctx: Context, name: string): Promise<number> {
  let m = portCache.get(ctx);
  if (!m) portCache.set(ctx, (m = new Map()));
  let p = m.get(name);
  if (!p) {
    p = (async () => {
      const remote = await ctx.remote();
      for (const dir of [MANIFEST_DIR, PARKED_DIR]) {
        const r = await remote.query(name, ['cat', `${dir}/kube-apiserver.yaml`], { sudo: ctx.cluster.ssh.sudo, okExitCodes: 'any', timeoutMs: 15_000 });
        const port = r.exitCode === 0 ? securePortOf(r.stdout) : undefined;
        if (port) return port;
      }
      return apiserverPort(ctx);
    })();
    p.catch(() => m.delete(name));
    m.set(name, p);
  }
  return p;
}

/**
 * A control node's own API endpoint: its SSH address (as the inventory resolves it) and the API servers' port
 * (the one the LBs' server lines use; else the inventory's kubernetes.apiserverPort; else the node's
 * kube-apiserver manifest --secure-port; else the apiServer URL's).
 */
export async function nodeEndpoint(ctx: Context, name: string, listedPorts: readonly number[] = []): Promise<{ address: string; port: number }> {
  const [resolved] = await (await ctx.remote()).resolveHosts([name]);
  const port = listedPorts[0] ?? ctx.cluster.kubernetes.apiserverPort ?? (await manifestPort(ctx, name));
  return { address: resolved!.address, port };
}

/** GET /readyz on one control node's own endpoint (the cluster's CA and credentials); never throws for not ready. */
export async function nodeReadyz(ctx: Context, endpoint: { address: string; port: number }, timeoutMs = 2000): Promise<ReadyzResult> {
  // Loaded on use: lib/k8s's transport pulls in client-node, which `cookbook list` must not load.
  const { checkReadyz } = await import('../../k8s/health.js');
  const kc = (await ctx.k8s()).kubeConfig;
  const current = kc.getCurrentCluster();
  const host = endpoint.address.includes(':') ? `[${endpoint.address}]` : endpoint.address;
  const server = `https://${host}:${endpoint.port}`;
  const copy = new (kc.constructor as new () => typeof kc)();
  copy.loadFromOptions({
    clusters: kc.clusters.map((c) => (c.name === current?.name ? { ...c, server } : c)),
    users: kc.users,
    contexts: kc.contexts,
    currentContext: kc.currentContext,
  });
  return checkReadyz(copy, { timeoutMs, signal: ctx.signal });
}
