// The simulation's pure parts: the accelerated clock, the node timeline from events (order, batches as waves,
// waits, holds with their PDB), the step list, the console summary; and --simulate's bad input (exit 2 before
// anything is read, through the real CLI).
import { strict as assert } from 'node:assert';
import { ManualClock, acceleratedClock } from '../../lib/core/clock.js';
import type { RunEvent } from '../../lib/core/events.js';
import { busyNote, maskedSecretsOf, notesFrom, predictionSection, renderSimulation, snapshotNotes } from '../../lib/simulate/output.js';
import { type TimedEvent, nodeTimeline, stepList } from '../../lib/simulate/timeline.js';
import { FIXTURE_INVENTORY, cleanupTempDirs, runCli, tempDir } from '../helpers/cli.js';

const p = (atMs: number, target: string, phase: string, message?: string): TimedEvent => ({ atMs, event: { type: 'progress', scope: 'reboot', target, phase, total: 4, ...(message ? { message } : {}) } });
const step = (atMs: number, index: number, name: string, end?: number): TimedEvent[] => [
  { atMs, event: { type: 'step.start', name, index } },
  { atMs: end ?? atMs, event: { type: 'step.end', name, index, status: 'done', durationMs: (end ?? atMs) - atMs } as RunEvent },
];
const nodes = new Set(['n1', 'n2', 'n3', 'n4']);
const isNode = (n: string): boolean => nodes.has(n);

describe('simulate: accelerated clock', () => {
  it('now() runs speed times faster and sleeps last 1/speed of base time', async () => {
    const base = new ManualClock(1_000_000);
    const clock = acceleratedClock(40, { base });
    base.advance(100);
    assert.equal(clock.now(), 1_000_000 + 4000);
    let woke = false;
    const sleeping = clock.sleep(4000).then(() => (woke = true));
    base.advance(99);
    await Promise.resolve();
    assert.equal(woke, false, 'not before 100 ms of base time');
    base.advance(1);
    await sleeping;
    assert.equal(woke, true);
  });

  it('refuses a speed that is not positive', () => {
    assert.throws(() => acceleratedClock(0), RangeError);
    assert.throws(() => acceleratedClock(Number.NaN), RangeError);
  });
});

describe('simulate: timeline from events', () => {
  const rows: { title: string; events: TimedEvent[]; order: string[]; batches: string[][]; holds?: { node: string; pdb?: string }[]; waits?: number; maxInFlight?: number }[] = [
    {
      title: 'two slots: waves, not rounds (n3 and n4 start after wave 1 nodes finished, at different moments)',
      events: [p(0, 'n1', 'preflight'), p(0, 'n2', 'preflight'), p(0, 'n3', 'waiting', 'max-unavailable 2/2 reached'), p(10, 'n1', 'done'), p(11, 'n3', 'preflight'), p(12, 'n4', 'waiting', 'max-unavailable 2/2 reached'), p(15, 'n2', 'done'), p(15, 'n4', 'preflight'), p(30, 'n3', 'done'), p(31, 'n4', 'done')],
      order: ['n1', 'n2', 'n3', 'n4'],
      batches: [['n1', 'n2'], ['n3', 'n4']],
      waits: 2,
      maxInFlight: 2,
    },
    {
      title: 'a node that never starts is a hold, with the PDB its last reason names',
      events: [p(0, 'n1', 'preflight'), p(0, 'n2', 'waiting', 'max-unavailable 1/1 reached'), p(5, 'n1', 'done'), p(6, 'n2', 'waiting', 'PDB tool-x/db allows 0 disruptions')],
      order: ['n1'],
      batches: [['n1']],
      holds: [{ node: 'n2', pdb: 'tool-x/db' }],
      waits: 2,
      maxInFlight: 1,
    },
    {
      title: 'drain progress (pods) and targets that are not nodes are left out',
      events: [p(0, 'n1', 'preflight'), { atMs: 1, event: { type: 'progress', scope: 'drain', target: 'ns/pod', phase: 'evicting' } }, p(2, '1.30', 'control-plane'), p(3, 'n1', 'done')],
      order: ['n1'],
      batches: [['n1']],
      waits: 0,
      maxInFlight: 1,
    },
    {
      title: 'no node progress (add-node): the steps that name a node make its timeline',
      events: [...step(0, 0, 'delete leftover join tokens', 1), ...step(1, 1, 'create VM n4', 5), ...step(5, 2, 'join n4', 9)],
      order: ['n4'],
      batches: [['n4']],
      waits: 0,
      maxInFlight: 1,
    },
  ];
  for (const r of rows) {
    it(r.title, () => {
      const t = nodeTimeline({ events: r.events, isNode, startMs: 0, endMs: 40 });
      assert.deepEqual(t.nodeOrder, r.order);
      assert.deepEqual(t.batches, r.batches);
      assert.deepEqual(t.holds.map((h) => ({ node: h.node, ...(h.pdb ? { pdb: h.pdb } : {}) })), r.holds ?? []);
      assert.equal(t.waits.length, r.waits);
      assert.equal(t.maxInFlight, r.maxInFlight);
    });
  }

  it('a wait lasts until the node next changes phase', () => {
    const t = nodeTimeline({ events: [p(0, 'n1', 'waiting', 'PDB a/b allows 0 disruptions'), p(7000, 'n1', 'preflight'), p(9000, 'n1', 'done')], isNode, startMs: 0, endMs: 9000 });
    assert.deepEqual(t.waits, [{ node: 'n1', reason: 'PDB a/b allows 0 disruptions', seconds: 7 }]);
  });

  it('the step list: start and duration in seconds from the run start', () => {
    assert.deepEqual(stepList([...step(2000, 0, 'cordon n1', 3500), ...step(3500, 1, 'drain n1', 9500)], 1000), [
      { name: 'cordon n1', status: 'done', startSeconds: 1, seconds: 1.5 },
      { name: 'drain n1', status: 'done', startSeconds: 2.5, seconds: 6 },
    ]);
  });

  it('the console summary names the hold, the PDB and the prediction; the report page shows the notes', () => {
    const outcome: Parameters<typeof renderSimulation>[0] = {
      cookbook: 'k8s.reboot',
      cluster: 'c1',
      exitCode: 1,
      result: { status: 'failed' },
      json: {},
      segments: {},
      startMs: 0,
      summary: {
        predictedSeconds: 754,
        nodeOrder: ['n1'],
        batches: [['n1']],
        waits: [{ node: 'n2', reason: 'PDB tool-x/db allows 0 disruptions', seconds: 600 }],
        maxUnavailable: 1,
        pdbViolations: 0,
        apiRequests: { count: 120, peakPerSecond: 9 },
        holds: [{ node: 'n2', reason: 'PDB tool-x/db allows 0 disruptions', pdb: 'tool-x/db' }],
        steps: [{ name: 'cordon n1', status: 'done', startSeconds: 0, seconds: 2 }],
        timeline: {},
        heldEarly: true,
        notes: ['Secret contents are not captured in a snapshot: x'],
        twin: { kind: 'twin', speed: 30, wallSeconds: 25 },
      },
    };
    const text = renderSimulation(outcome);
    assert.match(predictionSection(outcome), /<h2>Notes<\/h2>\n<ul class="notes"><li>Secret contents are not captured in a snapshot: x<\/li><\/ul>/);
    assert.match(text, /^SIMULATED k8s\.reboot on a twin of c1: WOULD HOLD .* predicted duration 12m34s/);
    assert.match(text, /would hold at n2: PDB tool-x\/db allows 0 disruptions/);
    assert.match(text, /API requests: 120 \(peak 9\/s\)/);
    assert.match(text, /Nothing was changed on the cluster/);
    assert.match(text, /\n  note: Secret contents are not captured in a snapshot: x\n/);
  });
});

describe('simulate: notes from the snapshot', () => {
  const snapshot = { components: [{ component: 'creds', maskedSecrets: ['creds/db'] }, { component: 'web', maskedSecrets: [] }], nodes: [] };
  it('a masked Secret the run predicts changed is named, with why', () => {
    const notes = notesFrom(maskedSecretsOf(snapshot), { result: { diff: '~ change Secret/creds/db\n1 to change' } });
    assert.equal(notes.length, 1);
    assert.match(notes[0]!, /^Secret contents are not captured in a snapshot: .* creds\/db \(creds\) is predicted to change; the real run changes it only if its values differ$/);
  });
  it('nothing to say when the run changes no masked Secret; all of them when there is no result', () => {
    assert.deepEqual(snapshotNotes(snapshot, { result: { diff: '0 to change' } }), []);
    assert.equal(snapshotNotes(snapshot, undefined).length, 1);
    assert.deepEqual(snapshotNotes({ nodes: [] }, undefined), []);
  });
});

describe('simulate: a note when the simulating process was CPU-bound', () => {
  for (const [title, twin, want] of [
    ['mostly waiting (10% busy): no note', { speed: 30, wallSeconds: 100, cpuSeconds: 10 }, undefined],
    ['at the threshold (30%): no note', { speed: 30, wallSeconds: 100, cpuSeconds: 30 }, undefined],
    ['the model reboot (49% busy at 30): speed 10 suggested', { speed: 30, wallSeconds: 72, cpuSeconds: 35 }, /busy 49% .* speed 30: .* likely short; --simulate-speed 10 .* about 3x/],
    ['35% busy at 30: speed 15', { speed: 30, wallSeconds: 100, cpuSeconds: 35 }, /--simulate-speed 15 /],
    ['busy at a low speed: never below 1', { speed: 3, wallSeconds: 20, cpuSeconds: 18 }, /--simulate-speed 1 /],
    ['a short run (a small deploy: 50% busy, 0.25 s of CPU): no note', { speed: 20, wallSeconds: 0.5, cpuSeconds: 0.25 }, undefined],
    ['no CPU figure (an older summary): no note', { speed: 30, wallSeconds: 72 }, undefined],
  ] as const) {
    it(title, () => {
      const notes = busyNote(twin);
      if (want === undefined) assert.deepEqual(notes, []);
      else {
        assert.equal(notes.length, 1);
        assert.match(notes[0]!, want);
      }
    });
  }
});

describe('simulate: bad input exits 2 before anything is read', function () {
  this.timeout(60_000);
  after(cleanupTempDirs);
  const rows: [string, string[], RegExp][] = [
    ['with --dry-run', ['k8s.cordon', '--cluster-name', 'fixture', '--hostname', 'fx-k8s-worker-1', '--simulate', '--dry-run'], /--simulate and --dry-run exclude each other/],
    ['on a cookbook that only reads', ['inventory.show', '--cluster-name', 'fixture', '--simulate'], /inventory\.show only reads: there is nothing to simulate/],
    ['--simulate-speed without --simulate', ['k8s.cordon', '--cluster-name', 'fixture', '--hostname', 'fx-k8s-worker-1', '--simulate-speed', '20'], /--simulate-speed is only meaningful with --simulate/],
    ['--simulate-speed 0', ['k8s.cordon', '--cluster-name', 'fixture', '--hostname', 'fx-k8s-worker-1', '--simulate', '--simulate-speed', '0'], /--simulate-speed: expected a number from 1 to 1000, got 0/],
  ];
  for (const [title, args, message] of rows) {
    it(title, async () => {
      const state = tempDir('cc-sim-bad-');
      const r = await runCli([...args, '--inventory', FIXTURE_INVENTORY, '--state-dir', state]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /taking a snapshot/, 'nothing was read');
    });
  }
});
