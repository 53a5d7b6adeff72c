// Waits and retries: deadlines, backoff with jitter, cancellation, progress, durations.
import { strict as assert } from 'node:assert';
import { ManualClock, realClock, systemClock } from '../../lib/core/clock.js';
import { InterruptedError, TimeoutError, UsageError } from '../../lib/core/errors.js';
import { Gate } from '../../lib/core/gate.js';
import { backoffDelay, formatMs, isTransientStatus, maxRetryAfterMs, parseDuration, parseRetryAfter, retry, transientDelay, waitFor } from '../../lib/core/retry.js';

describe('retry and waitFor', () => {
  it('backoff grows by the factor, is capped, and jitter stays within bounds', () => {
    const b = { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0.2 };
    assert.equal(backoffDelay(1, b, () => 0.5), 100);
    assert.equal(backoffDelay(3, b, () => 0.5), 400);
    assert.equal(backoffDelay(10, b, () => 0.5), 1000);
    assert.equal(backoffDelay(1, b, () => 0), 80);
    assert.equal(backoffDelay(1, b, () => 0.9999), 120);
  });

  it('waitFor returns the first truthy probe value and reports attempts', async () => {
    let n = 0;
    const attempts: number[] = [];
    const v = await waitFor(async () => (++n >= 3 ? 'ok' : undefined), {
      what: 'thing',
      timeoutMs: 5000,
      backoff: { initialMs: 1, maxMs: 2 },
      onAttempt: (a) => attempts.push(a.attempt),
    });
    assert.equal(v, 'ok');
    assert.deepEqual(attempts, [1, 2]);
  });

  it('waitFor throws TimeoutError naming what it waited for', async () => {
    const clock = new ManualClock(0);
    const p = waitFor(async () => false, { what: 'node x Ready', timeoutMs: 1000, clock, backoff: { initialMs: 100, maxMs: 100, jitter: 0 } }).catch((e: unknown) => e);
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setImmediate(r));
      clock.advance(100);
    }
    const e = await p;
    assert.ok(e instanceof TimeoutError && /timed out after 1\.0s waiting for node x Ready/.test(e.message), String(e));
  });

  it('retry retries failures, gives up at the deadline with the last error as cause', async () => {
    let n = 0;
    const err = await retry(
      async () => {
        n++;
        throw new Error(`fail ${n}`);
      },
      { what: 'flaky call', timeoutMs: 50, backoff: { initialMs: 5, maxMs: 5 } },
    ).catch((e: unknown) => e);
    assert.ok(err instanceof TimeoutError);
    assert.ok(n >= 2);
    assert.match((err.cause as Error).message, /^fail \d+$/);
  });

  it('retry does not retry usage errors', async () => {
    let n = 0;
    await assert.rejects(
      retry(async () => {
        n++;
        throw new UsageError('bad');
      }, { what: 'x', timeoutMs: 1000 }),
      UsageError,
    );
    assert.equal(n, 1);
  });

  it('an aborted signal interrupts a wait promptly', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 20);
    const t0 = Date.now();
    await assert.rejects(waitFor(async () => false, { what: 'x', timeoutMs: 60_000, signal: ac.signal, clock: systemClock, backoff: { initialMs: 10_000 } }), InterruptedError);
    assert.ok(Date.now() - t0 < 2000);
  });

  it('in dry-run a wait that is not satisfied stops planning instead of waiting', async () => {
    await assert.rejects(waitFor(async () => false, { what: 'VM ACTIVE', timeoutMs: 60_000, gate: new Gate({ dryRun: true }) }), /would wait for VM ACTIVE/);
  });

  it('parses and formats durations', () => {
    assert.equal(parseDuration('90'), 90_000);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('250ms'), 250);
    assert.throws(() => parseDuration('5 minutes'), /not a duration/);
    assert.throws(() => parseDuration('5mx'), /not a duration/);
    assert.equal(formatMs(850), '850ms');
    assert.equal(formatMs(12_345), '12.3s');
    assert.equal(formatMs(245_000), '4m05s');
  });

  it('parses Retry-After as seconds or an HTTP date, capped and never negative', () => {
    const now = Date.parse('2026-11-30T06:00:00Z');
    assert.equal(parseRetryAfter('3', now), 3000);
    assert.equal(parseRetryAfter(['2'], now), 2000);
    assert.equal(parseRetryAfter('0.5', now), 500);
    assert.equal(parseRetryAfter('Mon, 30 Nov 2026 06:00:10 GMT', now), 10_000);
    assert.equal(parseRetryAfter('Mon, 30 Nov 2026 05:00:00 GMT', now), 0);
    assert.equal(parseRetryAfter('999999', now), maxRetryAfterMs);
    assert.equal(parseRetryAfter(undefined, now), undefined);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.deepEqual([429, 500, 502, 503, 504, 400, 404, 409].map(isTransientStatus), [true, true, true, true, true, false, false, false]);
  });

  it('transientDelay honours Retry-After over a shorter backoff and never passes the time left', () => {
    const backoff = { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0 };
    assert.equal(transientDelay(1, { backoff }), 100);
    assert.equal(transientDelay(1, { backoff, retryAfterMs: 2000 }), 2000);
    assert.equal(transientDelay(5, { backoff, retryAfterMs: 50 }), 1000);
    assert.equal(transientDelay(1, { backoff, retryAfterMs: 2000, remainingMs: 300 }), 300);
  });

  it('retry waits at least what the failure asks for (minDelayMs)', async () => {
    const delays: number[] = [];
    let n = 0;
    const v = await retry(
      async () => {
        if (++n < 3) throw Object.assign(new Error('busy'), { retryAfterMs: 30 });
        return n;
      },
      {
        what: 'busy call',
        timeoutMs: 5000,
        backoff: { initialMs: 1, maxMs: 1, jitter: 0 },
        minDelayMs: (e) => (e as { retryAfterMs?: number }).retryAfterMs,
        onAttempt: (a) => delays.push(a.nextDelayMs),
      },
    );
    assert.equal(v, 3);
    assert.deepEqual(delays, [30, 30]);
  });

  it('a sleep longer than Node\'s timer limit (30 days) neither resolves at once nor leaks', async () => {
    const ac = new AbortController();
    let resolved = false;
    const long = systemClock.sleep(30 * 86_400_000, ac.signal).then(() => (resolved = true));
    const outcome = long.catch((e: unknown) => e);
    // A setTimeout over 2^31-1 ms fires after 1 ms; give it several event-loop turns to show that.
    await systemClock.sleep(30);
    assert.equal(resolved, false, 'a 30-day sleep resolved at once: the timer overflowed');
    ac.abort();
    assert.ok((await outcome) instanceof InterruptedError);
  });

  it('long sleeps re-arm their timer in chunks and end on time', async () => {
    const clock = realClock({ maxChunkMs: 10 });
    // Watch the timers the sleep arms (a thin wrapper over Node's own setTimeout, restored at once).
    const real = globalThis.setTimeout;
    const armed: number[] = [];
    globalThis.setTimeout = ((fn: () => void, ms?: number) => {
      armed.push(ms ?? 0);
      return real(fn, ms);
    }) as typeof setTimeout;
    const t0 = Date.now();
    try {
      await clock.sleep(45);
    } finally {
      globalThis.setTimeout = real;
    }
    assert.ok(Date.now() - t0 >= 44, `woke after ${Date.now() - t0} ms`);
    // Other code may arm timers meanwhile; ours are the short ones, and none spans the whole sleep.
    assert.ok(armed.filter((ms) => ms <= 10).length >= 2 && !armed.some((ms) => ms >= 44), `timers armed: ${armed.join(', ')}`);
  });
});
