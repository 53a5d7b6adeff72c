// k8s.control-plane.resize, the pure part: which counts are refused, and the next single step from the
// control nodes there are (one node at a time; a removal takes the oldest, an addition the next name).
import { hostsOfRole, nextHostname } from '../../inventory/naming.js';
import type { ClusterConfig } from '../../inventory/schema.js';

/** Why a target count is refused before anything happens (pure); undefined when it is allowed. */
export function countRefusal(count: number, stackedEtcd: boolean): string | undefined {
  if (!Number.isInteger(count) || count < 1) return `--count ${count}: a control plane needs at least 1 control node`;
  // Stacked etcd runs one member per control node: an even member count tolerates no more failures than one less.
  if (stackedEtcd && count % 2 === 0) return `--count ${count}: with stacked etcd (one member per control node) the count must be odd; ${count} tolerates no more failures than ${count - 1}`;
  return undefined;
}

/** True when etcd runs on the control nodes (the inventory has no separate etcd role). */
export function isStackedEtcd(cluster: Pick<ClusterConfig, 'roles'>): boolean {
  return !Object.prototype.hasOwnProperty.call(cluster.roles, 'etcd');
}

/** One step of a resize. */
export type ResizeStep = { kind: 'add'; hostname: string } | { kind: 'remove'; hostname: string } | { kind: 'done' };

/**
 * The next step towards `count` control nodes of `role` (pure): `controls` are the control nodes there are,
 * `known` every name the cluster knows (Nodes and VMs: a new name never reuses one). Removal takes the oldest.
 */
export function nextResizeStep(cluster: ClusterConfig, role: string, count: number, controls: readonly string[], known: Iterable<string>): ResizeStep {
  const members = hostsOfRole(cluster, role, controls);
  if (members.length === count) return { kind: 'done' };
  if (members.length > count) return { kind: 'remove', hostname: members[0]! };
  return { kind: 'add', hostname: nextHostname(cluster, role, [...known, ...controls]) };
}
