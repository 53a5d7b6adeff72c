// k8s.reboot in-process against the lab with an injected clock: maintenance windows (closed over a weekend;
// closing at midnight mid-rollout and continuing in the next window after a daylight-saving change), and the
// selection and blocker rules: --only-if-needed, an admin's cordon kept, a blocking pod holding its node until
// --hold-timeout, a refused drain that uncordons and never reboots, --max-failures moving on.
import { strict as assert } from 'node:assert';
import { systemClock } from '../../../lib/core/clock.js';
import { LATEST_KERNEL } from '../../../lab/ssh/commands/apt.js';
import { cleanupTempDirs, tempDir } from '../../helpers/cli.js';
import type { TestLab } from '../../helpers/lab.js';
import { bootIds, clockAt, cordonedNodes, countReboots, createWorkload, inventoryFor, rebootArgs, resultOf, runInProcess, startRebootLab, workerNames } from './reboot-helpers.js';

describe('k8s.reboot: windows, selection and blockers (lab, injected clock)', function () {
  this.timeout(120_000);
  let lab: TestLab;
  let inventory: string;
  let workers: string[];

  before(async () => {
    lab = await startRebootLab(4);
    await createWorkload(lab, 'tool-window', [{ name: 'web', replicas: 4, pdb: { maxUnavailable: 1 } }]);
    workers = workerNames(lab);
    inventory = inventoryFor(lab, { fileLock: true });
  });
  after(async () => {
    await lab?.stop();
    cleanupTempDirs();
  });

  it('outside the window (Friday 16:30 in Madrid) starts nothing, exits 0 and names the next window (Monday 06:00)', async () => {
    lab.world.resetCounters();
    const before = bootIds(lab);
    const r = await runInProcess(
      rebootArgs(inventory, tempDir('cc-state-'), ['--all-workers', '--window', 'Mon-Fri 06:00-16:00 Europe/Madrid', '--json']),
      clockAt('2026-11-20T15:30:00Z'),
    );
    assert.equal(r.code, 0, r.stderr.slice(-2000));
    const out = resultOf(r.stdout).result!;
    assert.equal(out.stoppedBy, 'window');
    assert.equal(out.nextWindow, '2026-11-23T05:00:00.000Z');
    assert.deepEqual(out.remaining, workers);
    assert.deepEqual(out.done, []);
    assert.deepEqual([lab.counters().k8s_mutations, lab.counters().ssh_mutations], [0, 0]);
    assert.deepEqual(bootIds(lab), before);
    // Said as the operator of the window reads it: when it opens, in its own zone; not "cannot fit".
    assert.match(r.stderr, /the window Mon-Fri 06:00-16:00 Europe\/Madrid is closed; it opens next Mon 2026-11-23 06:00 GMT\+1/);
    assert.doesNotMatch(r.stderr, /cannot fit/);
    assert.equal(out.nextWindowLocal, 'Mon 2026-11-23 06:00 GMT+1');
  });

  it('a window closing at midnight stops the rollout cleanly; the next window (after the DST change) continues it', async () => {
    const state = tempDir('cc-state-');
    const args = rebootArgs(inventory, state, ['--all-workers', '--window', 'daily 23:00-00:00 Europe/Madrid', '--node-duration', '15s', '--json']);
    const before = bootIds(lab);
    const reboots = countReboots(lab);
    // The injected clock stands at 23:59:30 CET on Saturday 2026-03-28 (30 s left, a node is expected to take
    // 15 s) until the first node is back from its reboot; then it jumps to 23:59:48, leaving less than a node
    // takes. Conditions, not margins: a slow machine cannot change which nodes fit.
    const jump = Date.parse('2026-03-28T22:59:48Z') - Date.parse('2026-03-28T22:59:30Z');
    let offset = Date.parse('2026-03-28T22:59:30Z') - Date.now();
    let jumped = false;
    const onUp = (): void => {
      if (!jumped) offset += jump;
      jumped = true;
    };
    lab.world.on('host-up', onUp);
    const clock = { now: () => Date.now() + offset, sleep: systemClock.sleep };
    try {
      const first = await runInProcess(args, clock);
      lab.world.off('host-up', onUp);
      assert.ok(jumped, 'a node was rebooted before the window closed');
      assert.equal(first.code, 0, first.stderr.slice(-2000));
      const out1 = resultOf(first.stdout).result!;
      assert.equal(out1.stoppedBy, 'window');
      assert.equal(out1.done.length, 1, `exactly the node started before the jump is done (${out1.done.join(',')})`);
      assert.equal(out1.remaining.length, workers.length - 1);
      assert.match(first.stderr, /the window daily 23:00-00:00 Europe\/Madrid cannot fit another node \(only \d+(\.\d)?s left in the window .*it closes Sun 2026-03-29 00:00 GMT\+1\), a node takes about \d+(\.\d)?s; it opens next Sun 2026-03-29 23:00 GMT\+2\): stopping with 3 node\(s\) left/);
      assert.equal(out1.done.length + out1.remaining.length, workers.length);
      // Clocks went forward that night: the next 23:00 in Madrid is 21:00 UTC, not 22:00.
      assert.equal(out1.nextWindow, '2026-03-29T21:00:00.000Z');
      assert.equal(out1.nextWindowLocal, 'Sun 2026-03-29 23:00 GMT+2');
      assert.deepEqual(cordonedNodes(lab), [], 'nothing left cordoned at the window end');
      for (const w of out1.remaining) assert.equal(bootIds(lab)[w], before[w], `${w} not touched yet`);

      const second = await runInProcess(args, clockAt('2026-03-29T21:00:05Z'));
      assert.equal(second.code, 0, second.stderr.slice(-2000));
      const out2 = resultOf(second.stdout).result!;
      assert.equal(out2.rollout.continued, true);
      assert.equal(out2.rollout.id, out1.rollout.id);
      assert.deepEqual([...out2.started].sort(), [...out1.remaining].sort(), 'only the nodes left are started');
      assert.equal(out2.rollout.complete, true);
      for (const w of workers) assert.equal(reboots.counts.get(w), 1, `${w} rebooted once over both windows`);
    } finally {
      lab.world.off('host-up', onUp);
      reboots.stop();
    }
  });

  it('--new-rollout begins again instead of continuing an unfinished rollout of the same selection', async () => {
    const [w1, w2] = workers as [string, string];
    const api = lab.kube.api;
    // w2 is held by a blocking pod, so the first run ends unfinished (w1 done, w2 left).
    api.create(
      api.res('', 'pods'),
      'tool-window',
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'hold-w2', namespace: 'tool-window', labels: { app: 'hold' } }, spec: { nodeName: w2, containers: [{ name: 'c', image: 'registry.lab.internal/hold:1' }] } },
      { internal: true },
    );
    const args = rebootArgs(inventory, tempDir('cc-state-'), ['--hostname', w1, '--hostname', w2, '--block-on-pod', 'app=hold', '--hold-timeout', '1s', '--json']);
    const first = await runInProcess(args, systemClock);
    assert.equal(first.code, 1, first.stderr.slice(-2000));
    const ctx1 = resultOf(first.stdout).error!.context;
    assert.deepEqual(ctx1.done, [w1]);
    api.delete(api.res('', 'pods'), 'tool-window', 'hold-w2', { gracePeriodSeconds: 0 }, { internal: true });
    const again = await runInProcess([...args, '--new-rollout'], systemClock);
    assert.equal(again.code, 0, again.stderr.slice(-2000));
    const out2 = resultOf(again.stdout).result!;
    assert.equal(out2.rollout.continued, false);
    assert.deepEqual([...out2.started].sort(), [w1, w2], 'both nodes again, the one done in the old rollout too');
  });

  it('--only-if-needed reboots just the hosts with the sentinel or a newer installed kernel', async () => {
    const [w1, w2, w3, w4] = workers as [string, string, string, string];
    lab.world.hosts.get(w2)!.files.set('/var/run/reboot-required', '*** System restart required ***\n');
    lab.world.hosts.get(w4)!.kernel.installed.push(LATEST_KERNEL);
    const before = bootIds(lab);
    const r = await runInProcess(rebootArgs(inventory, tempDir('cc-state-'), ['--all-workers', '--only-if-needed', '--max-unavailable', '2', '--json']), systemClock);
    assert.equal(r.code, 0, r.stderr.slice(-2000));
    const out = resultOf(r.stdout).result!;
    assert.deepEqual(out.targets, [w2, w4]);
    assert.deepEqual(out.skipped, [
      { node: w1, reason: 'no reboot pending' },
      { node: w3, reason: 'no reboot pending' },
    ]);
    assert.equal(bootIds(lab)[w1], before[w1]);
    assert.equal(bootIds(lab)[w3], before[w3]);
    assert.notEqual(bootIds(lab)[w2], before[w2]);
    assert.equal(lab.world.hosts.get(w2)!.files.has('/var/run/reboot-required'), false);
    assert.equal(lab.world.hosts.get(w4)!.kernel.running, LATEST_KERNEL);
    assert.match(r.stderr, new RegExp(`${w4} needs a reboot: running kernel 6\\.1\\.0-25-amd64, newest installed ${LATEST_KERNEL}`));
  });

  it("keeps an admin's cordon, holds a node with a blocking pod until --hold-timeout, and continues once it is gone", async () => {
    const [w1, , w3] = workers as [string, string, string, string];
    const api = lab.kube.api;
    api.patch(api.res('', 'nodes'), undefined, w3, 'application/merge-patch+json', JSON.stringify({ spec: { unschedulable: true } }));
    api.create(
      api.res('', 'pods'),
      'tool-window',
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'nightly-batch', namespace: 'tool-window', labels: { app: 'batch' } }, spec: { nodeName: w1, containers: [{ name: 'job', image: 'registry.lab.internal/batch:1' }] } },
      { internal: true },
    );
    const state = tempDir('cc-state-');
    const args = rebootArgs(inventory, state, ['--all-workers', '--max-unavailable', '2', '--block-on-pod', 'app=batch', '--hold-timeout', '2s', '--json']);
    const before = bootIds(lab);
    const r = await runInProcess(args, systemClock);
    assert.equal(r.code, 1, r.stderr.slice(-2000));
    const out = resultOf(r.stdout);
    assert.equal(out.error!.class, 'RolloutHeldError');
    assert.match(out.error!.message, new RegExp(`${w1}: blocking pod tool-window/nightly-batch \\(--block-on-pod app=batch\\)`));
    assert.equal(bootIds(lab)[w1], before[w1], 'the held node was not touched');
    for (const w of workers.filter((x) => x !== w1)) assert.notEqual(bootIds(lab)[w], before[w], `${w} rebooted`);
    assert.deepEqual(cordonedNodes(lab), [w3], "the admin's cordon stays, ours are gone");

    api.delete(api.res('', 'pods'), 'tool-window', 'nightly-batch', { gracePeriodSeconds: 0 }, { internal: true });
    const again = await runInProcess(args, systemClock);
    assert.equal(again.code, 0, again.stderr.slice(-2000));
    const out2 = resultOf(again.stdout).result!;
    assert.deepEqual(out2.started, [w1]);
    assert.equal(out2.rollout.continued, true);
    assert.deepEqual(cordonedNodes(lab), [w3]);
    api.patch(api.res('', 'nodes'), undefined, w3, 'application/merge-patch+json', JSON.stringify({ spec: { unschedulable: null } }));
  });

  it('a refused drain uncordons the node and never reboots it; --max-failures 1 moves on to the next node', async () => {
    const [, w2, w3] = workers as [string, string, string, string];
    await createWorkload(lab, 'tool-scratch', []);
    const api = lab.kube.api;
    // A Deployment pinned to w2 whose pods keep data in emptyDir: a drain without --delete-emptydir-data refuses.
    api.create(
      api.res('apps', 'deployments'),
      'tool-scratch',
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'scratch', namespace: 'tool-scratch' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'scratch' } },
          template: {
            metadata: { labels: { app: 'scratch' } },
            spec: { nodeSelector: { 'kubernetes.io/hostname': w2 }, volumes: [{ name: 'tmp', emptyDir: {} }], containers: [{ name: 'c', image: 'registry.lab.internal/scratch:1' }] },
          },
        },
      },
      { internal: true },
    );
    for (let i = 0; i < 200 && (lab.kube.store.get(api.res('apps', 'deployments'), 'tool-scratch', 'scratch')?.status?.readyReplicas ?? 0) < 1; i++) await new Promise((r) => setTimeout(r, 20));
    const before = bootIds(lab);
    const r = await runInProcess(rebootArgs(inventory, tempDir('cc-state-'), ['--hostname', w2, '--no-delete-emptydir-data', '--json']), systemClock);
    assert.equal(r.code, 1);
    const out = resultOf(r.stdout);
    assert.match(out.error!.message, new RegExp(`${w2} \\(drain: cannot drain ${w2}: .*tool-scratch/scratch-.*emptyDir`));
    // Uncordoning is what k8s.reboot promises, not k8s.drain's opt-in: the text must not claim anyone asked.
    assert.match(r.stderr, new RegExp(`drain of ${w2} failed .*it is not rebooted, and k8s.reboot uncordons it \\(the cordon was ours\\)`));
    assert.doesNotMatch(r.stderr, /as asked|--uncordon-on-failure/);
    assert.deepEqual(out.error!.context.leftCordoned, []);
    assert.equal(bootIds(lab)[w2], before[w2], 'never rebooted');
    assert.deepEqual(cordonedNodes(lab), [], 'uncordoned again');
    assert.ok(!out.changes.some((c) => c.action === 'reboot'));

    const moved = await runInProcess(rebootArgs(inventory, tempDir('cc-state-'), ['--hostname', w2, '--hostname', w3, '--max-failures', '1', '--no-delete-emptydir-data', '--json']), systemClock);
    assert.equal(moved.code, 1, 'a failure is still a failed run');
    const out2 = resultOf(moved.stdout);
    assert.deepEqual(out2.error!.context.failed.map((f) => f.node), [w2]);
    assert.deepEqual(out2.error!.context.done, [w3]);
    assert.notEqual(bootIds(lab)[w3], before[w3]);
    assert.equal(bootIds(lab)[w2], before[w2]);
    assert.deepEqual(cordonedNodes(lab), []);
  });
});
