// --simulate of k8s.upgrade against lab A (speed 100; kubelets take 20 s to be Ready, as on real VMs): a patch
// upgrade of one control node and three workers, two at a time. The simulation writes nothing to A; A's real
// upgrade then takes the same steps and works on the nodes in the same order and batches, within 20% of the
// predicted time. A miss is tried again (up to twice) with the next patch: each attempt upgrades A once more.
import { strict as assert } from 'node:assert';
import type { TimedEvent } from '../../lib/simulate/timeline.js';
import { stepList } from '../../lib/simulate/timeline.js';
import { cleanupTempDirs, tempDir } from '../helpers/cli.js';
import { type SimulateJson, assertWithin, cli, jsonOf, realFigures } from './helpers.js';
import { type LabA, deploy, startLabA } from './lab-a.js';

const SPEED = 100;
const TIMINGS = { rebootDownMs: 30_000, rebootUpMs: 30_000, kubeletReadyMs: 20_000 };

describe('--simulate: k8s.upgrade (lab A stands in for the cluster)', function () {
  this.timeout(240_000);
  this.retries(2);
  let a: LabA;
  let state: string;
  let nodes: string[];
  const upgradeArgs = (to: string, extra: string[]): string[] => ['k8s.upgrade', '--cluster-name', 'labtest', '--inventory', a.inventory, '--state-dir', state, '--yes', '--to', to, '--max-unavailable', '2', ...extra];

  before(async () => {
    a = await startLabA({ workers: 3, speed: SPEED, timings: TIMINGS });
    await deploy(a, 'tool-upg', [{ name: 'web', replicas: 3, pdb: { maxUnavailable: 2 } }]);
    nodes = await a.hosts();
    state = tempDir('cc-sim-upg-');
    // Warm: modules a run loads on first use would otherwise count (x speed) in the first measured run only.
    assert.equal((await cli(upgradeArgs('1.29.5', ['--dry-run']))).code, 0);
    // History: one real patch upgrade on A in its cluster time; the snapshot calibrates the twin's kubelet
    // restart from its journal (without history a lab's snapshot assumes the lab's standard 1 s kubelet).
    const calibrate = await cli(upgradeArgs('1.29.5', []), { speed: SPEED });
    assert.equal(calibrate.code, 0, calibrate.stderr.slice(-2000));
  });
  after(async () => {
    await a?.stop();
    cleanupTempDirs();
  });

  it('makes zero writes to A; the real upgrade takes the predicted order and batches, within 20% of the predicted time', async function () {
    const to = `1.29.${13 + (this.test as unknown as { currentRetry(): number }).currentRetry()}`;
    await a.admin.resetCounters();
    const s = await cli(upgradeArgs(to, ['--simulate', '--json']));
    assert.equal(s.code, 0, s.stderr.slice(-3000));
    const sim = jsonOf<SimulateJson>(s.stdout).simulation;
    assert.deepEqual(await a.mutations(), { k8s: 0, ssh: 0, openstack: 0 }, 'the simulation wrote nothing to A');
    const events: TimedEvent[] = [];
    const r = await cli(upgradeArgs(to, ['--json']), { speed: SPEED, events });
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    const real = realFigures(events, nodes);
    const start = events.find((e) => e.event.type === 'run.start')!.atMs;
    const steps = (list: { name: string; status: string }[]): string[] => list.map((st) => `${st.name}: ${st.status}`).sort();
    // The same steps with the same outcome (the twin knew A's apt source: its repository steps are skipped too).
    assert.deepEqual(steps(stepList(events, start)), steps(sim.steps), 'the same steps, with the same outcome');
    assert.ok(sim.steps.some((st) => st.name === `kubeadm upgrade apply 1.29 on ${nodes[0]}` && st.status === 'done'), 'the control plane first');
    assert.deepEqual(real.nodeOrder, sim.nodeOrder, 'same order');
    assert.deepEqual(real.batches, sim.batches, 'same batches');
    assert.deepEqual(
      (await a.kube.listNodes()).map((n) => n.status?.nodeInfo?.kubeletVersion),
      nodes.map(() => `v${to}`),
      'the real run upgraded every node of A',
    );
    assertWithin(real.seconds, sim.predictedSeconds, 0.2, `k8s.upgrade --to ${to}`);
  });
});
