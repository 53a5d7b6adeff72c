// What a rollout reports about itself at any moment: the result (--json, error contexts: done, left, failed,
// left cordoned, the next window in UTC and in the window's zone) and the input of the HTML report.
import type { Executor } from './execute.js';
import type { ReportInput } from './report.js';
import type { RolloutResult } from './result.js';
import type { Simulation } from './simulate.js';
import { type NodeRecord, RolloutState } from './state.js';
import { medianOf } from './units.js';
import { formatInZone } from './window.js';

/** The result of a rollout so far. */
export function rolloutResult<O>(s: Executor<O>, extra: { stoppedBy?: RolloutResult['stoppedBy']; nextStart?: number }): RolloutResult {
  const { ctx, state, targets, failures } = s;
  const perNode: Record<string, number> = {};
  for (const [name, rec] of state.records()) {
    const c = RolloutState.cycleMs(rec);
    if (c !== undefined && rec.phase === 'done') perNode[name] = c;
  }
  const failedHere = new Set(failures.map((f) => f.node));
  // Failed nodes we could not uncordon, and nodes an interruption left cordoned in flight (the node cycle records it).
  const leftCordoned = [
    ...failures.filter((f) => f.leftCordoned).map((f) => f.node),
    ...targets.filter((t) => !failedHere.has(t) && state.node(t).phase !== 'done' && state.node(t).leftCordoned === true),
  ];
  const w = s.opts.window;
  return {
    cluster: ctx.cluster.name,
    dryRun: ctx.dryRun,
    rollout: { id: state.rollout.id, startedAt: new Date(state.rollout.startedAt).toISOString(), continued: state.rollout.id !== ctx.runId, complete: false },
    targets: [...targets],
    done: targets.filter((t) => state.node(t).phase === 'done'),
    rebootedThisRun: s.started.filter((t) => state.node(t).phase === 'done'),
    started: [...s.started],
    remaining: targets.filter((t) => state.node(t).phase !== 'done' && !failedHere.has(t)),
    skipped: [...state.rollout.skipped],
    failed: [...failures],
    leftCordoned,
    silencesLeft: failures.map((f) => state.node(f.node).silenceId).filter((id): id is string => !!id),
    ...(extra.stoppedBy ? { stoppedBy: extra.stoppedBy } : {}),
    ...(extra.nextStart !== undefined && w ? { nextWindow: new Date(extra.nextStart).toISOString(), nextWindowLocal: formatInZone(w, extra.nextStart) } : {}),
    cycleMs: { median: medianOf(Object.values(perNode)), perNode },
    expected: s.expected(),
    limits: s.limits,
  };
}

/** What the HTML report is drawn from. */
export function reportInputOf<O>(s: Executor<O>, result: RolloutResult, sim?: Simulation): ReportInput {
  const nodes: Record<string, NodeRecord> = {};
  for (const t of s.targets) nodes[t] = s.state.node(t);
  return { result, rollout: s.state.rollout, nodes, generatedAt: s.ctx.clock.now(), simulation: sim, window: s.opts.window?.spec, audit: s.ctx.audit, style: s.work.report };
}
