// The etcdctl command lines the Etcd client runs on member hosts: endpoints, deadlines and, for a cluster whose
// etcd serves TLS, the client certificate flags from the inventory (etcd.tls: paths of files ON the hosts; a
// key's content never reaches a command line, a log or the journal, only its path).
import type { ClusterConfig } from '../inventory/schema.js';

/** Where etcd's client TLS files are on the member hosts (inventory etcd.tls). */
export interface EtcdTls {
  cacert: string;
  cert?: string;
  key?: string;
}

/** Per-request deadline of reads: a member that is down must not stall a health check. */
export const READ_TIMEOUTS = ['--dial-timeout=1s', '--command-timeout=1500ms'];
/** Deadlines of changes (a member add waits for the cluster to apply it). */
export const MUTATE_TIMEOUTS = ['--dial-timeout=2s', '--command-timeout=30s'];

/** The cluster's etcd TLS settings, if any. */
export function tlsOf(cluster: Pick<ClusterConfig, 'etcd'>): EtcdTls | undefined {
  return cluster.etcd?.tls;
}

/** etcdctl's TLS flags (paths only): --cacert, and --cert/--key for client-certificate authentication. */
export function tlsFlags(tls: EtcdTls | undefined): string[] {
  if (!tls) return [];
  return [`--cacert=${tls.cacert}`, ...(tls.cert ? [`--cert=${tls.cert}`] : []), ...(tls.key ? [`--key=${tls.key}`] : [])];
}

/** A read: `etcdctl [--endpoints=...] TIMEOUTS TLS ARGS`. */
export function readArgv(args: readonly string[], endpoints: readonly string[] | undefined, tls: EtcdTls | undefined): string[] {
  return ['etcdctl', ...(endpoints?.length ? [`--endpoints=${endpoints.join(',')}`] : []), ...READ_TIMEOUTS, ...tlsFlags(tls), ...args];
}

/** A change, verb first (the change record reads `run etcdctl member ...`): `etcdctl ARGS [--endpoints=...] TIMEOUTS TLS`. */
export function mutateArgv(args: readonly string[], endpoints: readonly string[], tls: EtcdTls | undefined): string[] {
  return ['etcdctl', ...args, ...(endpoints.length ? [`--endpoints=${endpoints.join(',')}`] : []), ...MUTATE_TIMEOUTS, ...tlsFlags(tls)];
}
