// The fan-out executor: runs one task per host with a concurrency limit, in batches with a pause between them,
// under an overall deadline and an AbortSignal, and stops starting hosts once the success threshold can no
// longer be met (for a rolling change, hosts not started are better than more broken ones). It knows nothing
// about SSH: the Remote client hands it a task, so cookbooks can reuse it for any per-host work.
import { type Clock, systemClock } from '../core/clock.js';
import { InputError, TimeoutError } from '../core/errors.js';
import { formatMs } from '../core/retry.js';
import { type BatchSize, type SuccessThreshold, planBatches, requiredSuccesses, thresholdReachable } from './plan.js';

/** Why a host was never started. */
export type SkipReason = 'threshold' | 'deadline' | 'aborted';

/** Options of fanOut. */
export interface FanOutOptions {
  /** Hosts running at the same time (default 25). */
  concurrency?: number;
  /** Hosts per batch; a batch starts only when the previous one is done (default: one batch). */
  batchSize?: BatchSize;
  /** Pause between batches (ms). */
  batchSleepMs?: number;
  /** How many hosts must succeed (default: all). */
  successThreshold?: SuccessThreshold;
  /** Deadline for the whole fan-out (ms); running tasks see their signal abort with a TimeoutError. */
  overallTimeoutMs?: number;
  signal?: AbortSignal;
  clock?: Clock;
}

/** The outcome of one host. */
export interface TaskOutcome<T> {
  host: string;
  status: 'ok' | 'failed' | 'skipped';
  value?: T;
  error?: unknown;
  skipReason?: SkipReason;
  /** Index of the host's batch (0-based). */
  batch: number;
  durationMs: number;
}

/** The outcome of a fan-out. */
export interface FanOutOutcome<T> {
  outcomes: TaskOutcome<T>[];
  batches: string[][];
  required: number;
  succeeded: number;
  failed: number;
  skipped: number;
  thresholdMet: boolean;
  durationMs: number;
}

/**
 * Runs `task` for every host and never throws for a host's failure: every host gets an outcome. `onDone` is
 * called as each host finishes or is skipped (progress). Tasks receive a signal that aborts on the caller's
 * signal or the overall deadline.
 */
export async function fanOut<T>(
  hosts: readonly string[],
  task: (host: string, signal: AbortSignal, batch: number) => Promise<T>,
  options: FanOutOptions & { onDone?: (outcome: TaskOutcome<T>, done: number, total: number) => void } = {},
): Promise<FanOutOutcome<T>> {
  const clock = options.clock ?? systemClock;
  const total = hosts.length;
  const dup = hosts.find((h, i) => hosts.indexOf(h) !== i);
  if (dup !== undefined) throw new InputError(`host ${dup} is listed twice`, { context: { host: dup } });
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 25));
  const batches = planBatches(hosts, options.batchSize);
  const required = requiredSuccesses(total, options.successThreshold);
  const start = clock.now();

  const controller = new AbortController();
  const onOuterAbort = (): void => controller.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onOuterAbort, { once: true });
  if (options.signal?.aborted) onOuterAbort();
  let deadlineTimer: NodeJS.Timeout | undefined;
  if (options.overallTimeoutMs !== undefined) {
    const ms = options.overallTimeoutMs;
    deadlineTimer = setTimeout(() => controller.abort(new TimeoutError(`overall deadline of ${formatMs(ms)} passed`, { context: { overallTimeoutMs: ms } })), ms);
  }
  const signal = controller.signal;

  const outcomes = new Map<string, TaskOutcome<T>>();
  let succeeded = 0;
  let failed = 0;
  let done = 0;
  const finish = (o: TaskOutcome<T>): void => {
    outcomes.set(o.host, o);
    done++;
    options.onDone?.(o, done, total);
  };
  const skipReason = (): SkipReason | undefined => {
    if (signal.aborted) return signal.reason instanceof TimeoutError ? 'deadline' : 'aborted';
    if (!thresholdReachable(required, total, failed)) return 'threshold';
    return undefined;
  };

  try {
    for (let b = 0; b < batches.length; b++) {
      const batch = batches[b]!;
      if (b > 0 && options.batchSleepMs && !skipReason()) {
        try {
          await clock.sleep(options.batchSleepMs, signal);
        } catch {
          // Aborted while pausing: the loop below marks the rest skipped.
        }
      }
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < batch.length) {
          const host = batch[next++]!;
          const reason = skipReason();
          if (reason) {
            finish({ host, status: 'skipped', skipReason: reason, batch: b, durationMs: 0 });
            continue;
          }
          const t0 = clock.now();
          try {
            const value = await task(host, signal, b);
            succeeded++;
            finish({ host, status: 'ok', value, batch: b, durationMs: clock.now() - t0 });
          } catch (error) {
            failed++;
            finish({ host, status: 'failed', error, batch: b, durationMs: clock.now() - t0 });
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, batch.length) }, worker));
    }
  } finally {
    if (deadlineTimer) clearTimeout(deadlineTimer);
    options.signal?.removeEventListener('abort', onOuterAbort);
  }
  const ordered = hosts.map((h) => outcomes.get(h)!);
  return {
    outcomes: ordered,
    batches,
    required,
    succeeded,
    failed,
    skipped: total - succeeded - failed,
    thresholdMet: succeeded >= required,
    durationMs: clock.now() - start,
  };
}
