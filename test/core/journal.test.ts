// The journal's "already done" rule: a successful run whose end was never reported counts as done for a re-run
// with the same key only while it is the latest word on its cluster (newest run with that key, nothing else
// run on the cluster since, finished within the window); dry-runs and reported runs never count.
import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { COMPLETED_RUN_WINDOW_MS, type JournalFilter, Journal, canonicalJson, findCompletedUnreported, journalKey, readAllJournals, scanJournals } from '../../lib/core/journal.js';
import { cleanupTempDirs, tempDir } from '../helpers/cli.js';

let clock = Date.parse('2026-01-01T00:00:00Z');
function run(state: string, cookbook: string, cluster: string, args: Record<string, unknown>, opts: { dryRun?: boolean; status?: 'success' | 'failed'; reported?: boolean } = {}): Journal {
  const j = Journal.create(state, { runId: `r${clock}`, cookbook, cluster, args, dryRun: opts.dryRun ?? false });
  // Journals are ordered by their timestamps: give each run its own second.
  j.data.startedAt = new Date((clock += 1000)).toISOString();
  j.finish(opts.status ?? 'success');
  j.data.finishedAt = new Date((clock += 1000)).toISOString();
  j.flush();
  if (opts.reported) j.reported();
  return j;
}

describe('journal: completed but unreported runs', () => {
  after(cleanupTempDirs);
  const args = { role: 'worker' };
  const key = journalKey('k8s.add-node', 'lab', args);
  const now = (): number => clock + 1000;

  it('the newest unreported success with the key is found; a reported one is not', () => {
    const state = tempDir();
    const done = run(state, 'k8s.add-node', 'lab', args);
    assert.equal(findCompletedUnreported(state, key, now())?.data.runId, done.data.runId);
    done.reported();
    assert.equal(findCompletedUnreported(state, key, now()), undefined);
  });

  it('a later run on the same cluster (any cookbook) ends it; runs elsewhere and dry-runs do not', () => {
    const state = tempDir();
    const done = run(state, 'k8s.add-node', 'lab', args);
    run(state, 'k8s.drain', 'other-cluster', { hostname: 'x' });
    run(state, 'k8s.drain', 'lab', { hostname: 'x' }, { dryRun: true });
    assert.equal(findCompletedUnreported(state, key, now())?.data.runId, done.data.runId);
    run(state, 'k8s.remove-node', 'lab', { hostname: 'x' }, { reported: true });
    assert.equal(findCompletedUnreported(state, key, now()), undefined);
  });

  it('a newer failed run with the key, or other arguments, or an old success do not count as done', () => {
    const state = tempDir();
    run(state, 'k8s.add-node', 'lab', args);
    run(state, 'k8s.add-node', 'lab', args, { status: 'failed' });
    assert.equal(findCompletedUnreported(state, key, now()), undefined);
    const other = tempDir();
    run(other, 'k8s.add-node', 'lab', { role: 'control' });
    assert.equal(findCompletedUnreported(other, key, now()), undefined);
    const old = tempDir();
    run(old, 'k8s.add-node', 'lab', args);
    assert.ok(findCompletedUnreported(old, key, now()));
    assert.equal(findCompletedUnreported(old, key, now() + COMPLETED_RUN_WINDOW_MS), undefined);
  });

  it('readAllJournals reads every cookbook, oldest first, skipping torn files', () => {
    const state = tempDir();
    const a = run(state, 'b.second', 'lab', {});
    const b = run(state, 'a.first', 'lab', {});
    Journal.create(state, { runId: 'torn', cookbook: 'a.first', cluster: 'lab', args: {}, dryRun: false });
    writeFileSync(`${state}/journals/a.first/torn.json`, '{"version":1,');
    assert.deepEqual(readAllJournals(state).map((j) => j.data.runId), [a.data.runId, b.data.runId]);
  });
});

describe('journal: the one directory scan (scanJournals)', () => {
  after(cleanupTempDirs);
  let state = '';
  let ids: string[] = [];
  before(() => {
    state = tempDir();
    // One run each, oldest first: 0 add-node on lab, 1 drain on lab (dry-run), 2 drain on other, 3 add-node on lab.
    ids = [
      run(state, 'k8s.add-node', 'lab', { n: 1 }),
      run(state, 'k8s.drain', 'lab', { n: 2 }, { dryRun: true }),
      run(state, 'k8s.drain', 'other', { n: 3 }),
      run(state, 'k8s.add-node', 'lab', { n: 4 }),
    ].map((j) => j.data.runId);
    writeFileSync(`${state}/journals/k8s.drain/torn.json.123.tmp`, '{"half');
    writeFileSync(`${state}/journals/k8s.drain/foreign.json`, '{"not":"a journal"}');
  });
  const rows: { title: string; filter: () => JournalFilter; want: number[] }[] = [
    { title: 'everything readable, oldest first; torn and foreign files skipped', filter: () => ({}), want: [0, 1, 2, 3] },
    { title: "one cookbook's directory", filter: () => ({ cookbook: 'k8s.drain' }), want: [1, 2] },
    { title: 'one cluster', filter: () => ({ cluster: 'lab' }), want: [0, 1, 3] },
    { title: 'real runs only', filter: () => ({ realOnly: true }), want: [0, 2, 3] },
    { title: 'all but the caller', filter: () => ({ cluster: 'lab', realOnly: true, excludeRunId: ids[3] }), want: [0] },
    { title: 'a cookbook with no journals yet', filter: () => ({ cookbook: 'vm.create' }), want: [] },
  ];
  for (const row of rows) {
    it(row.title, () => assert.deepEqual(scanJournals(state, row.filter()).map((j) => ids.indexOf(j.data.runId)), row.want));
  }
});

describe('journal: keys', () => {
  const rows: { title: string; a: unknown; b: unknown; same: boolean }[] = [
    { title: 'key order does not matter', a: { x: 1, y: [1, 2] }, b: { y: [1, 2], x: 1 }, same: true },
    { title: 'undefined members do not count', a: { x: 1, y: undefined }, b: { x: 1 }, same: true },
    { title: 'array order matters', a: { y: [1, 2] }, b: { y: [2, 1] }, same: false },
    { title: 'nested objects are canonical too', a: { o: { b: 1, a: 2 } }, b: { o: { a: 2, b: 1 } }, same: true },
  ];
  for (const row of rows) {
    it(row.title, () => {
      assert.equal(canonicalJson(row.a) === canonicalJson(row.b), row.same);
      assert.equal(journalKey('c', 'k', row.a as Record<string, unknown>) === journalKey('c', 'k', row.b as Record<string, unknown>), row.same);
    });
  }
});
