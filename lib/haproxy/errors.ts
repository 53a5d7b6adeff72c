// Errors of the HAProxy client. HAProxy is reached over our SSH layer, so they are remote errors: each names
// the load-balancer host, the command (or admin-socket command) and HAProxy's own words, with a hint.
import { RemoteError } from '../core/errors.js';

/** Base of every HAProxy error (a RemoteError: the LB is a host reached over SSH). */
export class HaproxyError extends RemoteError {}

/** The configuration file has no section or managed block we need, or `haproxy -c` refused the edit. */
export class HaproxyConfigError extends HaproxyError {}

/** The admin socket refused a command or answered something we cannot read. */
export class HaproxySocketError extends HaproxyError {}
