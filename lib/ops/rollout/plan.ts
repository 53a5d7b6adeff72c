// The dry-run of a rollout: the exact order and batches decide() would give (with the same cluster,
// control-plane/etcd and blocker facts as the real run), every step each node's work would take, and a verdict.
// Whatever would stop the real run is recorded with ctx.planProblem: a step that would fail (pods that need an
// opt-in, an unreachable host) is "would fail", a node decide() could never start (a PDB that allows no
// disruption, an unhealthy etcd member, a blocking pod or alert) is "would hold".
import { DryRunStop, messageOf } from '../../core/errors.js';
import { formatMs } from '../../core/retry.js';
import { roundBlockers } from './blocker-checks.js';
import type { Executor } from './execute.js';
import { etcdHealth, gatherFacts } from './facts.js';
import type { RolloutResult } from './result.js';
import { writeReport } from './report.js';
import { type Simulation, simulateRollout } from './simulate.js';
import { mayStart } from './window.js';
import { NodeWorkError } from './work.js';

/** Plans the rollout without changing anything; see the module comment. */
export async function planRollout<O>(s: Executor<O>): Promise<RolloutResult> {
  const ctx = s.ctx;
  const facts = await gatherFacts(s.clients.kube, ctx.cluster, { filter: s.work.drainFilter, now: ctx.clock.now() });
  s.lastFacts = facts;
  const pending = s.remaining();
  // Control nodes go last, only while every control node and etcd member is healthy: a plan that includes
  // them checks that now, as the real run would when their turn comes.
  const etcd = pending.some((p) => facts.planNodes.find((n) => n.name === p)?.control) ? await etcdHealth(ctx, s.clients) : undefined;
  const blocked = await roundBlockers(s.clients, s.opts, facts, pending);
  const sim: Simulation = simulateRollout(s.planInput(facts, pending, { health: s.health(facts, etcd), blocked }));
  const expected = s.expected();
  ctx.print(`Plan for ${pending.length} node(s), max ${s.limits.maxUnavailable} unavailable at once (expected ${formatMs(expected.perNodeMs)} per node, ${expected.source}):`);
  sim.batches.forEach((b, i) => ctx.print(`  batch ${i + 1} at +${formatMs(b.atMs)}: ${b.nodes.join(', ')}`));
  for (const st of sim.stuck) {
    ctx.print(`  cannot start ${st.node}: ${st.reason}`);
    ctx.planProblem({ kind: 'hold', node: st.node, step: `start ${st.node}`, reason: st.reason });
  }
  const window = s.opts.window ? mayStart(s.opts.window, ctx.clock.now(), s.expectedMs()) : undefined;
  if (window && !window.ok) ctx.print(`  no node would start now: ${window.reason}`);
  ctx.print(`  expected to take ${formatMs(sim.totalMs)}`);
  for (const line of s.work.planNotes?.() ?? []) ctx.print(line);
  for (const node of sim.order) {
    await s.work.run(s.nodeEnv(() => {}), node).catch((err: unknown) => {
      if (err instanceof DryRunStop) return;
      // The real run would stop here for this node (and, without --max-failures, start no other): say so.
      const cause = err instanceof NodeWorkError ? err.cause : err;
      const phase = err instanceof NodeWorkError ? err.phase : undefined;
      const step = (cause as { context?: { step?: unknown } })?.context?.step;
      const reason = messageOf(cause).split('\n')[0]!;
      ctx.log.warn(`the real run would fail at ${node}${phase ? ` (${phase})` : ''}: ${reason}`);
      ctx.planProblem({ kind: 'fail', node, step: typeof step === 'string' ? step : phase ? `${phase} ${node}` : undefined, reason });
    });
    s.started.push(node);
  }
  const result = s.result({});
  // Planning walks each node to "done" in no time: the estimate is the one the plan was made with.
  result.expected = expected;
  result.plan = { order: sim.order, batches: sim.batches.map((b) => b.nodes), predictedMs: sim.totalMs, stuck: sim.stuck };
  result.done = s.targets.filter((t) => s.state.node(t).phase === 'done' && !sim.order.includes(t));
  result.rebootedThisRun = [];
  result.remaining = pending;
  if (s.opts.reportPath) result.report = writeReport(s.opts.reportPath, s.reportInput(result, sim));
  return result;
}
