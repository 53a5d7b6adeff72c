// The fan-out executor with synthetic per-host tasks (no SSH): concurrency, batches, pauses, threshold,
// deadlines, abort and progress.
import assert from 'node:assert/strict';
import { InputError, TimeoutError } from '../../lib/core/errors.js';
import { fanOut } from '../../lib/remote/fanout.js';

const hosts = (n: number): string[] => Array.from({ length: n }, (_, i) => `h${i + 1}`);
const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      reject(signal.reason);
    });
  });

describe('remote/fanout', () => {
  it('never runs more than `concurrency` tasks at once and runs them all', async () => {
    let running = 0;
    let peak = 0;
    const out = await fanOut(
      hosts(20),
      async (h) => {
        running++;
        peak = Math.max(peak, running);
        await sleep(10);
        running--;
        return h.toUpperCase();
      },
      { concurrency: 4 },
    );
    assert.equal(peak, 4);
    assert.equal(out.succeeded, 20);
    assert.ok(out.thresholdMet);
    assert.deepEqual(out.outcomes.map((o) => o.value), hosts(20).map((h) => h.toUpperCase()));
  });

  it('runs batches one after the other with a pause between them', async () => {
    const started: { host: string; at: number; batch: number }[] = [];
    const t0 = Date.now();
    const out = await fanOut(
      hosts(5),
      async (host, _s, batch) => {
        started.push({ host, at: Date.now() - t0, batch });
        await sleep(20);
      },
      { batchSize: 2, batchSleepMs: 100, concurrency: 10 },
    );
    assert.deepEqual(out.batches, [['h1', 'h2'], ['h3', 'h4'], ['h5']]);
    const firstOf = (b: number): number => Math.min(...started.filter((s) => s.batch === b).map((s) => s.at));
    assert.ok(firstOf(1) >= 120 - 5, `batch 2 started at ${firstOf(1)} ms`);
    assert.ok(firstOf(2) - firstOf(1) >= 120 - 5, `batch 3 started ${firstOf(2) - firstOf(1)} ms after batch 2`);
  });

  it('stops starting hosts once the success threshold cannot be met', async () => {
    const ran: string[] = [];
    const out = await fanOut(
      hosts(10),
      async (h) => {
        ran.push(h);
        if (h === 'h2' || h === 'h3') throw new Error(`boom ${h}`);
      },
      { batchSize: 3, concurrency: 1, successThreshold: 0.9 },
    );
    // 9 of 10 needed: the second failure (h3) makes it unreachable, so batch 2 never starts.
    assert.deepEqual(ran, ['h1', 'h2', 'h3']);
    assert.equal(out.failed, 2);
    assert.equal(out.skipped, 7);
    assert.ok(!out.thresholdMet);
    assert.ok(out.outcomes.slice(3).every((o) => o.status === 'skipped' && o.skipReason === 'threshold'));
    assert.match(String((out.outcomes[1]!.error as Error).message), /boom h2/);
  });

  it('meets a lower threshold despite failures and keeps going', async () => {
    const out = await fanOut(hosts(10), async (h) => {
      if (h === 'h2' || h === 'h3') throw new Error('no');
    }, { batchSize: 3, successThreshold: '80%' });
    assert.equal(out.succeeded, 8);
    assert.ok(out.thresholdMet);
    assert.equal(out.required, 8);
  });

  it('aborts running tasks and skips the rest at the overall deadline', async () => {
    const cancelled: string[] = [];
    // Tasks far longer than any test: the run can only end through the deadline cancelling them.
    const task = (h: string, signal: AbortSignal): Promise<void> => sleep(600_000, signal).finally(() => signal.aborted && cancelled.push(h));
    const out = await fanOut(hosts(6), task, { concurrency: 2, overallTimeoutMs: 100 });
    assert.equal(out.failed, 2);
    assert.equal(out.skipped, 4);
    assert.ok(out.outcomes.filter((o) => o.status === 'failed').every((o) => o.error instanceof TimeoutError));
    assert.ok(out.outcomes.filter((o) => o.status === 'skipped').every((o) => o.skipReason === 'deadline'));
    assert.deepEqual(cancelled.sort(), ['h1', 'h2'], 'the two running tasks were cancelled');
  });

  it('skips everything not started after the caller aborts', async () => {
    const ac = new AbortController();
    const out = await fanOut(
      hosts(4),
      async (h, signal) => {
        if (h === 'h1') ac.abort(new Error('operator'));
        await sleep(5, signal).catch(() => undefined);
      },
      { concurrency: 1, signal: ac.signal },
    );
    assert.equal(out.outcomes[0]!.status, 'ok');
    assert.ok(out.outcomes.slice(1).every((o) => o.status === 'skipped' && o.skipReason === 'aborted'));
  });

  it('reports progress for every host and refuses duplicates', async () => {
    const seen: [string, number, number][] = [];
    await fanOut(hosts(3), async () => 1, { onDone: (o, done, total) => seen.push([o.host, done, total]) });
    assert.deepEqual(seen.map((s) => s[1]), [1, 2, 3]);
    assert.ok(seen.every((s) => s[2] === 3));
    await assert.rejects(fanOut(['a', 'b', 'a'], async () => 1), InputError);
  });
});
