// Crash safety of add-node and remove-node: the process is killed (SIGKILL, through failpoints) at every step
// boundary in turn and the same command is run again. Every run must converge: exactly one new node for an
// add, nothing left behind for a remove, no VM or Node leaked, no node left cordoned.
import { strict as assert } from 'node:assert';
import { cleanupTempDirs } from '../../helpers/cli.js';
import { type TestLab, startTestLab } from '../../helpers/lab.js';
import { cordonedNodes, labRunner, nodeNames, serverNames } from '../../helpers/lab-cli.js';

const ADD_STEPS = (h: string): string[] => [
  `ensure server group crash-k8s-worker`,
  `create VM ${h}`,
  `wait VM ${h} ACTIVE`,
  `verify SSH host key of ${h}`,
  `provision ${h}`,
  `join ${h}`,
  `wait ${h} Ready`,
  `set labels and taints of ${h}`,
];
const REMOVE_STEPS = (h: string): string[] => [`cordon ${h}`, `drain ${h}`, `kubeadm reset ${h}`, `delete node ${h}`, `delete VM ${h}`];

describe('crash safety of add-node and remove-node (SIGKILL at every step boundary)', function () {
  this.timeout(600_000);
  let lab: TestLab;
  before(async () => {
    lab = await startTestLab({ clusterName: 'crash', workers: 2, workersNfs: 0, control: 1, ingress: 0, etcd: 0, speed: 40, namespaces: 1 });
  });
  after(async () => {
    await lab?.stop();
    cleanupTempDirs();
  });

  const bootstrapTokens = (): number => [...lab.kube.store.scan(lab.kube.api.res('', 'secrets'))].filter((s) => (s as { type?: string }).type === 'bootstrap.kubernetes.io/token').length;

  for (const [i, moment] of ['before', 'after'].entries()) {
    it(`add-node converges to exactly one new node when killed ${moment} each step`, async () => {
      for (const [k, step] of ADD_STEPS('HOST').entries()) {
        const cb = labRunner(lab); // a fresh state dir per attempt: only the journal links the two runs
        const nodesBefore = await nodeNames(lab);
        const serversBefore = serverNames(lab);
        const expected = `crash-k8s-worker-${Math.max(...serversBefore.filter((s) => /worker-\d+$/.test(s)).map((s) => Number(s.split('-').at(-1)))) + 1}`;
        const failpoint = `kill-${moment}:${step.replace('HOST', expected)}`;
        const killed = await cb.run('k8s.add-node', ['--role', 'worker'], { env: { COOKBOOK_FAILPOINTS: failpoint } });
        assert.equal(killed.code, 137, `${failpoint}: the first run is killed (${killed.stderr.slice(-300)})`);
        const again = await cb.json('k8s.add-node', ['--role', 'worker']);
        assert.equal(again.code, 0, `${failpoint}: the re-run finishes: ${again.stderr.slice(-500)}`);
        assert.equal(again.out.result.hostname, expected, `${failpoint}: the same node is finished`);
        const newNodes = (await nodeNames(lab)).filter((n) => !nodesBefore.includes(n));
        const newServers = serverNames(lab).filter((n) => !serversBefore.includes(n));
        assert.deepEqual(newNodes, [expected], `${failpoint}: exactly one new node`);
        assert.deepEqual(newServers, [expected], `${failpoint}: exactly one new VM`);
        assert.deepEqual(await cordonedNodes(lab), [], `${failpoint}: nothing cordoned`);
        assert.equal(bootstrapTokens(), 0, `${failpoint}: no join token left`);
        void i;
        void k;
      }
    });
  }

  it('remove-node leaves nothing behind when killed after each step', async () => {
    for (const step of REMOVE_STEPS('HOST')) {
      const setup = labRunner(lab);
      const added = await setup.json('k8s.add-node', ['--role', 'worker']);
      assert.equal(added.code, 0, added.stderr);
      const host = added.out.result.hostname as string;
      const cb = labRunner(lab);
      const failpoint = `kill-after:${step.replace('HOST', host)}`;
      const killed = await cb.run('k8s.remove-node', ['--role', 'worker', '--hostname', host, '--retry-interval', '200ms'], { env: { COOKBOOK_FAILPOINTS: failpoint } });
      assert.equal(killed.code, 137, `${failpoint}: killed (${killed.stderr.slice(-300)})`);
      const again = await cb.json('k8s.remove-node', ['--role', 'worker', '--hostname', host, '--retry-interval', '200ms']);
      assert.equal(again.code, 0, `${failpoint}: the re-run finishes: ${again.stderr.slice(-500)}`);
      assert.ok(!(await nodeNames(lab)).includes(host), `${failpoint}: no ghost Node`);
      assert.ok(!serverNames(lab).includes(host), `${failpoint}: no leaked VM`);
      assert.deepEqual(await cordonedNodes(lab), [], `${failpoint}: nothing cordoned`);
    }
  });

  it('a remove-node whose drain times out deletes nothing and can be finished later', async () => {
    const setup = labRunner(lab);
    const added = await setup.json('k8s.add-node', ['--role', 'worker']);
    const host = added.out.result.hostname as string;
    // A pod that never finishes terminating keeps the drain from completing.
    const api = lab.kube.api;
    api.create(api.res('', 'pods'), 'kube-system', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'sticky', namespace: 'kube-system', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'gone', uid: 'x', controller: true }] },
      spec: { nodeName: host, containers: [{ name: 'c', image: 'x' }] },
    });
    lab.world.faults.stuckPods = ['kube-system/sticky'];
    const cb = labRunner(lab);
    const r = await cb.run('k8s.remove-node', ['--role', 'worker', '--hostname', host, '--drain-timeout', '2s', '--retry-interval', '200ms']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /drain of crash-k8s-worker-\d+ did not finish/);
    assert.ok((await nodeNames(lab)).includes(host), 'the Node is still there');
    assert.ok(serverNames(lab).includes(host), 'the VM is still there');
    // The operator deals with the stuck pod (force-deletes it), then runs the removal again.
    lab.world.faults.stuckPods = [];
    api.delete(api.res('', 'pods'), 'kube-system', 'sticky', { gracePeriodSeconds: 0 });
    const again = await cb.run('k8s.remove-node', ['--role', 'worker', '--hostname', host, '--drain-timeout', '30s', '--retry-interval', '200ms']);
    assert.equal(again.code, 0, again.stderr);
    assert.ok(!(await nodeNames(lab)).includes(host));
    assert.ok(!serverNames(lab).includes(host));
  });
});
