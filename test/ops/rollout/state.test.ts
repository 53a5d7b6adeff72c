// The pure parts of a rollout's memory: the selection key that decides which rollout a run continues, and the
// durations measured from a node's phases (the ETA's and the bench's figures).
import { strict as assert } from 'node:assert';
import { type NodeRecord, RolloutState, selectionKey } from '../../../lib/ops/rollout/state.js';

const rec = (phase: string, spans: [string, number, number?][]): NodeRecord => ({ phase, runId: 'r', phases: spans.map(([p, start, end]) => ({ phase: p, start, end })) });

describe('rollout state: selectionKey', () => {
  const base = selectionKey('tools', { selection: { allWorkers: true }, onlyIfNeeded: false });
  const rows: [string, string, boolean][] = [
    ['the same selection, keys in another order', selectionKey('tools', { onlyIfNeeded: false, selection: { allWorkers: true } }), true],
    ['another cluster', selectionKey('toolsbeta', { selection: { allWorkers: true }, onlyIfNeeded: false }), false],
    ['another selection', selectionKey('tools', { selection: { role: 'worker' }, onlyIfNeeded: false }), false],
    ['another option of the work', selectionKey('tools', { selection: { allWorkers: true }, onlyIfNeeded: true }), false],
  ];
  for (const [title, key, same] of rows) it(`${title} → ${same ? 'the same rollout' : 'another rollout'}`, () => assert.equal(key === base, same));
  it('is a short hex digest', () => assert.match(base, /^[0-9a-f]{24}$/));
});

describe('rollout state: measured durations', () => {
  const rows: [string, NodeRecord, number | undefined, number | undefined][] = [
    ['a finished node: cycle is cordon to uncordon, total is every phase', rec('done', [['preflight', 0, 100], ['cordon', 100, 200], ['drain', 200, 1000], ['uncordon', 1000, 1100], ['recover', 1100, 1500]]), 1000, 1500],
    ['gaps between runs do not count in the total', rec('done', [['cordon', 0, 100], ['drain', 5000, 5400], ['uncordon', 5400, 5500]]), 5500, 600],
    ['a node still in flight has no total', rec('drain', [['cordon', 0, 100], ['drain', 100]]), undefined, undefined],
    ['a node done by other means has no phases', rec('done', []), undefined, undefined],
  ];
  for (const [title, r, cycle, total] of rows) {
    it(title, () => {
      assert.equal(RolloutState.cycleMs(r), cycle);
      assert.equal(RolloutState.totalMs(r), total);
    });
  }
});
