// Waiting for a rollout: Deployments, StatefulSets and DaemonSets available at their new generation, Jobs
// complete (a failed Job fails at once), with a timeout. The readiness rules are pure functions.
import type { Clock } from '../core/clock.js';
import { systemClock, throwIfAborted } from '../core/clock.js';
import { formatMs } from '../core/retry.js';
import type { ComponentKube } from './client.js';
import { RolloutError } from './errors.js';
import { type KObject, displayName } from './objects.js';

/** Kinds a rollout waits for. */
export const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job']);

/** Readiness of one workload: ready, not yet (why), or failed for good (why). */
export type Readiness = { state: 'ready' } | { state: 'waiting'; why: string } | { state: 'failed'; why: string };

type Any = Record<string, any>;

/** Whether a live workload has rolled out its current generation. */
export function workloadReadiness(obj: KObject): Readiness {
  const o = obj as Any;
  const gen = o.metadata?.generation ?? 0;
  const st = o.status ?? {};
  if (obj.kind !== 'Job' && (st.observedGeneration ?? -1) < gen) return { state: 'waiting', why: `generation ${gen} not observed yet` };
  switch (obj.kind) {
    case 'Deployment': {
      const want = o.spec?.replicas ?? 1;
      if ((st.updatedReplicas ?? 0) < want) return { state: 'waiting', why: `${st.updatedReplicas ?? 0}/${want} updated` };
      if ((st.replicas ?? 0) > (st.updatedReplicas ?? 0)) return { state: 'waiting', why: `${(st.replicas ?? 0) - (st.updatedReplicas ?? 0)} old replicas left` };
      if ((st.availableReplicas ?? 0) < want) return { state: 'waiting', why: `${st.availableReplicas ?? 0}/${want} available` };
      return { state: 'ready' };
    }
    case 'StatefulSet': {
      const want = o.spec?.replicas ?? 1;
      if ((st.readyReplicas ?? 0) < want) return { state: 'waiting', why: `${st.readyReplicas ?? 0}/${want} ready` };
      if ((st.updatedReplicas ?? want) < want) return { state: 'waiting', why: `${st.updatedReplicas}/${want} updated` };
      if (st.updateRevision && st.currentRevision && st.updateRevision !== st.currentRevision) return { state: 'waiting', why: 'update revision not current yet' };
      return { state: 'ready' };
    }
    case 'DaemonSet': {
      const want = st.desiredNumberScheduled ?? 0;
      if ((st.updatedNumberScheduled ?? 0) < want) return { state: 'waiting', why: `${st.updatedNumberScheduled ?? 0}/${want} updated` };
      if ((st.numberAvailable ?? 0) < want) return { state: 'waiting', why: `${st.numberAvailable ?? 0}/${want} available` };
      return { state: 'ready' };
    }
    case 'Job': {
      const conds = (st.conditions ?? []) as { type: string; status: string; message?: string }[];
      const failed = conds.find((c) => c.type === 'Failed' && c.status === 'True');
      if (failed) return { state: 'failed', why: `job failed: ${failed.message ?? 'Failed'}` };
      if (conds.some((c) => c.type === 'Complete' && c.status === 'True') || (st.succeeded ?? 0) >= (o.spec?.completions ?? 1)) return { state: 'ready' };
      return { state: 'waiting', why: `${st.succeeded ?? 0}/${o.spec?.completions ?? 1} completed` };
    }
    default:
      return { state: 'ready' };
  }
}

/** Waits until every workload among `objects` is ready; RolloutError naming the laggards after the timeout. */
export async function waitRollout(
  kube: ComponentKube,
  objects: readonly KObject[],
  options: { timeoutMs: number; clock?: Clock; signal?: AbortSignal; onProgress?: (ready: number, total: number) => void },
): Promise<void> {
  const clock = options.clock ?? systemClock;
  const workloads = objects.filter((o) => WORKLOAD_KINDS.has(o.kind));
  if (workloads.length === 0) return;
  const start = clock.now();
  let pending = [...workloads];
  let last: Map<string, string> = new Map();
  for (let delay = 100; ; delay = Math.min(delay * 2, 1000)) {
    throwIfAborted(options.signal, 'rollout wait');
    const next: KObject[] = [];
    last = new Map();
    for (const w of pending) {
      const live = await kube.read(w);
      const r: Readiness = live ? workloadReadiness(live) : { state: 'waiting', why: 'not found' };
      if (r.state === 'failed') {
        throw new RolloutError(`${displayName(w)}: ${r.why}`, { context: { object: displayName(w) }, hint: `look at it with: kubectl describe ${w.kind.toLowerCase()} -n ${w.metadata.namespace} ${w.metadata.name}` });
      }
      if (r.state === 'waiting') {
        next.push(w);
        last.set(displayName(w), r.why);
      }
    }
    pending = next;
    options.onProgress?.(workloads.length - pending.length, workloads.length);
    if (pending.length === 0) return;
    const elapsed = clock.now() - start;
    if (elapsed >= options.timeoutMs) {
      const why = [...last].map(([n, w]) => `${n} (${w})`).join(', ');
      throw new RolloutError(`rollout not finished after ${formatMs(elapsed)}: ${why}`, {
        context: { waiting: Object.fromEntries(last), timeoutMs: options.timeoutMs },
        hint: 'look at the pods of these workloads (kubectl get pods, kubectl describe); a longer wait is waitTimeout in component.yaml or --timeout',
      });
    }
    await clock.sleep(Math.min(delay, options.timeoutMs - elapsed), options.signal);
  }
}
