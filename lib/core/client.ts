// What every client module receives from the Context. Client modules export `create(ctx: ClientContext)`;
// the Context imports them lazily so `cookbook list` and `--help` load none of them.
import type { Clock } from './clock.js';
import type { Gate } from './gate.js';
import type { Log } from './log.js';
import type { ClusterConfig } from '../inventory/schema.js';

/** Dependencies handed to a client. */
export interface ClientContext {
  readonly cluster: ClusterConfig;
  readonly gate: Gate;
  readonly log: Log;
  readonly signal: AbortSignal;
  readonly clock: Clock;
  /** The run's state directory (journals, locks, caches). */
  readonly stateDir: string;
}
