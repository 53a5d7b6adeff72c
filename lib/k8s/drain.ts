// Drain execution: the plan comes from the pure filter chain (drain-plan.ts); this performs it. Evictions run
// in parallel and carry the pod's UID precondition (so a StatefulSet pod recreated elsewhere under the same
// name is never evicted by mistake). A 429 (PDB or throttling) is retried per pod with backoff and jitter, at
// least `retryMinMs` apart (or longer, when the server's Retry-After asks); a 500 (several PDBs select the pod)
// fails that pod, while transient 5xx are retried by the client. One watch over the node's pods tells when each
// evicted pod is gone (drain-watch.ts), instead of polling every pod every second. Everything shares one
// deadline, measured with the injected Clock: reaching it aborts every request still in flight and ends the
// drain with DrainTimeoutError naming the pods and PDBs that blocked. A list or watch that keeps failing ends
// it with the typed API error, so even a drain without timeout cannot wait forever on a broken API. A drain is
// not a client method: drainNode/planNodeDrain compose the client's reads and its gated evictions.
import type { V1Pod } from '@kubernetes/client-node';
import { systemClock, type Clock, throwIfAborted } from '../core/clock.js';
import { KubernetesError } from '../core/errors.js';
import { isPlanned } from '../core/gate.js';
import { backoffDelay, formatMs } from '../core/retry.js';
import { type DrainFilterOptions, type DrainPlan, defaultDrainFilterOptions, planDrain, podKey } from './drain-plan.js';
import { DrainFailedError, DrainRefusedError, DrainTimeoutError, KubeAbortedError, KubeApiError, KubeConflictError, KubeNotFoundError } from './errors.js';
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
  /** Pods that were evicted and are gone (never filled in dry-run). */
  evicted: string[];
  skipped: { pod: string; reason: string }[];
  warnings: string[];
  /** In dry-run, the pods the drain would evict (evicted is then empty); empty when performed. */
  wouldEvict?: string[];
  blocked: BlockedPod[];
  failed: { pod: string; error: string }[];
  durationMs: number;
  /** API requests made by the drain (list, evictions, watch). */
  requests: number;
}

/** A pod the drain evicts, and how far it got. */
export interface Tracked {
  key: string;
  namespace: string;
  name: string;
  uid: string;
  state: 'pending' | 'evicting' | 'gone' | 'failed';
  blocked?: BlockedPod;
  error?: string;
}

/** What a drain of the node would evict, skip and refuse (reads only; kubectl drain --dry-run=server's answer). */
export async function planNodeDrain(kube: Kube, node: string, options: DrainFilterOptions): Promise<DrainPlan> {
  return (await classifyNodePods(kube, node, options, kube.clock ?? systemClock)).plan;
}

/** The node's pods and their plan; each DaemonSet that owns one is looked up once. */
async function classifyNodePods(kube: Kube, node: string, options: DrainFilterOptions, clock: Clock): Promise<{ pods: V1Pod[]; plan: DrainPlan }> {
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

/**
 * Drains a node that the caller has cordoned, with the client's clock and signal unless `opts` gives others.
 * Throws DrainRefusedError / DrainFailedError; the node stays cordoned. In dry-run the evictions are planned
 * (through the gate, as Kube.evictPod does) and nothing is waited for.
 */
export async function drainNode(kube: Kube, node: string, opts: Partial<DrainOptions> = {}): Promise<DrainResult> {
  const o: DrainOptions = { ...defaultDrainOptions, clock: kube.clock, signal: kube.signal, ...opts };
  const clock = o.clock ?? systemClock;
  const started = clock.now();
  const requestsBefore = kube.requestCount();
  const { plan } = await classifyNodePods(kube, node, o, clock);
  const base = {
    node,
    skipped: plan.skip.map((s) => ({ pod: s.key, reason: s.verdict.action === 'skip' ? s.verdict.reason : '' })),
    warnings: plan.warnings,
  };
  const refused = refusalError(node, plan);
  if (refused) throw refused;
  const tracked: Tracked[] = plan.evict.map((e) => ({
    key: e.key,
    namespace: e.pod.metadata?.namespace ?? 'default',
    name: e.pod.metadata?.name ?? '',
    uid: e.pod.metadata?.uid ?? '',
    state: 'pending',
  }));
  if (kube.gate.dryRun) {
    for (const t of tracked) await kube.evictPod(t.namespace, t.name, { uid: t.uid, gracePeriodSeconds: o.gracePeriodSeconds, deleteInstead: o.disableEviction });
    // Nothing was evicted: the pods are only planned (wouldEvict), so no caller can mistake them for gone.
    return { ...base, planned: true, evicted: [], wouldEvict: tracked.map((t) => t.key), blocked: [], failed: [], durationMs: clock.now() - started, requests: kube.requestCount() - requestsBefore };
  }

  // Loaded here, not at the top: the watch pulls in client-node, and cookbooks import this module at start-up
  // (`cookbook list` and --help stay light; test/runner/startup.test.ts).
  const { watchGone } = await import('./drain-watch.js');
  const deadline = o.timeoutMs > 0 ? started + o.timeoutMs : Number.POSITIVE_INFINITY;
  // One signal for everything in flight: the deadline and the run's signal abort it, and with it every
  // pending eviction request, the pod list and the watch (no request outlives the drain).
  const inner = new AbortController();
  const onOuterAbort = (): void => inner.abort(o.signal?.reason);
  if (o.signal?.aborted) onOuterAbort();
  o.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const timerStop = new AbortController();
  let timedOut = false;
  if (Number.isFinite(deadline)) {
    clock.sleep(Math.max(0, deadline - clock.now()), timerStop.signal).then(
      () => {
        timedOut = true;
        inner.abort(new DrainDeadline(`drain of ${node} reached its deadline (${formatMs(o.timeoutMs)})`));
      },
      () => undefined,
    );
  }
  const watcher = watchGone(kube, node, tracked, o, clock, inner.signal);
  const evictions = Promise.all(tracked.map((t) => evictOne(kube, t, o, clock, inner.signal, watcher.poke)));
  let failure: unknown;
  try {
    // Both are awaited together, so neither can reject unobserved while the other is pending.
    await Promise.all([evictions, watcher.done]);
  } catch (err) {
    failure = err;
  } finally {
    timerStop.abort();
    o.signal?.removeEventListener('abort', onOuterAbort);
    if (!inner.signal.aborted) inner.abort(new DrainDeadline(`drain of ${node} stopped`));
    watcher.stop();
    // Aborted requests settle at once; wait for them so nothing of this drain runs on after it returns.
    await evictions.catch(() => undefined);
  }
  if (o.signal?.aborted) throwIfAborted(o.signal, `drain of ${node}`);
  if (failure !== undefined) throw failure;
  const { result, error } = drainOutcome(node, tracked, base, { timedOut, timeoutMs: o.timeoutMs, durationMs: clock.now() - started, requests: kube.requestCount() - requestsBefore });
  if (error) throw error;
  return result;
}

/** The refusal of a drain whose plan holds pods that need an opt-in (undefined when there are none). */
export function refusalError(node: string, plan: DrainPlan): DrainRefusedError | undefined {
  if (!plan.refuse.length) return undefined;
  const reasonOf = (r: DrainPlan['refuse'][number]): string => (r.verdict.action === 'refuse' ? r.verdict.reason : '');
  return new DrainRefusedError(`cannot drain ${node}: ${plan.refuse.length} pod(s) need an explicit opt-in: ${plan.refuse.map((r) => `${r.key} (${reasonOf(r)})`).join(', ')}`, {
    context: { node, refused: plan.refuse.map((r) => ({ pod: r.key, reason: reasonOf(r) })) },
    hint: 'nothing was evicted and the node stays cordoned; re-run with the opt-in flags named above, or uncordon it',
  });
}

/**
 * The wait before evicting a pod again after a 429: kubectl's interval at least, growing by 1.5 up to 30 s,
 * with up to 20% jitter so blocked pods do not retry in step; longer when the server's Retry-After asks.
 */
export function evictionRetryDelay(attempt: number, retryMinMs: number, retryAfterMs: number | undefined, random: () => number = Math.random): number {
  const backoff = Math.max(retryMinMs, backoffDelay(attempt, { initialMs: retryMinMs, maxMs: Math.max(retryMinMs, 30_000), factor: 1.5, jitter: 0 })) * (1 + random() * 0.2);
  return Math.max(backoff, retryAfterMs ?? 0);
}

/**
 * What a performed drain did, from its tracked pods: the result, and the error when pods are left (timed out
 * or not), naming the PodDisruptionBudgets that blocked them or the pods still terminating, and failures.
 */
export function drainOutcome(
  node: string,
  tracked: readonly Tracked[],
  base: Pick<DrainResult, 'node' | 'skipped' | 'warnings'>,
  end: { timedOut: boolean; timeoutMs: number; durationMs: number; requests: number },
): { result: DrainResult; error?: DrainFailedError } {
  const result: DrainResult = {
    ...base,
    planned: false,
    evicted: tracked.filter((t) => t.state === 'gone').map((t) => t.key),
    wouldEvict: [],
    blocked: tracked.filter((t) => t.state !== 'gone' && t.blocked).map((t) => t.blocked!),
    failed: tracked.filter((t) => t.state === 'failed').map((t) => ({ pod: t.key, error: t.error ?? 'failed' })),
    durationMs: end.durationMs,
    requests: end.requests,
  };
  const remaining = tracked.filter((t) => t.state !== 'gone');
  if (!remaining.length) return { result };
  const pdbs = [...new Set(result.blocked.flatMap((b) => b.pdbs))];
  const why = result.blocked.length
    ? `blocked by PodDisruptionBudget${pdbs.length === 1 ? '' : 's'} ${pdbs.join(', ') || '(throttling)'}: ${result.blocked.map((b) => b.pod).join(', ')}`
    : `still terminating: ${remaining.map((t) => t.key).join(', ')}`;
  const Err = end.timedOut ? DrainTimeoutError : DrainFailedError;
  const error = new Err(
    `drain of ${node} did not finish${end.timedOut ? ` within ${formatMs(end.timeoutMs)}` : ''}: ${remaining.length} pod(s) left; ${why}${
      result.failed.length ? `; failed: ${result.failed.map((f) => `${f.pod} (${f.error})`).join(', ')}` : ''
    }`,
    {
      context: { node, timedOut: end.timedOut, timeoutMs: end.timeoutMs, remaining: remaining.map((t) => t.key), blocked: result.blocked, failed: result.failed, evicted: result.evicted, result },
      hint: 'the node stays cordoned; fix the blocking PodDisruptionBudgets or pods and run the drain again',
    },
  );
  return { result, error };
}

/** The abort reason of a drain's own deadline (a KubernetesError, so cancelled requests become KubeAbortedError). */
class DrainDeadline extends KubernetesError {}

async function evictOne(kube: Kube, t: Tracked, o: DrainOptions, clock: Clock, signal: AbortSignal, changed: () => void): Promise<void> {
  for (let attempt = 1; !signal.aborted && t.state === 'pending'; attempt++) {
    try {
      const r = await kube.evictPod(t.namespace, t.name, { uid: t.uid, gracePeriodSeconds: o.gracePeriodSeconds, deleteInstead: o.disableEviction, signal });
      if (isPlanned(r)) return;
      if (t.state === 'pending') t.state = 'evicting';
      t.blocked = undefined;
      o.onProgress?.({ pod: t.key, state: 'evicting' });
      return;
    } catch (err) {
      if (signal.aborted || err instanceof KubeAbortedError) return;
      if (err instanceof KubeNotFoundError || err instanceof KubeConflictError) {
        // Gone already, or replaced by a new pod of the same name (UID precondition failed): done with it.
        t.state = 'gone';
        o.onProgress?.({ pod: t.key, state: 'gone' });
        changed();
        return;
      }
      if (err instanceof KubeApiError && err.status === 429) {
        // Only for the message: a failure here must not fail the pod, and the deadline cancels it like the rest.
        const pdbs = await kube.pdbsForPod(t.namespace, t.name, { signal }).catch(() => [] as string[]);
        t.blocked = { pod: t.key, pdbs: pdbs.map((p) => `${t.namespace}/${p}`), message: err.message };
        o.onProgress?.({ pod: t.key, state: 'blocked', detail: t.blocked.pdbs.join(', ') || 'throttled' });
        try {
          await clock.sleep(evictionRetryDelay(attempt, o.retryMinMs, err.retryAfterMs), signal);
        } catch {
          return;
        }
        continue;
      }
      t.state = 'failed';
      t.error = err instanceof Error ? err.message : String(err);
      o.onProgress?.({ pod: t.key, state: 'failed', detail: t.error });
      changed();
      return;
    }
  }
}

export { podKey };
