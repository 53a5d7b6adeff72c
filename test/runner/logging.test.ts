// The run's log views (lib/runner/logging.ts): the first changes of a run are logged one line each, as always;
// past them, changes and the progress events between them go in batches (one file line per second or per
// CHANGES_PER_BATCH events, every one in it, redacted), logged before whatever other event follows them; the
// console block of a batch counts the changes and names the ends, then shows the progress lines.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { EventBus } from '../../lib/core/events.js';
import type { Change } from '../../lib/core/gate.js';
import { registerSecret } from '../../lib/core/redact.js';
import { CHANGES_ONE_BY_ONE, CHANGES_PER_BATCH, batchText } from '../../lib/runner/logging.js';
import { attachLogging, describeChange } from '../../lib/runner/output.js';
import { cleanupTempDirs, tempDir } from '../helpers/cli.js';

const change = (i: number, action = 'server-side apply', planned = false): Change => ({ system: 'k8s', action, target: `ConfigMap/ns/cm-${i}`, planned, at: new Date().toISOString() });

describe('run log views: changes one by one, then in batches', () => {
  after(cleanupTempDirs);

  it('the file has the first changes one per line, then batches holding every later change (redacted), before the next event', async () => {
    const bus = new EventBus();
    const logging = attachLogging(bus, { logDir: tempDir(), runId: 'r1', cookbook: 'c', verbose: false, console: false });
    const n = CHANGES_ONE_BY_ONE + CHANGES_PER_BATCH + 100;
    registerSecret('cm-secret-value-7');
    for (let i = 0; i < n; i++) bus.emit({ type: 'change', change: { ...change(i), ...(i === n - 1 ? { detail: { note: 'cm-secret-value-7' } } : {}) } });
    bus.emit({ type: 'step.end', name: 'apply', index: 0, status: 'done', durationMs: 1 });
    await logging.close();
    const lines = readFileSync(logging.file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; count?: number; changes?: Change[]; change?: Change });
    assert.deepEqual(lines.slice(0, CHANGES_ONE_BY_ONE).map((l) => l.type), Array(CHANGES_ONE_BY_ONE).fill('change'));
    const batches = lines.slice(CHANGES_ONE_BY_ONE, -1);
    assert.ok(batches.length >= 2 && batches.every((b) => b.type === 'batch' && b.count === b.changes!.length && b.count! <= CHANGES_PER_BATCH), JSON.stringify(batches.map((b) => b.count)));
    const targets = [...lines.slice(0, CHANGES_ONE_BY_ONE).map((l) => l.change!.target), ...batches.flatMap((b) => b.changes!.map((c) => c.target))];
    assert.deepEqual(targets, Array.from({ length: n }, (_, i) => `ConfigMap/ns/cm-${i}`), 'every change is in the file, in order');
    assert.equal(lines.at(-1)!.type, 'step.end', "the step's end comes after its changes");
    assert.ok(!readFileSync(logging.file, 'utf8').includes('cm-secret-value-7'), 'batched changes are redacted');
  });

  it("a drain's progress between its changes joins the batch (file and console) instead of flushing it each time", async () => {
    const bus = new EventBus();
    const logging = attachLogging(bus, { logDir: tempDir(), runId: 'r2', cookbook: 'c', verbose: false, console: false });
    const n = CHANGES_ONE_BY_ONE + 200;
    for (let i = 0; i < n; i++) {
      bus.emit({ type: 'change', change: change(i, 'evict') });
      bus.emit({ type: 'progress', scope: 'drain', target: `ns/pod-${i}`, phase: 'evicting' });
    }
    bus.emit({ type: 'step.end', name: 'drain', index: 0, status: 'done', durationMs: 1 });
    await logging.close();
    type Line = { type: string; count?: number; changes?: Change[]; progress?: { target: string; phase: string }[]; target?: string };
    const lines = readFileSync(logging.file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Line);
    // One by one until the 16th change (its progress included), then a handful of batch lines, not 2 x 200.
    const batches = lines.filter((l) => l.type === 'batch');
    assert.ok(lines.length < CHANGES_ONE_BY_ONE * 2 + 10, `${lines.length} lines`);
    assert.deepEqual(batches.flatMap((b) => b.changes!.map((c) => c.target)), Array.from({ length: 200 }, (_, i) => `ConfigMap/ns/cm-${i + CHANGES_ONE_BY_ONE}`));
    const progress = [...lines.filter((l) => l.type === 'progress').map((l) => l.target), ...batches.flatMap((b) => (b.progress ?? []).map((p) => p.target))];
    assert.deepEqual(progress, Array.from({ length: n }, (_, i) => `ns/pod-${i}`), 'every progress event is in the file, in order');
    assert.equal(lines.at(-1)!.type, 'step.end');
  });

  describe('the console line of a batch', () => {
    const cases: [string, Change[], string][] = [
      ['one verb: counted, first and last named', [change(1), change(2), change(3)], '  did server-side apply ×3: ConfigMap/ns/cm-1 … ConfigMap/ns/cm-3'],
      ['a lone change reads as one change', [change(1, 'prune')], '  did prune ConfigMap/ns/cm-1'],
      ['verbs and planned changes are grouped apart', [change(1), change(2), change(3, 'prune'), change(4, 'prune', true), change(5, 'prune', true)], '  did server-side apply ×2: ConfigMap/ns/cm-1 … ConfigMap/ns/cm-2\n  did prune ConfigMap/ns/cm-3\n  would prune ×2: ConfigMap/ns/cm-4 … ConfigMap/ns/cm-5'],
    ];
    for (const [title, changes, want] of cases) it(title, () => assert.equal(batchText(changes, describeChange), want));
  });
});
