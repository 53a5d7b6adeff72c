// The Lease lock against the lab's Kubernetes API: exclusion, holder identity, expiry takeover, renewal,
// loss detection.
import { strict as assert } from 'node:assert';
import { LockHeldError } from '../../lib/core/errors.js';
import { HOLDER_ANNOTATION, KubernetesLockBackend, leaseName } from '../../lib/lock/kubernetes.js';
import type { LockHolder } from '../../lib/lock/types.js';
import { cleanupTempDirs } from '../helpers/cli.js';
import { type TestLab, startTestLab } from '../helpers/lab.js';

const holder = (runId: string, pid = 100): LockHolder => ({ user: 'op', host: 'bastion', pid, cookbook: 'k8s.drain', runId, since: '2026-11-21T10:00:00Z' });

describe('Kubernetes Lease lock (lab)', function () {
  this.timeout(60_000);
  let lab: TestLab;
  before(async () => {
    lab = await startTestLab({ workers: 1, workersNfs: 0, ingress: 0, control: 1, etcd: 0, seedWorkload: false });
  });
  after(async () => {
    await lab?.stop();
    cleanupTempDirs();
  });

  const backend = (): KubernetesLockBackend => new KubernetesLockBackend(lab.client(), 'kube-system');

  it('lets exactly one of two contenders in, and names the holder to the other', async () => {
    const results = await Promise.allSettled([backend().acquire('cluster-a', holder('r1', 1), { ttlMs: 10_000 }), backend().acquire('cluster-a', holder('r2', 2), { ttlMs: 10_000 })]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    assert.equal(won.length, 1);
    assert.equal(lost.length, 1);
    assert.ok(lost[0]!.reason instanceof LockHeldError);
    assert.match((lost[0]!.reason as Error).message, /lock cluster-a is held by op@bastion \(pid [12]\) running k8s\.drain since 2026-11-21T10:00:00Z/);
    const lease = await lab.client().getLease('kube-system', leaseName('cluster-a'));
    assert.match(lease!.spec!.holderIdentity!, /^op@bastion\/[12]\/r[12]$/);
    await (won[0] as PromiseFulfilledResult<{ release(): Promise<void> }>).value.release();
    assert.equal(await lab.client().getLease('kube-system', leaseName('cluster-a')), undefined);
    assert.equal(await backend().inspect('cluster-a'), undefined);
  });

  it('renews while held and reports the holder to inspect()', async () => {
    const h = await backend().acquire('cluster-b', holder('r3'), { ttlMs: 1500 });
    const first = (await lab.client().getLease('kube-system', leaseName('cluster-b')))!.spec!.renewTime;
    await new Promise((r) => setTimeout(r, 1200));
    const later = (await lab.client().getLease('kube-system', leaseName('cluster-b')))!.spec!.renewTime;
    assert.ok(new Date(later!).getTime() > new Date(first!).getTime(), 'renewed');
    assert.equal((await backend().inspect('cluster-b'))?.runId, 'r3');
    assert.equal(h.lost.aborted, false);
    await h.release();
  });

  it('takes over a lease whose holder stopped renewing, once it expired', async () => {
    // What a holder killed with SIGKILL leaves behind: its last renewal, never renewed again.
    await lab.client().createLease('kube-system', {
      metadata: { name: leaseName('cluster-c'), annotations: { [HOLDER_ANNOTATION]: JSON.stringify(holder('dead', 4242)) } },
      spec: { holderIdentity: 'op@bastion/4242/dead', leaseDurationSeconds: 1, renewTime: new Date(), acquireTime: new Date() },
    });
    await assert.rejects(backend().acquire('cluster-c', holder('next'), { ttlMs: 1000 }), /held by op@bastion \(pid 4242\)/);
    await new Promise((r) => setTimeout(r, 1100));
    const taken = await backend().acquire('cluster-c', holder('next'), { ttlMs: 1000 });
    assert.equal((await backend().inspect('cluster-c'))?.runId, 'next');
    const lease = await lab.client().getLease('kube-system', leaseName('cluster-c'));
    assert.equal(lease?.spec?.leaseTransitions, 1);
    await taken.release();
  });

  it('fires `lost` when the lease is taken away', async () => {
    const h = await backend().acquire('cluster-d', holder('r4'), { ttlMs: 900 });
    await lab.client().deleteLease('kube-system', leaseName('cluster-d'));
    await new Promise<void>((resolve) => h.lost.addEventListener('abort', () => resolve(), { once: true }));
    assert.match(String((h.lost.reason as Error).message), /lost lock cluster-d/);
    await h.release();
  });
});

