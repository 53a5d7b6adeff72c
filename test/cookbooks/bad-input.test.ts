// Bad input and failures: a clear error naming what is wrong, the exit code DESIGN gives, nothing changed for
// bad input, and nothing half-done that a re-run cannot finish.
import { strict as assert } from 'node:assert';
import { cleanupTempDirs } from '../helpers/cli.js';
import { type TestLab, startTestLab } from '../helpers/lab.js';
import { labRunner, nodeNames, serverNames } from '../helpers/lab-cli.js';

describe('bad input and failures of the node lifecycle cookbooks', function () {
  this.timeout(300_000);
  let lab: TestLab;
  let cb: ReturnType<typeof labRunner>;
  before(async () => {
    lab = await startTestLab({ clusterName: 'bad', workers: 2, workersNfs: 1, control: 1, ingress: 0, etcd: 0, speed: 40, namespaces: 1 });
    cb = labRunner(lab);
  });
  after(async () => {
    await lab?.stop();
    cleanupTempDirs();
  });

  // Inventory-level refusals happen before the lock: not a single write. Refusals that need the cluster's
  // answer (is it a node? is it Ready?) come after the lock is taken: its Lease is created and deleted again,
  // and nothing else is written.
  const refusals: [string, string[], RegExp, 'before-lock' | 'after-lock'][] = [
    ['k8s.add-node', ['--role', 'gpu'], /unknown role "gpu" in cluster bad; roles: control, etcd, ingress, worker, worker_nfs/, 'before-lock'],
    ['k8s.add-node', ['--role', 'etcd'], /role etcd of cluster bad is not a Kubernetes node role/, 'before-lock'],
    ['k8s.remove-node', ['--role', 'worker', '--hostname', 'bad-k8s-worker-nfs-1'], /host bad-k8s-worker-nfs-1 is a worker_nfs host, not worker/, 'before-lock'],
    ['k8s.drain', ['--hostname', 'tools-k8s-worker-1'], /host tools-k8s-worker-1 does not belong to cluster bad/, 'before-lock'],
    ['k8s.drain', ['--hostname', 'bad-k8s-worker-1;reboot'], /--hostname: invalid hostname "bad-k8s-worker-1;reboot"/, 'before-lock'],
    ['k8s.cordon', ['--hostname', '$(touch /tmp/pwned)'], /--hostname: invalid hostname/, 'before-lock'],
    ['k8s.drain', ['--hostname', 'bad-k8s-worker-77'], /host bad-k8s-worker-77 is not a Kubernetes node of cluster bad/, 'after-lock'],
    ['vm.delete', ['--hostname', 'bad-k8s-worker-1'], /is a Ready Kubernetes node; refusing/, 'after-lock'],
  ];
  const leases = (): number => [...lab.kube.store.scan(lab.kube.api.res('coordination.k8s.io', 'leases'))].length;
  for (const [name, args, message, when] of refusals) {
    it(`${name} ${args.join(' ')}: exit 2, clear message, nothing changed`, async () => {
      const k8s = lab.counters().k8s_mutations;
      const others = lab.counters().openstack_mutations + lab.counters().ssh_mutations;
      const leasesBefore = leases();
      const r = await cb.run(name, args);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(lab.counters().openstack_mutations + lab.counters().ssh_mutations, others);
      assert.equal(lab.counters().k8s_mutations - k8s, when === 'before-lock' ? 0 : 2, 'only the lock Lease, created and deleted');
      assert.equal(leases(), leasesBefore, 'no lock left behind');
    });
  }

  it('an unknown cluster: exit 2 listing the known ones', async () => {
    const r = await labRunner(lab).run('k8s.cordon', ['--hostname', 'x-1', '--cluster-name', 'nope']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown cluster "nope"; known clusters: bad/);
  });

  it('an OpenStack quota refusal fails cleanly; with room again, the re-run adds that same node', async () => {
    const quotas = lab.openstack.cloud.quotas;
    const saved = quotas.instances;
    quotas.instances = lab.world.hosts.size;
    const serversBefore = serverNames(lab);
    const r = await cb.run('k8s.add-node', ['--role', 'worker']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Quota exceeded for instances/);
    assert.deepEqual(serverNames(lab), serversBefore, 'no VM was created');
    quotas.instances = saved;
    const again = await cb.json('k8s.add-node', ['--role', 'worker']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.out.result.hostname, 'bad-k8s-worker-3');
    assert.deepEqual(serverNames(lab).filter((s) => !serversBefore.includes(s)), ['bad-k8s-worker-3']);
  });

  it('a join that fails leaves a VM a re-run joins (no second VM)', async () => {
    lab.world.faults.joinFailures = ['bad-k8s-worker-4'];
    const serversBefore = serverNames(lab);
    const r = await cb.run('k8s.add-node', ['--role', 'worker']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /kubeadm join/);
    assert.match(r.stderr, /bad-k8s-worker-4/);
    assert.ok(!(await nodeNames(lab)).includes('bad-k8s-worker-4'));
    lab.world.faults.joinFailures = [];
    const again = await cb.json('k8s.add-node', ['--role', 'worker']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.out.result.hostname, 'bad-k8s-worker-4');
    assert.ok((await nodeNames(lab)).includes('bad-k8s-worker-4'));
    assert.deepEqual(serverNames(lab).filter((s) => !serversBefore.includes(s)), ['bad-k8s-worker-4']);
  });

  it('an unreachable host: remove-node skips kubeadm reset with a warning and still removes it', async () => {
    const host = 'bad-k8s-worker-4';
    lab.world.faults.hostsNeverReturn = [host];
    lab.world.rebootHost(host);
    const r = await cb.json('k8s.remove-node', ['--role', 'worker', '--hostname', host, '--retry-interval', '200ms']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.out.result.reset, 'unreachable');
    assert.match(r.stderr, /bad-k8s-worker-4 is unreachable; skipping kubeadm reset/);
    assert.ok(!serverNames(lab).includes(host));
    assert.ok(!(await nodeNames(lab)).includes(host));
  });

  it('a host that never comes back from a forced reboot: exit 1 naming it', async () => {
    const host = 'bad-k8s-worker-3';
    lab.world.faults.hostsNeverReturn = [host];
    const r = await cb.run('vm.force-reboot', ['--hostname', host, '--timeout', '3s']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /bad-k8s-worker-3/);
    assert.match(r.stderr, /never came back|did not come back|unreachable/i);
    lab.world.faults.hostsNeverReturn = [];
  });
});
