// Host naming rules. A name belongs to a role only if it matches ^<cluster prefix>-<role prefix>-(\d+)$
// exactly, so `worker` and `worker-nfs` are separate series (the bug of today's prefix matching).
import { InputError } from '../core/errors.js';
import type { ClusterConfig, RoleConfig } from './schema.js';
import { suggest } from './suggest.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** True when `name` is a valid DNS label (RFC 1123, lowercase). */
export function isDnsLabel(name: string): boolean {
  return DNS_LABEL.test(name);
}

/** Throws an InputError unless `name` is a valid DNS label; `what` names the argument. */
export function validateHostname(name: string, what = 'hostname'): string {
  if (typeof name !== 'string' || !isDnsLabel(name)) {
    throw new InputError(`invalid ${what} ${JSON.stringify(name)}: must be a DNS label (lowercase letters, digits and "-", at most 63 characters)`, {
      context: { [what]: name },
      hint: 'give the host name as a DNS label, e.g. tools-k8s-worker-1 (a full name ending in the cluster domain works too)',
    });
  }
  return name;
}

/** `s` with every regular-expression metacharacter escaped, to match it literally inside a RegExp. */
export function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The one pattern of "a host of this cluster": `^<prefix>-`, with the prefix escaped (a `.` in a prefix must
 * not match any character). A string, as OpenStack's server list takes its name filter.
 */
export function clusterHostPattern(cluster: Pick<ClusterConfig, 'prefix'>): string {
  return `^${escapeRegExp(cluster.prefix)}-`;
}

/** The role's exact name pattern. */
export function rolePattern(cluster: ClusterConfig, role: RoleConfig): RegExp {
  return new RegExp(`${clusterHostPattern(cluster)}${escapeRegExp(role.prefix)}-(\\d+)$`);
}

/** Which roles a caller takes (e.g. only Kubernetes node roles), and what to call them in errors. */
export interface RoleFilter {
  accept(role: RoleConfig, name: string): boolean;
  /** e.g. "Kubernetes node role". */
  kind: string;
}

/** Roles that join Kubernetes (not `node: none`, such as etcd). */
export const NODE_ROLES: RoleFilter = Object.freeze({ accept: (role: RoleConfig) => role.node !== 'none', kind: 'Kubernetes node role' });

/** The names of the cluster's roles a filter accepts, sorted. */
export function roleNames(cluster: ClusterConfig, filter?: RoleFilter): string[] {
  return Object.entries(cluster.roles)
    .filter(([name, role]) => !filter || filter.accept(role, name))
    .map(([name]) => name)
    .sort();
}

/**
 * The role config, or an InputError that suggests the closest valid name (`worker-nfs` -> `worker_nfs`) and
 * lists only the roles the filter accepts.
 */
export function getRole(cluster: ClusterConfig, roleName: string, filter?: RoleFilter): RoleConfig {
  const role = cluster.roles[roleName];
  const valid = roleNames(cluster, filter);
  if (role && (!filter || filter.accept(role, roleName))) return role;
  const kind = filter?.kind ?? 'role';
  const list = `${kind}s: ${valid.join(', ') || '(none)'}`;
  const close = suggest(roleName, valid);
  const message = role
    ? `role ${roleName} of cluster ${cluster.name} is not a ${kind}; ${list}`
    : `unknown role "${roleName}" in cluster ${cluster.name}; ${close.length ? `did you mean ${close.join(', ')}? ` : ''}${list}`;
  throw new InputError(message, {
    context: { cluster: cluster.name, role: roleName, valid },
    hint: `pick one of: ${valid.join(', ')} (cookbook inventory.show --cluster-name ${cluster.name} --roles shows them)`,
  });
}

/** The index of `hostname` in the role's series, or undefined when it does not belong to the role. */
export function hostIndex(cluster: ClusterConfig, roleName: string, hostname: string): number | undefined {
  const m = rolePattern(cluster, getRole(cluster, roleName)).exec(hostname);
  return m ? Number(m[1]) : undefined;
}

/** The role a hostname belongs to, or undefined. */
export function roleOf(cluster: ClusterConfig, hostname: string): string | undefined {
  for (const [name, role] of Object.entries(cluster.roles)) {
    if (rolePattern(cluster, role).test(hostname)) return name;
  }
  return undefined;
}

/** The hostnames of `existing` that belong to the role, sorted by index (oldest first). */
export function hostsOfRole(cluster: ClusterConfig, roleName: string, existing: Iterable<string>): string[] {
  const re = rolePattern(cluster, getRole(cluster, roleName));
  const found: [number, string][] = [];
  for (const h of existing) {
    const m = re.exec(h);
    if (m) found.push([Number(m[1]), h]);
  }
  return found.sort((a, b) => a[0] - b[0]).map(([, h]) => h);
}

/** The next name of the role: highest existing index + 1 (1 when there is none). */
export function nextHostname(cluster: ClusterConfig, roleName: string, existing: Iterable<string>): string {
  const role = getRole(cluster, roleName);
  const re = rolePattern(cluster, role);
  let max = 0;
  for (const h of existing) {
    const m = re.exec(h);
    if (m) max = Math.max(max, Number(m[1]));
  }
  return validateHostname(`${cluster.prefix}-${role.prefix}-${max + 1}`);
}

/** The oldest host (lowest index) of the role, or undefined when the role has none. */
export function oldestHostname(cluster: ClusterConfig, roleName: string, existing: Iterable<string>): string | undefined {
  return hostsOfRole(cluster, roleName, existing)[0];
}

/** Validates a hostname and checks it belongs to the role (when given) of this cluster. */
export function requireHostOfRole(cluster: ClusterConfig, hostname: string, roleName?: string): string {
  validateHostname(hostname);
  const role = roleOf(cluster, hostname);
  if (!role) {
    throw new InputError(`host ${hostname} does not belong to cluster ${cluster.name}: names there are ${cluster.prefix}-<role prefix>-<N>`, {
      context: { cluster: cluster.name, hostname },
      hint: `check the name (cookbook inventory.show --cluster-name ${cluster.name} --roles lists the role prefixes)`,
    });
  }
  if (roleName !== undefined && role !== roleName) {
    throw new InputError(`host ${hostname} is a ${role} host, not ${roleName}`, {
      context: { cluster: cluster.name, hostname, role, expected: roleName },
      hint: `use --role ${role}, or a ${roleName} host`,
    });
  }
  return hostname;
}
