// The roll planner, table-driven: facts -> waves, peak needs, lowest capacity and refusals (one it per row).
import { strict as assert } from 'node:assert';
import type { ComputeHeadroom } from '../../../lib/openstack/quota.js';
import { type RollFacts, type RollNode, describePlan, planRoll, selectRollTargets } from '../../../lib/ops/roll/plan.js';

const SPEC = { image: 'debian-13', flavor: 'g4.medium', vcpus: 4, ram: 8192 };
const node = (i: number, over: Partial<RollNode> = {}): RollNode => ({ hostname: `w-${i}`, image: 'debian-12', flavor: 'g4.medium', vcpus: 4, ram: 8192, schedulable: true, ...over });
const roomy: ComputeHeadroom = { instances: { limit: 100, inUse: 10 }, cores: { limit: -1, inUse: 40 }, ram: { limit: -1, inUse: 0 }, serverGroupMembers: -1 };

function facts(n: number, over: Partial<RollFacts> = {}): RollFacts {
  const targets = Array.from({ length: n }, (_, i) => node(i + 1));
  return {
    role: 'worker',
    targets,
    newNames: Array.from({ length: n }, (_, i) => `w-${n + i + 1}`),
    capacity: targets.filter((t) => t.schedulable).length,
    spec: SPEC,
    headroom: roomy,
    maxSurge: 1,
    maxUnavailable: 0,
    durations: { vmMs: 100, joinMs: 10, removeMs: 50 },
    ...over,
  };
}

/** A wave as a compact string: "+a,+b -c,-d". */
const show = (f: RollFacts): string[] => planRoll(f).waves.map((w) => [...w.adds.map((a) => `+${a}`), ...w.removes.map((r) => `-${r}`)].join(' '));

describe('roll planner: waves', () => {
  const rows: { name: string; f: RollFacts; waves: string[]; minCapacity: number; peakInstances: number }[] = [
    { name: 'surge 1, unavailable 0: one new node, then one old, six times', f: facts(3), waves: ['+w-4 -w-1', '+w-5 -w-2', '+w-6 -w-3'], minCapacity: 3, peakInstances: 1 },
    {
      name: 'surge 2 over 6 workers: three waves of two adds then two removes',
      f: facts(6, { maxSurge: 2 }),
      waves: ['+w-7 +w-8 -w-1 -w-2', '+w-9 +w-10 -w-3 -w-4', '+w-11 +w-12 -w-5 -w-6'],
      minCapacity: 6,
      peakInstances: 2,
    },
    { name: 'surge larger than the role: every new node first', f: facts(2, { maxSurge: 5 }), waves: ['+w-3 +w-4 -w-1 -w-2'], minCapacity: 2, peakInstances: 2 },
    { name: 'surge 0, unavailable 1: an old node goes before each new one', f: facts(2, { maxSurge: 0, maxUnavailable: 1 }), waves: ['-w-1', '+w-3 -w-2', '+w-4'], minCapacity: 1, peakInstances: 0 },
    { name: 'surge 1, unavailable 1: two go per wave once the first new node is Ready', f: facts(4, { maxUnavailable: 1 }), waves: ['+w-5 -w-1 -w-2', '+w-6 +w-7 -w-3 -w-4', '+w-8'], minCapacity: 3, peakInstances: 1 },
    {
      name: 'a NotReady old node goes first and costs no capacity',
      f: { ...facts(2), targets: [node(1), node(2, { schedulable: false })], capacity: 1 },
      waves: ['+w-3 -w-2 -w-1', '+w-4'],
      minCapacity: 1,
      peakInstances: 1,
    },
    { name: 'no targets: nothing to do', f: facts(0), waves: [], minCapacity: 0, peakInstances: 0 },
  ];
  for (const r of rows) {
    it(r.name, () => {
      assert.deepEqual(show(r.f), r.waves);
      const plan = planRoll(r.f);
      assert.equal(plan.minCapacity, r.minCapacity, 'lowest Ready schedulable count');
      assert.ok(plan.minCapacity >= r.f.capacity - r.f.maxUnavailable, 'never below start - max-unavailable');
      assert.equal(plan.peak.instances, r.peakInstances);
      assert.deepEqual(plan.refusals, []);
      const adds = plan.waves.flatMap((w) => w.adds);
      const removes = plan.waves.flatMap((w) => w.removes);
      assert.equal(adds.length, r.f.targets.length, 'one new node per old one');
      assert.deepEqual([...removes].sort(), r.f.targets.map((t) => t.hostname).sort(), 'every target removed once');
    });
  }
});

describe('roll planner: refusals name the quota or rule', () => {
  const rows: { name: string; f: RollFacts; rules: string[]; message: RegExp; hint: RegExp }[] = [
    {
      name: 'a quota with one instance left refuses --max-surge 2 and suggests --max-surge 1',
      f: facts(6, { maxSurge: 2, headroom: { ...roomy, instances: { limit: 11, inUse: 10 } } }),
      rules: ['quota-instances'],
      message: /quota instances: the roll needs 2 more instance\(s\) at its peak .* 1 left \(10 of 11 in use\)/,
      hint: /--max-surge 1/,
    },
    {
      name: 'cores: two new 4-core VMs need 8, 6 are left',
      f: facts(3, { maxSurge: 2, headroom: { ...roomy, cores: { limit: 46, inUse: 40 } } }),
      rules: ['quota-cores'],
      message: /quota cores: the roll needs 8 more core\(s\)/,
      hint: /--max-surge 1/,
    },
    {
      // Each wave adds a 32 GiB VM and frees an 8 GiB one: the need grows to 2 x 32768 - 8192 in wave 2.
      name: 'RAM: a larger flavor needs more with every wave than the old VMs free',
      f: facts(2, { spec: { ...SPEC, flavor: 'g4.xlarge', ram: 32768 }, headroom: { ...roomy, ram: { limit: 40000, inUse: 16384 } } }),
      rules: ['quota-ram'],
      message: /quota ram: the roll needs 57344 more MiB of RAM at its peak .* 23616 left/,
      hint: /raise/,
    },
    {
      name: 'no instance left at all, no unavailability: only raising the quota or --max-unavailable helps',
      f: facts(2, { headroom: { ...roomy, instances: { limit: 10, inUse: 10 } } }),
      rules: ['quota-instances'],
      message: /0 left/,
      hint: /--max-unavailable 1 with --max-surge 0/,
    },
    {
      name: 'the server group member limit leaves room for one, the surge needs two',
      f: facts(4, { maxSurge: 2, serverGroup: { name: 'k8s-worker', policy: 'anti-affinity', members: 4, room: 1 } }),
      rules: ['server-group'],
      message: /server group k8s-worker \(anti-affinity\): the roll needs room for 2 more member\(s\)/,
      hint: /--max-surge 1/,
    },
    {
      name: '--max-surge 0 with --max-unavailable 0 cannot make progress',
      f: facts(2, { maxSurge: 0 }),
      rules: ['no-progress'],
      message: /cannot make progress/,
      hint: /--max-surge 1/,
    },
  ];
  for (const r of rows) {
    it(r.name, () => {
      const plan = planRoll(r.f);
      assert.deepEqual(plan.refusals.map((x) => x.rule), r.rules);
      assert.match(plan.refusals[0]!.message, r.message);
      assert.match(plan.refusals[0]!.hint, r.hint);
    });
  }
});

describe('roll planner: ETA, description and target selection', () => {
  it('the ETA counts one VM build per wave (VMs of a wave build at once), each join and each removal', () => {
    // 3 waves x (vm 100 + 2 joins x 10) + 6 removes x 50
    assert.equal(planRoll(facts(6, { maxSurge: 2 })).etaMs, 3 * 120 + 300);
  });
  it('describePlan prints the waves with the new image and flavor, and the ETA', () => {
    const lines = describePlan(planRoll(facts(2)), SPEC);
    assert.equal(lines[0], 'wave 1: add w-3 (debian-13, g4.medium); then remove w-1');
    assert.match(lines.at(-1)!, /peak: \+1 instance\(s\).*lowest Ready schedulable count 2; ETA/);
  });
  const nodes = [node(1), node(2, { image: 'debian-13' }), node(3, { image: 'debian-13', flavor: 'g4.small' })];
  const rows: { name: string; hostnames: string[]; onlyOutdated: boolean; targets: string[]; skipped: string[] }[] = [
    { name: 'every node of the role', hostnames: [], onlyOutdated: false, targets: ['w-1', 'w-2', 'w-3'], skipped: [] },
    { name: '--only-outdated keeps nodes whose image or flavor differs', hostnames: [], onlyOutdated: true, targets: ['w-1', 'w-3'], skipped: ['w-2'] },
    { name: '--hostname limits the selection', hostnames: ['w-2', 'w-3'], onlyOutdated: false, targets: ['w-2', 'w-3'], skipped: [] },
    { name: '--hostname with --only-outdated', hostnames: ['w-1', 'w-2'], onlyOutdated: true, targets: ['w-1'], skipped: ['w-2'] },
  ];
  for (const r of rows) {
    it(`selection: ${r.name}`, () => {
      const s = selectRollTargets(nodes, SPEC, { hostnames: r.hostnames, onlyOutdated: r.onlyOutdated });
      assert.deepEqual(s.targets.map((t) => t.hostname), r.targets);
      assert.deepEqual(s.skipped.map((t) => t.node), r.skipped);
    });
  }
});
