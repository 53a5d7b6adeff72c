// Which lock a run takes is a property of the cluster, not of what an inventory calls it: two inventory entries
// for one cluster (an old and a new name, a copy under --inventory) must exclude each other. The runner names
// its cluster scope after the inventory entry (`cluster-NAME`); a backend built for a cluster translates that
// scope into one keyed on the cluster's identity, its API server address. For the Lease backend the Lease
// lives in the cluster itself, so its name is fixed.
import { InputError } from '../core/errors.js';
import type { ClusterConfig } from '../inventory/schema.js';

/** Name of the Lease that locks a whole cluster (in the inventory's lock.namespace, kube-system by default). */
export const CLUSTER_LEASE_NAME = 'cluster-cookbooks-lock';

/** Prefix of scopes keyed on a cluster's identity. */
export const CLUSTER_SCOPE_PREFIX = 'cluster/';

/**
 * The cluster's identity: its API server as `host:port`, lower-case, the default port made explicit, so
 * `https://API.example.org` and `https://api.example.org:443/` are the same cluster.
 */
export function clusterIdentity(cluster: Pick<ClusterConfig, 'name' | 'kubernetes'>): string {
  let url: URL;
  try {
    url = new URL(cluster.kubernetes.apiServer);
  } catch (err) {
    throw new InputError(`cluster ${cluster.name}: kubernetes.apiServer ${JSON.stringify(cluster.kubernetes.apiServer)} is not a URL`, {
      cause: err,
      context: { cluster: cluster.name },
      hint: 'set kubernetes.apiServer in the inventory to the API server URL, like https://k8s.example.org:6443',
    });
  }
  const port = url.port || (url.protocol === 'http:' ? '80' : '443');
  return `${url.hostname.toLowerCase()}:${port}`;
}

/** The lock scope of a whole cluster, keyed on its identity: `cluster/<host>:<port>`. */
export function clusterLockScope(cluster: Pick<ClusterConfig, 'name' | 'kubernetes'>): string {
  return CLUSTER_SCOPE_PREFIX + clusterIdentity(cluster);
}

/** The scope the runner uses for the cluster lock of an inventory entry (lib/runner/run.ts lockScopeOf). */
export function inventoryClusterScope(clusterName: string): string {
  return `cluster-${clusterName}`;
}

/**
 * The scope a backend built for `cluster` stores: the runner's cluster scope (named after the inventory entry)
 * and the identity scope both become the identity scope; any other scope is kept as it is.
 */
export function lockScopeFor(scope: string, cluster: Pick<ClusterConfig, 'name' | 'kubernetes'> | undefined): string {
  if (!cluster) return scope;
  return scope === inventoryClusterScope(cluster.name) ? clusterLockScope(cluster) : scope;
}
