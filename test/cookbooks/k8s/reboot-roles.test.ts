// k8s.reboot end to end over the selections and the stops that were untested: --role, --all with control
// nodes last behind the etcd check (held while an etcd member is down, with "still held" lines, then
// continued), a node NotReady at the start left out, SIGINT naming the nodes it leaves cordoned (text and
// --json) and SIGTERM stopping at a safe point. Lab: two workers, one NFS worker, one control node, one etcd host.
import { strict as assert } from 'node:assert';
import { systemClock } from '../../../lib/core/clock.js';
import { cleanupTempDirs, runCli, startCli, tempDir, waitForOutput } from '../../helpers/cli.js';
import type { TestLab } from '../../helpers/lab.js';
import { bootIds, cordonedNodes, countReboots, createWorkload, inventoryFor, podsOn, readyReplicas, rebootArgs, resultOf, runInProcess, startRebootLab, until, warpClock, workerNames } from './reboot-helpers.js';

describe('k8s.reboot: roles, control nodes last, NotReady nodes, SIGINT and SIGTERM (lab)', function () {
  this.timeout(120_000);
  let lab: TestLab;
  let inventory: string;
  let workers: string[];
  let nfs: string;
  let control: string;
  let etcd: string;

  const hostOf = (role: string): string => [...lab.world.hosts.values()].find((h) => h.role === role)!.name;
  const nodeReady = (name: string): boolean =>
    lab.kube.store.get(lab.kube.api.res('', 'nodes'), undefined, name)?.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True') === true;

  before(async () => {
    lab = await startRebootLab(2, { workersNfs: 1, etcd: 1 });
    // No PDB: these tests are about selections and stops (the lab's NotReady node would hold its budget).
    await createWorkload(lab, 'tool-roles', [{ name: 'web', replicas: 4 }]);
    workers = workerNames(lab);
    nfs = hostOf('worker_nfs');
    control = hostOf('control');
    etcd = hostOf('etcd');
    inventory = inventoryFor(lab, { fileLock: true });
  });
  after(async () => {
    await lab?.stop();
    cleanupTempDirs();
  });

  it('--role worker_nfs reboots exactly the nodes of that role', async () => {
    const before = bootIds(lab);
    const r = await runInProcess(rebootArgs(inventory, tempDir('cc-state-'), ['--role', 'worker_nfs', '--json']), systemClock);
    assert.equal(r.code, 0, r.stderr.slice(-2000));
    assert.deepEqual(resultOf(r.stdout).result!.done, [nfs]);
    const after = bootIds(lab);
    for (const [h, id] of Object.entries(before)) {
      if (h === nfs) assert.notEqual(after[h], id, `${h} rebooted`);
      else assert.equal(after[h], id, `${h} untouched`);
    }
  });

  it('a node NotReady when the rollout begins is left out (named, never touched) and counts as unavailable', async () => {
    const [w1, w2] = workers as [string, string];
    const host = lab.world.hosts.get(w2)!;
    // No workload meanwhile: a replacement pod the lab would schedule onto the NotReady node (it has no
    // not-ready taint) could never get Ready, and the recovery wait is not what this test is about.
    const scale = (replicas: number): void => {
      lab.kube.api.patch(lab.kube.api.res('apps', 'deployments'), 'tool-roles', 'web', 'application/merge-patch+json', JSON.stringify({ spec: { replicas } }));
    };
    scale(0);
    await until(() => workers.every((w) => !podsOn(lab, w).some((p) => p.metadata.labels?.app === 'web')), 'web scaled to 0');
    // The lab's kubelet of w2 stops reporting: its Node goes NotReady (SSH and the host itself are unaffected).
    lab.world.emit('host-down', host);
    await until(() => !nodeReady(w2), `${w2} NotReady`);
    try {
      lab.world.resetCounters();
      const before = bootIds(lab);
      const r = await runInProcess(rebootArgs(inventory, tempDir('cc-state-'), ['--all-workers', '--max-unavailable', '2', '--hold-timeout', '20s', '--json']), systemClock);
      assert.equal(r.code, 0, r.stderr.slice(-2000));
      const out = resultOf(r.stdout).result!;
      assert.deepEqual(out.skipped, [{ node: w2, reason: 'NotReady when the rollout began (not rebooted; it counts as unavailable)' }]);
      assert.deepEqual([...out.done].sort(), [w1, nfs].sort());
      assert.equal(bootIds(lab)[w2], before[w2], `${w2} not rebooted`);
      // w2 takes one of the two slots: the others went one at a time.
      assert.ok(lab.counters().max_unavailable_nodes <= 2, `max unavailable ${lab.counters().max_unavailable_nodes}`);
    } finally {
      lab.world.emit('host-up', host);
      await until(() => nodeReady(w2), `${w2} Ready again`);
      scale(4);
      await until(() => readyReplicas(lab, 'tool-roles', 'web') === 4, 'web back to 4 ready');
    }
  });

  it('--all: workers first, control node last and only while every etcd member is healthy (dry-run would hold; held with "still held" lines; then continued)', async () => {
    const state = tempDir('cc-state-');
    const args = rebootArgs(inventory, state, ['--all', '--json']);
    const etcdHost = lab.world.hosts.get(etcd)!;
    // The etcd member's service is down (what `systemctl is-active etcd` answers there).
    etcdHost.services.set('etcd', false);
    const before = bootIds(lab);
    try {
      const plan = await runInProcess([...args, '--dry-run'], systemClock);
      assert.equal(plan.code, 1, plan.stderr.slice(-2000));
      const verdict = resultOf(plan.stdout).verdict!;
      assert.equal(verdict.outcome, 'would-hold');
      assert.deepEqual(verdict.problems.map((p) => p.node), [control]);
      assert.match(verdict.problems[0]!.reason, new RegExp(`not all control/etcd members healthy: etcd member ${etcd}: inactive`));
      const planned = resultOf(plan.stdout).result!.plan!;
      assert.deepEqual([...planned.order].sort(), [...workers, nfs].sort(), 'the workers are planned, the held control node is not');
      assert.deepEqual(planned.stuck.map((x) => x.node), [control]);

      const held = await runInProcess([...args, '--hold-timeout', '1s'], systemClock);
      assert.equal(held.code, 1, held.stderr.slice(-2000));
      const err = resultOf(held.stdout).error!;
      assert.equal(err.class, 'RolloutHeldError');
      assert.match(err.message, new RegExp(`${control}: not all control/etcd members healthy: etcd member ${etcd}: inactive`));
      assert.deepEqual([...err.context.done].sort(), [...workers, nfs].sort(), 'every worker first');
      assert.ok(!err.context.started.includes(control), 'the control node never started');
      assert.equal(bootIds(lab)[control], before[control]);

      // Unattended (no TTY), a held run says so at least every minute: 5 minutes on a clock 60 times faster.
      const warped = await runInProcess([...args, '--hold-timeout', '5m'], warpClock(Date.now(), 60));
      assert.equal(warped.code, 1, warped.stderr.slice(-2000));
      const notices = warped.stderr.split('\n').filter((l) => / still held: /.test(l));
      assert.ok(notices.length >= 3, `"still held" lines: ${notices.length}\n${warped.stderr.slice(-2000)}`);
      for (const l of notices) assert.match(l, new RegExp(`still held: ${control}: not all control/etcd members healthy: etcd member ${etcd}`));
    } finally {
      etcdHost.services.set('etcd', true);
    }
    const done = await runInProcess(args, systemClock);
    assert.equal(done.code, 0, done.stderr.slice(-2000));
    const out = resultOf(done.stdout).result!;
    assert.equal(out.rollout.continued, true);
    assert.deepEqual(out.started, [control]);
    assert.equal(out.rollout.complete, true);
    assert.notEqual(bootIds(lab)[control], before[control], 'the control node rebooted, last');
  });

  it('SIGINT in the middle of a drain: exit 130 naming the node left cordoned and the nodes not rebooted (text and --json); the re-run finishes', async () => {
    const [w1, w2] = workers as [string, string];
    const state = tempDir('cc-state-');
    const args = rebootArgs(inventory, state, ['--hostname', w1, '--hostname', w2, '--json']);
    const before = bootIds(lab);
    const reboots = countReboots(lab);
    try {
      lab.world.faults = { slowEvictionMs: 1500 };
      const p = startCli(args);
      await waitForOutput(p, `${w1}: drain`);
      p.kill('SIGINT');
      const r = await p;
      lab.world.faults = {};
      assert.equal(r.exitCode, 130, r.stderr.slice(-2000));
      const out = resultOf(r.stdout);
      assert.equal(out.error!.class, 'RolloutInterruptedError');
      assert.deepEqual(out.error!.context.leftCordoned, [w1]);
      assert.deepEqual(out.error!.context.remaining, [w1, w2]);
      assert.match(r.stderr, new RegExp(`interrupted by SIGINT: left cordoned: ${w1}; 0 of 2 done, not rebooted: ${w1}, ${w2}`));
      assert.deepEqual(cordonedNodes(lab), [w1]);
      assert.equal(bootIds(lab)[w1], before[w1], 'never rebooted mid-drain');

      const again = await runCli(args);
      assert.equal(again.code, 0, again.stderr.slice(-2000));
      assert.deepEqual(resultOf(again.stdout).result!.done, [w1, w2]);
      assert.deepEqual(cordonedNodes(lab), []);
      for (const w of [w1, w2]) assert.equal(reboots.counts.get(w), 1, `${w} rebooted once`);
    } finally {
      lab.world.faults = {};
      reboots.stop();
    }
  });

  it('SIGTERM after the reboot command stops at a safe point: exit 130, the node named; the re-run waits for that reboot and never reboots twice', async () => {
    const w = workers[0]!;
    const args = rebootArgs(inventory, tempDir('cc-state-'), ['--hostname', w, '--json']);
    const reboots = countReboots(lab);
    try {
      const p = startCli(args);
      await waitForOutput(p, `${w}: wait-ready`);
      p.kill('SIGTERM');
      const r = await p;
      assert.equal(r.exitCode, 130, r.stderr.slice(-2000));
      const out = resultOf(r.stdout);
      assert.equal(out.error!.class, 'RolloutInterruptedError');
      assert.equal(out.status, 'interrupted');
      assert.deepEqual(out.error!.context.leftCordoned, [w]);
      assert.ok(out.steps.some((s) => s.name === `reboot ${w}` && s.status === 'done'), 'the reboot command had gone out');

      const again = await runCli(args);
      assert.equal(again.code, 0, again.stderr.slice(-2000));
      const steps = resultOf(again.stdout).steps;
      assert.ok(steps.some((s) => s.name === `reboot ${w}` && s.status === 'skipped'), 'the re-run did not send the reboot again');
      await until(() => reboots.counts.get(w) === 1, `${w} back from its reboot`);
      assert.equal(reboots.counts.get(w), 1);
      assert.deepEqual(cordonedNodes(lab), []);
    } finally {
      reboots.stop();
    }
  });
});
