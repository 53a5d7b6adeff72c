// Performing a roll plan, wave by wave, with the node steps k8s.add-node and k8s.remove-node use: a wave's new
// VMs are created at once (ensureVm), then each new node is provisioned, joined and made Ready with its labels
// and taints (addNodeSteps, one at a time: a join sweeps the tool's leftover join tokens), then old nodes are
// removed one at a time (removeNodeSteps) once the role's Ready schedulable count allows it. Every step is
// ensure-style and journaled, and the plan and each node's phases are in the journal memo, so a run killed
// anywhere and run again (the runner resumes it) finishes the same plan without adding or removing twice.
import type { Context } from '../../core/context.js';
import { messageOf } from '../../core/errors.js';
import { hostsOfRole } from '../../inventory/naming.js';
import type { DrainOptions } from '../../k8s/index.js';
import { isNodeReady } from '../../k8s/nodes.js';
import { addNodeSteps } from '../node/add.js';
import { requireNodeRole } from '../node/inventory.js';
import { removeNodeSteps } from '../node/remove.js';
import type { NodeTimeouts } from '../node/timeouts.js';
import { type VmOverrides, ensureVm } from '../node/vm.js';
import { type NodeRecord, type RolloutRecord, RolloutState } from '../rollout/state.js';
import type { RollSpec, RollWave } from './plan.js';

/** The memo key prefix of a roll's records (RolloutState's `work`). */
export const ROLL_WORK = 'roll';

/** The plan a run performs, journaled before anything changes (a resumed run performs the same). */
export interface StoredRoll {
  role: string;
  spec: RollSpec;
  waves: RollWave[];
  /** The role's Ready schedulable count at the start, and the least it may drop to. */
  capacity: number;
  floor: number;
  etaMs: number;
}

/** How the roll's steps run. */
export interface RollExecOptions {
  overrides: VmOverrides;
  /** Control nodes that answered the preflight (joins go through them). */
  controls: string[];
  drain: Partial<DrainOptions>;
  timeouts?: Partial<NodeTimeouts>;
  /** How long a removal waits for the role's capacity to allow it (new nodes Ready) before failing. */
  capacityTimeoutMs: number;
  /** New VMs of a wave may be created at once (their server group exists: no two creates of it). */
  parallelVms: boolean;
}

/** What a roll did. */
export interface RollOutcome {
  added: string[];
  removed: string[];
  state: RolloutState;
}

/** Ready schedulable nodes of the role now (what removals must keep at or above the floor). */
async function schedulableCount(ctx: Context, role: string): Promise<{ count: number; names: Set<string> }> {
  const nodes = await (await ctx.k8s()).listNodes();
  const members = new Set(hostsOfRole(ctx.cluster, role, nodes.map((n) => n.metadata?.name ?? '')));
  const ok = nodes.filter((n) => members.has(n.metadata?.name ?? '') && isNodeReady(n) && !n.spec?.unschedulable);
  return { count: ok.length, names: new Set(ok.map((n) => n.metadata!.name!)) };
}

/** The roll's journaled state: the one this run resumes, else a new one over the plan's nodes. */
export function rollState(ctx: Context, plan: StoredRoll): RolloutState {
  const own = ctx.recall<RolloutRecord>(`${ROLL_WORK}:rollout`);
  const nodes: Record<string, NodeRecord> = {};
  const all = plan.waves.flatMap((w) => [...w.adds, ...w.removes]);
  if (own) for (const n of all) {
    const rec = ctx.recall<NodeRecord>(`${ROLL_WORK}:node:${n}`);
    if (rec) nodes[n] = rec;
  }
  const rollout: RolloutRecord = own ?? {
    id: ctx.runId,
    startedAt: ctx.clock.now(),
    selectionKey: `${ctx.cluster.name}/${plan.role}`,
    targets: all,
    marks: {},
    cordonedBefore: [],
    notReadyBefore: [],
    skipped: [],
    runs: [],
  };
  return new RolloutState(ctx, ROLL_WORK, rollout, nodes);
}

/** Performs the plan (see the module comment); progress events carry done/total and the remaining ETA. */
export async function executeRoll(ctx: Context, plan: StoredRoll, options: RollExecOptions, state: RolloutState): Promise<RollOutcome> {
  requireNodeRole(ctx.cluster, plan.role);
  const total = plan.waves.reduce((n, w) => n + w.adds.length + w.removes.length, 0);
  let done = plan.waves.flatMap((w) => [...w.adds, ...w.removes]).filter((n) => state.node(n).phase === 'done').length;
  const progress = (node: string, phase: string, message?: string): void => {
    const etaMs = total ? Math.round((plan.etaMs * (total - done)) / total) : 0;
    ctx.progress({ scope: ROLL_WORK, target: node, phase, done, total, etaMs, message });
  };
  const enter = (node: string, phase: string, message?: string): void => {
    if (phase === 'done' && state.node(node).phase !== 'done') done++;
    state.enter(node, phase, ctx.clock.now());
    progress(node, phase, message);
  };
  const fail = (node: string, err: unknown): never => {
    state.update(node, { phase: 'failed', failedPhase: state.node(node).phase, error: messageOf(err), finishedAt: ctx.clock.now() });
    throw err;
  };
  const added: string[] = [];
  const removed: string[] = [];
  for (const [i, wave] of plan.waves.entries()) {
    ctx.checkpoint(`wave ${i + 1} of the roll`);
    const adds = wave.adds.filter((h) => state.node(h).phase !== 'done');
    // A wave of several new nodes builds their VMs at once (the slow part of an add, independent of the other
    // nodes, unlike joins: a join sweeps leftover join tokens); addNodeSteps then finds each VM done. A single
    // add, and every dry-run, leaves the VM to addNodeSteps: planning it twice would list two creates.
    const parallel = options.parallelVms && adds.length > 1 && !ctx.dryRun;
    const buildVm = async (h: string): Promise<void> => {
      const phase = state.node(h).phase;
      if (phase !== 'pending' && phase !== 'vm') return;
      enter(h, 'vm', `wave ${i + 1}: create VM (${plan.spec.image}, ${plan.spec.flavor})`);
      try {
        await ensureVm(ctx, plan.role, h, options.overrides, options.timeouts);
      } catch (err) {
        fail(h, err);
      }
    };
    if (parallel) {
      const built = await Promise.allSettled(adds.map(buildVm));
      const failed = built.find((b): b is PromiseRejectedResult => b.status === 'rejected');
      if (failed) throw failed.reason;
    }
    for (const h of adds) {
      enter(h, parallel ? 'join' : 'add', `wave ${i + 1}: ${parallel ? '' : `create VM (${plan.spec.image}, ${plan.spec.flavor}), `}provision, join, Ready, labels and taints`);
      try {
        await addNodeSteps(ctx, plan.role, h, { overrides: options.overrides, controls: options.controls, timeouts: options.timeouts });
      } catch (err) {
        fail(h, err);
      }
      enter(h, 'done');
      added.push(h);
    }
    for (const h of wave.removes) {
      if (state.node(h).phase === 'done') continue;
      // The plan counted on the wave's new nodes: wait until they really serve before capacity goes.
      if (!ctx.dryRun) {
        await ctx.waitFor(
          async () => {
            const { count, names } = await schedulableCount(ctx, plan.role);
            return count - (names.has(h) ? 1 : 0) >= plan.floor;
          },
          { what: `role ${plan.role} to keep ${plan.floor} Ready schedulable node(s) without ${h}`, timeoutMs: options.capacityTimeoutMs, backoff: { initialMs: 200, maxMs: 5000 } },
        );
      }
      enter(h, 'remove', `wave ${i + 1}: cordon, drain, kubeadm reset, delete Node and VM`);
      try {
        await removeNodeSteps(ctx, h, { drain: options.drain, timeouts: options.timeouts });
      } catch (err) {
        fail(h, err);
      }
      enter(h, 'done');
      removed.push(h);
    }
  }
  return { added, removed, state };
}
