// Waits and retries: deadlines, backoff with jitter, cancellation, progress, durations.
import { strict as assert } from 'node:assert';
import { ManualClock, systemClock } from '../../lib/core/clock.js';
import { InterruptedError, TimeoutError, UsageError } from '../../lib/core/errors.js';
import { Gate } from '../../lib/core/gate.js';
import { backoffDelay, formatMs, parseDuration, retry, waitFor } from '../../lib/core/retry.js';

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
});
