// k8s.reboot on the lab's own seeded workload (emptyDir pods, PDBs, a StatefulSet), in-process: emptyDir data
// is deleted by default (the default lab reboots at its first node) and --no-delete-emptydir-data refuses; a
// dry-run ends with an honest verdict (would fail at a drain that needs an opt-in, would hold at a PDB that
// allows no disruption), and a host key that does not verify stops the run before the first cordon.
import { strict as assert } from 'node:assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { systemClock } from '../../../lib/core/clock.js';
import type { KObject } from '../../../lab/k8s/types.js';
import { cleanupTempDirs, tempDir } from '../../helpers/cli.js';
import type { TestLab } from '../../helpers/lab.js';
import { bootIds, cordonedNodes, inventoryFor, podsOn, rebootArgs, resultOf, runInProcess, startRebootLab, workerNames } from './reboot-helpers.js';

describe('k8s.reboot: the default workload, dry-run verdicts and the SSH preflight (lab)', function () {
  this.timeout(120_000);
  let lab: TestLab;
  let inventory: string;
  let workers: string[];
  /** The worker running a pod of tool-alpha/worker (emptyDir volume). */
  let scratchNode: string;

  const run = (args: string[]) => runInProcess(rebootArgs(inventory, tempDir('cc-state-'), args), systemClock);

  before(async () => {
    lab = await startRebootLab(3, { seedWorkload: true });
    workers = workerNames(lab);
    inventory = inventoryFor(lab, { fileLock: true });
    scratchNode = workers.find((w) => podsOn(lab, w).some((p) => p.metadata.namespace === 'tool-alpha' && p.metadata.labels?.app === 'worker' && p.spec?.volumes?.some((v: { emptyDir?: unknown }) => v.emptyDir)))!;
    assert.ok(scratchNode, 'a worker runs a pod with an emptyDir volume');
  });
  after(async () => {
    await lab?.stop();
    cleanupTempDirs();
  });

  it('--no-delete-emptydir-data: the dry-run would fail at the drain of the node with emptyDir pods (exit 1, named), nothing changed', async () => {
    lab.world.resetCounters();
    const r = await run(['--hostname', scratchNode, '--no-delete-emptydir-data', '--dry-run', '--json']);
    assert.equal(r.code, 1, r.stderr.slice(-2000));
    const out = resultOf(r.stdout);
    assert.equal(out.verdict?.outcome, 'would-fail');
    const p = out.verdict!.problems.find((x) => x.node === scratchNode);
    assert.ok(p, `a problem names ${scratchNode}: ${JSON.stringify(out.verdict)}`);
    assert.equal(p.kind, 'fail');
    assert.equal(p.step, `drain ${scratchNode}`);
    assert.match(p.reason, /tool-alpha\/worker-.*emptyDir/);
    // The plan shows what the real run would do up to there: cordon, then uncordon again (no reboot).
    const planned = out.changes.filter((c) => c.target === `node/${scratchNode}` || c.target === scratchNode).map((c) => c.action);
    assert.deepEqual(planned, ['cordon', 'uncordon']);
    assert.deepEqual([lab.counters().k8s_mutations, lab.counters().ssh_mutations], [0, 0]);
  });

  it('by default emptyDir data is deleted: the dry-run says so and would succeed, and the real reboot of that node succeeds', async () => {
    const plan = await run(['--hostname', scratchNode, '--dry-run']);
    assert.equal(plan.code, 0, plan.stderr.slice(-2000));
    assert.match(plan.stdout, /pods with emptyDir volumes are evicted and their emptyDir data deleted \(the default; --no-delete-emptydir-data refuses them instead\)/);
    assert.match(plan.stdout, /WOULD SUCCEED/);
    // Before anything was measured, the plan says where its estimate comes from (not a flat 10 minutes).
    assert.match(plan.stdout, /expected 4m00s per node, no measurement yet: 4m00s for a typical VM; --node-duration overrides/);
    const before = bootIds(lab)[scratchNode];
    const state = tempDir('cc-state-');
    const r = await runInProcess(rebootArgs(inventory, state, ['--hostname', scratchNode, '--json']), systemClock);
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    const out = resultOf(r.stdout).result!;
    assert.deepEqual(out.done, [scratchNode]);
    assert.notEqual(bootIds(lab)[scratchNode], before, 'rebooted');
    assert.deepEqual(cordonedNodes(lab), []);
    // The next rollout of the cluster starts from that measurement: calibrated, not guessed.
    const other = workers.find((w) => w !== scratchNode)!;
    const next = await runInProcess(rebootArgs(inventory, state, ['--hostname', other, '--dry-run', '--json']), systemClock);
    assert.equal(next.code, 0, next.stderr.slice(-2000));
    const expected = resultOf(next.stdout).result!.expected!;
    assert.equal(expected.source, 'median of 1 node(s) of earlier rollouts');
    assert.ok(expected.perNodeMs > 0 && expected.perNodeMs < 60_000, `calibrated ${expected.perNodeMs} ms per node`);
  });

  it('rebooting more than one node asks on every cluster: without a TTY and without --yes it refuses (exit 4), nothing changed', async () => {
    lab.world.resetCounters();
    const args = rebootArgs(inventory, tempDir('cc-state-'), ['--hostname', workers[0]!, '--hostname', workers[1]!, '--json']).filter((a) => a !== '--yes');
    const r = await runInProcess(args, systemClock);
    assert.equal(r.code, 4, r.stderr.slice(-2000));
    assert.match(r.stderr, /Reboot 2 node\(s\) of labtest, at most 1 unavailable at once/);
    assert.deepEqual([lab.counters().k8s_mutations, lab.counters().ssh_mutations], [0, 0]);
  });

  it('durations outside their range and empty blockers are refused (exit 2, the option named, nothing changed)', async () => {
    lab.world.resetCounters();
    const cases: [string[], RegExp][] = [
      [['--reboot-timeout', '0'], /--reboot-timeout: 0 is out of range \(valid: 1s to 1d\)/],
      [['--hold-timeout', '25d'], /--hold-timeout: 25d is out of range \(valid: 1s to 7d\)/],
      [['--drain-timeout', '-5m'], /--drain-timeout: must not be negative/],
      [['--block-on-alert', ''], /--block-on-alert: /],
      [['--block-on-pod', ' '], /--block-on-pod: /],
    ];
    for (const [extra, message] of cases) {
      const r = await run(['--hostname', workers[0]!, ...extra, '--json']);
      assert.equal(r.code, 2, `${extra.join(' ')}: ${r.stderr.slice(-500)}`);
      assert.match(r.stderr + r.stdout, message, extra.join(' '));
    }
    assert.deepEqual([lab.counters().k8s_mutations, lab.counters().ssh_mutations, lab.counters().openstack_mutations], [0, 0, 0]);
  });

  it('a PDB that allows no disruption: the dry-run would hold at that node (exit 1, the node and the PDB named)', async () => {
    const api = lab.kube.api;
    const labels = { app: 'solid' };
    api.create(api.res('apps', 'deployments'), 'tool-beta', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'solid', namespace: 'tool-beta' }, spec: { replicas: 1, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'c', image: 'registry.lab.internal/solid:1' }] } } } } as KObject, { internal: true });
    api.create(api.res('policy', 'poddisruptionbudgets'), 'tool-beta', { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'solid', namespace: 'tool-beta' }, spec: { minAvailable: 1, selector: { matchLabels: labels } } } as KObject, { internal: true });
    try {
      let host: string | undefined;
      for (const until = Date.now() + 20_000; !host; ) {
        host = workers.find((w) => podsOn(lab, w).some((p) => p.metadata.labels?.app === 'solid' && p.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True')));
        assert.ok(host || Date.now() < until, 'the solid pod runs');
        if (!host) await new Promise((res) => setTimeout(res, 20));
      }
      // The PDB's status must have caught up (0 disruptions allowed) before the dry-run reads it.
      for (const until = Date.now() + 20_000; lab.kube.store.get(api.res('policy', 'poddisruptionbudgets'), 'tool-beta', 'solid')?.status?.currentHealthy !== 1; ) {
        assert.ok(Date.now() < until, 'PDB status');
        await new Promise((res) => setTimeout(res, 20));
      }
      const r = await run(['--hostname', host, '--dry-run', '--json']);
      assert.equal(r.code, 1, r.stderr.slice(-2000));
      const out = resultOf(r.stdout);
      assert.equal(out.verdict?.outcome, 'would-hold');
      assert.deepEqual(
        out.verdict!.problems.map((p) => [p.kind, p.node]),
        [['hold', host]],
      );
      assert.match(out.verdict!.problems[0]!.reason, /PDB tool-beta\/solid allows 0 disruptions/);
      const human = await run(['--hostname', host, '--dry-run']);
      assert.equal(human.code, 1);
      assert.match(human.stdout, new RegExp(`WOULD HOLD[\\s\\S]*would hold at step "start ${host}", node ${host}: PDB tool-beta/solid allows 0 disruptions`));
    } finally {
      api.delete(api.res('policy', 'poddisruptionbudgets'), 'tool-beta', 'solid', {}, { internal: true });
      api.delete(api.res('apps', 'deployments'), 'tool-beta', 'solid', {}, { internal: true });
    }
  });

  it('a drain that reaches --drain-timeout inside a reboot ends as a normal failure: the node uncordoned as promised, never rebooted', async () => {
    const node = workers.find((w) => w !== scratchNode && podsOn(lab, w).some((p) => p.metadata.namespace === 'tool-gamma' && p.metadata.labels?.app === 'frontend'));
    assert.ok(node, 'a worker runs a frontend pod');
    const pod = podsOn(lab, node).find((p) => p.metadata.labels?.app === 'frontend')!;
    // The pod never finishes terminating: only the drain's deadline ends the wait.
    lab.world.faults = { stuckPods: [`tool-gamma/${pod.metadata.name}`] };
    const before = bootIds(lab)[node];
    try {
      const started = Date.now();
      const r = await run(['--hostname', node, '--drain-timeout', '2s', '--json']);
      assert.equal(r.code, 1, r.stderr.slice(-2000));
      assert.ok(Date.now() - started < 30_000, 'ended by the deadline');
      const out = resultOf(r.stdout);
      assert.equal(out.error!.class, 'RolloutFailedError');
      assert.match(out.error!.message, new RegExp(`${node} \\(drain: `));
      assert.deepEqual(out.error!.context.leftCordoned, []);
      assert.match(r.stderr, new RegExp(`drain of ${node} failed .*k8s.reboot uncordons it \\(the cordon was ours\\)`));
      assert.doesNotMatch(r.stderr, /--uncordon-on-failure/);
      assert.deepEqual(cordonedNodes(lab), [], 'uncordoned');
      assert.equal(bootIds(lab)[node], before, 'never rebooted');
      assert.ok(!out.changes.some((c) => c.action === 'reboot'));
    } finally {
      lab.world.faults = {};
    }
  });

  it('a host key that does not verify stops the run before the first cordon (named, nothing changed); the dry-run would fail there', async () => {
    const [good, bad] = workers.filter((w) => w !== scratchNode) as [string, string];
    // known_hosts where `bad` has `good`'s key: the key `bad` offers no longer matches (as after a man in the middle).
    const lines = readFileSync(join(lab.stateDir, 'known_hosts'), 'utf8').trim().split('\n');
    const addr = (h: string): string => lab.world.hosts.get(h)!.address;
    const keyOf = (h: string): string => lines.find((l) => l.startsWith(`[${addr(h)}]`))!.split(' ').slice(1).join(' ');
    const changed = lines.map((l) => (l.startsWith(`[${addr(bad)}]`) ? `${l.split(' ')[0]} ${keyOf(good)}` : l));
    const dir = inventoryFor(lab, { fileLock: true });
    const knownHosts = join(dir, 'known_hosts');
    writeFileSync(knownHosts, changed.join('\n') + '\n');
    const doc = parse(readFileSync(join(dir, 'inventory.yaml'), 'utf8')) as { ssh: Record<string, unknown> };
    doc.ssh.knownHosts = knownHosts;
    writeFileSync(join(dir, 'inventory.yaml'), stringify(doc));

    lab.world.resetCounters();
    const before = bootIds(lab);
    const r = await runInProcess(rebootArgs(dir, tempDir('cc-state-'), ['--hostname', good, '--hostname', bad, '--json']), systemClock);
    assert.equal(r.code, 1, r.stderr.slice(-2000));
    const out = resultOf(r.stdout);
    assert.equal(out.error!.class, 'RolloutPreflightError');
    assert.match(out.error!.message, new RegExp(`^preflight: 1 of 2 node\\(s\\) cannot be used over SSH, nothing was changed: ${bad} \\(host key of ${bad} .*CHANGED`));
    assert.deepEqual(out.error!.context.nodes, [bad]);
    assert.equal(lab.counters().k8s_mutations, 0, 'not even a cordon');
    assert.equal(lab.counters().ssh_mutations, 0);
    assert.deepEqual(cordonedNodes(lab), []);
    assert.deepEqual(bootIds(lab), before);

    const plan = await runInProcess(rebootArgs(dir, tempDir('cc-state-'), ['--hostname', good, '--hostname', bad, '--dry-run', '--json']), systemClock);
    assert.equal(plan.code, 1);
    const v = resultOf(plan.stdout).verdict!;
    assert.equal(v.outcome, 'would-fail');
    assert.ok(v.problems.some((p) => p.kind === 'fail' && p.node === bad && p.step === `preflight SSH ${bad}` && /CHANGED/.test(p.reason)), JSON.stringify(v.problems));
  });
});
