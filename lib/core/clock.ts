// Time as a dependency: cookbooks and waits take a Clock so tests can inject a fake one (window arithmetic,
// deadlines) without real sleeping.
import { InterruptedError } from './errors.js';

/** Wall-clock time and sleeping, injectable. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms`, or rejects with InterruptedError when the signal aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Throws InterruptedError (or the signal's own CookbookError reason) when the signal has aborted. */
export function throwIfAborted(signal: AbortSignal | undefined, what = 'operation'): void {
  if (!signal?.aborted) return;
  const reason: unknown = signal.reason;
  if (reason instanceof Error && 'exitCode' in reason) throw reason;
  throw new InterruptedError(`interrupted during ${what}`, { cause: reason });
}

/** Node's timers hold a signed 32-bit delay: a longer setTimeout fires at once (with a warning). */
export const maxTimerMs = 2 ** 31 - 1;

/**
 * A real clock whose sleeps re-arm their timer in pieces of at most `maxChunkMs`, so a wait of 25 days or
 * more neither fires at once nor overflows. The chunk size is injectable so tests can see the re-arming.
 */
export function realClock(options: { maxChunkMs?: number } = {}): Clock {
  const chunk = Math.max(1, Math.min(maxTimerMs, options.maxChunkMs ?? maxTimerMs));
  return Object.freeze({
    now: () => Date.now(),
    sleep(ms: number, signal?: AbortSignal): Promise<void> {
      return new Promise<void>((resolve, reject) => {
        if (signal?.aborted) {
          try {
            throwIfAborted(signal, 'sleep');
          } catch (err) {
            reject(err);
          }
          return;
        }
        // Measured against the wall clock, so chunks add no drift and a suspended machine wakes on time.
        // NaN counts as 0 (as setTimeout does); Infinity sleeps until the signal aborts.
        const until = Date.now() + (Number.isNaN(ms) ? 0 : Math.max(0, ms));
        let timer: ReturnType<typeof setTimeout> | undefined;
        const onAbort = (): void => {
          clearTimeout(timer);
          try {
            throwIfAborted(signal, 'sleep');
          } catch (err) {
            reject(err);
          }
        };
        // Always at least one timer, so sleep(0) still yields to the event loop.
        const arm = (first: boolean): void => {
          const left = until - Date.now();
          if (left <= 0 && !first) {
            signal?.removeEventListener('abort', onAbort);
            resolve();
            return;
          }
          timer = setTimeout(() => arm(false), Math.max(0, Math.min(left, chunk)));
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        arm(true);
      });
    },
  });
}

/** The real clock. */
export const systemClock: Clock = realClock();

/** A clock that only moves when told to (for tests of windows and deadlines). */
export class ManualClock implements Clock {
  private current: number;
  private sleepers: { until: number; resolve: () => void }[] = [];

  constructor(start: number | Date) {
    this.current = typeof start === 'number' ? start : start.getTime();
  }

  now(): number {
    return this.current;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    throwIfAborted(signal, 'sleep');
    return new Promise((resolve) => {
      this.sleepers.push({ until: this.current + Math.max(0, ms), resolve });
      this.wake();
    });
  }

  /** Moves time forward and wakes every sleeper whose time has come. */
  advance(ms: number): void {
    this.current += ms;
    this.wake();
  }

  /** Jumps to an absolute time. */
  set(at: number | Date): void {
    this.current = typeof at === 'number' ? at : at.getTime();
    this.wake();
  }

  private wake(): void {
    const due = this.sleepers.filter((s) => s.until <= this.current);
    this.sleepers = this.sleepers.filter((s) => s.until > this.current);
    for (const s of due) s.resolve();
  }
}

/**
 * A clock that runs `speed` times faster than `base`: now() advances speed× as fast from the moment it is made
 * and sleep(ms) lasts ms / speed of base time. A run against a lab whose delays are divided by the same speed
 * then measures every wait, timeout and duration in the modelled cluster's time (--simulate). Timers shorter
 * than `minSleepMs` of base time are rounded up to it, so a 100 ms poll does not become a busy loop.
 * With `cpuMs` (this process's CPU time so far, e.g. from process.cpuUsage), the time this process spends
 * computing counts once, not speed times: the cookbook's own work takes as long against the real cluster as
 * against the sped-up lab, only the waits are shortened. now() never goes back.
 */
export function acceleratedClock(speed: number, options: { base?: Clock; minSleepMs?: number; cpuMs?: () => number } = {}): Clock & { readonly speed: number } {
  if (!Number.isFinite(speed) || speed <= 0) throw new RangeError(`clock speed must be a positive number, got ${speed}`);
  const base = options.base ?? systemClock;
  const minSleep = Math.max(0, options.minSleepMs ?? 0);
  const origin = base.now();
  const cpu = options.cpuMs;
  const cpu0 = cpu?.() ?? 0;
  let last = origin;
  // The CPU time is read once per wall millisecond: now() is called per request and per event (tens of
  // thousands of times in a big run), and reading it is a system call that showed in profiles.
  let cpuAt = Number.NaN;
  let cpuMs = cpu0;
  const cpuNow = (wallNow: number): number => {
    if (wallNow !== cpuAt) {
      cpuAt = wallNow;
      cpuMs = cpu!();
    }
    return cpuMs;
  };
  return Object.freeze({
    speed,
    now: () => {
      const wallNow = base.now();
      const wall = wallNow - origin;
      // Other threads (GC, the thread pool) can add CPU time faster than wall time passes: at most all of it.
      const busy = cpu ? Math.min(wall, Math.max(0, cpuNow(wallNow) - cpu0)) : 0;
      last = Math.max(last, origin + (wall - busy) * speed + busy);
      return last;
    },
    sleep(ms: number, signal?: AbortSignal): Promise<void> {
      const scaled = Number.isNaN(ms) ? 0 : Math.max(0, ms) / speed;
      return base.sleep(ms > 0 ? Math.max(minSleep, scaled) : scaled, signal);
    },
  });
}

/** This process's CPU time in milliseconds (user + system): for acceleratedClock's `cpuMs`. */
export function processCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}
