// The node steps every cookbook shares (cordon, uncordon, drain): each an ensure-style, journaled step built on
// the Kubernetes client, so every cookbook that cordons or drains a node does it the same, resumable way.
import type { Context } from '../../core/context.js';
import { CookbookError, InterruptedError } from '../../core/errors.js';
import { type Planned, mapUnlessPlanned } from '../../core/gate.js';
// Values come from the light k8s submodules, types from the client: cookbooks import this module, and
// `cookbook list` must not load client-node.
import type { DrainOptions, DrainResult, Kube } from '../../k8s/index.js';
import { DrainFailedError, DrainRefusedError } from '../../k8s/errors.js';
import { isCordoned, ourCordon } from '../../k8s/nodes.js';

/** What cordonStep returns: whether the cordon is ours (we never uncordon another's). */
export type CordonOutcome = { ours: boolean } | Planned;

/** Cordons a node as a journaled step; returns whether the cordon is ours (we never uncordon another's). */
export async function cordonStep(ctx: Context, kube: Kube, node: string): Promise<CordonOutcome> {
  return ctx.step(`cordon ${node}`, {
    target: `node/${node}`,
    check: async () => {
      const n = await kube.requireNode(node);
      return isCordoned(n) ? { ours: ourCordon(n) !== undefined } : undefined;
    },
    apply: async () => mapUnlessPlanned(await kube.cordon(node, { runId: ctx.runId, cookbook: ctx.cookbook }), (r) => ({ ours: r.ours })),
    verify: async () => isCordoned(await kube.requireNode(node)),
  });
}

/**
 * Uncordons a node we cordoned (or any, with force) as a journaled step. `cordon` is the cordon step's result
 * when this run cordoned it: when that cordon is only planned (dry-run), the node is not cordoned yet, and the
 * uncordon the real run would make is planned all the same (the step declares it needs the cordon, assumed).
 */
export async function uncordonStep(ctx: Context, kube: Kube, node: string, options: { force?: boolean; cordon?: CordonOutcome } = {}): Promise<unknown> {
  return ctx.step(`uncordon ${node}`, {
    target: `node/${node}`,
    needs: [options.cordon],
    onPlannedNeed: 'assume',
    check: async () => (!isCordoned(await kube.requireNode(node)) ? { node, changed: false, ours: false } : undefined),
    apply: (_cordon, run) => kube.uncordon(node, { force: options.force, cordonPlanned: run.assumed }),
    verify: async () => !isCordoned(await kube.requireNode(node)),
  });
}

/** drainStep's options: the drain's own, and what to do with the cordon when it fails. */
export type DrainStepOptions = Partial<DrainOptions> & { uncordonOnFailure?: boolean; uncordonReason?: string };

/**
 * Drains a cordoned node as a journaled step (skipped when nothing is left to evict). On failure the node
 * stays cordoned, unless `uncordonOnFailure` and the cordon is ours.
 */
export async function drainStep(ctx: Context, kube: Kube, node: string, options: DrainStepOptions): Promise<DrainResult | Planned | undefined> {
  // Loaded here, not at the top: the drain engine pulls in client-node, and `cookbook list` loads this module.
  const { drainNode, planNodeDrain } = await import('../../k8s/drain.js');
  try {
    return await ctx.step<DrainResult>(`drain ${node}`, {
      target: `node/${node}`,
      check: async () => {
        const plan = await planNodeDrain(kube, node, { ignoreDaemonSets: true, deleteEmptyDirData: false, forceUnmanaged: false, skipWaitForDeleteTimeoutSeconds: 0, ...options });
        return plan.evict.length === 0 && plan.refuse.length === 0 ? ({ node, planned: false, evicted: [], skipped: [], warnings: [], blocked: [], failed: [], durationMs: 0, requests: 0 } satisfies DrainResult) : undefined;
      },
      apply: async () => {
        const r = await drainNode(kube, node, {
          ...options,
          onProgress: (e) => ctx.progress({ scope: 'drain', target: e.pod, phase: e.state, message: e.detail }),
        });
        for (const w of r.warnings) ctx.log.warn(w);
        return r;
      },
    });
  } catch (err) {
    // Any failure of the drain (refused, timed out, API errors), but not an interrupt: that stops at once.
    // In dry-run nothing was cordoned: the verdict names the failure, there is nothing to undo.
    if (ctx.dryRun) throw err;
    if (err instanceof DrainFailedError || err instanceof DrainRefusedError || (err instanceof CookbookError && !(err instanceof InterruptedError) && !ctx.signal.aborted)) {
      if (options.uncordonOnFailure) {
        const n = await kube.getNode(node);
        if (n && ourCordon(n)) {
          ctx.log.warn(`drain of ${node} failed; uncordoning it ${options.uncordonReason ?? '(the cordon was ours)'}`);
          await uncordonStep(ctx, kube, node);
        } else {
          ctx.log.warn(`drain of ${node} failed; it was not cordoned by us, so it stays cordoned`);
        }
      } else {
        ctx.log.warn(`drain of ${node} failed; the node stays cordoned (uncordon it with: cookbook k8s.uncordon --cluster-name ${ctx.cluster.name} --hostname ${node})`);
      }
    }
    throw err;
  }
}
