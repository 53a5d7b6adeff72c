// Waiting for a reboot to have happened. Reconnecting is not proof (sshd may never have gone down, or an old
// connection may linger); only a boot_id different from the one read before the reboot is. At the deadline the
// last observation tells the two failures apart: the host still answered with the old boot id ("never went
// down") or it has been unreachable since it went away ("never came back").
import { type Clock, systemClock, throwIfAborted } from '../core/clock.js';
import type { Gate } from '../core/gate.js';
import { type Backoff, backoffDelay, formatMs } from '../core/retry.js';
import { ChannelClosedError, HostUnreachableError, RebootNeverCameBackError, RebootNeverWentDownError, RemoteTimeoutError, type RemoteErrorContext } from './errors.js';
import { NotStartedError } from './exec.js';
import { messageOf } from '../core/errors.js';

/** Where the kernel publishes the id of the current boot. */
export const BOOT_ID_PATH = '/proc/sys/kernel/random/boot_id';

const BOOT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Parses the output of `cat /proc/sys/kernel/random/boot_id`; undefined when it is not a boot id. */
export function parseBootId(output: string): string | undefined {
  const id = output.trim().toLowerCase();
  return BOOT_ID.test(id) ? id : undefined;
}

/** True for the errors a rebooting host produces while it is down or coming up. */
export function isRebootTransient(err: unknown): boolean {
  return err instanceof HostUnreachableError || err instanceof ChannelClosedError || err instanceof NotStartedError || err instanceof RemoteTimeoutError;
}

/** Options of waitForNewBootId. */
export interface RebootWaitOptions {
  host: string;
  previousBootId: string;
  timeoutMs: number;
  /** Per-probe limit for connecting and reading (default min(10 s, remaining)). */
  probeTimeoutMs?: number;
  backoff?: Partial<Backoff>;
  clock?: Clock;
  signal?: AbortSignal;
  gate?: Gate;
  context: RemoteErrorContext;
  onProbe?: (info: { attempt: number; elapsedMs: number; bootId?: string; error?: unknown }) => void;
}

/** What a successful wait observed. */
export interface RebootWaitResult {
  host: string;
  bootId: string;
  previousBootId: string;
  elapsedMs: number;
  attempts: number;
  /** When the host was first seen unreachable (ms after the wait began), if it was. */
  wentDownAfterMs?: number;
}

const rebootBackoff: Backoff = { initialMs: 200, maxMs: 3_000, factor: 1.5, jitter: 0.2 };

/**
 * Polls `probe` (which connects afresh and reads the boot id) until it returns an id other than
 * `previousBootId`. Probe errors that a rebooting host produces are expected; others fail at once.
 */
export async function waitForNewBootId(probe: (timeoutMs: number) => Promise<string>, options: RebootWaitOptions): Promise<RebootWaitResult> {
  const clock = options.clock ?? systemClock;
  const backoff = { ...rebootBackoff, ...options.backoff };
  const start = clock.now();
  const previous = options.previousBootId.trim().toLowerCase();
  let last: 'old' | 'down' | undefined;
  let lastError: unknown;
  let wentDownAt: number | undefined;
  let downSince: number | undefined;
  let lastAnsweredAt: number | undefined;
  for (let attempt = 1; ; attempt++) {
    throwIfAborted(options.signal, `waiting for ${options.host} to reboot`);
    const remaining = options.timeoutMs - (clock.now() - start);
    try {
      const id = await probe(Math.max(1_000, Math.min(options.probeTimeoutMs ?? 10_000, remaining)));
      options.onProbe?.({ attempt, elapsedMs: clock.now() - start, bootId: id });
      if (id !== previous) {
        const result: RebootWaitResult = { host: options.host, bootId: id, previousBootId: previous, elapsedMs: clock.now() - start, attempts: attempt };
        if (wentDownAt !== undefined) result.wentDownAfterMs = wentDownAt - start;
        return result;
      }
      last = 'old';
      lastAnsweredAt = clock.now();
      downSince = undefined;
    } catch (err) {
      if (!isRebootTransient(err)) throw err;
      options.onProbe?.({ attempt, elapsedMs: clock.now() - start, error: err });
      last = 'down';
      lastError = err;
      wentDownAt ??= clock.now();
      downSince ??= clock.now();
    }
    // In dry-run the reboot was only planned: the new boot id will never come, so planning stops here.
    options.gate?.stopIfPlanning(`${options.host} to come back from a reboot with a new boot id`);
    const elapsed = clock.now() - start;
    if (elapsed >= options.timeoutMs) {
      const timing = { ...options.context, previousBootId: previous, timeoutMs: options.timeoutMs, elapsedMs: elapsed, attempts: attempt };
      if (last === 'old') {
        throw new RebootNeverWentDownError(
          `${options.host} did not reboot within ${formatMs(options.timeoutMs)}: it still answers with its old boot id ${previous}` +
            (wentDownAt !== undefined ? ` (it was unreachable ${formatMs(wentDownAt - start)} into the wait but came back without rebooting)` : ' and never went down'),
          { context: { ...timing, lastAnsweredAfterMs: lastAnsweredAt! - start }, hint: 'the reboot command did not take effect: check the host (a blocked shutdown, an inhibitor, a wrong reboot command)' },
        );
      }
      throw new RebootNeverCameBackError(
        `${options.host} has been unreachable since ${formatMs((downSince ?? start) - start)} into the wait and did not come back with a new boot id within ${formatMs(options.timeoutMs)}: ${messageOf(lastError)}`,
        { context: { ...timing, unreachableSinceMs: (downSince ?? start) - start }, cause: lastError, hint: 'look at the VM console (openstack console log show) for a failed boot; the host may need a hard reboot' },
      );
    }
    await clock.sleep(Math.min(backoffDelay(attempt, backoff), options.timeoutMs - elapsed), options.signal);
  }
}
