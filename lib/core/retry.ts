// Retry and wait with one overall deadline, exponential backoff with jitter, cancellation and progress.
// Waits are dry-run aware through the Gate: planning stops (DryRunStop) instead of waiting for a state that
// only a planned change would create.
import { type Clock, systemClock, throwIfAborted } from './clock.js';
import { CookbookError, TimeoutError, messageOf } from './errors.js';
import type { Gate } from './gate.js';

/** Backoff settings. Delays grow by `factor` from `initialMs` up to `maxMs`, each spread by +/- `jitter`. */
export interface Backoff {
  initialMs: number;
  maxMs: number;
  factor: number;
  /** Fraction of the delay added or removed at random (0.2 = +/-20%). */
  jitter: number;
}

/** Defaults for polling an API. */
export const defaultBackoff: Backoff = Object.freeze({ initialMs: 250, maxMs: 5_000, factor: 1.6, jitter: 0.2 });

/** What a progress callback learns about each attempt. */
export interface AttemptInfo {
  attempt: number;
  elapsedMs: number;
  remainingMs: number;
  /** The error of a failed attempt, or undefined for a condition that was not met yet. */
  error?: unknown;
  nextDelayMs: number;
}

/** Options of retry() and waitFor(). */
export interface WaitOptions {
  /** What is awaited, for messages: "node tools-k8s-worker-3 Ready". */
  what: string;
  /** Overall deadline for all attempts. */
  timeoutMs: number;
  backoff?: Partial<Backoff>;
  signal?: AbortSignal;
  clock?: Clock;
  onAttempt?: (info: AttemptInfo) => void;
  /** Extra facts for the TimeoutError's context. */
  context?: Record<string, unknown>;
  /** In dry-run, a wait whose condition is not met stops planning instead of waiting. */
  gate?: Gate;
  /** Random source in [0, 1) for jitter; injectable for tests. */
  random?: () => number;
}

/** Options of retry(): which errors are worth another attempt. */
export interface RetryOptions extends WaitOptions {
  /** Return false to fail at once on this error. Default: retry every error except CookbookErrors of exit 2-5. */
  retryIf?: (err: unknown) => boolean;
  /** The smallest delay the failure itself asks for (e.g. an HTTP Retry-After), in ms. */
  minDelayMs?: (err: unknown) => number | undefined;
}

/** The delay before attempt `attempt + 1` (attempt counts from 1). */
export function backoffDelay(attempt: number, backoff: Backoff, random: () => number = Math.random): number {
  const base = Math.min(backoff.maxMs, backoff.initialMs * backoff.factor ** Math.max(0, attempt - 1));
  const spread = base * backoff.jitter * (random() * 2 - 1);
  return Math.max(0, Math.round(base + spread));
}

/** HTTP statuses that say "try again later" for a request that is safe to repeat (429, 500, 502, 503, 504). */
export const transientHttpStatuses: ReadonlySet<number> = new Set([429, 500, 502, 503, 504]);

/** True for an HTTP status worth retrying (see transientHttpStatuses). */
export function isTransientStatus(status: number | undefined): boolean {
  return status !== undefined && transientHttpStatuses.has(status);
}

/** Longest Retry-After we honour: a server asking for more is treated as asking for this much. */
export const maxRetryAfterMs = 5 * 60_000;

/**
 * Parses an HTTP Retry-After header (delay-seconds or an HTTP-date) into milliseconds from `now`.
 * Undefined when absent or unparsable; never negative; capped at maxRetryAfterMs.
 */
export function parseRetryAfter(header: string | string[] | number | null | undefined, now: number = Date.now()): number | undefined {
  const raw = Array.isArray(header) ? header[0] : header;
  if (raw === undefined || raw === null) return undefined;
  const text = String(raw).trim();
  if (text === '') return undefined;
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(text)) ms = Number(text) * 1000;
  else {
    const at = Date.parse(text);
    if (Number.isNaN(at)) return undefined;
    ms = at - now;
  }
  return Math.min(maxRetryAfterMs, Math.max(0, Math.round(ms)));
}

/**
 * The delay before retrying a transient failure: the backoff delay for `attempt`, but at least what the
 * server asked for (Retry-After, in ms), and never past the time that is left (`remainingMs`).
 */
export function transientDelay(attempt: number, options: { backoff?: Partial<Backoff>; retryAfterMs?: number; remainingMs?: number; random?: () => number } = {}): number {
  const backoff = { ...defaultBackoff, ...options.backoff };
  const delay = Math.max(backoffDelay(attempt, backoff, options.random), options.retryAfterMs ?? 0);
  return options.remainingMs === undefined ? delay : Math.max(0, Math.min(delay, options.remainingMs));
}

function defaultRetryIf(err: unknown): boolean {
  if (err instanceof CookbookError) return err.exitCode === 1 && !(err instanceof TimeoutError);
  return true;
}

/** Calls `fn` until it resolves, retrying failures with backoff until the deadline; then throws TimeoutError. */
export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const clock = options.clock ?? systemClock;
  const backoff = { ...defaultBackoff, ...options.backoff };
  const retryIf = options.retryIf ?? defaultRetryIf;
  const start = clock.now();
  let lastError: unknown;
  for (let attempt = 1; ; attempt++) {
    throwIfAborted(options.signal, options.what);
    try {
      return await fn(attempt);
    } catch (err) {
      if (!retryIf(err)) throw err;
      lastError = err;
    }
    const elapsed = clock.now() - start;
    const remaining = options.timeoutMs - elapsed;
    const delay = transientDelay(attempt, { backoff, retryAfterMs: options.minDelayMs?.(lastError), remainingMs: remaining, random: options.random });
    options.onAttempt?.({ attempt, elapsedMs: elapsed, remainingMs: remaining, error: lastError, nextDelayMs: delay });
    if (remaining <= 0) {
      throw new TimeoutError(`gave up on ${options.what} after ${attempt} attempts in ${formatMs(elapsed)}: ${messageOf(lastError)}`, {
        cause: lastError,
        context: { ...options.context, what: options.what, attempts: attempt, timeoutMs: options.timeoutMs },
      });
    }
    await clock.sleep(delay, options.signal);
  }
}

/**
 * Polls `probe` until it returns a value other than undefined/null/false, with backoff, until the deadline.
 * Errors thrown by the probe fail the wait at once (a probe decides itself what is transient).
 */
export async function waitFor<T>(probe: (attempt: number) => Promise<T | undefined | null | false>, options: WaitOptions): Promise<T> {
  const clock = options.clock ?? systemClock;
  const backoff = { ...defaultBackoff, ...options.backoff };
  const start = clock.now();
  for (let attempt = 1; ; attempt++) {
    throwIfAborted(options.signal, options.what);
    const value = await probe(attempt);
    if (value !== undefined && value !== null && value !== false) return value;
    options.gate?.stopIfPlanning(options.what);
    const elapsed = clock.now() - start;
    const remaining = options.timeoutMs - elapsed;
    if (remaining <= 0) {
      throw new TimeoutError(`timed out after ${formatMs(elapsed)} waiting for ${options.what}`, {
        context: { ...options.context, what: options.what, attempts: attempt, timeoutMs: options.timeoutMs },
      });
    }
    const delay = Math.min(backoffDelay(attempt, backoff, options.random), remaining);
    options.onAttempt?.({ attempt, elapsedMs: elapsed, remainingMs: remaining, nextDelayMs: delay });
    await clock.sleep(delay, options.signal);
  }
}

/** A fixed point in time after which work must stop; hands out remaining time to nested waits. */
export class Deadline {
  readonly at: number;
  constructor(
    timeoutMs: number,
    private readonly clock: Clock = systemClock,
  ) {
    this.at = clock.now() + timeoutMs;
  }
  /** Milliseconds left (never negative). */
  remaining(): number {
    return Math.max(0, this.at - this.clock.now());
  }
  /** True once the deadline passed. */
  get expired(): boolean {
    return this.clock.now() >= this.at;
  }
}

/** Human duration: 850ms, 12.3s, 4m05s, 1h02m. */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Parses a duration such as 90, 90s, 5m, 1h30m, 250ms into milliseconds (bare numbers are seconds). */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(trimmed); m; m = re.exec(trimmed)) {
    const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
    total += Number(m[1]) * unit;
    matched = re.lastIndex;
  }
  if (matched === 0 || matched !== trimmed.length) throw new RangeError(`not a duration: "${text}" (use e.g. 90s, 5m, 1h30m)`);
  return Math.round(total);
}
