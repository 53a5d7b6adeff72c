// A control node's own API endpoint, as lib sees it (the lab's world.apiserverEndpoint is lab-only): the node's
// address as the SSH layer resolves it, and the port every kube-apiserver listens on: inventory
// `kubernetes.apiserverPort` when set, else the apiServer URL's explicit port, else kubeadm's default 6443.
import type { Context } from '../core/context.js';
import type { ClusterConfig } from '../inventory/schema.js';

/** kubeadm's default bind port of the kube-apiserver. */
export const KUBEADM_API_PORT = 6443;

/** Where one control node serves the Kubernetes API. */
export interface NodeEndpoint {
  node: string;
  address: string;
  port: number;
}

/** The port every control node's kube-apiserver listens on (see the module comment). */
export function apiserverPortOf(cluster: Pick<ClusterConfig, 'kubernetes'>): number {
  const explicit = (cluster.kubernetes as { apiserverPort?: number }).apiserverPort;
  if (explicit) return explicit;
  try {
    const port = new URL(cluster.kubernetes.apiServer).port;
    if (port) return Number(port);
  } catch {
    // The schema validated the URL; an unreadable one falls back to the default below.
  }
  return KUBEADM_API_PORT;
}

/** A control node's own endpoint: its address (as SSH resolves it) and the API port. */
export async function nodeApiEndpoint(ctx: Context, node: string): Promise<NodeEndpoint> {
  const remote = await ctx.remote();
  const [resolved] = await remote.resolveHosts([node]);
  return { node, address: resolved!.address, port: apiserverPortOf(ctx.cluster) };
}

/** `address:port` for messages (IPv6 in brackets). */
export function endpointText(e: Pick<NodeEndpoint, 'address' | 'port'>): string {
  return `${e.address.includes(':') ? `[${e.address}]` : e.address}:${e.port}`;
}
