// The cycle every disruptive node work shares, as journaled ensure-style steps: silence the node's alerts,
// cordon, record the workloads the drain will evict, drain (k8s.drain semantics; a failed drain uncordons it
// and never disrupts it), then the work's own disruption (the reboot and its waits; an upgrade's packages and
// kubelet restart), uncordon (only our own cordon), wait until the evicted workloads are back to their desired
// ready replicas, expire the silence. Every step re-checks the world, so a run killed anywhere finishes the
// node without doing anything twice. A failure ends as NodeWorkError naming the phase and whether the node
// was left cordoned; an interruption journals the same before it goes on up.
import { hostMatchers } from '../../alerting/index.js';
import type { Context } from '../../core/context.js';
import { DryRunStop, InterruptedError, messageOf } from '../../core/errors.js';
import { type Planned, mapUnlessPlanned, unlessPlanned } from '../../core/gate.js';
import type { DrainFilterOptions } from '../../k8s/drain-plan.js';
import { drainNode, planNodeDrain } from '../../k8s/drain.js';
import { type DrainOptions, type DrainResult, type WorkloadRef, isCordoned, ourCordon } from '../../k8s/index.js';
import { backendIn, backendOut, isControlNode } from '../loadbalancer/index.js';
import { type CordonOutcome, cordonStep, uncordonStep } from '../node/steps.js';
import { evictablePods } from './facts.js';
import type { NodePhase, NodeRecord } from './state.js';
import { type NodeEnv, NodeWorkError } from './work.js';

/** Options of the shared cycle (a work's options extend them). */
export interface NodeCycleOptions {
  drain: Partial<DrainOptions> & DrainFilterOptions;
  recoverTimeoutMs: number;
  silenceMs: number;
}

/** Moves the node into a phase, with facts for its record (journaled where a resumed run needs them). */
export type EnterPhase = (phase: NodePhase, patch?: Partial<NodeRecord>) => void;

/** What a work does between the drain and the uncordon. */
export interface Disruption {
  /** How the work's result reads in messages: "rebooted". */
  participle: string;
  /**
   * The disruption itself, as journaled steps; `enter` moves the node through the work's phases. Resolves to
   * facts recorded with the uncordon phase (the new boot id).
   */
  run(enter: EnterPhase): Promise<Partial<NodeRecord> | void>;
}

// Phase changes are journaled only where a resumed run needs them (the silence id, the workloads before the
// drain, the end); the others ride along with the next write. Every journal write rewrites the whole file, and
// a large rollout makes thousands of them otherwise.
const JOURNALED = new Set<NodePhase>(['silence', 'drain', 'done', 'failed']);

function isInterruption(err: unknown, ctx: Context): boolean {
  return err instanceof InterruptedError || ctx.signal.aborted;
}

const workloadKey = (w: WorkloadRef): string => `${w.kind}/${w.namespace}/${w.name}`;

/** Runs one node's cycle around `disruption` (see the module comment). Throws NodeWorkError when it failed. */
export async function runNodeCycle(env: NodeEnv<NodeCycleOptions>, name: string, disruption: Disruption): Promise<void> {
  const { ctx, kube, state } = env;
  const cordonedBefore = state.rollout.cordonedBefore.includes(name);
  let phase: NodePhase = state.node(name).phase;
  // An earlier run interrupted while the node was cordoned by us: still so until this run uncordons it.
  let cordonedByUs = state.node(name).leftCordoned === true;
  const enter: EnterPhase = (p, patch = {}) => {
    phase = p;
    state.enter(name, p, ctx.clock.now(), patch, JOURNALED.has(p));
    env.onPhase(name, p);
  };

  try {
    // Silence the node's alerts (its disruption pages nobody). The id is journaled: a resumed run reuses it.
    if (env.alerting) {
      enter('silence');
      const alerting = env.alerting;
      const known = state.node(name).silenceId;
      const id = await ctx.step<string>(`silence ${name}`, {
        target: `silence/${name}`,
        check: async () => {
          if (!known) return undefined;
          const s = await alerting.getSilence(known).catch(() => undefined);
          return s && s.status.state !== 'expired' ? known : undefined;
        },
        apply: () =>
          alerting.createSilence({
            matchers: hostMatchers(name, { domain: ctx.cluster.domain }),
            duration: env.options.silenceMs,
            comment: `${ctx.cookbook} of ${name} on ${ctx.cluster.name} (cluster-cookbooks run ${ctx.runId})`,
          }),
      });
      state.update(name, unlessPlanned(mapUnlessPlanned(id, (silenceId): Partial<NodeRecord> => ({ silenceId })), {}));
    }

    enter('cordon');
    const cordon = await cordonStep(ctx, kube, name);
    // A planned cordon (dry-run) would be ours; nothing is cordoned yet, so an interruption leaves nothing.
    const ours = unlessPlanned(mapUnlessPlanned(cordon, (c) => c.ours && !cordonedBefore), true);
    // From here until the uncordon, an interruption leaves the node cordoned by us: the run names it.
    cordonedByUs = unlessPlanned(mapUnlessPlanned(cordon, () => ours), false);

    // The workloads to wait for after the disruption: read before the drain evicts their pods, journaled with it.
    const owners = state.node(name).owners ?? (await kube.ownersOf(evictablePods(await kube.listPodsOnNode(name), env.options.drain, ctx.clock.now())));
    enter('drain', { cordonOurs: ours, owners });
    await drainBefore(env, name, disruption.participle, { ours, cordon });

    // A control node's API server leaves the load balancers before the disruption and comes back after its
    // own /readyz passes (no-op without load balancers).
    const control = isControlNode(ctx, name);
    const out = control ? await backendOut(ctx, name) : undefined;
    const after = await disruption.run(enter);
    if (control) await backendIn(ctx, name, { need: out });

    enter('uncordon', after ?? {});
    if (cordonedBefore) {
      ctx.log.info(`${name} was cordoned before the rollout: it stays cordoned`);
    } else {
      await uncordonStep(ctx, kube, name, { cordon });
    }
    cordonedByUs = false;
    env.onSlotFree(name);

    enter('recover', { leftCordoned: false });
    // Only the workloads the check found not ready are waited for (read again): re-reading all of a node's
    // workloads (~170 in a big cluster) on every poll was most of a large rollout's requests. Each workload is
    // still seen ready after the uncordon; one that is gone counts as ready, as before.
    let notReady: WorkloadRef[] = owners;
    await ctx.step(`wait workloads of ${name}`, {
      target: `node/${name}`,
      check: async () => {
        const st = await kube.workloadStatus(owners);
        const waiting = new Set(st.filter((s) => !s.isReady).map(workloadKey));
        notReady = owners.filter((o) => waiting.has(workloadKey(o)));
        return waiting.size === 0 ? st : undefined;
      },
      apply: () => kube.waitWorkloadsReady(notReady, { timeoutMs: env.options.recoverTimeoutMs }),
    });

    const silenceId = state.node(name).silenceId;
    if (env.alerting && silenceId) {
      const alerting = env.alerting;
      await ctx.step(`expire silence of ${name}`, {
        target: `silence/${silenceId}`,
        check: async () => ((await alerting.getSilence(silenceId).catch(() => undefined))?.status.state === 'expired' ? true : undefined),
        apply: async () => mapUnlessPlanned(await alerting.expireSilence(silenceId), () => true),
      });
    }
    enter('done', { owners: undefined, ownersCount: owners.length });
  } catch (err) {
    if (err instanceof DryRunStop && ctx.dryRun) return;
    if (isInterruption(err, ctx)) {
      // Journaled so the interrupted run (and a later one) can name the node left cordoned.
      state.update(name, { leftCordoned: cordonedByUs, interruptedPhase: phase });
      throw err;
    }
    const failedPhase = phase;
    let leftCordoned = false;
    try {
      const n = await kube.getNode(name);
      leftCordoned = !!n && isCordoned(n) && ourCordon(n) !== undefined && !cordonedBefore;
    } catch {
      leftCordoned = state.node(name).cordonOurs === true && failedPhase !== 'recover';
    }
    state.update(name, { failedPhase, error: messageOf(err), leftCordoned });
    enter('failed');
    throw new NodeWorkError(name, failedPhase, leftCordoned, err);
  }
}

/**
 * The drain before a disruption. A drain that fails (refused, blocked, out of time) never leads to the
 * disruption, and the node goes back into service when the cordon is ours: that is the promise of the
 * cookbook, not an opt-in, so the text says so instead of naming k8s.drain's --uncordon-on-failure.
 */
async function drainBefore(env: NodeEnv<NodeCycleOptions>, name: string, participle: string, cordon: { ours: boolean; cordon: CordonOutcome }): Promise<DrainResult | Planned | undefined> {
  const { ctx, kube } = env;
  const options = env.options.drain;
  try {
    return await ctx.step<DrainResult>(`drain ${name}`, {
      target: `node/${name}`,
      check: async () => {
        const plan = await planNodeDrain(kube, name, options);
        return plan.evict.length === 0 && plan.refuse.length === 0 ? ({ node: name, planned: false, evicted: [], skipped: [], warnings: [], blocked: [], failed: [], durationMs: 0, requests: 0 } satisfies DrainResult) : undefined;
      },
      apply: async () => {
        const r = await drainNode(kube, name, { ...options, onProgress: (e) => ctx.progress({ scope: 'drain', target: e.pod, phase: e.state, message: e.detail }) });
        for (const w of r.warnings) ctx.log.warn(w);
        return r;
      },
    });
  } catch (err) {
    if (isInterruption(err, ctx) || err instanceof DryRunStop) throw err;
    const why = messageOf(err).split('\n')[0];
    if (!cordon.ours) {
      ctx.log.warn(`drain of ${name} failed (${why}); it is not ${participle}, and it stays cordoned as it was before the rollout`);
      throw err;
    }
    ctx.log.warn(`drain of ${name} failed (${why}); it is not ${participle}, and ${ctx.cookbook} uncordons it (the cordon was ours)`);
    try {
      await uncordonStep(ctx, kube, name, { cordon: cordon.cordon });
    } catch (uncordonErr) {
      if (isInterruption(uncordonErr, ctx)) throw uncordonErr;
      // The drain's failure is the one to report; the node is then named as left cordoned.
      ctx.log.error(`could not uncordon ${name} after its failed drain: ${messageOf(uncordonErr)}`);
    }
    throw err;
  }
}
