// Which nodes a rollout acts on: the selection (--all, --all-workers, --role, --hostname) resolved against the
// cluster's Node objects, and which of them are control-plane nodes (they go last, one at a time).
import type { V1Node } from '@kubernetes/client-node';
import { InputError } from '../../core/errors.js';
import { roleOf } from '../../inventory/naming.js';
import type { ClusterConfig } from '../../inventory/schema.js';
import { requireNodeRole } from '../node/inventory.js';
import { naturalCompare } from './units.js';

/** What the operator selected. Exactly one of the four is set. */
export interface Selection {
  all?: boolean;
  allWorkers?: boolean;
  role?: string;
  hostnames?: readonly string[];
}

/** True for nodes of a control-plane role (by inventory role, else by the Kubernetes role label). */
export function isControlNode(cluster: ClusterConfig, node: V1Node): boolean {
  const name = node.metadata?.name ?? '';
  const role = roleOf(cluster, name);
  if (role) return cluster.roles[role]!.node === 'control-plane';
  return node.metadata?.labels?.['node-role.kubernetes.io/control-plane'] !== undefined;
}

/**
 * The node names the selection means, sorted naturally. `--all` is every node; `--all-workers` every node
 * that is not a control-plane node (ingress nodes included: they are Kubernetes workers); `--role` the nodes
 * of one inventory role; `--hostname` the names given, each of which must be a node of this cluster.
 */
export function selectNodes(cluster: ClusterConfig, nodes: readonly V1Node[], selection: Selection): string[] {
  const names = nodes.map((n) => n.metadata?.name ?? '').filter(Boolean);
  let out: string[];
  if (selection.all) {
    out = names;
  } else if (selection.allWorkers) {
    out = nodes.filter((n) => !isControlNode(cluster, n)).map((n) => n.metadata!.name!);
  } else if (selection.role) {
    requireNodeRole(cluster, selection.role);
    out = names.filter((n) => roleOf(cluster, n) === selection.role);
    if (out.length === 0) throw new InputError(`cluster ${cluster.name} has no ${selection.role} node`, { context: { cluster: cluster.name, role: selection.role } });
  } else if (selection.hostnames?.length) {
    const known = new Set(names);
    const missing = selection.hostnames.filter((h) => !known.has(h));
    if (missing.length) {
      throw new InputError(`not a Kubernetes node of cluster ${cluster.name}: ${missing.join(', ')}`, {
        context: { cluster: cluster.name, missing },
        hint: 'check the names with: kubectl get nodes',
      });
    }
    out = [...new Set(selection.hostnames)];
  } else {
    throw new InputError('select nodes with --all, --all-workers, --role R or --hostname H', { hint: 'see: cookbook k8s.reboot --help' });
  }
  return out.sort(naturalCompare);
}
