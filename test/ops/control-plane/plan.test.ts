// k8s.control-plane.resize, the pure part: refused counts, stacked etcd, and the next single step (one table each).
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { getCluster, loadInventory } from '../../../lib/inventory/load.js';
import { type ResizeStep, countRefusal, isStackedEtcd, nextResizeStep } from '../../../lib/ops/control-plane/plan.js';
import { ROOT } from '../../helpers/cli.js';

const tools = getCluster(loadInventory([join(ROOT, 'inventory')]), 'tools');
const c = (i: number): string => `tools-k8s-control-${i}`;

describe('control-plane resize: countRefusal', () => {
  const rows: [number, boolean, RegExp | undefined][] = [
    [0, false, /at least 1 control node/],
    [-1, true, /at least 1 control node/],
    [1.5, false, /at least 1 control node/],
    [1, true, undefined],
    [3, true, undefined],
    [2, false, undefined],
    [4, false, undefined],
    [2, true, /must be odd; 2 tolerates no more failures than 1/],
    [4, true, /must be odd; 4 tolerates no more failures than 3/],
  ];
  for (const [count, stacked, want] of rows) {
    it(`${count} with${stacked ? '' : 'out'} stacked etcd → ${want ? 'refused' : 'allowed'}`, () => {
      const r = countRefusal(count, stacked);
      if (want) assert.match(r ?? '', want);
      else assert.equal(r, undefined);
    });
  }
});

describe('control-plane resize: isStackedEtcd', () => {
  it('an inventory with an etcd role is not stacked', () => assert.equal(isStackedEtcd({ roles: { etcd: tools.roles.control!, control: tools.roles.control! } }), false));
  it('an inventory without one is', () => assert.equal(isStackedEtcd({ roles: { control: tools.roles.control! } }), true));
});

describe('control-plane resize: nextResizeStep', () => {
  const rows: [string, number, string[], string[], ResizeStep][] = [
    ['at the count: done', 3, [c(1), c(2), c(3)], [], { kind: 'done' }],
    ['below: add the next name', 5, [c(1), c(2), c(3)], [], { kind: 'add', hostname: c(4) }],
    ['a new name never reuses a VM left behind', 5, [c(1), c(2), c(3)], [c(4)], { kind: 'add', hostname: c(5) }],
    ['above: remove the oldest (lowest index, not the first listed)', 3, [c(5), c(2), c(4), c(3)], [], { kind: 'remove', hostname: c(2) }],
    ['index order is numeric: control-10 is younger than control-9', 2, [c(10), c(9), c(11)], [], { kind: 'remove', hostname: c(9) }],
    ['hosts of other roles do not count', 2, [c(1), c(2), 'tools-k8s-worker-1'], [], { kind: 'done' }],
  ];
  for (const [title, count, controls, known, want] of rows) it(title, () => assert.deepEqual(nextResizeStep(tools, 'control', count, controls, known), want));
});
