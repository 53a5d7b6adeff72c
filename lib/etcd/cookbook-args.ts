// Argument checks the etcd cookbooks share, against the inventory only (before the lock, exit 2).
import { argHostname, argString, clusterNameOption, frozen } from '../core/args.js';
import type { CookbookDefinition } from '../core/cookbook.js';
import { InputError } from '../core/errors.js';
import type { ClusterConfig } from '../inventory/schema.js';
import { clusterHost } from '../ops/node/inventory.js';
import { ETCD_ROLE } from './index.js';

/** Refuses a cluster without an etcd role (its etcd is not external, or not managed by these cookbooks). */
export function requireEtcdRole(cluster: ClusterConfig): void {
  if (!cluster.roles[ETCD_ROLE]) {
    throw new InputError(`cluster ${cluster.name} has no ${ETCD_ROLE} role in its inventory`, {
      context: { cluster: cluster.name, roles: Object.keys(cluster.roles) },
      hint: 'the etcd cookbooks manage external etcd members: add a role named etcd to the inventory',
    });
  }
}

/** Refuses a --hostname that is not a host name of the cluster's etcd role. */
export function requireEtcdHost(cluster: ClusterConfig, hostname: string | undefined): void {
  requireEtcdRole(cluster);
  if (hostname) clusterHost(cluster, hostname, ETCD_ROLE);
}

/** Arguments of the membership cookbooks: the cluster and, maybe, one etcd host. */
export interface MemberArgs {
  clusterName: string;
  hostname?: string;
}

/** --cluster-name and an optional --hostname of the etcd role, with its parse and inventory check. */
export function memberArgs(hostnameDescribe: string): Pick<CookbookDefinition<MemberArgs>, 'options' | 'parse' | 'validate'> {
  return {
    options: { 'cluster-name': clusterNameOption, hostname: { type: 'string', requiresArg: true, describe: hostnameDescribe } },
    parse: (raw) => frozen({ clusterName: argString(raw, 'cluster-name', { required: true }), hostname: argHostname(raw, 'hostname') }),
    validate: (cluster, args) => requireEtcdHost(cluster, args.hostname),
  };
}
