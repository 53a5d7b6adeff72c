// Errors of the etcd module: every one carries the member host, the etcdctl command and etcd's own words.
import { EtcdError } from '../core/errors.js';

export { EtcdError };

/** etcdctl exited non-zero (a refused reconfiguration, an unreachable endpoint, ...). */
export class EtcdCommandError extends EtcdError {}

/** No member answered, or the lab runs no real etcd: nothing can be read. */
export class EtcdUnavailableError extends EtcdError {}

/** A snapshot did not verify (checksum, status) or a waited-for state never came. */
export class EtcdVerifyError extends EtcdError {}
