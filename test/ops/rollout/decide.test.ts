// The rolling-reboot planner as pure code: limits counted the way the issue says (every unschedulable or
// NotReady node, already-down ones too), per-role limits, PDB budgets, capacity, control nodes last, the
// order that finishes soonest, the simulation behind --dry-run and the ETA.
import { strict as assert } from 'node:assert';
import { InputError } from '../../../lib/core/errors.js';
import { type NodeFacts, type PlanInput, type PodFacts, candidateOrder, decide as planNext, expectedDown, resolveLimit } from '../../../lib/ops/rollout/decide.js';
import { estimateRemainingMs, simulateRollout } from '../../../lib/ops/rollout/simulate.js';
import { medianOf, naturalCompare, parseQuantity } from '../../../lib/ops/rollout/units.js';
import { parseWindow } from '../../../lib/ops/rollout/window.js';

const GiB = 2 ** 30;

function node(name: string, extra: Partial<NodeFacts> = {}): NodeFacts {
  return {
    name,
    role: name.includes('control') ? 'control' : name.includes('nfs') ? 'worker_nfs' : 'worker',
    control: name.includes('control'),
    ready: true,
    cordoned: false,
    pods: [],
    allocatable: { cpu: 8, memory: 16 * GiB },
    requested: { cpu: 1, memory: 2 * GiB },
    tainted: name.includes('control'),
    ...extra,
  };
}

function pod(key: string, pdbs: string[] = [], cpu = 0.1, memory = 0.125 * GiB): PodFacts {
  return { key, requests: { cpu, memory }, pdbs };
}

function workers(n: number, extra: (i: number) => Partial<NodeFacts> = () => ({})): NodeFacts[] {
  return Array.from({ length: n }, (_, i) => node(`w-${i + 1}`, extra(i + 1)));
}

function input(nodes: NodeFacts[], over: Partial<PlanInput> = {}): PlanInput {
  return {
    nodes,
    pending: nodes.map((n) => n.name),
    inFlight: [],
    pdbs: [],
    limits: { maxUnavailable: 1, roleLimits: {} },
    defaultExpectedMs: 1000,
    ...over,
  };
}

const reasonOf = (d: { waiting: { node: string; reason: string }[] }, n: string): string | undefined => d.waiting.find((w) => w.node === n)?.reason;

describe('rollout planner', () => {
  describe('inputs', () => {
    it('parses Kubernetes quantities', () => {
      assert.equal(parseQuantity('100m'), 0.1);
      assert.equal(parseQuantity('1.5'), 1.5);
      assert.equal(parseQuantity('64Mi'), 64 * 2 ** 20);
      assert.equal(parseQuantity('1G'), 1e9);
      assert.equal(parseQuantity('2e3'), 2000);
      assert.equal(parseQuantity('.5'), 0.5);
      assert.equal(parseQuantity(3), 3);
      assert.equal(parseQuantity(undefined), 0);
      assert.equal(parseQuantity('lots'), 0);
    });

    it('resolves counts and percentages (at least one node)', () => {
      assert.equal(resolveLimit(3, 60), 3);
      assert.equal(resolveLimit('25%', 12), 3);
      assert.equal(resolveLimit('10%', 5), 1);
      assert.equal(resolveLimit('33%', 10), 3);
      assert.equal(resolveLimit('4', 10), 4);
      // A bad limit is bad input (exit 2) naming where it came from, not a bare RangeError.
      for (const bad of ['0', 'x%', '-1']) {
        assert.throws(
          () => resolveLimit(bad, 10, 'role worker maxUnavailable'),
          (err: unknown) => err instanceof InputError && err.exitCode === 2 && err.context.value === bad && /^role worker maxUnavailable: /.test(err.message) && !!err.hint,
          bad,
        );
      }
    });

    it('sorts names naturally and takes medians', () => {
      assert.deepEqual(['w-10', 'w-2', 'w-1'].sort(naturalCompare), ['w-1', 'w-2', 'w-10']);
      assert.equal(medianOf([5, 1, 3]), 3);
      assert.equal(medianOf([4, 1, 3, 2]), 2.5);
      assert.equal(medianOf([]), undefined);
    });
  });

  describe('max-unavailable', () => {
    it('starts up to the limit, then names the limit for the others', () => {
      const d = planNext(input(workers(12), { limits: { maxUnavailable: 3, roleLimits: {} } }));
      assert.deepEqual(d.start, ['w-1', 'w-2', 'w-3']);
      assert.equal(d.waiting.length, 9);
      assert.equal(reasonOf(d, 'w-4'), 'max-unavailable 3/3 reached');
    });

    it('counts nodes that were down or cordoned before the run, and in-flight nodes that hold a slot', () => {
      const nodes = workers(6, (i) => (i === 6 ? { ready: false } : i === 5 ? { cordoned: true } : {}));
      const pending = ['w-2', 'w-3', 'w-4'];
      const d = planNext(input(nodes, { pending, inFlight: [{ name: 'w-1', holdsSlot: true }], limits: { maxUnavailable: 3, roleLimits: {} } }));
      // w-5 (cordoned), w-6 (NotReady) and in-flight w-1: 3 of 3.
      assert.equal(d.unavailable, 3);
      assert.deepEqual(d.start, []);
      assert.equal(reasonOf(d, 'w-2'), 'max-unavailable 3/3 reached');
      // An in-flight node that was uncordoned and is Ready again gives its slot back.
      const d2 = planNext(input(nodes, { pending: ['w-2', 'w-3'], inFlight: [{ name: 'w-1', holdsSlot: false }], limits: { maxUnavailable: 3, roleLimits: {} } }));
      assert.deepEqual(d2.start, ['w-2']);
    });

    it('lets an already-unavailable target start without taking another slot', () => {
      const nodes = workers(4, (i) => (i === 3 ? { cordoned: true, keepsCordon: true } : {}));
      const d = planNext(input(nodes, { limits: { maxUnavailable: 1, roleLimits: {} } }));
      assert.deepEqual(d.start, ['w-3']);
      assert.equal(reasonOf(d, 'w-1'), 'max-unavailable 1/1 reached');
    });

    it('applies per-role limits from the inventory', () => {
      const nodes = [...workers(3), node('nfs-1'), node('nfs-2'), node('nfs-3')];
      const d = planNext(input(nodes, { limits: { maxUnavailable: 4, roleLimits: { worker_nfs: 1 } }, pending: ['nfs-1', 'nfs-2', 'nfs-3', 'w-1', 'w-2'] }));
      assert.deepEqual(d.start.sort(naturalCompare), ['nfs-1', 'w-1', 'w-2']);
      assert.equal(reasonOf(d, 'nfs-2'), 'role worker_nfs limit 1/1');
      assert.equal(reasonOf(d, 'nfs-3'), 'role worker_nfs limit 1/1');
    });
  });

  describe('PodDisruptionBudgets', () => {
    it('never starts two nodes whose pods would take a PDB below its budget together', () => {
      const nodes = workers(3, (i) => ({ pods: [pod(`tool-alpha/web-${i}`, ['tool-alpha/web'])] }));
      const d = planNext(input(nodes, { pdbs: [{ key: 'tool-alpha/web', disruptionsAllowed: 1 }], limits: { maxUnavailable: 3, roleLimits: {} } }));
      assert.deepEqual(d.start, ['w-1']);
      assert.equal(reasonOf(d, 'w-2'), 'PDB tool-alpha/web allows 0 disruptions');
    });

    it('packs a non-conflicting node into the free slot instead of waiting in name order', () => {
      const nodes = workers(3, (i) => ({ pods: i <= 2 ? [pod(`ns/app-${i}`, ['ns/app'])] : [pod('ns/other-1')] }));
      const d = planNext(input(nodes, { pdbs: [{ key: 'ns/app', disruptionsAllowed: 1 }], limits: { maxUnavailable: 2, roleLimits: {} } }));
      assert.deepEqual(d.start, ['w-1', 'w-3']);
      assert.equal(reasonOf(d, 'w-2'), 'PDB ns/app allows 0 disruptions');
    });

    it('counts the pods still on in-flight nodes against the budget; evicted ones are in the status already', () => {
      const nodes = workers(3, (i) => ({ pods: [pod(`ns/app-${i}`, ['ns/app'])] }));
      const pdbs = [{ key: 'ns/app', disruptionsAllowed: 2 }];
      const limits = { maxUnavailable: 3, roleLimits: {} };
      const d = planNext(input(nodes, { pending: ['w-2', 'w-3'], inFlight: [{ name: 'w-1', holdsSlot: true }], pdbs, limits }));
      assert.deepEqual(d.start, ['w-2']);
      assert.equal(reasonOf(d, 'w-3'), 'PDB ns/app allows 0 disruptions');
      // Once w-1 is drained its pod is gone from the node and the status carries the disruption.
      const drained = nodes.map((n) => (n.name === 'w-1' ? { ...n, pods: [] } : n));
      const d2 = planNext(input(drained, { pending: ['w-2', 'w-3'], inFlight: [{ name: 'w-1', holdsSlot: true }], pdbs: [{ key: 'ns/app', disruptionsAllowed: 1 }], limits }));
      assert.deepEqual(d2.start, ['w-2']);
    });

    it('a node needing more disruptions than a PDB allows goes alone (its drain evicts one at a time), never beside another', () => {
      const two = (i: number): Partial<NodeFacts> => ({ pods: [pod(`ns/a-${i}a`, ['ns/a']), pod(`ns/a-${i}b`, ['ns/a'])] });
      const alone = planNext(input(workers(2, (i) => (i === 1 ? two(i) : {})), { pending: ['w-1'], pdbs: [{ key: 'ns/a', disruptionsAllowed: 1 }] }));
      assert.deepEqual(alone.start, ['w-1']);
      const nodes = workers(2, two);
      const limits = { maxUnavailable: 2, roleLimits: {} };
      const d = planNext(input(nodes, { pdbs: [{ key: 'ns/a', disruptionsAllowed: 1 }], limits }));
      assert.deepEqual(d.start, ['w-1']);
      assert.equal(reasonOf(d, 'w-2'), 'PDB ns/a allows 0 disruptions');
      const d2 = planNext(input([...nodes, node('w-3', { pods: [pod('ns/a-3', ['ns/a'])] })], { pending: ['w-2'], inFlight: [{ name: 'w-3', holdsSlot: true }], pdbs: [{ key: 'ns/a', disruptionsAllowed: 2 }], limits }));
      assert.deepEqual(d2.start, []);
      assert.equal(reasonOf(d2, 'w-2'), 'PDB ns/a allows 1 disruption, 2 needed');
    });
  });

  describe('capacity', () => {
    it('waits when the evicted pods would not fit on the schedulable nodes', () => {
      const full = { allocatable: { cpu: 4, memory: 16 * GiB }, requested: { cpu: 3.5, memory: 2 * GiB } };
      const nodes = [
        node('w-1', { ...full, pods: [pod('ns/big-1', [], 2.5)] }),
        node('w-2', full),
        node('w-3', full),
        // Tainted (ingress) and cordoned nodes are not a place to go.
        node('ingress-1', { tainted: true, requested: { cpu: 0, memory: 0 } }),
        node('w-4', { cordoned: true, requested: { cpu: 0, memory: 0 } }),
      ];
      const d = planNext(input(nodes, { pending: ['w-1'], limits: { maxUnavailable: 3, roleLimits: {} } }));
      assert.deepEqual(d.start, []);
      assert.equal(reasonOf(d, 'w-1'), 'pods need 2.5 CPU, 1.0 CPU free on schedulable nodes');
    });

    it('checks memory as well, and a started node leaves the pool', () => {
      const nodes = [
        node('w-1', { pods: [pod('ns/m-1', [], 0.1, 10 * GiB)], requested: { cpu: 0, memory: 12 * GiB } }),
        node('w-2', { pods: [pod('ns/m-2', [], 0.1, 10 * GiB)], requested: { cpu: 0, memory: 12 * GiB } }),
        node('w-3', { requested: { cpu: 0, memory: 4 * GiB } }),
      ];
      // w-1's 10 GiB fit on w-2 + w-3 (4 + 12 free); then w-2 would need 20 GiB with only w-3's 12 left.
      const d = planNext(input(nodes, { pending: ['w-1', 'w-2'], limits: { maxUnavailable: 3, roleLimits: {} } }));
      assert.deepEqual(d.start, ['w-1']);
      assert.equal(reasonOf(d, 'w-2'), 'pods need 20.0 GiB memory, 12.0 GiB free on schedulable nodes');
    });
  });

  describe('control plane and health', () => {
    const cluster = [...workers(2), node('control-1'), node('control-2'), node('control-3')];

    it('keeps control nodes for last, one at a time', () => {
      const d = planNext(input(cluster, { limits: { maxUnavailable: 5, roleLimits: {} } }));
      assert.deepEqual(d.start, ['w-1', 'w-2']);
      assert.equal(reasonOf(d, 'control-1'), 'control nodes go last, one at a time');
      const d2 = planNext(input(cluster, { pending: ['control-1', 'control-2', 'control-3'], limits: { maxUnavailable: 5, roleLimits: {} } }));
      assert.deepEqual(d2.start, ['control-1']);
      assert.equal(reasonOf(d2, 'control-2'), 'control nodes go last, one at a time');
      const d3 = planNext(input(cluster, { pending: ['control-2', 'control-3'], inFlight: [{ name: 'control-1', holdsSlot: false }], limits: { maxUnavailable: 5, roleLimits: {} } }));
      assert.deepEqual(d3.start, []);
    });

    it('never starts a control node while a control node or etcd member is unhealthy', () => {
      const d = planNext(input(cluster, { pending: ['control-2'], controlProblems: ['etcd member etcd-2 not active'], limits: { maxUnavailable: 5, roleLimits: {} } }));
      assert.deepEqual(d.start, []);
      assert.equal(reasonOf(d, 'control-2'), 'not all control/etcd members healthy: etcd member etcd-2 not active');
    });

    it('starts nothing while the cluster is unhealthy, and passes blockers through', () => {
      const d = planNext(input(workers(2), { clusterProblems: ['/readyz failed'] }));
      assert.deepEqual(d.start, []);
      assert.equal(reasonOf(d, 'w-2'), 'cluster not healthy: /readyz failed');
      const d2 = planNext(input(workers(2), { blocked: { 'w-1': 'alert NodeDown firing' }, limits: { maxUnavailable: 2, roleLimits: {} } }));
      assert.deepEqual(d2.start, ['w-2']);
      assert.equal(reasonOf(d2, 'w-1'), 'alert NodeDown firing');
    });
  });

  describe('order and simulation', () => {
    it('considers the longest expected node first, then the one with more pods', () => {
      const nodes = workers(4, (i) => ({ pods: i === 2 ? [pod('a/1'), pod('a/2')] : [] }));
      assert.deepEqual(candidateOrder({ nodes, pending: ['w-1', 'w-2', 'w-3', 'w-4'], expectedMs: { 'w-4': 5000 }, defaultExpectedMs: 1000 }), ['w-4', 'w-2', 'w-1', 'w-3']);
    });

    it('finishes sooner than name order when durations differ (longest first)', () => {
      const nodes = workers(3);
      const sim = simulateRollout(input(nodes, { limits: { maxUnavailable: 2, roleLimits: {} }, expectedMs: { 'w-1': 1000, 'w-2': 1000, 'w-3': 2000 } }));
      assert.deepEqual(sim.batches, [
        { atMs: 0, nodes: ['w-3', 'w-1'] },
        { atMs: 1000, nodes: ['w-2'] },
      ]);
      assert.equal(sim.totalMs, 2000); // name order would take 3000
    });

    it('plans 12 equal workers with max-unavailable 3 as 4 batches of 3', () => {
      const sim = simulateRollout(input(workers(12), { limits: { maxUnavailable: 3, roleLimits: {} } }));
      assert.equal(sim.batches.length, 4);
      assert.ok(sim.batches.every((b) => b.nodes.length === 3));
      assert.deepEqual(sim.order, workers(12).map((n) => n.name));
      assert.equal(sim.totalMs, 4000);
      assert.deepEqual(sim.stuck, []);
    });

    it('serialises nodes that share a tight PDB and puts control nodes last, alone', () => {
      const nodes = [...workers(4, (i) => ({ pods: i <= 3 ? [pod(`ns/db-${i}`, ['ns/db'])] : [] })), node('control-1'), node('control-2')];
      const sim = simulateRollout(input(nodes, { pdbs: [{ key: 'ns/db', disruptionsAllowed: 1 }], limits: { maxUnavailable: 4, roleLimits: {} } }));
      assert.deepEqual(
        sim.batches.map((b) => b.nodes),
        [['w-1', 'w-4'], ['w-2'], ['w-3'], ['control-1'], ['control-2']],
      );
      assert.equal(sim.totalMs, 5000);
    });

    it('reports nodes that can never start', () => {
      const nodes = workers(2, (i) => ({ pods: i === 2 ? [pod('ns/x-1', ['ns/x'])] : [] }));
      const sim = simulateRollout(input(nodes, { pdbs: [{ key: 'ns/x', disruptionsAllowed: 0 }], limits: { maxUnavailable: 2, roleLimits: {} } }));
      assert.deepEqual(sim.order, ['w-1']);
      assert.deepEqual(sim.stuck, [{ node: 'w-2', reason: 'PDB ns/x allows 0 disruptions' }]);
    });

    it('estimates the time left from in-flight elapsed times and measured durations', () => {
      const nodes = workers(5);
      const eta = estimateRemainingMs(
        input(nodes, { pending: ['w-3', 'w-4', 'w-5'], inFlight: [{ name: 'w-1', holdsSlot: true, elapsedMs: 600 }, { name: 'w-2', holdsSlot: true, elapsedMs: 200 }], limits: { maxUnavailable: 2, roleLimits: {} } }),
      );
      // w-1 ends at 400, w-3 runs 400-1400; w-2 ends at 800, w-4 runs 800-1800; w-5 runs 1400-2400.
      assert.equal(eta, 2400);
      assert.equal(estimateRemainingMs(input(nodes, { pending: [] })), 0);
    });
  });
});

describe('rollout decide: facts → verdicts (one row per rule)', () => {
  // 2026-11-21 is a Saturday; the window is open Monday to Friday, 06:00-16:00 UTC.
  const window = parseWindow('Mon-Fri 06:00-16:00 UTC');
  const controls = [node('control-1'), node('control-2'), ...workers(2)];
  const onlyControl = { pending: ['control-1'], limits: { maxUnavailable: 5, roleLimits: {} } };
  const healthy = { readyz: true, expectedDown: [] };
  const rows: { title: string; given: PlanInput; start: string[]; waits?: [string, string | RegExp]; opensAt?: string }[] = [
    { title: 'max-unavailable: one slot, the next node names the limit', given: input(workers(3)), start: ['w-1'], waits: ['w-2', 'max-unavailable 1/1 reached'] },
    { title: 'max-unavailable counts a node cordoned by someone else', given: input(workers(3, (i) => ({ cordoned: i === 3 })), { pending: ['w-1', 'w-2'] }), start: [], waits: ['w-1', 'max-unavailable 1/1 reached'] },
    { title: 'PDB budget: a node whose pod a PDB cannot lose waits, the next starts', given: input(workers(2, (i) => ({ pods: i === 1 ? [pod('ns/a', ['ns/p'])] : [] })), { pdbs: [{ key: 'ns/p', disruptionsAllowed: 0 }] }), start: ['w-2'], waits: ['w-1', 'PDB ns/p allows 0 disruptions'] },
    { title: 'blockers: a blocked node waits with its reason', given: input(workers(2), { blocked: { 'w-1': 'alert NodeDown firing' } }), start: ['w-2'], waits: ['w-1', 'alert NodeDown firing'] },
    { title: 'capacity: pods that fit nowhere wait', given: input(workers(2, (i) => ({ pods: i === 1 ? [pod('ns/big', [], 20)] : [] }))), start: ['w-2'], waits: ['w-1', 'pods need 20.0 CPU, 7.0 CPU free on schedulable nodes'] },
    { title: 'window closed: nothing starts, the decision says when it opens', given: input(workers(2), { window: { window, now: Date.parse('2026-11-21T10:00:00Z') } }), start: [], waits: ['w-1', /^outside the window Mon-Fri 06:00-16:00 UTC: it opens Mon 2026-11-23 06:00/], opensAt: '2026-11-23T06:00:00Z' },
    { title: 'window too short for one more node', given: input(workers(2), { defaultExpectedMs: 60_000, window: { window, now: Date.parse('2026-11-20T15:59:30Z') } }), start: [], waits: ['w-2', /^only 30\.0s left in the window/], opensAt: '2026-11-23T06:00:00Z' },
    { title: 'window open: starts as usual', given: input(workers(2), { window: { window, now: Date.parse('2026-11-20T10:00:00Z') } }), start: ['w-1'] },
    { title: 'API server not ready: nothing starts', given: input(workers(2), { health: { readyz: false, expectedDown: [] } }), start: [], waits: ['w-2', 'cluster not healthy: the API server does not answer /readyz'] },
    { title: "a stranger's NotReady node stops every start", given: input([...workers(2), node('w-9', { ready: false })], { pending: ['w-1', 'w-2'], limits: { maxUnavailable: 3, roleLimits: {} }, health: healthy }), start: [], waits: ['w-1', 'cluster not healthy: node w-9 is NotReady'] },
    { title: 'a NotReady node that is expected (ours, or down before) does not', given: input([...workers(2), node('w-9', { ready: false })], { pending: ['w-1', 'w-2'], limits: { maxUnavailable: 2, roleLimits: {} }, health: { readyz: true, expectedDown: ['w-9'] } }), start: ['w-1'], waits: ['w-2', 'max-unavailable 2/2 reached'] },
    { title: 'an etcd member not active holds the control node', given: input(controls, { ...onlyControl, health: { ...healthy, etcd: { members: [{ name: 'etcd-1', active: true }, { name: 'etcd-2', active: false, detail: 'inactive' }] } } }), start: [], waits: ['control-1', 'not all control/etcd members healthy: etcd member etcd-2: inactive'] },
    { title: 'etcd members that cannot be listed hold the control node', given: input(controls, { ...onlyControl, health: { ...healthy, etcd: { error: 'OpenStack unreachable' } } }), start: [], waits: ['control-1', 'not all control/etcd members healthy: cannot check the etcd members: OpenStack unreachable'] },
    { title: 'another control node NotReady holds the control node', given: input([node('control-1'), node('control-2', { ready: false })], { ...onlyControl, health: { readyz: true, expectedDown: ['control-2'] } }), start: [], waits: ['control-1', 'not all control/etcd members healthy: control node control-2 is NotReady'] },
    { title: 'healthy control plane and etcd: the control node goes', given: input(controls, { ...onlyControl, health: { ...healthy, etcd: { members: [{ name: 'etcd-1', active: true }] } } }), start: ['control-1'] },
  ];
  for (const row of rows) {
    it(row.title, () => {
      const d = planNext(row.given);
      assert.deepEqual(d.start, row.start);
      if (row.waits) {
        const [n, reason] = row.waits;
        if (typeof reason === 'string') assert.equal(reasonOf(d, n), reason);
        else assert.match(reasonOf(d, n) ?? '(not waiting)', reason);
      }
      assert.equal(d.windowOpensAt, row.opensAt === undefined ? undefined : Date.parse(row.opensAt));
    });
  }

  const etaRows: { title: string; given: PlanInput; ms: number }[] = [
    { title: 'ETA: 4 equal nodes 2 at a time take two node durations', given: input(workers(4), { limits: { maxUnavailable: 2, roleLimits: {} } }), ms: 2000 },
    { title: 'ETA: a node in flight counts what is left of it', given: input(workers(2), { pending: ['w-2'], inFlight: [{ name: 'w-1', holdsSlot: true, elapsedMs: 400 }] }), ms: 1600 },
    { title: 'ETA: measured durations per node are used', given: input(workers(2), { expectedMs: { 'w-1': 3000 } }), ms: 4000 },
    { title: 'ETA: nothing left is zero', given: input(workers(2), { pending: [] }), ms: 0 },
  ];
  for (const row of etaRows) it(row.title, () => assert.equal(estimateRemainingMs(row.given), row.ms));
});

describe('rollout decide: expectedDown (whose NotReady is ours)', () => {
  const phases: Record<string, string> = { 'w-2': 'reboot', 'w-3': 'done', 'w-4': 'pending' };
  const run = {
    inflight: new Set(['w-1']),
    failed: new Set(['w-5']),
    rollout: { targets: ['w-1', 'w-2', 'w-3', 'w-4', 'w-5'], notReadyBefore: ['w-6'] },
    phaseOf: (n: string) => phases[n] ?? 'pending',
  };
  const rows: [string, string, boolean][] = [
    ['in flight', 'w-1', true],
    ['left half-way by an earlier run', 'w-2', true],
    ['done (a NotReady now is news)', 'w-3', false],
    ['pending', 'w-4', false],
    ['failed in this run', 'w-5', true],
    ['NotReady when the rollout began', 'w-6', true],
    ['not a target', 'w-7', false],
  ];
  for (const [title, name, want] of rows) it(`${title} → ${want}`, () => assert.equal(expectedDown([name], run).includes(name), want));
});
