// Workload readiness (what a reboot waits for after a drain) and which workloads own a node's pods.
import type { V1DaemonSet, V1Deployment, V1Pod, V1ReplicaSet, V1StatefulSet } from '@kubernetes/client-node';
import { controllerOf } from './drain-plan.js';
import type { KubeRequester } from './requests.js';
import type { KubeApis } from './transport.js';

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

const READ: Record<WorkloadRef['kind'], (apis: KubeApis, namespace: string, name: string) => Promise<WorkloadObject>> = {
  Deployment: (apis, namespace, name) => apis.apps.readNamespacedDeployment({ namespace, name }),
  StatefulSet: (apis, namespace, name) => apis.apps.readNamespacedStatefulSet({ namespace, name }),
  DaemonSet: (apis, namespace, name) => apis.apps.readNamespacedDaemonSet({ namespace, name }),
  ReplicaSet: (apis, namespace, name) => apis.apps.readNamespacedReplicaSet({ namespace, name }),
};

/** Readiness of workloads: Deployments, StatefulSets, DaemonSets (ReplicaSets by their own counts); absent ones are left out. */
export async function readWorkloadStatus(req: KubeRequester, apis: KubeApis, refs: readonly WorkloadRef[]): Promise<WorkloadStatus[]> {
  const out: WorkloadStatus[] = [];
  for (const ref of refs) {
    const { kind, namespace, name } = ref;
    const obj = await req.readOptional(`GET ${kind.toLowerCase()} ${namespace}/${name}`, () => READ[kind](apis, namespace, name));
    if (obj) out.push({ ...ref, ...readinessOf(kind, obj) });
  }
  return out;
}

/** The workloads that own pods (ReplicaSets resolved to their Deployment), deduplicated. */
export async function workloadOwners(req: KubeRequester, apis: KubeApis, pods: readonly V1Pod[]): Promise<WorkloadRef[]> {
  const seen = new Map<string, WorkloadRef>();
  for (const pod of pods) {
    const c = controllerOf(pod);
    const namespace = pod.metadata?.namespace ?? 'default';
    if (!c) continue;
    let ref: WorkloadRef | undefined;
    if (c.kind === 'ReplicaSet') {
      const rs = await req.readOptional(`GET replicaset ${namespace}/${c.name}`, () => apis.apps.readNamespacedReplicaSet({ namespace, name: c.name }));
      const owner = rs?.metadata?.ownerReferences?.find((r) => r.controller);
      ref = owner?.kind === 'Deployment' ? { kind: 'Deployment', namespace, name: owner.name } : { kind: 'ReplicaSet', namespace, name: c.name };
    } else if (c.kind === 'StatefulSet' || c.kind === 'DaemonSet' || c.kind === 'Deployment') {
      ref = { kind: c.kind, namespace, name: c.name };
    }
    if (ref) seen.set(`${ref.kind}/${ref.namespace}/${ref.name}`, ref);
  }
  return [...seen.values()];
}
