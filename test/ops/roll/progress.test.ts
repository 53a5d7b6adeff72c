// A roll's progress events on a TTY: the runner's live table shows the `roll` scope (the first table scope a
// run reports), with the roll's done/total and ETA, and keeps other scopes (a drain's pods) as plain lines.
import { strict as assert } from 'node:assert';
import type { StampedEvent } from '../../../lib/core/events.js';
import { LiveProgress, type TtyStream } from '../../../lib/runner/progress.js';
import { ROLL_WORK } from '../../../lib/ops/roll/execute.js';

type Progress = Extract<StampedEvent, { type: 'progress' }>;

describe('roll progress in the live table', () => {
  it('shows roll events as the table, drain events not, with done/total and ETA', () => {
    const stream: TtyStream = { isTTY: true, columns: 120, write: () => true };
    const live = new LiveProgress(stream, { now: () => 0, tickMs: 0 });
    const ev = (target: string, phase: string, scope = ROLL_WORK): Progress => ({ type: 'progress', scope, target, phase, done: 2, total: 12, etaMs: 60_000, at: '' });
    const drain = ev('ns/pod', 'evicting', 'drain');
    assert.equal(live.handles(drain), false, 'a drain of the roll stays a plain line');
    const add = ev('w-7', 'vm');
    assert.equal(live.handles(add), true);
    live.update(add);
    const lines = live.lines();
    live.stop();
    assert.match(lines[0]!, /^roll \[###\.+\] 2\/12 done · 1 in flight · ETA 1m00s$/);
    assert.match(lines[2]!, /w-7\s+vm/);
    assert.equal(live.handles(ev('w1', 'draining', 'reboot')), false, 'one table per run: the first scope stays');
  });
});
