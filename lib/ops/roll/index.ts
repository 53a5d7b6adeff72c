// A roll end to end, as k8s.roll-nodes runs it: check the VM settings, gather the facts and plan (journaled
// once: a resumed run performs the same plan), refuse what the quotas or rules do not hold, check the hosts'
// SSH keys, confirm, perform the waves, write the report.
import type { Context } from '../../core/context.js';
import { InputError } from '../../core/errors.js';
import { formatMs } from '../../core/retry.js';
import type { DrainOptions } from '../../k8s/index.js';
import { preflightAddNode } from '../node/add.js';
import { checkHostsFirst } from '../node/join.js';
import { checkVmSettings } from '../node/vm.js';
import { type RollOutcome, type StoredRoll, executeRoll, rollState } from './execute.js';
import { type RollRequest, gatherRoll } from './gather.js';
import { type RollPlan, describePlan, planRoll } from './plan.js';
import { writeRollReport } from './report.js';

/** What k8s.roll-nodes asks for: the selection and limits, and how old nodes are drained and new ones awaited. */
export interface RollNodesRequest extends RollRequest {
  drain: Partial<DrainOptions>;
  capacityTimeoutMs: number;
  reportPath?: string;
}

/** The plan as journaled, with what the selection left out and whether new VMs of a wave may build at once. */
interface JournaledRoll extends StoredRoll {
  skipped: { node: string; reason: string }[];
  parallelVms: boolean;
  peak: RollPlan['peak'];
  minCapacity: number;
  etaSource: string;
}

/** What a roll returns (the --json result). */
export interface RollNodesResult {
  role: string;
  image: string;
  flavor: string;
  waves: { adds: string[]; removes: string[] }[];
  added: string[];
  removed: string[];
  skipped: { node: string; reason: string }[];
  etaMs: number;
  durationMs?: number;
  report?: string;
}

/** The plan of this run: the journaled one when resuming, else planned now (refusals are bad input, exit 2). */
async function planOnce(ctx: Context, req: RollNodesRequest): Promise<JournaledRoll> {
  return ctx.memo<JournaledRoll>('roll:plan', async () => {
    const g = await gatherRoll(ctx, req);
    const plan = planRoll(g.facts);
    if (plan.refusals.length) {
      throw new InputError(`refusing to roll role ${req.role} of ${ctx.cluster.name}: ${plan.refusals.map((r) => r.message).join('; ')}`, {
        context: { cluster: ctx.cluster.name, role: req.role, rules: plan.refusals.map((r) => r.rule), peak: plan.peak, headroom: g.facts.headroom, serverGroup: g.facts.serverGroup, maxSurge: req.maxSurge, maxUnavailable: req.maxUnavailable },
        hint: plan.refusals[0]!.hint,
      });
    }
    return {
      role: req.role,
      spec: g.facts.spec,
      waves: plan.waves,
      capacity: g.facts.capacity,
      floor: g.facts.capacity - req.maxUnavailable,
      etaMs: plan.etaMs,
      skipped: g.skipped,
      parallelVms: g.serverGroupExists,
      peak: plan.peak,
      minCapacity: plan.minCapacity,
      etaSource: g.etaSource,
    };
  });
}

/** Rolls the role (see the module comment). */
export async function rollNodes(ctx: Context, req: RollNodesRequest): Promise<RollNodesResult> {
  // An unknown image, flavor or network is bad input naming the option, with the closest names.
  await checkVmSettings(ctx, req.role, req.overrides);
  const plan = await planOnce(ctx, req);
  const lines = describePlan({ ...plan, refusals: [] }, plan.spec);
  lines[lines.length - 1] += ` (${plan.etaSource})`;
  const base: RollNodesResult = {
    role: req.role,
    image: plan.spec.image,
    flavor: plan.spec.flavor,
    waves: plan.waves,
    added: [],
    removed: [],
    skipped: plan.skipped,
    etaMs: plan.etaMs,
  };
  for (const s of plan.skipped) ctx.log.info(`${s.node}: left as it is (${s.reason})`);
  if (plan.waves.length === 0) {
    ctx.print(`nothing to roll: no ${req.role} node ${req.onlyOutdated ? 'is outdated' : 'selected'}`);
    return base;
  }
  ctx.print([`roll of role ${req.role} on ${ctx.cluster.name} to ${plan.spec.image} / ${plan.spec.flavor}:`, ...lines.map((l) => `  ${l}`)].join('\n'));

  const adds = plan.waves.flatMap((w) => w.adds);
  const removes = plan.waves.flatMap((w) => w.removes);
  const state = rollState(ctx, plan);
  const pendingAdds = adds.filter((h) => state.node(h).phase !== 'done');
  // Before anything changes: the control nodes (joins) and the old hosts (kubeadm reset) answer with known keys.
  const controls = pendingAdds.length ? await preflightAddNode(ctx, req.role, pendingAdds[0]!, req.overrides) : [];
  await checkHostsFirst(ctx, await ctx.k8s(), { controls: false, optional: removes });
  await ctx.confirm(`Roll ${removes.length} ${req.role} node(s) of ${ctx.cluster.name} to ${plan.spec.image} / ${plan.spec.flavor}: add ${adds.length}, then remove the old ones (ETA ${formatMs(plan.etaMs)}).`, {
    destructive: true,
    details: lines,
  });

  const started = ctx.clock.now();
  let outcome: RollOutcome | undefined;
  let error: unknown;
  try {
    outcome = await executeRoll(ctx, plan, { overrides: req.overrides, controls, drain: req.drain, capacityTimeoutMs: req.capacityTimeoutMs, parallelVms: plan.parallelVms }, state);
    if (!ctx.dryRun) state.complete(ctx.clock.now());
  } catch (err) {
    error = err;
    throw err;
  } finally {
    if (req.reportPath) {
      const path = writeRollReport(req.reportPath, state, { cluster: ctx.cluster.name, dryRun: ctx.dryRun, plan, skipped: plan.skipped, error: error ? String(error) : undefined, audit: ctx.audit });
      ctx.log.info(`report written to ${path}`);
      base.report = path;
    }
  }
  return { ...base, added: outcome.added, removed: outcome.removed, durationMs: ctx.clock.now() - started };
}
