// Every client declares every public method as read or mutate, and in dry-run every mutating method of the
// Kubernetes client plans instead of writing (the other clients' walks live beside their modules: remote,
// openstack, alerting, etcd lock).
import { strict as assert } from 'node:assert';
import { AlertmanagerClient } from '../../lib/alerting/index.js';
import { isPlanned } from '../../lib/core/gate.js';
import { Kube } from '../../lib/k8s/index.js';
import { EtcdLockBackend } from '../../lib/lock/etcd.js';
import { OpenStackClient } from '../../lib/openstack/index.js';
import { Remote } from '../../lib/remote/index.js';
import { cleanupTempDirs } from '../helpers/cli.js';
import { type TestLab, startTestLab } from '../helpers/lab.js';

/** Methods a class defines, minus the ones TypeScript keeps private (declared with `private` or `#`). */
function publicMethods(proto: object, privates: string[] = []): string[] {
  return Object.getOwnPropertyNames(proto).filter((m) => m !== 'constructor' && !privates.includes(m) && typeof Object.getOwnPropertyDescriptor(proto, m)?.value === 'function');
}

describe('client operation tables', () => {
  const clients: [string, { prototype: object; operations: Record<string, string | undefined> }][] = [
    ['Kube', Kube as never],
    ['Remote', Remote as never],
    ['OpenStackClient', OpenStackClient as never],
    ['AlertmanagerClient', AlertmanagerClient as never],
    ['EtcdLockBackend', EtcdLockBackend as never],
  ];
  for (const [name, cls] of clients) {
    it(`${name}: every declared operation is a method, and is read or mutate`, () => {
      const methods = publicMethods(cls.prototype, []);
      for (const [op, kind] of Object.entries(cls.operations)) {
        assert.ok(methods.includes(op), `${name}.${op} is declared but not a method`);
        assert.ok(kind === 'read' || kind === 'mutate', `${name}.${op}: ${String(kind)}`);
      }
      assert.ok(Object.values(cls.operations).includes('mutate'));
    });
  }

  it('Kube: the table lists exactly its methods', () => {
    assert.deepEqual(publicMethods(Kube.prototype).sort(), Object.keys(Kube.operations).sort());
  });
});

describe('Kube: every mutating method in dry-run (lab)', function () {
  this.timeout(60_000);
  let lab: TestLab;
  before(async () => {
    lab = await startTestLab({ clusterName: 'ops', workers: 1, workersNfs: 0, control: 1, ingress: 0, etcd: 0, speed: 40, namespaces: 1 });
  });
  after(async () => {
    await lab?.stop();
    cleanupTempDirs();
  });

  it('plans every mutation and sends no write to the lab', async () => {
    const kube = lab.client({ dryRun: true });
    const node = 'ops-k8s-worker-1';
    const pod = (await kube.listPodsOnNode(node)).find((p) => p.metadata?.ownerReferences?.[0]?.kind !== 'DaemonSet')!;
    // Make uncordon have something to do: cordon for real first, outside the dry-run client.
    await lab.client().cordon(node, { runId: 'setup', cookbook: 'test' });
    const before = lab.counters().k8s_mutations;
    const lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'x', namespace: 'kube-system' }, spec: { holderIdentity: 'a' } };
    const probes: Record<string, () => Promise<unknown>> = {
      cordon: () => kube.cordon('ops-k8s-control-1', { runId: 'r', cookbook: 't' }),
      uncordon: () => kube.uncordon(node),
      evictPod: () => kube.evictPod(pod.metadata!.namespace!, pod.metadata!.name!, { uid: pod.metadata!.uid }),
      deleteNode: () => kube.deleteNode(node),
      ensureNodeLabelsAndTaints: () => kube.ensureNodeLabelsAndTaints(node, { a: 'b' }, [{ key: 'k', effect: 'NoSchedule' }]),
      drain: async () => {
        const r = await kube.drain(node, { retryMinMs: 50, deleteEmptyDirData: true });
        assert.equal(r.planned, true);
        return kube.gate.changes.at(-1) ? { planned: true } : undefined;
      },
      apply: () => kube.apply([{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', namespace: 'default' }, data: { a: '1' } } as never]),
      createLease: () => kube.createLease('kube-system', lease),
      replaceLease: () => kube.replaceLease('kube-system', lease),
      deleteLease: () => kube.deleteLease('kube-system', 'x'),
    };
    const mutating = Object.entries(Kube.operations).filter(([, k]) => k === 'mutate').map(([n]) => n).sort();
    assert.deepEqual(mutating, Object.keys(probes).sort(), 'every mutating method is exercised');
    for (const [name, probe] of Object.entries(probes)) {
      const out = await probe();
      if (name !== 'drain') assert.ok(isPlanned(out), `${name} returned Planned`);
    }
    assert.equal(lab.counters().k8s_mutations, before, 'no write reached the lab');
    assert.ok(kube.gate.changes.length >= mutating.length);
  });
});
