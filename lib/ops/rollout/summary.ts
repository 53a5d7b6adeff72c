// What a rollout reports about itself at any moment: the result (--json, error contexts: done, left, failed,
// left cordoned, the next window in UTC and in the window's zone) and the input of the HTML report.
import type { Executor } from './execute.js';
import type { ReportInput } from './report.js';
import { type RolloutResult, RolloutInterruptedError } from './result.js';
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

/**
 * An interruption ends as a typed error naming what it left: the nodes in flight that stay cordoned (ours)
 * and the nodes not done, like a failure does.
 */
export function interruptedErrorOf<O>(s: Executor<O>, err: unknown, interrupted: boolean): unknown {
  if (!(err instanceof Error) || !(interrupted || s.ctx.signal.aborted) || err instanceof RolloutInterruptedError) return err;
  const result = s.result({});
  const cordoned = result.leftCordoned;
  // The runner aborts with an InterruptedError naming the signal; the error that surfaced may be a wait's.
  const reason = s.ctx.signal.reason as { context?: { signal?: string } } | undefined;
  const signal = reason?.context?.signal ?? (err as { context?: { signal?: string } }).context?.signal;
  return new RolloutInterruptedError(
    `${s.work.title} was interrupted${signal ? ` by ${signal}` : ''}: ${cordoned.length ? `left cordoned: ${cordoned.join(', ')}` : 'no node left cordoned'}; ${result.done.length} of ${result.targets.length} done, not ${s.work.participle}: ${result.remaining.join(', ') || 'none'}`,
    {
      cause: err,
      context: { ...result, ...(signal ? { signal } : {}) },
      hint: `run the same command again: the rollout continues and finishes the nodes in flight first${cordoned.length ? `; or uncordon them with: cookbook k8s.uncordon --cluster-name ${s.ctx.cluster.name} --hostname ${cordoned[0]}` : ''}`,
    },
  );
}
