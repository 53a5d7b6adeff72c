// The rollout played forward with expected durations (the --dry-run plan and the ETA), through the same
// decide() the real run uses.
import { type PlanInput, type Waiting, decide, problemsOf } from './decide.js';

/** One group of nodes the simulation starts at the same moment. */
export interface Batch {
  atMs: number;
  nodes: string[];
}

/** The outcome of simulateRollout. */
export interface Simulation {
  /** Every node in the order it starts. */
  order: string[];
  batches: Batch[];
  /** When the last node is expected to finish, from the simulation's start. */
  totalMs: number;
  /** Nodes that could never start, with the reason the planner gave. */
  stuck: Waiting[];
  /** When each started node is expected to start and finish. */
  spans: Record<string, { start: number; end: number }>;
}

/**
 * Plays a rollout forward with expected durations: start what decide allows, jump to the next expected
 * finish, repeat. A finished node gives back its slot and its PDB budget and is Ready and schedulable again
 * with the pods it had (workloads assumed to rebalance). Used for the --dry-run plan and for the ETA.
 */
export function simulateRollout(given: PlanInput): Simulation {
  // The health of the moment the plan is made holds for the whole plan: simulated nodes going down and up are
  // the plan's own, not problems.
  // The window is left to the caller, which says when the first node may start.
  const found = given.health ? problemsOf(given.nodes, given.health) : undefined;
  const input: PlanInput = found
    ? { ...given, window: undefined, health: undefined, clusterProblems: [...(given.clusterProblems ?? []), ...found.cluster], controlProblems: [...(given.controlProblems ?? []), ...found.control] }
    : { ...given, window: undefined };
  const expected = (name: string): number => Math.max(1, input.expectedMs?.[name] ?? input.defaultExpectedMs ?? 60_000);
  const original = new Map(input.nodes.map((n) => [n.name, n]));
  // In-flight nodes end after what is left of their expected time.
  const running = new Map<string, number>(input.inFlight.map((f) => [f.name, Math.max(1, expected(f.name) - (f.elapsedMs ?? 0))]));
  let pending = [...input.pending];
  const order: string[] = [];
  const batches: Batch[] = [];
  const spans: Record<string, { start: number; end: number }> = {};
  let now = 0;
  let stuck: Waiting[] = [];
  // Nodes that finish rejoin Ready, with the pods they had, cordoned only when an admin had cordoned them.
  const state = new Map(input.nodes.map((n) => [n.name, { ...n }]));
  for (let guard = 0; guard < 10_000; guard++) {
    const decision = decide({
      ...input,
      nodes: [...state.values()],
      pending,
      inFlight: [...running.keys()].map((name) => ({ name, holdsSlot: true })),
    });
    if (decision.start.length) {
      batches.push({ atMs: now, nodes: decision.start });
      for (const name of decision.start) {
        order.push(name);
        running.set(name, now + expected(name));
        spans[name] = { start: now, end: now + expected(name) };
      }
      pending = pending.filter((p) => !decision.start.includes(p));
    }
    if (pending.length === 0 && running.size === 0) break;
    if (running.size === 0) {
      stuck = decision.waiting;
      break;
    }
    // Advance to the next finish.
    const next = Math.min(...running.values());
    now = next;
    for (const [name, end] of [...running]) {
      if (end <= next) {
        running.delete(name);
        const o = original.get(name);
        if (o) state.set(name, { ...o, cordoned: o.keepsCordon === true, ready: true });
      }
    }
    if (pending.length === 0 && running.size === 0) break;
  }
  const totalMs = Math.max(now, ...[...running.values()]);
  return { order, batches, totalMs: order.length || input.inFlight.length ? totalMs : 0, stuck, spans };
}

/** Expected time until every pending and in-flight node is done (the progress display's ETA). */
export function estimateRemainingMs(input: PlanInput): number {
  if (input.pending.length === 0 && input.inFlight.length === 0) return 0;
  return simulateRollout(input).totalMs;
}

