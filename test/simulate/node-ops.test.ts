// --simulate of the node cookbooks against lab A (speed 10: the lab's delays, not the CLI's own work, make most of the time): k8s.drain, k8s.add-node and k8s.remove-node.
// Each simulation reads A and writes nothing to it; A's real run (in A's cluster time) then works on the same
// nodes in the same order and takes within 20% of the predicted time.
import { strict as assert } from 'node:assert';
import type { TimedEvent } from '../../lib/simulate/timeline.js';
import { cleanupTempDirs, tempDir } from '../helpers/cli.js';
import { type SimulateJson, assertWithin, cli, jsonOf, realFigures } from './helpers.js';
import { type LabA, deploy, startLabA } from './lab-a.js';

const SPEED = 10;

describe('--simulate: k8s.drain, k8s.add-node, k8s.remove-node (lab A stands in for the cluster)', function () {
  this.timeout(180_000);
  // A prediction is compared with one real run on a shared 2-core machine, where the lab's latency counts x speed in
  // both: a miss is tried again (up to twice), and every attempt prints its error (the figure the note reports).
  this.retries(2);
  let a: LabA;
  let state: string;
  const base = (cookbook: string, extra: string[]): string[] => [cookbook, '--cluster-name', 'labtest', '--inventory', a.inventory, '--state-dir', state, '--yes', ...extra];

  /** Simulates, checks that A saw no write, runs for real on A; returns both figures. */
  async function simulateThenRun(cookbook: string, extra: string[]): Promise<{ sim: SimulateJson['simulation']; real: ReturnType<typeof realFigures>; result: Record<string, unknown> }> {
    await a.admin.resetCounters();
    const s = await cli(base(cookbook, [...extra, '--simulate', '--json']));
    assert.equal(s.code, 0, `${cookbook} --simulate: ${s.stderr.slice(-2500)}`);
    const sim = jsonOf<SimulateJson>(s.stdout).simulation;
    assert.deepEqual(await a.mutations(), { k8s: 0, ssh: 0, openstack: 0 }, `${cookbook} --simulate wrote nothing to A`);
    const events: TimedEvent[] = [];
    const hostsBefore = await a.hosts();
    const r = await cli(base(cookbook, [...extra, '--json']), { speed: SPEED, events });
    assert.equal(r.code, 0, `${cookbook} on A: ${r.stderr.slice(-2500)}`);
    return { sim, real: realFigures(events, [...hostsBefore, ...(await a.hosts())]), result: jsonOf<Record<string, unknown>>(r.stdout) };
  }

  before(async () => {
    a = await startLabA({ workers: 3, speed: SPEED });
    // Two pods per worker under a budget of one: a drain evicts one, waits (5-6 s: the retry's jitter) for its
    // replacement, evicts the other; that wait, not the CLI's own round trips, makes most of a drain's time.
    await deploy(a, 'tool-nodes', [{ name: 'web', replicas: 6, pdb: { maxUnavailable: 1 } }]);
    state = tempDir('cc-sim-nodes-');
    // Warm: modules a run loads on first use would otherwise count (x speed) in the first measured run only.
    assert.equal((await cli(base('k8s.drain', ['--hostname', (await a.hosts('worker'))[0]!, '--dry-run']))).code, 0);
  });
  after(async () => {
    await a?.stop();
    cleanupTempDirs();
  });

  it('k8s.drain: the same node, within 20% of the predicted time', async () => {
    const node = (await a.hosts('worker'))[0]!;
    const { sim, real } = await simulateThenRun('k8s.drain', ['--hostname', node, '--delete-emptydir-data']);
    assert.deepEqual(sim.nodeOrder, [node]);
    assert.deepEqual(real.nodeOrder, sim.nodeOrder);
    assert.equal(sim.pdbViolations, 0);
    assertWithin(real.seconds, sim.predictedSeconds, 0.2, 'k8s.drain');
    assert.equal((await cli(base('k8s.uncordon', ['--hostname', node]))).code, 0);
  });

  it('k8s.add-node: the same new host name, within 20% of the predicted time', async () => {
    const { sim, real, result } = await simulateThenRun('k8s.add-node', ['--role', 'worker']);
    const host = (result.result as { hostname: string }).hostname;
    assert.deepEqual(sim.nodeOrder, [host], `the twin added ${host} too`);
    assert.deepEqual(real.nodeOrder, sim.nodeOrder);
    assertWithin(real.seconds, sim.predictedSeconds, 0.2, 'k8s.add-node');
  });

  it('k8s.remove-node: the same node, within 20% of the predicted time', async () => {
    // A worker with pods: its drain is part of the prediction.
    const node = (await a.hosts('worker'))[1]!;
    const { sim, real } = await simulateThenRun('k8s.remove-node', ['--role', 'worker', '--hostname', node]);
    assert.deepEqual(sim.nodeOrder, [node]);
    assert.deepEqual(real.nodeOrder, sim.nodeOrder);
    assert.ok(!(await a.hosts('worker')).includes(node), 'the real run removed it from A');
    assert.equal(sim.pdbViolations, 0);
    assertWithin(real.seconds, sim.predictedSeconds, 0.2, 'k8s.remove-node');
  });
});
