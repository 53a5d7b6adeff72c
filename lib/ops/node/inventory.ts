// What the inventory and the cluster say about hosts: a host named by an operator checked against the
// inventory and the Node list, every host name the cluster knows (OpenStack and Kubernetes), close names for
// "did you mean", and the name a new node gets. Reads only.
import type { V1Node } from '@kubernetes/client-node';
import { closest, distance } from 'fastest-levenshtein';
import type { Context } from '../../core/context.js';
import { InputError } from '../../core/errors.js';
import { NODE_ROLES, clusterHostPattern, getRole, nextHostname, requireHostOfRole, roleOf } from '../../inventory/naming.js';
import type { ClusterConfig, RoleConfig } from '../../inventory/schema.js';
import type { Kube } from '../../k8s/index.js';
import type { Server } from '../../openstack/index.js';

/** Up to three names close to `name` (edit distance, or one containing the other), for "did you mean". */
export function closeNames(name: string, known: readonly string[]): string[] {
  const scored = [...new Set(known)]
    .map((k) => ({ k, d: distance(name, k) - (k.includes(name) || name.includes(k) ? 3 : 0) }))
    .filter(({ k, d }) => d <= Math.max(2, Math.floor(k.length / 3)))
    .sort((a, b) => a.d - b.d)
    .map(({ k }) => k);
  if (scored.length === 0 && known.length > 0) {
    const c = closest(name, [...known]);
    if (distance(name, c) <= Math.max(3, Math.floor(name.length / 2))) scored.push(c);
  }
  return scored.slice(0, 3);
}

/** The cluster host a cookbook acts on, validated: a DNS label of this cluster (and of `role`, when given). */
export function clusterHost(cluster: ClusterConfig, hostname: string, role?: string): { hostname: string; role: string } {
  requireHostOfRole(cluster, hostname, role);
  return { hostname, role: roleOf(cluster, hostname)! };
}

/** The Node of a host, or an InputError (exit 2) naming it: the operator named a host that is not a node. */
export async function requireClusterNode(kube: Kube, cluster: ClusterConfig, hostname: string): Promise<V1Node> {
  const node = await kube.getNode(hostname);
  if (!node) {
    const close = closeNames(hostname, (await kube.listNodes()).map((n) => n.metadata?.name ?? '').filter(Boolean));
    throw new InputError(`host ${hostname} is not a Kubernetes node of cluster ${cluster.name}${close.length ? `; did you mean ${close.join(', ')}?` : ''}`, {
      context: { cluster: cluster.name, hostname, suggestions: close },
      hint: 'check the name with: kubectl get nodes',
    });
  }
  return node;
}

/** A Kubernetes role (not `etcd`-style `node: none`), or an InputError listing only the node roles. */
export function requireNodeRole(cluster: ClusterConfig, roleName: string): RoleConfig {
  return getRole(cluster, roleName, NODE_ROLES);
}

/** Every host name of the cluster known to OpenStack or Kubernetes (for naming and role counts). */
export async function knownHostnames(ctx: Context): Promise<{ servers: Server[]; nodes: V1Node[]; names: Set<string> }> {
  const [os, kube] = await Promise.all([ctx.openstack(), ctx.k8s()]);
  const [servers, nodes] = await Promise.all([os.listServers({ name: clusterHostPattern(ctx.cluster) }), kube.listNodes()]);
  const names = new Set<string>([...servers.map((s) => s.name), ...nodes.map((n) => n.metadata?.name ?? '')].filter(Boolean));
  return { servers, nodes, names };
}

/** What chooseNewHostname decided, from what the cluster knows (pure: the table tests' subject). */
export type NewHostnameChoice = { hostname: string } | { refuse: 'already-a-node'; hostname: string };

/**
 * The name a new node of `roleName` gets: the requested one unless it is already a Node, else the role's next
 * index after every name the cluster knows (`known`).
 */
export function selectNewHostname(cluster: ClusterConfig, roleName: string, known: ReadonlySet<string>, requested?: string, requestedIsNode = false): NewHostnameChoice {
  if (requested) return requestedIsNode ? { refuse: 'already-a-node', hostname: requested } : { hostname: requested };
  return { hostname: nextHostname(cluster, roleName, known) };
}

/**
 * The host name a new node of `role` gets: journaled, so a resumed run finishes the same node. A requested
 * name that is already a Node is refused (exit 2): adding it again would report success over nothing.
 */
export async function chooseNewHostname(ctx: Context, roleName: string, requested?: string): Promise<string> {
  return ctx.memo(`hostname:${roleName}`, async () => {
    if (requested) clusterHost(ctx.cluster, requested, roleName);
    const isNode = requested !== undefined && (await (await ctx.k8s()).getNode(requested)) !== undefined;
    const choice = selectNewHostname(ctx.cluster, roleName, requested ? new Set() : (await knownHostnames(ctx)).names, requested, isNode);
    if ('refuse' in choice) {
      throw new InputError(`${choice.hostname} is already a node of cluster ${ctx.cluster.name}; nothing to add`, {
        context: { cluster: ctx.cluster.name, hostname: choice.hostname, role: roleName },
        hint: `leave out --hostname to add the next ${roleName} node, or replace this one with: cookbook k8s.replace-node --cluster-name ${ctx.cluster.name} --hostname ${choice.hostname}`,
      });
    }
    return choice.hostname;
  });
}
