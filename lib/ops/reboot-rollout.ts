// The rolling reboot's entry point: begins or continues a rollout (journaled), checks every target over SSH
// before anything changes, asks for confirmation, then hands over to the scheduler (reboot-scheduler.ts) or,
// in dry-run, to the planner (reboot-plan.ts). Types and errors live in reboot-result.ts.
import type { Context } from '../core/context.js';
import { InputError } from '../core/errors.js';
import { formatMs } from '../core/retry.js';
import { hostsOfRole } from '../inventory/naming.js';
import { isCordoned, isNodeReady, nodeBootId, ourCordon } from '../k8s/index.js';
import { validateAlertBlockers } from './reboot-alerts.js';
import { sshPreflight } from './reboot-checks.js';
import { planRollout } from './reboot-plan.js';
import { type RolloutClients, RolloutPreflightError, type RolloutOptions, type RolloutResult } from './reboot-result.js';
import { type Calibration, Scheduler } from './reboot-scheduler.js';
import { filterNeedingReboot, selectNodes } from './reboot-select.js';
import { type RolloutRecord, RolloutState, earlierNodeMs, findRollout, selectionKey } from './reboot-state.js';
import { type Limits, resolveLimit } from './rollout.js';

export * from './reboot-result.js';

/**
 * The expected time per node before this rollout measured one, with no --node-duration: a typical VM
 * (drain about a minute, reboot and boot two, Ready and workloads back one). Only used when no earlier
 * rollout of the cluster left measurements in the journals.
 */
const UNCALIBRATED_NODE_MS = 4 * 60_000;

/** Runs (or plans, in dry-run) a rolling reboot. */
export async function runRollout(ctx: Context, opts: RolloutOptions): Promise<RolloutResult> {
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

  const state = await beginOrContinue(ctx, clients, opts);
  const rollout = state.rollout;
  const nodesNow = await kube.listNodes();
  const limits: Limits = {
    maxUnavailable: resolveLimit(opts.maxUnavailable, nodesNow.length),
    roleLimits: roleLimits(ctx, nodesNow.map((n) => n.metadata?.name ?? '')),
  };

  // Nodes that rebooted by other means since the rollout began count as done.
  for (const name of rollout.targets) {
    const rec = state.node(name);
    const node = nodesNow.find((n) => n.metadata?.name === name);
    if (rec.phase === 'pending' && node && rollout.bootIds[name] && nodeBootId(node) !== rollout.bootIds[name] && isNodeReady(node)) {
      const now = ctx.clock.now();
      state.update(name, { phase: 'done', phases: [], startedAt: now, finishedAt: now, error: 'rebooted since the rollout began (not by this rollout)' });
    }
  }

  const calibrated = calibration(ctx);
  const run = new Scheduler(ctx, clients, opts, state, limits, calibrated, calibrated.perNodeMs === UNCALIBRATED_NODE_MS ? calibrated.source : undefined);
  // A node an earlier run left rebooting (or that failed to come back) is expected not to answer: its wait
  // (and --hard-reboot-fallback) deals with it, not the preflight.
  const rebooting = (t: string): boolean => ['reboot', 'wait-ready'].includes(state.node(t).phase) || ['reboot', 'wait-ready'].includes(state.node(t).failedPhase ?? '');
  await preflightSsh(ctx, clients, rollout.targets.filter((t) => state.node(t).phase !== 'done' && !rebooting(t)));
  if (ctx.dryRun) return planRollout(run);
  // Everything not done yet, the nodes an earlier run left half-way included.
  const names = run.remaining();
  // Rebooting more than one node is destructive whatever the cluster: ask on every cluster (--yes answers).
  await ctx.confirm(
    `Reboot ${names.length} node(s) of ${ctx.cluster.name}, at most ${limits.maxUnavailable} unavailable at once: ${names.slice(0, 12).join(', ')}${names.length > 12 ? `, ... (${names.length - 12} more)` : ''}. ` +
      `Each is cordoned, drained (emptyDir data ${opts.node.drain.deleteEmptyDirData ? 'deleted' : 'refused'}), rebooted and uncordoned.`,
    { destructive: names.length > 1 },
  );
  return run.run();
}

/** The expected time per node before anything is measured: earlier rollouts of this cluster, else a typical VM. */
function calibration(ctx: Context): Calibration {
  const earlier = earlierNodeMs(ctx);
  if (earlier) return { perNodeMs: earlier.perNodeMs, source: `median of ${earlier.nodes} node(s) of earlier rollouts` };
  return { perNodeMs: UNCALIBRATED_NODE_MS, source: `no measurement yet: ${formatMs(UNCALIBRATED_NODE_MS)} for a typical VM; --node-duration overrides` };
}

/**
 * Every target must answer over SSH with a host key that verifies before the first cordon: a node found
 * unreachable (or impersonated) only after its drain would be left drained for nothing. A dry-run records
 * each as a step that would fail.
 */
async function preflightSsh(ctx: Context, clients: RolloutClients, targets: string[]): Promise<void> {
  if (targets.length === 0) return;
  const problems = await sshPreflight(clients.remote, targets);
  if (problems.length === 0) return;
  for (const p of problems) ctx.log.error(`preflight: ${p.node}: ${p.error}`);
  if (ctx.dryRun) {
    for (const p of problems) ctx.planProblem({ kind: 'fail', node: p.node, step: `preflight SSH ${p.node}`, reason: p.error });
    return;
  }
  const keys = problems.filter((p) => /HostKey/.test(p.class));
  throw new RolloutPreflightError(
    `preflight: ${problems.length} of ${targets.length} node(s) cannot be used over SSH, nothing was changed: ${problems.map((p) => `${p.node} (${p.error.split('\n')[0]})`).join('; ')}`,
    {
      context: { host: problems[0]!.node, nodes: problems.map((p) => p.node), problems },
      hint: keys.length
        ? `a host key that does not verify can mean a man in the middle: check ${keys.map((p) => p.node).join(', ')} (console log fingerprints) before trusting a new key; or leave the node out with --hostname`
        : 'bring the named hosts back (or leave them out with --hostname) and run again',
    },
  );
}

function roleLimits(ctx: Context, names: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [role, cfg] of Object.entries(ctx.cluster.roles)) {
    if (cfg.maxUnavailable === undefined || cfg.node === 'none') continue;
    out[role] = resolveLimit(cfg.maxUnavailable, Math.max(1, hostsOfRole(ctx.cluster, role, names).length), `role ${role} maxUnavailable (${ctx.cluster.source})`);
  }
  return out;
}

async function beginOrContinue(ctx: Context, clients: RolloutClients, opts: RolloutOptions): Promise<RolloutState> {
  const key = selectionKey(ctx.cluster.name, { selection: opts.selection, onlyIfNeeded: opts.onlyIfNeeded });
  const found = opts.newRollout ? undefined : findRollout(ctx, key, opts.rolloutMaxAgeMs);
  if (found) {
    const done = Object.values(found.nodes).filter((r) => r.phase === 'done').length;
    ctx.log.info(`continuing rollout ${found.rollout.id} (begun ${new Date(found.rollout.startedAt).toISOString()}, ${done} of ${found.rollout.targets.length} done)`);
    return new RolloutState(ctx, found.rollout, found.nodes);
  }
  const nodes = await clients.kube.listNodes();
  const selected = selectNodes(ctx.cluster, nodes, opts.selection);
  const byName = new Map(nodes.map((n) => [n.metadata?.name ?? '', n]));
  const skipped: { node: string; reason: string }[] = [];
  const notReadyBefore = nodes.filter((n) => !isNodeReady(n)).map((n) => n.metadata!.name!);
  let targets = selected.filter((n) => {
    if (!notReadyBefore.includes(n)) return true;
    skipped.push({ node: n, reason: 'NotReady when the rollout began (not rebooted; it counts as unavailable)' });
    return false;
  });
  if (opts.onlyIfNeeded && targets.length) {
    const r = await filterNeedingReboot(clients.remote, targets);
    for (const n of r.notNeeded) skipped.push({ node: n, reason: 'no reboot pending' });
    for (const u of r.unreachable) skipped.push({ node: u.node, reason: `could not check for a pending reboot: ${u.error}` });
    for (const n of r.needed) ctx.log.info(`${n.node} needs a reboot: ${n.reason}`);
    targets = r.needed.map((n) => n.node);
  }
  const rollout: RolloutRecord = {
    id: ctx.runId,
    startedAt: ctx.clock.now(),
    selectionKey: key,
    targets,
    bootIds: Object.fromEntries(targets.map((t) => [t, nodeBootId(byName.get(t)!) ?? null])),
    cordonedBefore: selected.filter((n) => isCordoned(byName.get(n)!) && !ourCordon(byName.get(n)!)),
    notReadyBefore,
    skipped,
    runs: [],
  };
  ctx.log.info(`${ctx.dryRun ? 'planning' : 'beginning'} rollout ${rollout.id}: ${targets.length} node(s) to reboot${skipped.length ? `, ${skipped.length} skipped` : ''}`);
  return new RolloutState(ctx, rollout);
}

