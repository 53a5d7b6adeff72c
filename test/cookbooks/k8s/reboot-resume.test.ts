// Crash safety and failures of k8s.reboot against the lab: the rollout is SIGKILLed after a cordon, in the
// middle of a drain and right after the reboot command, and each re-run converges without rebooting a
// finished node again; a host that never comes back stops the rollout (named, nothing further started,
// exit 1, the node left cordoned and reported); --hard-reboot-fallback then brings it back through OpenStack.
import { strict as assert } from 'node:assert';
import { cleanupTempDirs, runCli, startCli, tempDir } from '../../helpers/cli.js';
import type { TestLab } from '../../helpers/lab.js';
import { bootIds, cordonedNodes, countReboots, createWorkload, inventoryFor, podsOn, readyReplicas, rebootArgs, resultOf, startRebootLab, workerNames } from './reboot-helpers.js';

describe('k8s.reboot: interrupted and failing rollouts (lab)', function () {
  this.timeout(120_000);
  let lab: TestLab;
  let inventory: string;
  let workers: string[];
  let target: string;

  before(async () => {
    lab = await startRebootLab(4);
    await createWorkload(lab, 'tool-crash', [{ name: 'web', replicas: 4, pdb: { maxUnavailable: 1 } }]);
    workers = workerNames(lab);
    target = workers[1]!;
    for (const w of workers) assert.equal(podsOn(lab, w).filter((p) => p.metadata.labels?.app === 'web').length, 1, `one web pod on ${w}`);
    inventory = inventoryFor(lab, { fileLock: true });
  });
  after(async () => {
    await lab?.stop();
    cleanupTempDirs();
  });

  /** Puts `replicas` pods of a new Deployment `app` (with a PDB allowing one disruption) on `node` only. */
  async function pinReplicas(node: string, app: string, replicas: number): Promise<void> {
    const api = lab.kube.api;
    const nodes = api.res('', 'nodes');
    const setUnschedulable = (names: string[], on: boolean): void => {
      for (const n of names) api.patch(nodes, undefined, n, 'application/merge-patch+json', JSON.stringify({ spec: { unschedulable: on ? true : null } }));
    };
    const others = workers.filter((w) => w !== node);
    // The lab's scheduler spreads pods: with every other worker unschedulable for a moment, all land on `node`.
    setUnschedulable(others, true);
    try {
      const labels = { app };
      api.create(api.res('apps', 'deployments'), 'tool-crash', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: app, namespace: 'tool-crash' }, spec: { replicas, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: app, image: `registry.lab.internal/${app}:1`, resources: { requests: { cpu: '10m', memory: '16Mi' } } }] } } } }, { internal: true });
      api.create(api.res('policy', 'poddisruptionbudgets'), 'tool-crash', { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: app, namespace: 'tool-crash' }, spec: { maxUnavailable: 1, selector: { matchLabels: labels } } }, { internal: true });
      for (const until = Date.now() + 20_000; readyReplicas(lab, 'tool-crash', app) < replicas; ) {
        assert.ok(Date.now() < until, `${app}: ${readyReplicas(lab, 'tool-crash', app)} of ${replicas} ready`);
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      setUnschedulable(others, false);
    }
  }

  function unpin(app: string): void {
    const api = lab.kube.api;
    api.delete(api.res('policy', 'poddisruptionbudgets'), 'tool-crash', app, {}, { internal: true });
    api.delete(api.res('apps', 'deployments'), 'tool-crash', app, {}, { internal: true });
  }

  /** Kills a run at a point, re-runs it, and checks that every worker was rebooted exactly once in all. */
  async function killAndResume(kill: (args: string[]) => Promise<void>, atKill: () => void): Promise<void> {
    const state = tempDir('cc-state-');
    const args = rebootArgs(inventory, state, ['--all-workers', '--max-unavailable', '1', '--json']);
    const before = bootIds(lab);
    const reboots = countReboots(lab);
    try {
      await kill(args);
      atKill();
      lab.world.faults = {};
      const r = await runCli(args);
      assert.equal(r.code, 0, r.stderr.slice(-3000));
      const out = resultOf(r.stdout).result!;
      assert.equal(out.rollout.continued, true, 'the re-run continued the same rollout');
      assert.deepEqual([...out.done].sort(), [...workers].sort());
      // Wait for the lab to report every host back, then count: one reboot each, none twice.
      const after = bootIds(lab);
      for (const w of workers) {
        assert.notEqual(after[w], before[w], `${w} rebooted`);
        assert.equal(reboots.counts.get(w), 1, `${w} rebooted exactly once (${reboots.counts.get(w)})`);
      }
      assert.deepEqual(cordonedNodes(lab), []);
    } finally {
      reboots.stop();
    }
  }

  /** Runs until the failpoint kills the process; asserts it died by SIGKILL (not an ordinary failure). */
  async function killedAt(args: string[], failpoint: string): Promise<void> {
    const done = await startCli(args, { env: { COOKBOOK_FAILPOINTS: failpoint } });
    assert.equal(done.signal, 'SIGKILL', `killed by SIGKILL at ${failpoint} (exit ${done.exitCode}): ${done.stderr.slice(-800)}`);
  }

  it('SIGKILL right after the cordon: the re-run drains and reboots that node and finishes', async () => {
    let idBefore = '';
    await killAndResume(
      async (args) => {
        idBefore = bootIds(lab)[target]!;
        await killedAt(args, `kill-after:cordon ${target}`);
      },
      () => {
        assert.ok(cordonedNodes(lab).includes(target), `${target} was left cordoned by the killed run`);
        assert.equal(bootIds(lab)[target], idBefore, `${target} was not rebooted yet`);
        assert.ok(podsOn(lab, target).some((p) => p.metadata.labels?.app === 'web'), 'not drained yet');
      },
    );
  });

  it('SIGKILL in the middle of a drain (some pods evicted, some still on the node): the re-run finishes the drain and the rollout', async () => {
    let idBefore = '';
    // Three replicas of "mid" on the target under a PDB that allows one disruption: the drain evicts them one
    // at a time (each replacement must be Ready elsewhere first), so the drain has a middle to kill it in.
    await pinReplicas(target, 'mid', 3);
    const ours = podsOn(lab, target).filter((p) => p.metadata.labels?.app === 'mid' || p.metadata.labels?.app === 'web').map((p) => p.metadata.name);
    assert.equal(ours.length, 4, 'three mid pods and one web pod on the target');
    let atKill: { evicted: string[]; left: string[] } | undefined;
    try {
      await killAndResume(
        async (args) => {
          idBefore = bootIds(lab)[target]!;
          // Evictions answered slowly: the kill lands while they are in flight.
          lab.world.faults = { slowEvictionMs: 300 };
          const p = startCli(args);
          // Kill the moment the lab shows the drain half-way: at least one of the pods gone or terminating, at least one still there.
          await new Promise<void>((resolve, reject) => {
            const timer = setInterval(() => {
              const live = new Set(podsOn(lab, target).map((x) => x.metadata.name));
              const evicted = ours.filter((n) => !live.has(n));
              const left = ours.filter((n) => live.has(n));
              if (evicted.length >= 1 && left.length >= 1) {
                p.kill('SIGKILL');
                atKill = { evicted, left };
                clearInterval(timer);
                resolve();
              }
            }, 5);
            p.then((out) => {
              clearInterval(timer);
              reject(new Error(`the run ended before the drain was half-way: ${out.stderr.slice(-1500)}`));
            }, reject);
          });
          const done = await p;
          assert.equal(done.signal, 'SIGKILL');
        },
        () => {
          assert.ok(atKill!.evicted.length >= 1, `evicted at kill time: ${atKill!.evicted.join(', ')}`);
          assert.ok(atKill!.left.length >= 1, `still on the node at kill time: ${atKill!.left.join(', ')}`);
          assert.ok(cordonedNodes(lab).includes(target));
          assert.equal(bootIds(lab)[target], idBefore, `${target} was not rebooted`);
        },
      );
    } finally {
      unpin('mid');
    }
  });

  it('SIGKILL right after the reboot command: the re-run waits for that reboot instead of rebooting again', async () => {
    await killAndResume(
      async (args) => {
        await killedAt(args, `kill-after:reboot ${target}`);
      },
      () => {
        assert.ok(cordonedNodes(lab).includes(target), `${target} is still cordoned`);
      },
    );
  });

  it('a host that never comes back stops the rollout: named, nothing further started, exit 1, left cordoned', async () => {
    const state = tempDir('cc-state-');
    const bad = workers[2]!;
    lab.world.faults = { hostsNeverReturn: [bad] };
    lab.world.resetCounters();
    const before = bootIds(lab);
    const args = rebootArgs(inventory, state, ['--all-workers', '--max-unavailable', '1', '--reboot-timeout', '2s', '--json']);
    const r = await runCli(args);
    assert.equal(r.code, 1, r.stderr.slice(-2000));
    assert.match(r.stderr, new RegExp(`${bad} did not come back with a new boot id within 2\\.0s \\(--reboot-timeout\\)`));
    const out = resultOf(r.stdout);
    const ctx = out.error!.context;
    // --reboot-timeout is one deadline (Node status and SSH proof together), not one per wait: 2 s, not 4.
    const waited = ctx.failed[0]!.phaseMs!;
    assert.ok(waited >= 2000 && waited < 3900, `the node was given ${waited} ms to come back (--reboot-timeout 2s)`);
    assert.equal(out.error!.class, 'RolloutFailedError');
    assert.match(out.error!.message, new RegExp(`stopped: ${bad} \\(wait-ready`));
    assert.deepEqual(ctx.failed.map((f) => f.node), [bad]);
    assert.deepEqual(ctx.leftCordoned, [bad]);
    assert.equal(ctx.started.at(-1), bad, 'no node started after the failure');
    const notStarted = workers.filter((w) => !ctx.started.includes(w));
    assert.ok(notStarted.length >= 1);
    for (const w of notStarted) assert.equal(bootIds(lab)[w], before[w], `${w} untouched`);
    assert.deepEqual(cordonedNodes(lab), [bad]);
    assert.equal(lab.counters().openstack_mutations, 0, 'no hard reboot without --hard-reboot-fallback');

    // The next run continues the rollout; with --hard-reboot-fallback the drained node that did not come
    // back is hard-rebooted through OpenStack (the lab fault is lifted first so the VM can boot again).
    lab.world.faults = {};
    const again = await runCli([...args, '--hard-reboot-fallback']);
    assert.equal(again.code, 0, again.stderr.slice(-3000));
    const out2 = resultOf(again.stdout);
    assert.equal(out2.result!.rollout.continued, true);
    assert.ok(out2.changes.some((c) => c.action === 'hard reboot server' && c.target === `server/${bad}`), 'hard reboot through OpenStack');
    assert.ok(!out2.changes.some((c) => c.action === 'reboot' && c.target === bad), 'no second SSH reboot of the node');
    assert.deepEqual([...out2.result!.done].sort(), [...workers].sort());
    assert.notEqual(bootIds(lab)[bad], before[bad]);
    assert.deepEqual(cordonedNodes(lab), []);
    for (const w of ctx.done) assert.ok(!out2.result!.started.includes(w), `${w} (done before) not started again`);
  });
});
