// A control node's own API endpoint (the lab's world.apiserverEndpoint is lab-only): the node's address as the
// SSH layer resolves it, and its port: inventory `kubernetes.apiserverPort` when the operator set one, else the
// --secure-port of the node's kube-apiserver manifest (also while a renewal has it parked), else what the
// load-balancer code falls back to (the apiServer URL's port), so the certificate cookbooks and the LB steps
// look at the same endpoint.
import type { Context } from '../../core/context.js';
import type { NodeEndpoint } from '../../certs/endpoint.js';
import { nodeEndpoint } from '../loadbalancer/hosts.js';

export { MANIFEST_DIR, PARKED_DIR } from '../loadbalancer/hosts.js';

/** A control node's own endpoint (see the module comment). */
export async function nodeApiEndpoint(ctx: Context, node: string): Promise<NodeEndpoint> {
  const at = await nodeEndpoint(ctx, node);
  return { node, address: at.address, port: at.port };
}
