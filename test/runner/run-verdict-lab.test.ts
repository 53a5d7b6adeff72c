// The dry-run verdict of a real cookbook against the lab: k8s.drain of a worker whose pods use emptyDir
// (the lab's workloads do) would be refused without --delete-emptydir-data, so its dry-run says "would fail",
// names the step and the reason and exits 1; with the option it says "would succeed" and exits 0. Neither
// sends a single mutating request. A real run of k8s.add-node then lists its remote commands whole.
import { strict as assert } from 'node:assert';
import { cleanupTempDirs } from '../helpers/cli.js';
import { type TestLab, startTestLab } from '../helpers/lab.js';
import { labRunner } from '../helpers/lab-cli.js';

describe('dry-run verdict against the lab', function () {
  this.timeout(120_000);
  let lab: TestLab;
  let worker: string;
  before(async () => {
    lab = await startTestLab({ clusterName: 'verdict', workers: 1, workersNfs: 0, control: 1, ingress: 0, etcd: 0, speed: 100, namespaces: 1 });
    worker = [...lab.world.hosts.values()].map((h) => h.name).find((n) => n.includes('worker'))!;
    assert.ok(worker, 'the lab has a worker');
  });
  after(async () => {
    await lab?.stop();
    cleanupTempDirs();
  });

  it('k8s.drain --dry-run of a node with emptyDir pods would fail: exit 1, the step and the reason named; with the opt-in it would succeed', async () => {
    const cb = labRunner(lab);
    const mutations = (): number[] => [lab.counters().k8s_mutations, lab.counters().openstack_mutations, lab.counters().ssh_mutations];
    const before = mutations();
    const readsBefore = lab.counters().requests.k8s;
    const r = await cb.json('k8s.drain', ['--hostname', worker, '--dry-run']);
    assert.equal(r.code, 1, r.stderr + r.stdout);
    assert.equal(r.out.verdict?.outcome, 'would-fail', r.stdout);
    const problem = r.out.verdict.problems[0];
    assert.ok(problem.step, 'the failing step is named');
    assert.match(problem.reason, /emptyDir|emptydir/i);
    assert.match(r.stderr, /END WOULD FAIL/);
    const ok = await cb.json('k8s.drain', ['--hostname', worker, '--dry-run', '--delete-emptydir-data']);
    assert.equal(ok.code, 0, ok.stderr + ok.stdout);
    assert.equal(ok.out.verdict?.outcome, 'would-succeed');
    assert.ok(ok.out.changes.length > 0, 'the plan is not empty');
    assert.ok(lab.counters().requests.k8s > readsBefore, 'the dry-runs read the cluster');
    assert.deepEqual(mutations(), before, 'no dry-run changed the lab');
  });

  it('the changes summary of a real run shows each remote command whole (redacted), not its first two words', async () => {
    const cb = labRunner(lab);
    const r = await cb.run('k8s.add-node', ['--role', 'worker', '--yes']);
    assert.equal(r.code, 0, r.stderr.slice(-2000));
    assert.match(r.stdout, /^ {2}- run `kubeadm token create --print-join-command [^`]+` on \S+$/m);
    assert.match(r.stdout, /^ {2}- run `kubeadm token delete \w+` on \S+$/m);
    assert.doesNotMatch(r.stdout, /^ {2}- run kubeadm token \S+$/m, 'no command cut to two words');
  });
});
