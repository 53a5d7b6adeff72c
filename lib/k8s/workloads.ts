// Workload readiness (what a reboot waits for after a drain) and which workloads own a node's pods.
import type { V1DaemonSet, V1Deployment, V1Pod, V1ReplicaSet, V1StatefulSet } from '@kubernetes/client-node';
import { mapLimit } from '../core/pool.js';
import { controllerOf } from './drain-plan.js';
import type { KubeRequester } from './requests.js';

/** A workload to wait for. */
export interface WorkloadRef {
  kind: 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'ReplicaSet';
  namespace: string;
  name: string;
}

/** Readiness of one workload. */
export interface WorkloadStatus extends WorkloadRef {
  desired: number;
  ready: number;
  isReady: boolean;
}

/** A workload object as the API returns it. */
export type WorkloadObject = V1Deployment | V1StatefulSet | V1DaemonSet | V1ReplicaSet;

/**
 * How far a workload is from ready, from its object (pure): ready replicas against the desired count; a
 * Deployment also needs every replica updated and its controller to have seen the latest spec (a rollout that
 * has not started yet is not "ready"); a DaemonSet counts the nodes it should run on.
 */
export function readinessOf(kind: WorkloadRef['kind'], obj: WorkloadObject): { desired: number; ready: number; isReady: boolean } {
  if (kind === 'DaemonSet') {
    const d = obj as V1DaemonSet;
    const desired = d.status?.desiredNumberScheduled ?? 0;
    const ready = d.status?.numberReady ?? 0;
    return { desired, ready, isReady: ready >= desired };
  }
  const o = obj as V1Deployment | V1StatefulSet | V1ReplicaSet;
  const desired = o.spec?.replicas ?? 1;
  const ready = o.status?.readyReplicas ?? 0;
  if (kind !== 'Deployment') return { desired, ready, isReady: ready >= desired };
  const d = obj as V1Deployment;
  const rolledOut = (d.status?.updatedReplicas ?? 0) >= desired && (d.status?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0);
  return { desired, ready, isReady: ready >= desired && rolledOut };
}

const PLURAL: Record<WorkloadRef['kind'], string> = { Deployment: 'deployments', StatefulSet: 'statefulsets', DaemonSet: 'daemonsets', ReplicaSet: 'replicasets' };

/** Reads one object as plain JSON by its URL path (the client's lean path: no model deserializer per object). */
export type JsonGet = <T>(path: string) => Promise<T>;

const objectPath = (kind: WorkloadRef['kind'], namespace: string, name: string): string => `/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}/${PLURAL[kind]}/${encodeURIComponent(name)}`;

/** Reads at a time: a node's workloads are ~170 in a big cluster, and one after the other is 170 round trips. */
const CONCURRENCY = 8;

/** Readiness of workloads: Deployments, StatefulSets, DaemonSets (ReplicaSets by their own counts); absent ones are left out. */
export async function readWorkloadStatus(req: KubeRequester, get: JsonGet, refs: readonly WorkloadRef[]): Promise<WorkloadStatus[]> {
  const read = await mapLimit(refs, CONCURRENCY, async (ref) => {
    const { kind, namespace, name } = ref;
    const obj = await req.readOptional(`GET ${kind.toLowerCase()} ${namespace}/${name}`, () => get<WorkloadObject>(objectPath(kind, namespace, name)));
    return obj ? { ...ref, ...readinessOf(kind, obj) } : undefined;
  });
  return read.filter((s): s is WorkloadStatus => s !== undefined);
}

/**
 * The workloads that own pods (ReplicaSets resolved to their Deployment), deduplicated. `cache` (by the
 * ReplicaSet's UID; a UID is never reused and a ReplicaSet does not change its controller) spares a rollout
 * reading the same ReplicaSet again for each node its replicas ran on; it holds the lookup itself, so pods of
 * one ReplicaSet read at the same time share one request.
 */
export async function workloadOwners(req: KubeRequester, get: JsonGet, pods: readonly V1Pod[], cache?: Map<string, Promise<WorkloadRef>>): Promise<WorkloadRef[]> {
  const refs = await mapLimit(pods, CONCURRENCY, async (pod): Promise<WorkloadRef | undefined> => {
    const c = controllerOf(pod);
    const namespace = pod.metadata?.namespace ?? 'default';
    if (!c) return undefined;
    if (c.kind === 'StatefulSet' || c.kind === 'DaemonSet' || c.kind === 'Deployment') return { kind: c.kind, namespace, name: c.name };
    if (c.kind !== 'ReplicaSet') return undefined;
    const uid = pod.metadata?.ownerReferences?.find((r) => r.controller)?.uid;
    const known = uid ? cache?.get(uid) : undefined;
    if (known) return known;
    const lookup = (async (): Promise<WorkloadRef> => {
      const rs = await req.readOptional(`GET replicaset ${namespace}/${c.name}`, () => get<V1ReplicaSet>(objectPath('ReplicaSet', namespace, c.name)));
      // Only what was read is kept: a ReplicaSet that is gone (404), or another one by now, is asked again next time.
      if (uid && !(rs && rs.metadata?.uid === uid)) cache?.delete(uid);
      const owner = rs?.metadata?.ownerReferences?.find((r) => r.controller);
      return owner?.kind === 'Deployment' ? { kind: 'Deployment', namespace, name: owner.name } : { kind: 'ReplicaSet', namespace, name: c.name };
    })();
    if (uid && cache) {
      cache.set(uid, lookup);
      lookup.catch(() => cache.delete(uid));
    }
    return lookup;
  });
  const seen = new Map<string, WorkloadRef>();
  for (const ref of refs) if (ref) seen.set(`${ref.kind}/${ref.namespace}/${ref.name}`, ref);
  return [...seen.values()];
}
