// k8s.drain's options that had no test: --disable-eviction (pods deleted, PDBs bypassed), --grace-period
// (every pod gets that many seconds), --uncordon-on-failure (a failed drain puts the node back into service),
// and a --timeout reached while evictions are still in flight (a normal failure, not a crash).
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { cleanupTempDirs } from '../../helpers/cli.js';
import { type TestLab, startTestLab } from '../../helpers/lab.js';
import { cordonedNodes, labRunner } from '../../helpers/lab-cli.js';
import { placeStuckPod } from './node-helpers.js';

/** One change as the --json result lists it. */
interface JsonChange {
  action: string;
  target: string;
}

type DeleteFn = (spec: { resource?: string; plural?: string }, ns: string | undefined, name: string, options?: { gracePeriodSeconds?: number | null }, opts?: unknown) => unknown;

describe('k8s.drain --disable-eviction, --grace-period and --uncordon-on-failure', function () {
  this.timeout(240_000);
  let lab: TestLab;
  let cb: ReturnType<typeof labRunner>;
  let originalDelete: DeleteFn;
  /** Pod deletions the lab's API performed (evictions end in one too), with the grace period asked for. */
  const podDeletes: { pod: string; grace: number | null | undefined }[] = [];
  before(async () => {
    lab = await startTestLab({ clusterName: 'drn', workers: 3, workersNfs: 0, control: 1, ingress: 0, etcd: 0, speed: 60, namespaces: 1 });
    cb = labRunner(lab);
    const api = lab.kube.api as unknown as { delete: DeleteFn };
    originalDelete = api.delete.bind(api);
    const pods = lab.kube.api.res('', 'pods');
    api.delete = (spec, ns, name, options, opts) => {
      if (spec === pods) podDeletes.push({ pod: `${ns}/${name}`, grace: options?.gracePeriodSeconds });
      return originalDelete(spec, ns, name, options, opts);
    };
  });
  after(async () => {
    if (lab) (lab.kube.api as unknown as { delete: DeleteFn }).delete = originalDelete;
    await lab?.stop();
    cleanupTempDirs();
  });

  it('--disable-eviction deletes the pods instead of evicting them', async () => {
    podDeletes.length = 0;
    const r = await cb.json('k8s.drain', ['--hostname', 'drn-k8s-worker-1', '--delete-emptydir-data', '--disable-eviction', '--timeout', '60s', '--retry-interval', '200ms']);
    assert.equal(r.code, 0, r.stderr.slice(-400));
    const podChanges = (r.out.changes as JsonChange[]).filter((c) => c.target.startsWith('pod/'));
    assert.ok(podChanges.length > 0, 'pods were removed');
    assert.deepEqual([...new Set(podChanges.map((c) => c.action))], ['delete pod'], 'deleted, never evicted');
    const deleted = podChanges.map((c) => c.target.replace(/^pod\//, '')).sort();
    assert.deepEqual([...new Set(podDeletes.map((d) => d.pod))].sort(), deleted, 'the lab deleted exactly those pods');
  });

  it('--grace-period gives every pod exactly that many seconds', async () => {
    podDeletes.length = 0;
    const r = await cb.json('k8s.drain', ['--hostname', 'drn-k8s-worker-2', '--delete-emptydir-data', '--grace-period', '7', '--timeout', '60s', '--retry-interval', '200ms']);
    assert.equal(r.code, 0, r.stderr.slice(-400));
    const evicted = (r.out.changes as JsonChange[]).filter((c) => c.action === 'evict pod').map((c) => c.target.replace(/^pod\//, ''));
    assert.ok(evicted.length > 0, 'pods were evicted');
    for (const pod of evicted) {
      assert.deepEqual(podDeletes.filter((d) => d.pod === pod).map((d) => d.grace), [7], `${pod} got --grace-period 7`);
    }
  });

  it('--uncordon-on-failure puts the node back into service when the drain fails', async () => {
    const node = 'drn-k8s-worker-3';
    const sticky = placeStuckPod(lab, node);
    try {
      const r = await cb.run('k8s.drain', ['--hostname', node, '--delete-emptydir-data', '--uncordon-on-failure', '--timeout', '2s', '--retry-interval', '200ms']);
      assert.equal(r.code, 1, r.stderr.slice(-400));
      assert.match(r.stderr, /drain of drn-k8s-worker-3 failed; uncordoning it as asked \(--uncordon-on-failure\)/);
      assert.ok(!(await cordonedNodes(lab)).includes(node), 'uncordoned again');
    } finally {
      sticky.forceDelete();
    }
  });

  it('a --timeout reached with evictions in flight ends as a normal failure: END, result, journal, lock released', async () => {
    const node = 'drn-k8s-worker-3';
    const api = lab.kube.api;
    const podsOnNode = (): number => [...lab.kube.store.scan(api.res('', 'pods'))].filter((p) => p.spec?.nodeName === node && !p.metadata?.ownerReferences?.some((o) => o.kind === 'DaemonSet')).length;
    assert.ok(podsOnNode() > 0, 'the node has pods to evict');
    // Every eviction answers only after 3 s, past the 1 s deadline: they are all in flight when it passes.
    lab.world.faults.slowEvictionMs = 3000;
    try {
      const t0 = Date.now();
      const r = await cb.json('k8s.drain', ['--hostname', node, '--delete-emptydir-data', '--timeout', '1s', '--retry-interval', '200ms']);
      assert.equal(r.code, 1, r.stderr.slice(-600));
      assert.ok(Date.now() - t0 < 20_000, 'ended at its deadline, not after the evictions');
      assert.doesNotMatch(r.stderr, /unhandled|UnhandledPromiseRejection/i);
      assert.match(r.stderr, /END FAIL \(failed\)/, 'the run printed its END line');
      assert.equal(r.out.status, 'failed', 'one --json result object');
      assert.match(String(r.out.error?.message), /drain/i);
      assert.equal(JSON.parse(readFileSync(r.out.journal as string, 'utf8')).status, 'failed', 'the journal is closed as failed');
      const leases = [...lab.kube.store.scan(api.res('coordination.k8s.io', 'leases'), 'kube-system')].map((l) => l.metadata.name);
      assert.ok(!leases.includes('cluster-cookbooks-lock'), `lock released (leases: ${leases.join(', ')})`);
    } finally {
      lab.world.faults.slowEvictionMs = 0;
    }
  });
});

