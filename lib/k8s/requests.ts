// Retrying Kubernetes API calls: one policy for every request of the client. Reads, and writes that are safe
// to repeat (merge patches, evictions and deletes with a UID precondition, updates with a resourceVersion,
// server-side apply), are retried on 429/500/502/503/504 and connection resets, with exponential backoff and
// jitter, at least as long as the server's Retry-After asks, until a total deadline or the signal ends them.
// A create is repeated blindly only after an answer that proves nothing was created (429, 503); after any
// other failure it first asks `confirm` whether the object exists. Each retry is logged at debug with the
// request (method and path only: the token lives in a header and never reaches a message).
import { type Clock, systemClock, throwIfAborted } from '../core/clock.js';
import type { Log } from '../core/log.js';
import { type Backoff, formatMs, isTransientStatus, transientDelay } from '../core/retry.js';
import { KubeAbortedError, KubeApiError, KubeConflictError, KubeNotFoundError, KubeUnreachableError } from './errors.js';
import type { Gate } from '../core/gate.js';
import { type RequestScope, isConnectionReset, requestScope, toKubeError } from './scope.js';
import type { KubeApis } from './transport.js';

/**
 * What a request does, for the retry decision: `read`; `write`, a change that is safe to send twice; `create`,
 * a POST of a new object (repeated only when provably not done, else confirmed first); `eviction`, like a
 * write, but a 429 (a PodDisruptionBudget) and the "more than one PDB" 500 go back to the drain's own policy.
 */
export type RequestKind = 'read' | 'write' | 'create' | 'eviction';

/** How the Kubernetes client retries transient failures. */
export interface KubeRetryPolicy {
  /** Total time for all attempts of one call, when no signal ends it sooner. */
  timeoutMs: number;
  backoff: Partial<Backoff>;
  /** Random source for jitter (tests). */
  random?: () => number;
}

/** Defaults: up to 60 s per call, 200 ms doubling to 5 s, +/-30% jitter. */
export const defaultKubeRetry: KubeRetryPolicy = Object.freeze({ timeoutMs: 60_000, backoff: { initialMs: 200, maxMs: 5_000, factor: 2, jitter: 0.3 } });

/** Options of one call. */
export interface CallOptions<T> {
  kind?: RequestKind;
  /** Facts for the error's context (node, pod, ...). */
  context?: Record<string, unknown>;
  /** Cancels this call (in-flight request included), on top of the client's own signal. */
  signal?: AbortSignal;
  /**
   * After a failure that leaves open whether the server did the write: returns the result when it did,
   * undefined when it did not. Without it a create is not repeated after such a failure.
   */
  confirm?: () => Promise<T | undefined>;
}

type Verdict = 'retry' | 'ambiguous' | 'fatal';

/** Whether a failed call is worth another attempt, given what kind of request it was. */
export function retryVerdict(err: KubeApiError, kind: RequestKind): Verdict {
  const reset = err instanceof KubeUnreachableError && isConnectionReset(err.cause);
  if (!reset && !isTransientStatus(err.status)) return 'fatal';
  if (kind === 'eviction') {
    if (err.status === 429) return 'fatal';
    if (err.status === 500 && /more than one PodDisruptionBudget/i.test(err.message)) return 'fatal';
  }
  if (kind === 'read') return 'retry';
  // 429 (rate limiting, priority and fairness) and 503 are answered before the request is processed.
  if (err.status === 429 || err.status === 503) return 'retry';
  return 'ambiguous';
}

/** Sends API calls with the client's retry policy, cancellation and typed errors. */
export class KubeRequester {
  private readonly policy: KubeRetryPolicy;
  private readonly clock: Clock;
  /** Retries made so far (all calls). */
  retries = 0;

  constructor(private readonly deps: { log: Log; clock?: Clock; signal?: AbortSignal; retry?: Partial<KubeRetryPolicy> }) {
    this.policy = { ...defaultKubeRetry, ...deps.retry, backoff: { ...defaultKubeRetry.backoff, ...deps.retry?.backoff } };
    this.clock = deps.clock ?? systemClock;
  }

  /** Runs `fn` (one client-node call) with retries; every failure leaves as a typed KubeApiError. */
  async call<T>(what: string, fn: () => Promise<T>, options: CallOptions<T> = {}): Promise<T> {
    const kind = options.kind ?? 'read';
    const signals = [this.deps.signal, options.signal].filter((s): s is AbortSignal => s !== undefined);
    const signal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
    const start = this.clock.now();
    let ambiguous = false;
    for (let attempt = 1; ; attempt++) {
      const scope: RequestScope = { signal };
      let err: Error;
      try {
        if (signal?.aborted) throw signal.reason;
        return await requestScope.run(scope, fn);
      } catch (raw) {
        if (signal?.aborted) throw this.aborted(what, options.context, scope.last ?? what, signal);
        err = toKubeError(raw, what, options.context, scope.last, signal);
      }
      if (!(err instanceof KubeApiError) || err instanceof KubeAbortedError) throw err;
      if (ambiguous && options.confirm && err instanceof KubeConflictError) {
        // Our earlier attempt may have been done after all: the conflict is then with ourselves.
        const done = await this.confirmed(what, options, signal);
        if (done !== undefined) return done;
        throw err;
      }
      const verdict = retryVerdict(err, kind);
      if (verdict === 'fatal') throw err;
      if (verdict === 'ambiguous') {
        if (kind === 'create') {
          if (!options.confirm) throw err;
          const done = await this.confirmed(what, options, signal);
          if (done !== undefined) return done;
        }
        ambiguous = true;
      }
      const elapsed = this.clock.now() - start;
      const remaining = this.policy.timeoutMs - elapsed;
      const request = String(err.context.request ?? what);
      if (remaining <= 0) throw gaveUp(err, what, attempt, elapsed);
      const delay = transientDelay(attempt, { backoff: this.policy.backoff, retryAfterMs: err.retryAfterMs, remainingMs: remaining, random: this.policy.random });
      this.retries++;
      this.deps.log.debug(`kubernetes: ${request} failed (${err.status || err.reason || 'connection'}); retry ${attempt} in ${formatMs(delay)}`, {
        request,
        status: err.status,
        attempt,
        delayMs: delay,
        ...(err.retryAfterMs !== undefined ? { retryAfterMs: err.retryAfterMs } : {}),
      });
      try {
        await this.clock.sleep(delay, signal);
      } catch (abort) {
        throw signal?.aborted ? this.aborted(what, options.context, request, signal) : abort;
      }
    }
  }

  /** Like call(), for a read that may 404: undefined when the object does not exist. */
  async readOptional<T>(what: string, fn: () => Promise<T>, options: CallOptions<T> = {}): Promise<T | undefined> {
    try {
      return await this.call(what, fn, options);
    } catch (err) {
      if (err instanceof KubeNotFoundError) return undefined;
      throw err;
    }
  }

  /**
   * The error for a cancelled call: the run's own interruption stays what it is (InterruptedError, exit 130);
   * a call's signal (a drain deadline) gives KubeAbortedError naming the request.
   */
  private aborted(what: string, context: Record<string, unknown> | undefined, request: string, signal: AbortSignal): Error {
    const run = this.deps.signal;
    if (run?.aborted) {
      try {
        throwIfAborted(run, what);
      } catch (err) {
        return err as Error;
      }
    }
    return toKubeError(signal.reason ?? new Error('aborted'), what, context, request, signal);
  }

  private async confirmed<T>(what: string, options: CallOptions<T>, signal: AbortSignal | undefined): Promise<T | undefined> {
    try {
      return await options.confirm!();
    } catch (err) {
      throw toKubeError(err, `${what} (checking whether it was done)`, options.context, undefined, signal);
    }
  }
}

/** The error after the last attempt: same class and status as the last failure, which it carries as cause. */
function gaveUp(last: KubeApiError, what: string, attempts: number, elapsedMs: number): KubeApiError {
  const Cls = last.constructor as typeof KubeApiError;
  return new Cls(`${last.message} (gave up on ${what} after ${attempts} attempts in ${formatMs(elapsedMs)})`, {
    status: last.status,
    reason: last.reason,
    context: { ...last.context, attempts },
    cause: last,
    hint: last.hint ?? 'the API server kept failing; check its health (kubectl get --raw /readyz) and run again',
  });
}

/** What an operation module (node-ops, leases) needs from the client: the API groups, the requester and the gate. */
export interface KubeOpsDeps {
  req: KubeRequester;
  apis: KubeApis;
  gate: Gate;
}
