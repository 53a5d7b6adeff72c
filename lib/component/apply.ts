// Applying many objects: waves in apply order (CRDs, namespaces, config, workloads, custom resources), each
// with bounded concurrency. While it runs, the API server's /readyz is watched: a failing /readyz (or a burst
// of retried errors) pauses the workers; if it stays unhealthy past a limit the apply stops with an error
// instead of piling load on a struggling control plane.
import type { Clock } from '../core/clock.js';
import { systemClock, throwIfAborted } from '../core/clock.js';
import { formatMs } from '../core/retry.js';
import { isPlanned } from '../core/gate.js';
import type { ComponentKube } from './client.js';
import { ApplyError } from './errors.js';
import { type KObject, displayName } from './objects.js';
import { applyRank } from './render.js';

/** How applying behaves. */
export interface ApplyOptions {
  concurrency?: number;
  forceConflicts?: boolean;
  /** Health probe (the API server's /readyz); true when healthy. */
  healthy?: () => Promise<boolean>;
  /** How often health is checked while applying. */
  healthEveryMs?: number;
  /** Stop when unhealthy for this long. */
  stopAfterMs?: number;
  /** Called after each object. */
  onApplied?: (done: number, total: number) => void;
  /** Called when applying pauses or resumes (for the log). */
  onHealth?: (state: 'paused' | 'resumed', detail: string) => void;
  clock?: Clock;
  signal?: AbortSignal;
}

/** Applies objects wave by wave (by apply rank), bounded concurrency, pausing while the API server is unhealthy. */
export async function applyObjects(kube: ComponentKube, objects: readonly KObject[], options: ApplyOptions = {}): Promise<{ applied: number; pauses: number }> {
  const clock = options.clock ?? systemClock;
  const concurrency = Math.max(1, options.concurrency ?? 8);
  const waves = new Map<number, KObject[]>();
  for (const o of objects) {
    const r = applyRank(o.kind);
    if (!waves.has(r)) waves.set(r, []);
    waves.get(r)!.push(o);
  }
  let done = 0;
  let pauses = 0;
  let unhealthySince: number | undefined;
  let lastCheck = 0;
  let stopError: ApplyError | undefined;
  const healthEvery = options.healthEveryMs ?? 1000;
  const stopAfter = options.stopAfterMs ?? 60_000;

  /** Checks health at most every healthEvery ms; blocks (polling) while unhealthy; throws past stopAfter. */
  const gate = async (): Promise<void> => {
    if (!options.healthy) return;
    for (;;) {
      if (stopError) throw stopError;
      throwIfAborted(options.signal, 'apply');
      const now = clock.now();
      if (unhealthySince === undefined && now - lastCheck < healthEvery) return;
      lastCheck = now;
      const ok = await options.healthy();
      if (ok) {
        if (unhealthySince !== undefined) options.onHealth?.('resumed', `after ${formatMs(clock.now() - unhealthySince)}`);
        unhealthySince = undefined;
        return;
      }
      if (unhealthySince === undefined) {
        unhealthySince = clock.now();
        pauses++;
        options.onHealth?.('paused', 'the API server /readyz fails');
      }
      if (clock.now() - unhealthySince >= stopAfter) {
        stopError = new ApplyError(`stopped applying: the API server stayed unhealthy (/readyz) for ${formatMs(clock.now() - unhealthySince)} (${done} of ${objects.length} objects applied)`, {
          context: { applied: done, total: objects.length, request: 'GET /readyz' },
          hint: 'check the control plane (kubectl get --raw /readyz?verbose); the deploy can be run again once it is healthy',
        });
        throw stopError;
      }
      await clock.sleep(Math.min(healthEvery, 500), options.signal);
    }
  };

  for (const rank of [...waves.keys()].sort((a, b) => a - b)) {
    const queue = [...waves.get(rank)!];
    const worker = async (): Promise<void> => {
      for (let obj = queue.shift(); obj; obj = queue.shift()) {
        await gate();
        // Thousands of objects: the stored copies are not read back (the rollout wait reads what it needs).
        const r = await kube.apply(obj, { forceConflicts: options.forceConflicts, result: false });
        if (!isPlanned(r) && !r) throw new ApplyError(`apply of ${displayName(obj)} returned nothing`, { context: { object: displayName(obj) } });
        done++;
        options.onApplied?.(done, objects.length);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
  }
  return { applied: done, pauses };
}
