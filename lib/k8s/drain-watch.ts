// Knowing when evicted pods are gone: one list of the node's pods, then a watch from that list's
// resourceVersion; whenever the watch ends, list and watch again (nothing is missed in between). A list that
// keeps failing is retried by the client's policy and then ends the drain with its typed error; a watch that
// keeps failing ends it after a bounded number of attempts. Pauses use the drain's Clock.
import { Watch, type V1Pod } from '@kubernetes/client-node';
import type { Clock } from '../core/clock.js';
import { backoffDelay } from '../core/retry.js';
import type { DrainOptions, Tracked } from './drain.js';
import { KubeApiError } from './errors.js';
import type { Kube } from './index.js';
import { toKubeError } from './transport.js';

/** Watches that may fail in a row (each after a fresh list) before the drain gives up. */
export const maxWatchFailures = 6;

const watchBackoff = { initialMs: 200, maxMs: 5_000, factor: 2, jitter: 0.2 };

/** A running wait for the tracked pods to be gone. */
export interface GoneWatch {
  /** Resolves once every tracked pod is gone or failed, or when `signal` aborts; rejects with a typed error. */
  done: Promise<void>;
  /** Call after changing a pod's state outside the watch (so the wait can end without another event). */
  poke(): void;
  /** Ends the watch. */
  stop(): void;
}

/** Starts watching the node's pods until every tracked pod is gone (or failed). */
export function watchGone(kube: Kube, node: string, tracked: readonly Tracked[], o: DrainOptions, clock: Clock, signal: AbortSignal): GoneWatch {
  const byUid = new Map(tracked.map((t) => [t.uid, t]));
  const settled = (): boolean => tracked.every((t) => t.state === 'gone' || t.state === 'failed');
  const stopper = new AbortController();
  const stopSignal = AbortSignal.any([signal, stopper.signal]);
  let endWatch: (() => void) | undefined;
  const markGone = (uid: string | undefined): void => {
    const t = uid ? byUid.get(uid) : undefined;
    if (t && t.state !== 'gone' && t.state !== 'failed') {
      t.state = 'gone';
      o.onProgress?.({ pod: t.key, state: 'gone' });
    }
  };
  const path = '/api/v1/pods';
  const request = `WATCH ${path}?fieldSelector=spec.nodeName=${node}`;

  const loop = async (): Promise<void> => {
    let failures = 0;
    let lastError: KubeApiError | undefined;
    while (!stopSignal.aborted) {
      const list = await kube.listPodsOnNodeWithVersion(node, { signal: stopSignal });
      const present = new Set(list.pods.map((p) => p.metadata?.uid));
      for (const t of tracked) if (!present.has(t.uid)) markGone(t.uid);
      if (settled()) return;
      kube.countRequest('WATCH');
      const error = await watchOnce(kube, path, { fieldSelector: `spec.nodeName=${node}`, resourceVersion: list.resourceVersion, allowWatchBookmarks: true, timeoutSeconds: 300 }, stopSignal, (phase, obj) => {
        if (phase === 'DELETED') markGone(obj.metadata?.uid);
        return settled();
      }, (end) => (endWatch = end));
      endWatch = undefined;
      if (settled() || stopSignal.aborted) return;
      if (error === undefined) {
        // A normal end (server timeout, 410): list again, after a short pause so a server that closes every
        // watch at once is not hammered.
        failures = 0;
        await clock.sleep(watchBackoff.initialMs, stopSignal);
        continue;
      }
      failures++;
      lastError = toWatchError(error, request, node);
      if (failures >= maxWatchFailures) {
        throw new (lastError.constructor as typeof KubeApiError)(`${lastError.message} (gave up after ${failures} failed watches in a row)`, {
          status: lastError.status,
          context: { ...lastError.context, attempts: failures },
          cause: lastError,
          hint: 'the node stays cordoned; check the API server (kubectl get --raw /readyz) and run the drain again',
        });
      }
      await clock.sleep(backoffDelay(failures, watchBackoff), stopSignal);
    }
  };
  // An abort (deadline, interrupt, stop) is not this wait's failure: the drain reports what is left.
  const done = loop().catch((err: unknown) => {
    if (stopSignal.aborted) return;
    throw err;
  });
  return {
    done,
    poke: () => {
      if (settled()) endWatch?.();
    },
    stop: () => stopper.abort(),
  };
}

/** One watch: resolves with undefined when it ended normally (or `onEvent` said enough), else its error. */
function watchOnce(
  kube: Kube,
  path: string,
  params: Record<string, string | number | boolean>,
  signal: AbortSignal,
  onEvent: (phase: string, obj: V1Pod) => boolean,
  setEnd: (end: () => void) => void,
): Promise<unknown> {
  return new Promise<unknown>((resolve) => {
    let controller: AbortController | undefined;
    let finished = false;
    const finish = (error?: unknown): void => {
      if (finished) return;
      finished = true;
      signal.removeEventListener('abort', onAbort);
      controller?.abort();
      resolve(error);
    };
    const onAbort = (): void => finish();
    if (signal.aborted) return finish();
    signal.addEventListener('abort', onAbort, { once: true });
    setEnd(() => finish());
    new Watch(kube.kubeConfig)
      .watch(
        path,
        params,
        (phase, obj: V1Pod) => {
          // ERROR (410 Expired and the like) ends this watch; the next list starts afresh.
          if (phase === 'ERROR') return finish();
          if (onEvent(phase, obj)) finish();
        },
        (err: unknown) => finish(err ?? undefined),
      )
      .then(
        (c) => {
          controller = c;
          if (finished) c.abort();
        },
        (err: unknown) => finish(err ?? new Error('watch failed')),
      );
  });
}

function toWatchError(err: unknown, request: string, node: string): KubeApiError {
  const status = typeof err === 'object' && err !== null && 'statusCode' in err ? Number((err as { statusCode: unknown }).statusCode) : 0;
  if (status) return new KubeApiError(`${request}: HTTP ${status} ${err instanceof Error ? err.message : ''}`.trim(), { status, context: { request, node }, cause: err });
  const e = toKubeError(err, request, { node }, request);
  return e instanceof KubeApiError ? e : new KubeApiError(`${request}: ${e.message}`, { status: 0, context: { request, node }, cause: e });
}
