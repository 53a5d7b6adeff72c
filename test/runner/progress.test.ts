// The live progress table's bookkeeping: one table of progress event sequences → the lines drawn (rows kept,
// dropped, ordered; failures counted once; time in a phase kept across repeats). The drawing on a terminal is
// tested through k8s.reboot in test/cookbooks/k8s/reboot-progress.test.ts.
import { strict as assert } from 'node:assert';
import type { StampedEvent } from '../../lib/core/events.js';
import { LiveProgress, type TtyStream, liveProgressFor } from '../../lib/runner/progress.js';

type Progress = Extract<StampedEvent, { type: 'progress' }>;
const ev = (target: string, phase: string, extra: Partial<Progress> = {}): Progress => ({ type: 'progress', scope: 'reboot', target, phase, at: '', ...extra });

function table(events: { at: number; event: Progress }[], now: number): string[] {
  let clock = 0;
  const written: string[] = [];
  const stream: TtyStream = { isTTY: true, columns: 100, write: (chunk) => (written.push(String(chunk)), true) };
  const live = new LiveProgress(stream, { now: () => clock, tickMs: 0 });
  for (const { at, event } of events) {
    clock = at;
    live.update(event);
  }
  clock = now;
  const lines = live.lines();
  live.stop();
  assert.ok(written.length > 0, 'the table was drawn');
  return lines;
}

describe('runner progress: LiveProgress lines', () => {
  const rows: [string, { at: number; event: Progress }[], number, string[]][] = [
    [
      'one node draining, with done/total and ETA',
      [{ at: 0, event: ev('w1', 'draining', { done: 1, total: 4, etaMs: 120_000, message: '3 pods' }) }],
      5000,
      ['reboot [#####...............] 1/4 done · 1 in flight · ETA 2m00s', '  NODE  PHASE          FOR', '  w1    draining      5.0s  3 pods'],
    ],
    [
      'a node that is done has no row',
      [{ at: 0, event: ev('w1', 'draining', { done: 0, total: 2 }) }, { at: 1000, event: ev('w1', 'done', { done: 1 }) }],
      2000,
      ['reboot [##########..........] 1/2 done · 0 in flight'],
    ],
    [
      'the same phase again keeps its start; a new phase restarts the clock',
      [{ at: 0, event: ev('w1', 'rebooting') }, { at: 3000, event: ev('w1', 'rebooting') }, { at: 4000, event: ev('w2', 'draining') }, { at: 6000, event: ev('w2', 'uncordon') }],
      10_000,
      ['reboot [....................] 0/0 done · 2 in flight', '  NODE  PHASE          FOR', '  w1    rebooting    10.0s', '  w2    uncordon      4.0s'],
    ],
    [
      'in flight first, then failed, then waiting; a failure counted once',
      [{ at: 0, event: ev('w3', 'waiting') }, { at: 0, event: ev('w2', 'failed') }, { at: 0, event: ev('w2', 'failed') }, { at: 0, event: ev('w1', 'draining') }],
      0,
      ['reboot [....................] 0/0 done · 1 in flight · 1 waiting · 1 failed', '  NODE  PHASE          FOR', '  w1    draining       0ms', '  w2    failed         0ms', '  w3    waiting        0ms'],
    ],
  ];
  for (const [title, events, now, want] of rows) it(title, () => assert.deepEqual(table(events, now), want));
});

describe('runner progress: which events and streams', () => {
  const live = new LiveProgress({ write: () => true }, { tickMs: 0 });
  const handled: [string, StampedEvent, boolean][] = [
    ['progress of its scope', ev('w1', 'draining'), true],
    ['progress of another scope', { ...ev('ns/p', 'gone'), scope: 'drain' }, false],
    ['a log line', { type: 'log', level: 'info', message: 'x', at: '' }, false],
  ];
  for (const [title, e, want] of handled) it(`handles ${title} → ${want}`, () => assert.equal(live.handles(e), want));
  const streams: [string, TtyStream, boolean][] = [
    ['a TTY', { isTTY: true, write: () => true }, true],
    ['a pipe', { isTTY: false, write: () => true }, false],
  ];
  for (const [title, stream, want] of streams) {
    it(`liveProgressFor ${title} → ${want ? 'a table' : 'none'}`, () => {
      const p = liveProgressFor(stream, { tickMs: 0 });
      assert.equal(p !== undefined, want && !process.env.NO_PROGRESS);
      p?.stop();
    });
  }
});
