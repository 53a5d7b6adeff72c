// A rollout's entry point, whatever its per-node work: begins or continues the rollout (journaled), counts
// targets done by other means since it began, checks every target over SSH before anything changes, asks for
// confirmation, then hands over to the executor (execute.ts) or, in dry-run, to the planner (plan.ts). Both
// decide with the same decide() (decide.ts).
import type { Context } from '../../core/context.js';
import { InputError } from '../../core/errors.js';
import { formatMs } from '../../core/retry.js';
import { hostsOfRole } from '../../inventory/naming.js';
import { isCordoned, isNodeReady, ourCordon } from '../../k8s/index.js';
import { validateAlertBlockers } from './blocker-checks.js';
import { type Limits, resolveLimit } from './decide.js';
import { type Calibration, Executor } from './execute.js';
import { planRollout } from './plan.js';
import { preflightSsh } from './preflight.js';
import type { RolloutOptions, RolloutResult } from './result.js';
import { selectNodes } from './select.js';
import { type RolloutRecord, RolloutState, earlierNodeMs, findRollout, selectionKey } from './state.js';
import type { NodeWork, RolloutClients } from './work.js';

/** Runs (or plans, in dry-run) a rollout of `work` over the selected nodes. */
export async function runRollout<O>(ctx: Context, work: NodeWork<O>, opts: RolloutOptions): Promise<RolloutResult> {
  validateAlertBlockers(opts.blockOnAlert);
  const kube = await ctx.k8s();
  const remote = await ctx.remote();
  if (opts.blockOnAlert.length && !ctx.cluster.alertmanager) {
    throw new InputError(`--block-on-alert needs an Alertmanager, and cluster ${ctx.cluster.name} has none`, {
      hint: `add "alertmanager: {url: http://HOST:9093}" to ${ctx.cluster.source}`,
    });
  }
  const alerting = ctx.cluster.alertmanager ? await ctx.alerting() : undefined;
  const clients: RolloutClients = { kube, remote, alerting, openstack: () => ctx.openstack() };

  const state = await beginOrContinue(ctx, work, clients, opts);
  const rollout = state.rollout;
  const nodesNow = await kube.listNodes();
  const limits: Limits = {
    maxUnavailable: resolveLimit(opts.maxUnavailable, nodesNow.length),
    roleLimits: roleLimits(ctx, nodesNow.map((n) => n.metadata?.name ?? '')),
  };

  // Targets that got the work by other means since the rollout began count as done.
  for (const name of rollout.targets) {
    const node = nodesNow.find((n) => n.metadata?.name === name);
    const why = node && state.node(name).phase === 'pending' ? work.doneAlready(node, rollout.marks[name]) : undefined;
    if (why) {
      const now = ctx.clock.now();
      state.update(name, { phase: 'done', phases: [], startedAt: now, finishedAt: now, error: why });
    }
  }

  const calibrated = calibration(ctx, work);
  const run = new Executor(ctx, work, clients, opts, state, limits, calibrated);
  // A node an earlier run left offline (or that failed to come back) is expected not to answer: its wait deals
  // with it, not the preflight.
  const offline = (t: string): boolean => work.offlinePhases.includes(state.node(t).phase) || work.offlinePhases.includes(state.node(t).failedPhase ?? '');
  await preflightSsh(ctx, remote, rollout.targets.filter((t) => state.node(t).phase !== 'done' && !offline(t)));
  if (ctx.dryRun) return planRollout(run);
  // Everything not done yet, the nodes an earlier run left half-way included.
  const names = run.remaining();
  // Disrupting more than one node is destructive whatever the cluster: ask on every cluster (--yes answers).
  await ctx.confirm(work.confirmMessage(ctx, names, limits), { destructive: names.length > 1 });
  return run.run();
}

/** The expected time per node before anything is measured: earlier rollouts of this cluster, else a typical VM. */
function calibration(ctx: Context, work: NodeWork<unknown>): Calibration {
  const earlier = earlierNodeMs(ctx, work.name);
  if (earlier) return { perNodeMs: earlier.perNodeMs, source: `median of ${earlier.nodes} node(s) of earlier rollouts` };
  return { perNodeMs: work.typicalNodeMs, source: `no measurement yet: ${formatMs(work.typicalNodeMs)} for a typical VM; --node-duration overrides`, typical: true };
}

function roleLimits(ctx: Context, names: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [role, cfg] of Object.entries(ctx.cluster.roles)) {
    if (cfg.maxUnavailable === undefined || cfg.node === 'none') continue;
    out[role] = resolveLimit(cfg.maxUnavailable, Math.max(1, hostsOfRole(ctx.cluster, role, names).length), `role ${role} maxUnavailable (${ctx.cluster.source})`);
  }
  return out;
}

async function beginOrContinue<O>(ctx: Context, work: NodeWork<O>, clients: RolloutClients, opts: RolloutOptions): Promise<RolloutState> {
  const key = selectionKey(ctx.cluster.name, { selection: opts.selection, ...work.key });
  const found = opts.newRollout ? undefined : findRollout(ctx, work.name, key, opts.rolloutMaxAgeMs);
  if (found) {
    const done = Object.values(found.nodes).filter((r) => r.phase === 'done').length;
    ctx.log.info(`continuing rollout ${found.rollout.id} (begun ${new Date(found.rollout.startedAt).toISOString()}, ${done} of ${found.rollout.targets.length} done)`);
    return new RolloutState(ctx, work.name, found.rollout, found.nodes);
  }
  const nodes = await clients.kube.listNodes();
  const selected = selectNodes(ctx.cluster, nodes, opts.selection);
  const byName = new Map(nodes.map((n) => [n.metadata?.name ?? '', n]));
  const skipped: { node: string; reason: string }[] = [];
  const notReadyBefore = nodes.filter((n) => !isNodeReady(n)).map((n) => n.metadata!.name!);
  let targets = selected.filter((n) => {
    if (!notReadyBefore.includes(n)) return true;
    skipped.push({ node: n, reason: `NotReady when the rollout began (not ${work.participle}; it counts as unavailable)` });
    return false;
  });
  if (work.needed && targets.length) {
    const r = await work.needed(ctx, clients, targets);
    skipped.push(...r.skipped);
    targets = r.targets;
  }
  const rollout: RolloutRecord = {
    id: ctx.runId,
    startedAt: ctx.clock.now(),
    selectionKey: key,
    targets,
    marks: Object.fromEntries(targets.map((t) => [t, work.mark(byName.get(t)!)])),
    cordonedBefore: selected.filter((n) => isCordoned(byName.get(n)!) && !ourCordon(byName.get(n)!)),
    notReadyBefore,
    skipped,
    runs: [],
  };
  ctx.log.info(`${ctx.dryRun ? 'planning' : 'beginning'} rollout ${rollout.id}: ${targets.length} node(s) to ${work.name}${skipped.length ? `, ${skipped.length} skipped` : ''}`);
  return new RolloutState(ctx, work.name, rollout);
}
