// The removal rule and the choice of the host to remove (pure): one table each, one `it` per row.
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { getCluster, loadInventory } from '../../../lib/inventory/load.js';
import { type RemovalChoice, type RemovalRefusal, removalRefusal, selectHostToRemove } from '../../../lib/ops/node/remove.js';
import { ROOT } from '../../helpers/cli.js';

const tools = getCluster(loadInventory([join(ROOT, 'inventory')]), 'tools');
const w = (i: number): string => `tools-k8s-worker-${i}`;
const c = (i: number): string => `tools-k8s-control-${i}`;

describe('removal rule (removalRefusal)', () => {
  const worker = { min: 2, node: 'worker' as const };
  const control = { min: 1, node: 'control-plane' as const };
  const rows: { title: string; role: typeof worker | typeof control; members: string[]; ready: string[]; host: string; want: RemovalRefusal['reason'] | undefined }[] = [
    { title: 'a worker above the minimum may go', role: worker, members: [w(1), w(2), w(3)], ready: [w(1), w(2), w(3)], host: w(1), want: undefined },
    { title: 'a worker at the minimum may not', role: worker, members: [w(1), w(2)], ready: [w(1), w(2)], host: w(2), want: 'below-min' },
    { title: 'a host that is no member any more (finishing leftovers) is never refused', role: worker, members: [w(1), w(2)], ready: [], host: w(9), want: undefined },
    { title: 'Ready-ness does not matter for workers', role: worker, members: [w(1), w(2), w(3)], ready: [], host: w(3), want: undefined },
    { title: 'a control node with a Ready majority left may go', role: control, members: [c(1), c(2), c(3), c(4)], ready: [c(1), c(2), c(3), c(4)], host: c(4), want: undefined },
    { title: 'a control node whose removal leaves no Ready majority may not', role: control, members: [c(1), c(2), c(3)], ready: [c(1), c(2)], host: c(2), want: 'no-quorum' },
    { title: 'removing the NotReady control node of three, two Ready stay: allowed', role: control, members: [c(1), c(2), c(3)], ready: [c(1), c(2)], host: c(3), want: undefined },
    { title: 'the minimum is checked before the majority', role: { min: 3, node: 'control-plane' as const }, members: [c(1), c(2), c(3)], ready: [], host: c(1), want: 'below-min' },
  ];
  for (const row of rows) {
    it(row.title, () => {
      assert.equal(removalRefusal(row.role, row.members, row.ready, row.host)?.reason, row.want);
    });
  }
});

describe('host to remove (selectHostToRemove)', () => {
  const known = new Set([w(3), w(1), 'tools-k8s-worker-nfs-1', w(12)]);
  const rows: { title: string; role: string; requested?: string; mentioned?: boolean; want: RemovalChoice }[] = [
    { title: 'without a name: the oldest (lowest index) of the role', role: 'worker', want: { hostname: w(1) } },
    { title: 'worker never picks worker-nfs', role: 'worker_nfs', want: { hostname: 'tools-k8s-worker-nfs-1' } },
    { title: 'a role with no host is refused', role: 'ingress', want: { refuse: 'role-empty' } },
    { title: 'a known requested host is taken', role: 'worker', requested: w(12), want: { hostname: w(12) } },
    { title: 'an unknown host an earlier run acted on is taken (finishing a removal)', role: 'worker', requested: w(7), mentioned: true, want: { hostname: w(7) } },
    { title: 'an unknown host nobody acted on is a typo, with close names', role: 'worker', requested: w(13), want: { refuse: 'unknown-host', hostname: w(13), close: [w(1), w(3), w(12)] } },
  ];
  for (const row of rows) {
    it(row.title, () => {
      assert.deepEqual(selectHostToRemove(tools, row.role, known, row.requested, row.mentioned), row.want);
    });
  }
});
