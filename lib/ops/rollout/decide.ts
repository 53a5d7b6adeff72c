// The rollout's decision, one pure function for the real run and the dry-run: from the facts of one round
// (nodes, pods, PDBs, health, blockers, what is in flight) to the problems that stop nodes and the nodes that
// may start now, with why the others wait. It knows nothing of clients or of the per-node work: facts.ts
// gathers the facts, execute.ts and plan.ts act on the answer, so every rule (max-unavailable, per-role limits,
// PDB budgets, capacity, control nodes last, cluster/control-plane/etcd health) is testable as plain code.
import { InputError } from '../../core/errors.js';
import type { NodePhase, RolloutRecord } from './state.js';
import { type Resources, formatCpu, formatGiB, naturalCompare } from './units.js';
import { type Window, mayStart, windowState } from './window.js';

export type { Resources };

/** A pod a drain of its node would evict. */
export interface PodFacts {
  /** namespace/name */
  key: string;
  requests: Resources;
  /** Keys (namespace/name) of the PodDisruptionBudgets that select it. */
  pdbs: string[];
}

/** What the planner knows of one node of the cluster. */
export interface NodeFacts {
  name: string;
  /** Inventory role (worker, worker_nfs, control, ...). */
  role: string;
  /** A control-plane node: it goes last, one at a time. */
  control: boolean;
  ready: boolean;
  /** spec.unschedulable */
  cordoned: boolean;
  /** Pods a drain would evict now (present, not terminating, not DaemonSet or mirror pods). */
  pods: PodFacts[];
  allocatable: Resources;
  /** Requests of every pod bound to the node that has not finished. */
  requested: Resources;
  /** Carries a NoSchedule/NoExecute taint of its own (ingress, control plane): evicted pods cannot go there. */
  tainted: boolean;
  /** Cordoned before the rollout by someone else: it stays cordoned after its work. */
  keepsCordon?: boolean;
}

/** A PodDisruptionBudget as its status says now. */
export interface PdbFacts {
  /** namespace/name */
  key: string;
  disruptionsAllowed: number;
}

/** A node whose work is under way right now. */
export interface InFlight {
  name: string;
  /** True until the node is uncordoned (or Ready again, when it stays cordoned): it occupies an unavailable slot. */
  holdsSlot: boolean;
  /** How long it has been in flight (for the ETA). */
  elapsedMs?: number;
}

/** The limits of a rollout, resolved to node counts. */
export interface Limits {
  /** Unschedulable or NotReady nodes allowed at once, cluster-wide, counting nodes already down. */
  maxUnavailable: number;
  /** The same per inventory role (only roles that set one). */
  roleLimits: Record<string, number>;
}

/** An etcd member as its host reports it. */
export interface EtcdMember {
  name: string;
  /** `systemctl is-active etcd` said "active". */
  active: boolean;
  /** What it said otherwise (first line), or why it could not be asked. */
  detail?: string;
}

/** The health a round judges: the API server, nodes that are down and whether that is expected, etcd. */
export interface HealthFacts {
  /** The API server answers /readyz. */
  readyz: boolean;
  /**
   * Nodes whose NotReady is expected: in flight, failed or left half-way by this rollout, or NotReady when it
   * began. Any other NotReady node is a stranger's outage and stops every start.
   */
  expectedDown: readonly string[];
  /** The etcd members (checked when control nodes are next); `error` when they could not be listed. */
  etcd?: { members: EtcdMember[]; error?: undefined } | { error: string; members?: undefined };
}

/** Everything decide needs. */
export interface PlanInput {
  /** Every node of the cluster (targets and the others: they count against the limits and give capacity). */
  nodes: NodeFacts[];
  /** Targets not started yet, not finished, not failed. */
  pending: string[];
  inFlight: InFlight[];
  pdbs: PdbFacts[];
  limits: Limits;
  /** Expected duration per node (ms); nodes not listed get `defaultExpectedMs`. */
  expectedMs?: Record<string, number>;
  defaultExpectedMs?: number;
  /** The health facts of the round: decide turns them into cluster and control problems (problemsOf). */
  health?: HealthFacts;
  /** Problems known otherwise that stop every start (added to those of `health`). */
  clusterProblems?: string[];
  /** Problems known otherwise that stop control nodes (added to those of `health`). */
  controlProblems?: string[];
  /** Nodes held by a blocker (alert, pod), with the reason. */
  blocked?: Record<string, string>;
  /** The maintenance window and the instant of the decision: nothing starts when a node would not fit in it. */
  window?: { window: Window; now: number };
}

/** Why a node waits. */
export interface Waiting {
  node: string;
  reason: string;
}

/** The planner's answer. */
export interface Decision {
  /** Nodes to start now, in this order. */
  start: string[];
  waiting: Waiting[];
  /** Unavailable nodes counted before this decision. */
  unavailable: number;
  /** Set when the window stopped every start: when it opens next. */
  windowOpensAt?: number;
}

/**
 * Resolves "N" or "P%" against a total: at least 1, a percentage rounded down (as Kubernetes does). `what`
 * names where the value came from (an option, an inventory role) for the error a bad value gets (exit 2).
 */
export function resolveLimit(spec: number | string, total: number, what = 'max-unavailable'): number {
  if (typeof spec === 'number' && Number.isFinite(spec)) return Math.max(1, Math.floor(spec));
  const m = /^(\d+)%$/.exec(String(spec).trim());
  if (m) return Math.max(1, Math.floor((total * Number(m[1])) / 100));
  const n = Number(spec);
  if (!Number.isInteger(n) || n < 1) {
    throw new InputError(`${what}: expected a count (3) or a percentage (25%), got ${JSON.stringify(spec)}`, {
      context: { limit: what, value: spec, total },
      hint: 'give a whole number of nodes of at least 1, or a percentage from 1% to 100%',
    });
  }
  return n;
}

/** True when a node counts against max-unavailable: unschedulable or not Ready. */
export function isUnavailable(node: Pick<NodeFacts, 'ready' | 'cordoned'>): boolean {
  return node.cordoned || !node.ready;
}

function sum(pods: readonly PodFacts[]): Resources {
  return pods.reduce((acc, p) => ({ cpu: acc.cpu + p.requests.cpu, memory: acc.memory + p.requests.memory }), { cpu: 0, memory: 0 });
}

function free(n: NodeFacts): Resources {
  return { cpu: Math.max(0, n.allocatable.cpu - n.requested.cpu), memory: Math.max(0, n.allocatable.memory - n.requested.memory) };
}

/** What expectedDown knows of the run. */
export interface RunView {
  inflight: ReadonlySet<string>;
  /** Nodes that failed in this run. */
  failed: ReadonlySet<string>;
  rollout: Pick<RolloutRecord, 'targets' | 'notReadyBefore'>;
  phaseOf(node: string): NodePhase;
}

/**
 * The nodes whose NotReady is expected: in flight, failed in this run, NotReady when the rollout began, or a
 * target this rollout left half-way (ours to finish, not a stranger's outage).
 */
export function expectedDown(names: readonly string[], run: RunView): string[] {
  return names.filter((name) => {
    if (run.inflight.has(name) || run.failed.has(name) || run.rollout.notReadyBefore.includes(name)) return true;
    const phase = run.rollout.targets.includes(name) ? run.phaseOf(name) : 'pending';
    return phase !== 'pending' && phase !== 'done';
  });
}

/** The problems health facts mean: `cluster` ones stop every start, `control` ones stop control nodes. */
export function problemsOf(nodes: readonly Pick<NodeFacts, 'name' | 'ready' | 'control'>[], health: HealthFacts): { cluster: string[]; control: string[] } {
  const cluster: string[] = [];
  if (!health.readyz) cluster.push('the API server does not answer /readyz');
  const expected = new Set(health.expectedDown);
  for (const n of nodes) if (!n.ready && !expected.has(n.name)) cluster.push(`node ${n.name} is NotReady`);
  const control = nodes.filter((n) => n.control && !n.ready).map((n) => `control node ${n.name} is NotReady`);
  const etcd = health.etcd;
  if (etcd?.error !== undefined) control.push(`cannot check the etcd members: ${etcd.error}`);
  for (const m of etcd?.members ?? []) if (!m.active) control.push(`etcd member ${m.name}: ${m.detail || 'not active'}`);
  return { cluster, control };
}

/**
 * The order candidates are considered in: the longest expected first (so the longest jobs do not end up
 * alone in a last batch), then the node with more pods to move, then by name; control nodes always last.
 */
export function candidateOrder(input: Pick<PlanInput, 'nodes' | 'pending' | 'expectedMs' | 'defaultExpectedMs'>): string[] {
  const byName = new Map(input.nodes.map((n) => [n.name, n]));
  const expected = (name: string): number => input.expectedMs?.[name] ?? input.defaultExpectedMs ?? 0;
  return [...input.pending].sort((a, b) => {
    const na = byName.get(a);
    const nb = byName.get(b);
    const ca = na?.control ? 1 : 0;
    const cb = nb?.control ? 1 : 0;
    if (ca !== cb) return ca - cb;
    const d = expected(b) - expected(a);
    if (d !== 0) return d;
    const p = (nb?.pods.length ?? 0) - (na?.pods.length ?? 0);
    if (p !== 0) return p;
    return naturalCompare(a, b);
  });
}

/**
 * Decides which pending nodes may start now. Every rule is checked against the state as it will be once the
 * nodes chosen earlier in the same decision have started, so a batch never overshoots a limit together.
 */
export function decide(input: PlanInput): Decision {
  const found = input.health ? problemsOf(input.nodes, input.health) : { cluster: [], control: [] };
  const clusterProblems = [...(input.clusterProblems ?? []), ...found.cluster];
  const controlProblems = [...(input.controlProblems ?? []), ...found.control];
  const byName = new Map(input.nodes.map((n) => [n.name, n]));
  const inFlight = new Map(input.inFlight.map((f) => [f.name, f]));
  const order = candidateOrder(input).filter((name) => !inFlight.has(name));
  const waiting: Waiting[] = [];
  const start: string[] = [];

  // Unavailable now: every cordoned or NotReady node, plus in-flight nodes that still hold a slot (a node we
  // just started may not be cordoned yet).
  const unavailableSet = new Set<string>();
  for (const n of input.nodes) if (isUnavailable(n)) unavailableSet.add(n.name);
  for (const f of input.inFlight) if (f.holdsSlot) unavailableSet.add(f.name);
  const unavailableBefore = unavailableSet.size;
  const roleCount = (role: string): number => [...unavailableSet].filter((name) => byName.get(name)?.role === role).length;

  // Outside the window, or too little of it left for one more node: nothing starts, whatever else holds.
  if (input.window && order.length) {
    const { window, now } = input.window;
    const fits = mayStart(window, now, input.defaultExpectedMs ?? 0);
    if (!fits.ok) return { start, waiting: order.map((node) => ({ node, reason: fits.reason })), unavailable: unavailableBefore, windowOpensAt: windowState(window, now).nextStart };
  }

  if (clusterProblems.length) {
    const reason = `cluster not healthy: ${clusterProblems.join('; ')}`;
    return { start, waiting: order.map((node) => ({ node, reason })), unavailable: unavailableBefore };
  }

  // PDB budgets left once the pods still on in-flight nodes are evicted (evicted ones are in the status already).
  const budget = new Map(input.pdbs.map((p) => [p.key, Math.max(0, p.disruptionsAllowed)]));
  // PDBs some in-flight or chosen node will disrupt: their budget is shared, not the node's alone.
  const touched = new Set<string>();
  let pendingNeed: Resources = { cpu: 0, memory: 0 };
  for (const f of input.inFlight) {
    const n = byName.get(f.name);
    if (!n) continue;
    for (const pod of n.pods) {
      for (const key of pod.pdbs) {
        if (budget.has(key)) budget.set(key, budget.get(key)! - 1);
        touched.add(key);
      }
    }
    const s = sum(n.pods);
    pendingNeed = { cpu: pendingNeed.cpu + s.cpu, memory: pendingNeed.memory + s.memory };
  }

  // Where evicted pods can go: schedulable, Ready, untainted nodes that are not being rebooted.
  const pool = new Set(input.nodes.filter((n) => !isUnavailable(n) && !n.tainted && !inFlight.has(n.name)).map((n) => n.name));
  const poolFree = (): Resources => {
    let cpu = 0;
    let memory = 0;
    for (const name of pool) {
      const f = free(byName.get(name)!);
      cpu += f.cpu;
      memory += f.memory;
    }
    return { cpu, memory };
  };

  const othersLeft = order.some((name) => !byName.get(name)?.control) || input.inFlight.some((f) => !byName.get(f.name)?.control);
  for (const name of order) {
    const node = byName.get(name);
    if (!node) {
      waiting.push({ node: name, reason: 'not a node of the cluster (any more)' });
      continue;
    }
    if (node.control) {
      if (othersLeft || input.inFlight.length > 0 || start.length > 0) {
        waiting.push({ node: name, reason: 'control nodes go last, one at a time' });
        continue;
      }
      if (controlProblems.length) {
        waiting.push({ node: name, reason: `not all control/etcd members healthy: ${controlProblems.join('; ')}` });
        continue;
      }
    }
    const blocked = input.blocked?.[name];
    if (blocked) {
      waiting.push({ node: name, reason: blocked });
      continue;
    }
    // A node that is already unavailable (cordoned by an admin, say) adds nothing to the count.
    const adds = unavailableSet.has(name) ? 0 : 1;
    if (unavailableSet.size + adds > input.limits.maxUnavailable) {
      waiting.push({ node: name, reason: `max-unavailable ${unavailableSet.size}/${input.limits.maxUnavailable} reached` });
      continue;
    }
    const roleLimit = input.limits.roleLimits[node.role];
    if (roleLimit !== undefined && roleCount(node.role) + adds > roleLimit) {
      waiting.push({ node: name, reason: `role ${node.role} limit ${roleCount(node.role)}/${roleLimit}` });
      continue;
    }
    const needs = new Map<string, number>();
    for (const pod of node.pods) for (const key of pod.pdbs) needs.set(key, (needs.get(key) ?? 0) + 1);
    // A node needing more disruptions than a budget allows can still go when nothing else uses that budget:
    // its drain then evicts one pod at a time as replacements become Ready. Otherwise it waits.
    const short = [...needs].find(([key, n]) => budget.has(key) && budget.get(key)! < n && (budget.get(key)! <= 0 || touched.has(key)));
    if (short) {
      const left = Math.max(0, budget.get(short[0])!);
      waiting.push({ node: name, reason: `PDB ${short[0]} allows ${left} disruption${left === 1 ? '' : 's'}${short[1] > 1 && left > 0 ? `, ${short[1]} needed` : ''}` });
      continue;
    }
    const own = sum(node.pods);
    const need = { cpu: pendingNeed.cpu + own.cpu, memory: pendingNeed.memory + own.memory };
    const wasInPool = pool.delete(name);
    const avail = poolFree();
    if (need.cpu > avail.cpu + 1e-9) {
      if (wasInPool) pool.add(name);
      waiting.push({ node: name, reason: `pods need ${formatCpu(need.cpu)}, ${formatCpu(avail.cpu)} free on schedulable nodes` });
      continue;
    }
    if (need.memory > avail.memory) {
      if (wasInPool) pool.add(name);
      waiting.push({ node: name, reason: `pods need ${formatGiB(need.memory)} memory, ${formatGiB(avail.memory)} free on schedulable nodes` });
      continue;
    }
    start.push(name);
    unavailableSet.add(name);
    pendingNeed = need;
    for (const [key, n] of needs) {
      if (budget.has(key)) budget.set(key, budget.get(key)! - n);
      touched.add(key);
    }
  }
  return { start, waiting, unavailable: unavailableBefore };
}

