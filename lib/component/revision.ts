// Putting a revision's objects in place: the ApplySet parent first (a superset of kinds, so an interrupted
// run can still find every member), the objects that differ from the live set wave by wave, pruning, the
// parent narrowed to what is left, then the rollout wait. Used by deploys and rollbacks alike.
import type { Context } from '../core/context.js';
import type { Kube } from '../k8s/index.js';
import { applyObjects } from './apply.js';
import type { ComponentKube } from './client.js';
import { type DeployPlan, planDeploy } from './diff.js';
import { type KObject, displayName, groupKind, objectKey } from './objects.js';
import { type Release, type ReleaseStatus, encodeRelease } from './release.js';
import { applyRank } from './render.js';
import { waitRollout } from './rollout.js';
import { validateObjects } from './validate.js';
import { liveMembers, memberKinds, parentObject, writeRelease } from './state.js';

/** What the revision machinery works with. */
export interface Env {
  ctx: Context;
  kube: ComponentKube;
  /** The full Kubernetes client, loaded on demand (bats needs its kubeconfig). */
  k8s: () => Promise<Kube>;
  component: string;
  namespace: string;
  setId: string;
  forceConflicts: boolean;
  timeoutMs: number;
  concurrency?: number;
  /** Prefix of journal keys (several clusters in one run). */
  memoPrefix?: string;
}

/** Kinds never pruned automatically: deleting them deletes everything inside (custom resources, namespaces). */
const NEVER_PRUNE = new Set(['CustomResourceDefinition', 'Namespace']);

/**
 * Puts `desired` in place against the live set (`live`), prunes the rest, waits for the rollout.
 * `validateFirst`: custom resources whose CRD was not served at validation time, dry-run validated once the
 * CRD wave is applied and Established, before any other wave is written.
 */
export async function applyRevision(env: Env, desired: readonly KObject[], live: ReadonlyMap<string, KObject>, options: { force?: boolean; validateFirst?: readonly KObject[] } = {}): Promise<DeployPlan> {
  const { ctx, kube } = env;
  const plan = planDeploy(desired, live, { diffs: false });
  const byKey = new Map(desired.map((o) => [objectKey(o), o]));
  const liveKinds = [...live.values()].map((o) => ({ apiVersion: o.apiVersion, kind: o.kind }));
  await ctx.step(`record ApplySet members of ${env.component}`, {
    apply: async () => kube.apply(parentObject(env.component, env.namespace, desired, liveKinds), { forceConflicts: true }),
  });
  const todo = plan.entries.filter((e) => e.action === 'create' || e.action === 'change' || (options.force && e.action === 'unchanged')).map((e) => byKey.get(e.key)!);
  const waves = new Map<number, KObject[]>();
  for (const o of todo) {
    const r = applyRank(o.kind);
    if (!waves.has(r)) waves.set(r, []);
    waves.get(r)!.push(o);
  }
  let done = 0;
  let lastProgress = 0;
  let toValidate = ctx.dryRun ? [] : [...(options.validateFirst ?? [])];
  const crdRank = applyRank('CustomResourceDefinition');
  for (const rank of [...waves.keys()].sort((a, b) => a - b)) {
    if (rank !== crdRank && toValidate.length) {
      // Outside a step on purpose: a resumed run validates again (a read) before it writes the next wave.
      ctx.log.info(`component ${env.component}: validating ${toValidate.length} custom resources now that their CRDs are served`);
      await validateObjects(kube, toValidate, { forceConflicts: env.forceConflicts, concurrency: env.concurrency });
      toValidate = [];
    }
    const objects = waves.get(rank)!;
    const kinds = [...new Set(objects.map(groupKind))].join(', ');
    await ctx.step(`apply ${kinds}`, {
      target: `${objects.length} objects`,
      apply: async () => {
        const r = await applyObjects(kube, objects, {
          concurrency: env.concurrency,
          forceConflicts: env.forceConflicts,
          healthy: ctx.dryRun ? undefined : healthProbe(env),
          clock: ctx.clock,
          signal: ctx.signal,
          onApplied: (n) => {
            // Thousands of objects: a progress line every quarter second is plenty (and the last one).
            const now = ctx.clock.now();
            if (n < objects.length && now - lastProgress < 250) return;
            lastProgress = now;
            ctx.progress({ scope: 'component', target: env.component, phase: 'apply', done: done + n, total: todo.length });
          },
          onHealth: (state, detail) => ctx.log.warn(`component ${env.component}: applying ${state}: ${detail}`),
        });
        done += objects.length;
        if (objects.some((o) => o.kind === 'CustomResourceDefinition') && !ctx.dryRun) await waitEstablished(env, objects);
        return r;
      },
    });
  }
  const prune = plan.entries.filter((e) => e.action === 'prune').map((e) => live.get(e.key)!);
  const kept = prune.filter((o) => NEVER_PRUNE.has(o.kind));
  for (const o of kept) ctx.log.warn(`component ${env.component}: ${displayName(o)} is no longer rendered; left in place (a ${o.kind} is never pruned automatically: delete it by hand if it must go)`);
  const toPrune = prune.filter((o) => !NEVER_PRUNE.has(o.kind));
  if (toPrune.length) {
    await ctx.step(`prune ${toPrune.length} objects of ${env.component}`, {
      apply: async () => {
        for (const o of toPrune) await kube.remove(o, 'prune');
        return true;
      },
    });
  }
  await ctx.step(`narrow ApplySet members of ${env.component}`, {
    apply: async () => kube.apply(parentObject(env.component, env.namespace, [...desired, ...kept]), { forceConflicts: true }),
  });
  {
    await ctx.step(`wait for the rollout of ${env.component}`, {
      apply: async () => {
        // Nothing was applied in a dry-run: the wait is planned, not performed.
        if (ctx.dryRun) kube.gate.stopIfPlanning(`the rollout of ${env.component}`);
        await waitRollout(kube, desired, {
          timeoutMs: env.timeoutMs,
          clock: ctx.clock,
          signal: ctx.signal,
          onProgress: (ready, total) => ctx.progress({ scope: 'component', target: env.component, phase: 'rollout', done: ready, total }),
        });
        return true;
      },
    });
  }
  return plan;
}

/** Retried errors (429, 5xx) within one health interval that count as "errors climbing": pause, as for /readyz. */
const CLIMBING_RETRIES = 20;

/** The API server is healthy when /readyz answers and retried errors are not climbing since the last probe. */
function healthProbe(env: Env): () => Promise<boolean> {
  let last = env.kube.retryCount();
  return async () => {
    const now = env.kube.retryCount();
    const climbing = now - last >= CLIMBING_RETRIES;
    last = now;
    if (climbing) env.ctx.log.warn(`component ${env.component}: ${CLIMBING_RETRIES}+ retried API errors since the last check; pausing`);
    return !climbing && (await env.kube.readyz());
  };
}

async function waitEstablished(env: Env, objects: readonly KObject[]): Promise<void> {
  for (const crd of objects.filter((o) => o.kind === 'CustomResourceDefinition')) {
    await env.ctx.waitFor(
      async () => {
        const live = (await env.kube.read(crd)) as { status?: { conditions?: { type: string; status: string }[] } } | undefined;
        return live?.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ?? false;
      },
      { what: `CRD ${crd.metadata.name} Established`, timeoutMs: 30_000, backoff: { initialMs: 100, maxMs: 1000 } },
    );
  }
}

/** The live members of the set now (after a change, for the next revision's plan). */
export async function liveNow(env: Env, desired: readonly KObject[], parent?: KObject): Promise<Map<string, KObject>> {
  return liveMembers(env.kube, env.setId, memberKinds(parent ?? (await env.kube.read(parentObject(env.component, env.namespace, []))), desired));
}

/** Sets a revision's status (and notes), writing the record; `deployed` supersedes every other deployed revision. */
export async function setStatus(env: Env, releases: Release[], release: Release, status: ReleaseStatus, note?: string): Promise<void> {
  const updated: Release = { ...release, status, notes: note ? [...(release.notes ?? []), note] : release.notes };
  await env.ctx.step(`mark revision ${release.revision} of ${env.component} ${status}`, {
    apply: async () => {
      const r = await writeRelease(env.kube, updated);
      if (status === 'deployed') {
        for (const other of releases.filter((x) => x.status === 'deployed' && x.revision !== release.revision)) {
          await writeRelease(env.kube, { ...other, status: 'superseded' });
          other.status = 'superseded';
        }
      }
      return r ?? true;
    },
  });
  Object.assign(release, updated);
  const i = releases.findIndex((x) => x.revision === release.revision);
  if (i >= 0) releases[i] = release;
  else releases.push(release);
}

/** Revisions kept per component (Helm's --history-max default). */
export const HISTORY_MAX = 10;

/** Deletes the records of revisions beyond the newest HISTORY_MAX (never the deployed one). */
export async function pruneHistory(env: Env, releases: Release[]): Promise<void> {
  const sorted = [...releases].sort((a, b) => b.revision - a.revision);
  const old = sorted.slice(HISTORY_MAX).filter((r) => r.status !== 'deployed');
  if (old.length === 0) return;
  await env.ctx.step(`forget ${old.length} old revisions of ${env.component}`, {
    apply: async () => {
      for (const r of old) await env.kube.remove(encodeRelease(r), 'delete release record');
      return true;
    },
  });
  for (const r of old) releases.splice(releases.indexOf(r), 1);
}
