// --dry-run of every node lifecycle cookbook: zero mutating requests to the lab (Kubernetes, OpenStack, SSH
// counters), and the planned steps are exactly the steps the real run then performs.
import { strict as assert } from 'node:assert';
import { cleanupTempDirs } from '../helpers/cli.js';
import { type TestLab, startTestLab } from '../helpers/lab.js';
import { labRunner } from '../helpers/lab-cli.js';

describe('dry-run of every node lifecycle cookbook', function () {
  this.timeout(300_000);
  let lab: TestLab;
  before(async () => {
    lab = await startTestLab({ clusterName: 'dry', workers: 3, workersNfs: 1, control: 3, ingress: 0, etcd: 0, speed: 40, namespaces: 1 });
  });
  after(async () => {
    await lab?.stop();
    cleanupTempDirs();
  });

  const mutations = (): number[] => [lab.counters().k8s_mutations, lab.counters().openstack_mutations, lab.counters().ssh_mutations];
  const cases: [string, string[]][] = [
    ['k8s.cordon', ['--hostname', 'dry-k8s-worker-1']],
    ['k8s.drain', ['--hostname', 'dry-k8s-worker-1', '--delete-emptydir-data', '--retry-interval', '200ms', '--timeout', '60s']],
    ['k8s.uncordon', ['--hostname', 'dry-k8s-worker-1']],
    ['vm.create', ['--role', 'worker', '--hostname', 'dry-k8s-worker-8']],
    ['vm.force-reboot', ['--hostname', 'dry-k8s-worker-8']],
    ['vm.delete', ['--hostname', 'dry-k8s-worker-8']],
    ['k8s.add-node', ['--role', 'worker_nfs']],
    ['k8s.remove-node', ['--role', 'worker', '--retry-interval', '200ms']],
    ['k8s.replace-node', ['--hostname', 'dry-k8s-worker-2', '--retry-interval', '200ms']],
    ['inventory.show', []],
  ];

  for (const [name, args] of cases) {
    it(`${name}: plans without a write, then the real run performs the planned steps`, async () => {
      const cb = labRunner(lab);
      const before = mutations();
      const dry = await cb.json(name, [...args, '--dry-run']);
      assert.equal(dry.code, 0, dry.stderr);
      assert.equal(dry.out.dryRun, true);
      assert.deepEqual(mutations(), before, 'no mutating request reached the lab');
      assert.ok((dry.out.changes as { planned: boolean }[]).every((c) => c.planned));
      const real = await labRunner(lab).json(name, args);
      assert.equal(real.code, 0, real.stderr);
      const plannedSteps = (dry.out.steps as { name: string }[]).map((s) => s.name);
      const realSteps = (real.out.steps as { name: string }[]).map((s) => s.name);
      assert.deepEqual(plannedSteps, realSteps);
      // Every change the dry-run could name is one the real run made.
      const realChanges = new Set((real.out.changes as { action: string; target: string }[]).map((c) => `${c.action} ${c.target}`));
      for (const c of dry.out.changes as { action: string; target: string }[]) assert.ok(realChanges.has(`${c.action} ${c.target}`), `${c.action} ${c.target}`);
    });
  }
});
