// Crash safety of add-node, remove-node and replace-node: the process is killed (SIGKILL, through failpoints)
// before or after steps chosen from a seed the suite prints (NODE_TEST_SEED replays it), or in the middle of
// a drain, and the same command is run again. Every run must converge: exactly one new node for an add,
// nothing left behind for a remove, no VM or Node leaked, no node left cordoned, no join token left.
import { strict as assert } from 'node:assert';
import { cleanupTempDirs } from '../../helpers/cli.js';
import { type TestLab, startTestLab } from '../../helpers/lab.js';
import { cordonedNodes, labRunner, nodeNames, serverNames } from '../../helpers/lab-cli.js';
import { bootstrapTokens, nextIndexName, placeStuckPod, runKilled, seededChoices } from './node-helpers.js';

const ADD_STEPS = (h: string): string[] => [
  'delete leftover join tokens',
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
const MOMENTS = ['before', 'after'] as const;
const points = (steps: string[]): { moment: string; step: string }[] => MOMENTS.flatMap((moment) => steps.map((step) => ({ moment, step })));
const REMOVE_ARGS = ['--retry-interval', '200ms', '--yes'];

/** Pods on a node that a drain evicts (not DaemonSet pods), from the lab's store. */
function evictablePods(lab: TestLab, node: string): string[] {
  return [...lab.kube.store.scan(lab.kube.api.res('', 'pods'))]
    .filter((p) => (p as { spec?: { nodeName?: string } }).spec?.nodeName === node)
    .filter((p) => !(p as { metadata: { ownerReferences?: { kind: string }[] } }).metadata.ownerReferences?.some((o) => o.kind === 'DaemonSet'))
    .map((p) => `${(p as { metadata: { namespace: string; name: string } }).metadata.namespace}/${(p as { metadata: { name: string } }).metadata.name}`);
}

describe('crash safety of add-node, remove-node and replace-node (SIGKILL at seeded points)', function () {
  this.timeout(600_000);
  const seeded = seededChoices('crash safety');
  let lab: TestLab;
  before(async () => {
    lab = await startTestLab({ clusterName: 'crash', workers: 8, workersNfs: 0, control: 1, ingress: 0, etcd: 0, speed: 60, namespaces: 1 });
  });
  after(async () => {
    await lab?.stop();
    cleanupTempDirs();
  });

  /** Asserts what every converged run leaves: nothing cordoned, no join token. */
  const assertClean = async (what: string): Promise<void> => {
    assert.deepEqual(await cordonedNodes(lab), [], `${what}: nothing cordoned`);
    assert.deepEqual(await bootstrapTokens(lab), [], `${what}: no join token left`);
  };

  it('add-node converges to exactly one new node when killed before or after seeded steps', async () => {
    for (const { moment, step } of seeded.pick(points(ADD_STEPS('HOST')), 3)) {
      const cb = labRunner(lab); // a fresh state dir per attempt: only the journal links the two runs
      const nodesBefore = await nodeNames(lab);
      const serversBefore = serverNames(lab);
      const expected = nextIndexName(serversBefore, 'crash-k8s-worker');
      const failpoint = `kill-${moment}:${step.replace('HOST', expected)}`;
      await runKilled(cb, 'k8s.add-node', ['--role', 'worker'], failpoint);
      const again = await cb.json('k8s.add-node', ['--role', 'worker']);
      assert.equal(again.code, 0, `${failpoint}: the re-run finishes: ${again.stderr.slice(-500)}`);
      assert.equal(again.out.result.hostname, expected, `${failpoint}: the same node is finished`);
      const newNodes = (await nodeNames(lab)).filter((n) => !nodesBefore.includes(n));
      const newServers = serverNames(lab).filter((n) => !serversBefore.includes(n));
      assert.deepEqual(newNodes, [expected], `${failpoint}: exactly one new node`);
      assert.deepEqual(newServers, [expected], `${failpoint}: exactly one new VM`);
      await assertClean(failpoint);
    }
  });

  it('remove-node leaves nothing behind when killed before or after seeded steps', async () => {
    const targets = ['crash-k8s-worker-1', 'crash-k8s-worker-2', 'crash-k8s-worker-3'];
    for (const [i, { moment, step }] of seeded.pick(points(REMOVE_STEPS('HOST')), 3).entries()) {
      const host = targets[i]!;
      const cb = labRunner(lab);
      const failpoint = `kill-${moment}:${step.replace('HOST', host)}`;
      await runKilled(cb, 'k8s.remove-node', ['--role', 'worker', '--hostname', host, ...REMOVE_ARGS], failpoint);
      const again = await cb.json('k8s.remove-node', ['--role', 'worker', '--hostname', host, ...REMOVE_ARGS]);
      assert.equal(again.code, 0, `${failpoint}: the re-run finishes: ${again.stderr.slice(-500)}`);
      assert.ok(!(await nodeNames(lab)).includes(host), `${failpoint}: no ghost Node`);
      assert.ok(!serverNames(lab).includes(host), `${failpoint}: no leaked VM`);
      await assertClean(failpoint);
    }
  });

  it('remove-node killed in the middle of its drain (some pods evicted, some not) is finished by the re-run', async () => {
    // The original worker with the most pods: the drain has several to evict.
    const host = ['crash-k8s-worker-4', 'crash-k8s-worker-6'].sort((a, b) => evictablePods(lab, b).length - evictablePods(lab, a).length)[0]!;
    const before = evictablePods(lab, host);
    assert.ok(before.length >= 2, `${host} runs at least two pods a drain evicts (${before.join(', ')})`);
    // One pod never finishes terminating: the drain cannot end while the others are evicted.
    const sticky = before[0]!;
    lab.world.faults.stuckPods = [sticky];
    const cb = labRunner(lab);
    const p = cb.start('k8s.remove-node', ['--role', 'worker', '--hostname', host, '--drain-timeout', '2m', ...REMOVE_ARGS], { timeoutMs: 120_000 });
    let atKill: { evicted: string[]; left: string[] } | undefined;
    const deadline = Date.now() + 60_000;
    while (!atKill && Date.now() < deadline) {
      const now = evictablePods(lab, host);
      const evicted = before.filter((k) => !now.includes(k));
      if (evicted.length > 0 && now.length > 0) {
        p.child!.kill('SIGKILL');
        atKill = { evicted, left: now };
      } else {
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    const out = await p;
    assert.ok(atKill, `the drain of ${host} got under way: ${out.stderr.slice(-400)}`);
    assert.equal(out.signal, 'SIGKILL', 'killed mid-drain');
    assert.ok(atKill.evicted.length >= 1 && atKill.left.includes(sticky), `mid-drain: evicted ${atKill.evicted.join(', ')}; left ${atKill.left.join(', ')}`);
    assert.ok((await cordonedNodes(lab)).includes(host), 'the killed run left the node cordoned');
    // The operator deals with the stuck pod, then runs the removal again.
    lab.world.faults.stuckPods = [];
    const [ns, name] = sticky.split('/') as [string, string];
    lab.kube.api.delete(lab.kube.api.res('', 'pods'), ns, name, { gracePeriodSeconds: 0 });
    const again = await cb.json('k8s.remove-node', ['--role', 'worker', '--hostname', host, ...REMOVE_ARGS]);
    assert.equal(again.code, 0, again.stderr.slice(-500));
    assert.ok(!(await nodeNames(lab)).includes(host), 'no ghost Node');
    assert.ok(!serverNames(lab).includes(host), 'no leaked VM');
    await assertClean('mid-drain');
  });

  it('replace-node converges (one new node, the old one gone) when killed before or after seeded steps', async () => {
    const olds = ['crash-k8s-worker-7', 'crash-k8s-worker-8'];
    for (const [i, pt] of seeded.pick([...points(ADD_STEPS('NEW')), ...points(REMOVE_STEPS('OLD'))], 2).entries()) {
      const old = olds[i]!;
      const cb = labRunner(lab);
      const nodesBefore = await nodeNames(lab);
      const serversBefore = serverNames(lab);
      const expected = nextIndexName(serversBefore, 'crash-k8s-worker');
      const failpoint = `kill-${pt.moment}:${pt.step.replace('NEW', expected).replace('OLD', old)}`;
      const args = ['--hostname', old, ...REMOVE_ARGS];
      await runKilled(cb, 'k8s.replace-node', args, failpoint);
      const again = await cb.json('k8s.replace-node', args);
      assert.equal(again.code, 0, `${failpoint}: the re-run finishes: ${again.stderr.slice(-500)}`);
      assert.equal(again.out.result.added.hostname, expected, `${failpoint}: the same new node is finished`);
      const nodes = await nodeNames(lab);
      assert.deepEqual(nodes.filter((n) => !nodesBefore.includes(n)), [expected], `${failpoint}: exactly one new node`);
      assert.deepEqual(serverNames(lab).filter((n) => !serversBefore.includes(n)), [expected], `${failpoint}: exactly one new VM`);
      assert.ok(!nodes.includes(old) && !serverNames(lab).includes(old), `${failpoint}: the old node and VM are gone`);
      await assertClean(failpoint);
    }
  });

  it('a remove-node whose drain times out deletes nothing and can be finished later', async () => {
    const host = 'crash-k8s-worker-5';
    // A pod that never finishes terminating keeps the drain from completing.
    const sticky = placeStuckPod(lab, host);
    const cb = labRunner(lab);
    const r = await cb.run('k8s.remove-node', ['--role', 'worker', '--hostname', host, '--drain-timeout', '2s', ...REMOVE_ARGS]);
    assert.equal(r.code, 1, r.stderr.slice(-500));
    assert.match(r.stderr, /drain of crash-k8s-worker-5 (did not finish|timed out)/);
    assert.ok((await nodeNames(lab)).includes(host), 'the Node is still there');
    assert.ok(serverNames(lab).includes(host), 'the VM is still there');
    // The operator deals with the stuck pod (force-deletes it), then runs the removal again.
    sticky.forceDelete();
    const again = await cb.run('k8s.remove-node', ['--role', 'worker', '--hostname', host, '--drain-timeout', '30s', ...REMOVE_ARGS]);
    assert.equal(again.code, 0, again.stderr);
    assert.ok(!(await nodeNames(lab)).includes(host));
    assert.ok(!serverNames(lab).includes(host));
  });
});
