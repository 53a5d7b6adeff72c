// Inventory checks of the certificate cookbooks, before the lock (exit 2, nothing touched): the cluster has a
// control-plane role, and a host named with --hostname is one of its control nodes.
import { InputError } from '../../core/errors.js';
import { roleNames, roleOf } from '../../inventory/naming.js';
import type { ClusterConfig } from '../../inventory/schema.js';

/** The names of the cluster's control-plane roles; InputError when there is none. */
export function requireControlRole(cluster: ClusterConfig): string[] {
  const roles = Object.entries(cluster.roles)
    .filter(([, r]) => r.node === 'control-plane')
    .map(([n]) => n);
  if (roles.length === 0) {
    throw new InputError(`cluster ${cluster.name} has no control-plane role in the inventory`, {
      context: { cluster: cluster.name, roles: roleNames(cluster) },
      hint: 'add a role with `node: control-plane` (kubeadm certificates live on control nodes)',
    });
  }
  return roles;
}

/** Refuses a host that is not a control node of the cluster (by the inventory's naming of roles). */
export function requireControlHost(cluster: ClusterConfig, hostname: string): void {
  const controls = requireControlRole(cluster);
  const role = roleOf(cluster, hostname);
  if (role && controls.includes(role)) return;
  throw new InputError(
    role
      ? `${hostname} is a ${role} host of cluster ${cluster.name}, not a control node: kubeadm certificates are renewed on control nodes only`
      : `${hostname} is not a host of cluster ${cluster.name} (no role's naming matches it)`,
    { context: { cluster: cluster.name, hostname, role: role ?? null, controlRoles: controls }, hint: `name a control node (role ${controls.join(' or ')}), or use --all-control` },
  );
}
