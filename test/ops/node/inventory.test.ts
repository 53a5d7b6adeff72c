// Naming a new node and "did you mean" (pure): one table each, one `it` per row.
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { getCluster, loadInventory } from '../../../lib/inventory/load.js';
import { type NewHostnameChoice, closeNames, selectNewHostname } from '../../../lib/ops/node/inventory.js';
import { ROOT } from '../../helpers/cli.js';

const tools = getCluster(loadInventory([join(ROOT, 'inventory')]), 'tools');

describe('new node name (selectNewHostname)', () => {
  const known = new Set(['tools-k8s-worker-1', 'tools-k8s-worker-7', 'tools-k8s-worker-nfs-12', 'toolsbeta-test-k8s-worker-40']);
  const rows: { title: string; role: string; requested?: string; isNode?: boolean; want: NewHostnameChoice }[] = [
    { title: "the next index after the role's highest (gaps are not reused)", role: 'worker', want: { hostname: 'tools-k8s-worker-8' } },
    { title: 'another role counts only its own series', role: 'worker_nfs', want: { hostname: 'tools-k8s-worker-nfs-13' } },
    { title: 'a role without hosts starts at 1', role: 'ingress', want: { hostname: 'tools-k8s-ingress-1' } },
    { title: 'a requested name that is not a node is taken', role: 'worker', requested: 'tools-k8s-worker-3', want: { hostname: 'tools-k8s-worker-3' } },
    { title: 'a requested name that is already a node is refused', role: 'worker', requested: 'tools-k8s-worker-1', isNode: true, want: { refuse: 'already-a-node', hostname: 'tools-k8s-worker-1' } },
  ];
  for (const row of rows) {
    it(row.title, () => {
      assert.deepEqual(selectNewHostname(tools, row.role, known, row.requested, row.isNode), row.want);
    });
  }
});

describe('close names (closeNames)', () => {
  const known = ['tools-k8s-worker-1', 'tools-k8s-worker-2', 'tools-k8s-worker-nfs-1', 'tools-k8s-control-1'];
  const rows: { title: string; name: string; want: string[] }[] = [
    { title: 'a swapped-letter typo finds the name first', name: 'tools-k8s-wroker-1', want: ['tools-k8s-worker-1', 'tools-k8s-worker-2', 'tools-k8s-worker-nfs-1'] },
    { title: 'the closest come first, at most three', name: 'tools-k8s-worker-3', want: ['tools-k8s-worker-1', 'tools-k8s-worker-2', 'tools-k8s-worker-nfs-1'] },
    { title: 'nothing close: nothing suggested', name: 'db-primary', want: [] },
  ];
  for (const row of rows) {
    it(row.title, () => {
      assert.deepEqual(closeNames(row.name, known), row.want);
    });
  }
});
