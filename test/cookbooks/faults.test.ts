// Transient API faults end to end: against a lab whose Kubernetes API answers 20% of requests with a 500 and
// 10% with a 429, and whose OpenStack API answers 20% with a 503, k8s.add-node, k8s.drain and a k8s.reboot of
// two workers all succeed, and nothing is created twice (one VM, one Node). Every fault costs the client the
// lab's Retry-After (1 s), so this file takes about a minute.
import { strict as assert } from 'node:assert';
import { type KObject, nodeReadyStatus } from '../../lab/k8s/types.js';
import { cleanupTempDirs } from '../helpers/cli.js';
import { type TestLab, startTestLab } from '../helpers/lab.js';
import { labRunner } from '../helpers/lab-cli.js';

describe('cookbooks against a lab that injects transient API errors', function () {
  this.timeout(240_000);
  let lab: TestLab;
  let cb: ReturnType<typeof labRunner>;
  before(async () => {
    lab = await startTestLab({
      clusterName: 'flaky',
      workers: 3,
      workersNfs: 0,
      control: 1,
      ingress: 0,
      etcd: 0,
      speed: 100,
      namespaces: 1,
      faults: { k8sErrorRate: 0.2, k8s429Rate: 0.1, openstackErrorRate: 0.2 },
    });
    cb = labRunner(lab);
  });
  after(async () => {
    await lab?.stop();
    cleanupTempDirs();
  });

  // Read from the lab's own state, not over its (faulty) API.
  const nodes = (): KObject[] => [...lab.kube.store.scan(lab.kube.api.res('', 'nodes'))];
  const node = (name: string): KObject | undefined => nodes().find((n) => n.metadata.name === name);
  const serverNames = (): string[] => [...lab.openstack.cloud.servers.values()].map((s) => s.name).sort();
  const countOf = (list: string[], name: string): number => list.filter((n) => n === name).length;
  const requests = (): number => lab.counters().requests.k8s + lab.counters().requests.openstack;

  it('k8s.add-node succeeds and creates exactly one VM and one Node', async () => {
    const serversBefore = serverNames();
    const nodesBefore = nodes().map((n) => n.metadata.name as string);
    const requestsBefore = requests();
    const r = await cb.json('k8s.add-node', ['--role', 'worker', '--yes']);
    assert.equal(r.code, 0, r.stderr);
    const name = r.out.result?.hostname as string;
    assert.equal(name, 'flaky-k8s-worker-4');
    assert.deepEqual(serverNames(), [...serversBefore, name].sort(), 'exactly one new server');
    assert.equal(countOf(serverNames(), name), 1, 'one server of that name');
    assert.deepEqual(nodes().map((n) => n.metadata.name).sort(), [...nodesBefore, name].sort(), 'exactly one new Node');
    assert.equal(nodeReadyStatus(node(name)!), 'True');
    assert.equal([...lab.world.hosts.values()].filter((h) => h.name === name).length, 1, 'one lab host');
    // Enough requests went out that faults were all but certainly hit (40 at rates of 20-30%: P(none) < 2e-4).
    assert.ok(requests() - requestsBefore >= 40, `${requests() - requestsBefore} API requests`);
  });

  it('k8s.drain succeeds: the node cordoned, only DaemonSet pods left on it', async () => {
    const drain = await cb.json('k8s.drain', ['--hostname', 'flaky-k8s-worker-1', '--delete-emptydir-data', '--retry-interval', '200ms', '--timeout', '120s']);
    assert.equal(drain.code, 0, drain.stderr);
    assert.equal(node('flaky-k8s-worker-1')!.spec.unschedulable, true);
    const left = [...lab.kube.store.scan(lab.kube.api.res('', 'pods'))].filter(
      (p) => p.spec.nodeName === 'flaky-k8s-worker-1' && !p.metadata.deletionTimestamp && !(p.metadata.ownerReferences ?? []).some((o: { kind: string }) => o.kind === 'DaemonSet'),
    );
    assert.deepEqual(left.map((p) => p.metadata.name), [], 'only DaemonSet pods remain on the drained node');
  });

  it('k8s.reboot of two workers succeeds: each back Ready with a new boot id, schedulable', async () => {
    const hosts = ['flaky-k8s-worker-2', 'flaky-k8s-worker-3'];
    const bootBefore = hosts.map((h) => lab.world.hosts.get(h)!.bootId);
    // worker-1 stays cordoned from the drain above and counts as unavailable: one more at a time.
    const r = await cb.json('k8s.reboot', ['--hostname', hosts.join(','), '--max-unavailable', '2', '--delete-emptydir-data', '--poll-interval', '200ms', '--retry-interval', '200ms', '--yes']);
    assert.equal(r.code, 0, r.stderr);
    hosts.forEach((h, i) => {
      assert.notEqual(lab.world.hosts.get(h)!.bootId, bootBefore[i], `${h} rebooted`);
      assert.equal(nodeReadyStatus(node(h)!), 'True', `${h} Ready`);
      assert.ok(!node(h)!.spec.unschedulable, `${h} uncordoned`);
    });
    const reboots = (r.out.changes as { system: string; action: string; target: string }[]).filter((c) => c.system === 'remote' && c.action === 'reboot');
    assert.deepEqual(reboots.map((c) => c.target).sort(), hosts, 'each host rebooted once');
  });
});
