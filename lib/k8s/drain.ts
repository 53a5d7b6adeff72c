// Drain execution: the plan comes from the pure filter chain (drain-plan.ts); this performs it. Evictions run
// in parallel and carry the pod's UID precondition (so a StatefulSet pod recreated elsewhere under the same
// name is never evicted by mistake). A 429 (PDB or throttling) is retried per pod with backoff and jitter, at
// least `retryMinMs` apart; a 500 (several PDBs select the pod) fails that pod. One watch over the node's pods
// tells when each evicted pod is gone, instead of polling every pod every second. Everything shares one
// deadline; the result names the pods and PDBs that blocked.
import { Watch, type V1Pod } from '@kubernetes/client-node';
import { systemClock, type Clock, throwIfAborted } from '../core/clock.js';
import { CookbookError } from '../core/errors.js';
import { isPlanned } from '../core/gate.js';
import { backoffDelay, formatMs } from '../core/retry.js';
import { type DrainFilterOptions, type DrainPlan, defaultDrainFilterOptions, planDrain, podKey } from './drain-plan.js';
import { DrainFailedError, DrainRefusedError, KubeApiError, KubeConflictError, KubeNotFoundError } from './errors.js';
import type { Kube } from './index.js';

/** Options of a drain. */
export interface DrainOptions extends DrainFilterOptions {
  /** Overall deadline; 0 means none (kubectl's default). */
  timeoutMs: number;
  /** Override every pod's grace period (seconds); undefined keeps each pod's own. */
  gracePeriodSeconds?: number;
  /** Delete instead of evict: bypasses PodDisruptionBudgets (kubectl --disable-eviction). */
  disableEviction: boolean;
  /** Smallest interval between two eviction attempts of one pod after a 429 (kubectl: 5 s). */
  retryMinMs: number;
  signal?: AbortSignal;
  clock?: Clock;
  /** Called as pods move: evicting, blocked, gone, failed. */
  onProgress?: (event: { pod: string; state: 'evicting' | 'blocked' | 'gone' | 'failed'; detail?: string }) => void;
}

/** Defaults: kubectl's (no timeout, evictions, 5 s retries), DaemonSet pods ignored. */
export const defaultDrainOptions: DrainOptions = Object.freeze({
  ...defaultDrainFilterOptions,
  timeoutMs: 0,
  disableEviction: false,
  retryMinMs: 5000,
});

/** A pod that a PodDisruptionBudget (or throttling) kept on the node. */
export interface BlockedPod {
  pod: string;
  pdbs: string[];
  message: string;
}

/** What a drain did. */
export interface DrainResult {
  node: string;
  planned: boolean;
  evicted: string[];
  skipped: { pod: string; reason: string }[];
  warnings: string[];
  blocked: BlockedPod[];
  failed: { pod: string; error: string }[];
  durationMs: number;
  /** API requests made by the drain (list, evictions, watch). */
  requests: number;
}

interface Tracked {
  key: string;
  namespace: string;
  name: string;
  uid: string;
  state: 'pending' | 'evicting' | 'gone' | 'failed';
  blocked?: BlockedPod;
  error?: string;
}

/** Classifies the node's pods (reads only): what a drain would evict, skip or refuse. */
export async function planNodeDrain(kube: Kube, node: string, options: DrainFilterOptions, clock: Clock = systemClock): Promise<{ pods: V1Pod[]; plan: DrainPlan }> {
  const pods = await kube.listPodsOnNode(node);
  const dsNames = new Set<string>();
  for (const p of pods) {
    const ref = p.metadata?.ownerReferences?.find((r) => r.controller && r.kind === 'DaemonSet');
    if (ref) dsNames.add(`${p.metadata?.namespace}/${ref.name}`);
  }
  const exists = new Map<string, boolean>();
  for (const key of dsNames) {
    const [ns, name] = key.split('/') as [string, string];
    exists.set(key, await kube.daemonSetExists(ns, name));
  }
  const plan = planDrain(pods, options, { daemonSetExists: (ns, name) => exists.get(`${ns}/${name}`) ?? false, now: clock.now() });
  return { pods, plan };
}

/** Drains a node that the caller has cordoned. Throws DrainRefusedError / DrainFailedError; the node stays cordoned. */
export async function drainNode(kube: Kube, node: string, opts: Partial<DrainOptions> = {}): Promise<DrainResult> {
  const o: DrainOptions = { ...defaultDrainOptions, ...opts };
  const clock = o.clock ?? systemClock;
  const started = clock.now();
  const requestsBefore = kube.requestCount();
  const { plan } = await planNodeDrain(kube, node, o, clock);
  const base = {
    node,
    skipped: plan.skip.map((s) => ({ pod: s.key, reason: s.verdict.action === 'skip' ? s.verdict.reason : '' })),
    warnings: plan.warnings,
  };
  if (plan.refuse.length) {
    throw new DrainRefusedError(
      `cannot drain ${node}: ${plan.refuse.length} pod(s) need an explicit opt-in: ${plan.refuse.map((r) => `${r.key} (${r.verdict.action === 'refuse' ? r.verdict.reason : ''})`).join(', ')}`,
      {
        context: { node, refused: plan.refuse.map((r) => ({ pod: r.key, reason: r.verdict.action === 'refuse' ? r.verdict.reason : '' })) },
        hint: 'nothing was evicted and the node stays cordoned; re-run with the opt-in flags named above, or uncordon it',
      },
    );
  }
  const tracked: Tracked[] = plan.evict.map((e) => ({
    key: e.key,
    namespace: e.pod.metadata?.namespace ?? 'default',
    name: e.pod.metadata?.name ?? '',
    uid: e.pod.metadata?.uid ?? '',
    state: 'pending',
  }));
  if (kube.gate.dryRun) {
    for (const t of tracked) await kube.evictPod(t.namespace, t.name, { uid: t.uid, gracePeriodSeconds: o.gracePeriodSeconds, deleteInstead: o.disableEviction });
    return { ...base, planned: true, evicted: tracked.map((t) => t.key), blocked: [], failed: [], durationMs: clock.now() - started, requests: kube.requestCount() - requestsBefore };
  }

  const deadline = o.timeoutMs > 0 ? started + o.timeoutMs : Number.POSITIVE_INFINITY;
  const inner = new AbortController();
  const onOuterAbort = (): void => inner.abort(o.signal?.reason);
  o.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const timer = Number.isFinite(deadline) ? setTimeout(() => inner.abort(new DrainTimeout(`drain of ${node} reached its deadline`)), Math.max(0, deadline - clock.now())) : undefined;
  const pending = new Map(tracked.map((t) => [t.uid, t]));
  const watcher = await watchGone(kube, node, pending, o, inner.signal);
  try {
    await Promise.all(tracked.map((t) => evictOne(kube, t, o, clock, inner.signal)));
    await watcher.allGone;
  } catch (err) {
    if (!(err instanceof DrainTimeout) && !inner.signal.aborted) throw err;
    if (o.signal?.aborted) throwIfAborted(o.signal, `drain of ${node}`);
  } finally {
    if (timer) clearTimeout(timer);
    o.signal?.removeEventListener('abort', onOuterAbort);
    watcher.stop();
  }
  const result: DrainResult = {
    ...base,
    planned: false,
    evicted: tracked.filter((t) => t.state === 'gone').map((t) => t.key),
    blocked: tracked.filter((t) => t.state !== 'gone' && t.blocked).map((t) => t.blocked!),
    failed: tracked.filter((t) => t.state === 'failed').map((t) => ({ pod: t.key, error: t.error ?? 'failed' })),
    durationMs: clock.now() - started,
    requests: kube.requestCount() - requestsBefore,
  };
  const remaining = tracked.filter((t) => t.state !== 'gone');
  if (remaining.length) {
    const pdbs = [...new Set(result.blocked.flatMap((b) => b.pdbs))];
    const why = result.blocked.length
      ? `blocked by PodDisruptionBudget${pdbs.length === 1 ? '' : 's'} ${pdbs.join(', ') || '(throttling)'}: ${result.blocked.map((b) => b.pod).join(', ')}`
      : `still terminating: ${remaining.map((t) => t.key).join(', ')}`;
    throw new DrainFailedError(
      `drain of ${node} did not finish${Number.isFinite(deadline) ? ` within ${formatMs(o.timeoutMs)}` : ''}: ${remaining.length} pod(s) left; ${why}${
        result.failed.length ? `; failed: ${result.failed.map((f) => `${f.pod} (${f.error})`).join(', ')}` : ''
      }`,
      {
        context: { node, remaining: remaining.map((t) => t.key), blocked: result.blocked, failed: result.failed, evicted: result.evicted, result },
        hint: 'the node stays cordoned; fix the blocking PodDisruptionBudgets or pods and run the drain again',
      },
    );
  }
  return result;
}

class DrainTimeout extends CookbookError {}

async function evictOne(kube: Kube, t: Tracked, o: DrainOptions, clock: Clock, signal: AbortSignal): Promise<void> {
  for (let attempt = 1; !signal.aborted && t.state === 'pending'; attempt++) {
    try {
      const r = await kube.evictPod(t.namespace, t.name, { uid: t.uid, gracePeriodSeconds: o.gracePeriodSeconds, deleteInstead: o.disableEviction });
      if (isPlanned(r)) return;
      if (t.state === 'pending') t.state = 'evicting';
      t.blocked = undefined;
      o.onProgress?.({ pod: t.key, state: 'evicting' });
      return;
    } catch (err) {
      if (err instanceof KubeNotFoundError || err instanceof KubeConflictError) {
        // Gone already, or replaced by a new pod of the same name (UID precondition failed): done with it.
        t.state = 'gone';
        o.onProgress?.({ pod: t.key, state: 'gone' });
        return;
      }
      if (err instanceof KubeApiError && err.status === 429) {
        const pdbs = await kube.pdbsForPod(t.namespace, t.name).catch(() => [] as string[]);
        t.blocked = { pod: t.key, pdbs: pdbs.map((p) => `${t.namespace}/${p}`), message: err.message };
        o.onProgress?.({ pod: t.key, state: 'blocked', detail: t.blocked.pdbs.join(', ') || 'throttled' });
        const wait = Math.max(o.retryMinMs, backoffDelay(attempt, { initialMs: o.retryMinMs, maxMs: Math.max(o.retryMinMs, 30_000), factor: 1.5, jitter: 0 })) * (1 + Math.random() * 0.2);
        try {
          await clock.sleep(wait, signal);
        } catch {
          return;
        }
        continue;
      }
      t.state = 'failed';
      t.error = err instanceof Error ? err.message : String(err);
      o.onProgress?.({ pod: t.key, state: 'failed', detail: t.error });
      return;
    }
  }
}

/** Watches the node's pods and resolves once every tracked pod is gone (deleted, or failed/refused). */
async function watchGone(kube: Kube, node: string, pending: Map<string, Tracked>, o: DrainOptions, signal: AbortSignal): Promise<{ allGone: Promise<void>; stop(): void }> {
  let resolveAll!: () => void;
  const allGone = new Promise<void>((r) => (resolveAll = r));
  let stopped = false;
  let current: AbortController | undefined;
  const settle = (): void => {
    if ([...pending.values()].every((t) => t.state === 'gone' || t.state === 'failed')) resolveAll();
  };
  const markGone = (uid: string | undefined): void => {
    const t = uid ? pending.get(uid) : undefined;
    if (t && t.state !== 'gone') {
      t.state = 'gone';
      o.onProgress?.({ pod: t.key, state: 'gone' });
    }
  };
  // Re-list (and re-watch from there) whenever the watch ends: nothing is missed between the two.
  const relist = async (): Promise<void> => {
    while (!stopped && !signal.aborted) {
      const list = await kube.listPodsOnNodeWithVersion(node);
      const present = new Set(list.pods.map((p) => p.metadata?.uid));
      for (const [uid, t] of pending) if (!present.has(uid) && t.state !== 'failed') markGone(uid);
      settle();
      const ended = new Promise<void>((resolve) => {
        const w = new Watch(kube.kubeConfig);
        w.watch(
          '/api/v1/pods',
          { fieldSelector: `spec.nodeName=${node}`, resourceVersion: list.resourceVersion, allowWatchBookmarks: true, timeoutSeconds: 300 },
          (phase, obj: V1Pod) => {
            if (phase === 'DELETED') {
              markGone(obj.metadata?.uid);
              settle();
            }
          },
          () => resolve(),
        )
          .then((ac) => {
            current = ac;
            if (stopped) ac.abort();
          })
          .catch(() => resolve());
      });
      kube.countRequest('WATCH');
      await Promise.race([ended, allGone]);
      if ([...pending.values()].every((t) => t.state === 'gone' || t.state === 'failed')) return;
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  relist().catch(() => {
    // A failing list makes the waiters fall back on the deadline; the drain then reports what is left.
  });
  signal.addEventListener('abort', () => resolveAll(), { once: true });
  settle();
  return {
    allGone: allGone.then(() => {
      if (signal.aborted && !stopped) throw signal.reason instanceof Error ? signal.reason : new DrainTimeout('drain deadline');
    }),
    stop: () => {
      stopped = true;
      current?.abort();
    },
  };
}

export { podKey };
