// k8s.reboot's rolling reboot: the rollout engine (lib/ops/rollout) with the reboot as its per-node work.
import type { Context } from '../../core/context.js';
import { runRollout } from '../rollout/engine.js';
import type { RolloutOptions, RolloutResult } from '../rollout/result.js';
import type { RebootNodeOptions } from './node.js';
import { rebootWork } from './work.js';

export * from '../rollout/result.js';
export { NodeWorkError } from '../rollout/work.js';

/** Everything k8s.reboot decides from its arguments. */
export interface RebootOptions extends RolloutOptions {
  /** Keep only nodes with a pending reboot (part of the rollout's identity). */
  onlyIfNeeded: boolean;
  node: RebootNodeOptions;
}

/** Runs (or plans, in dry-run) a rolling reboot. */
export async function runReboot(ctx: Context, opts: RebootOptions): Promise<RolloutResult> {
  return runRollout(ctx, rebootWork(opts.node, opts.onlyIfNeeded), opts);
}
