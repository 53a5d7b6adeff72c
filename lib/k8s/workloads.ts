// Workload readiness (what a reboot waits for after a drain) and which workloads own a node's pods.
import type { V1Pod } from '@kubernetes/client-node';
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

/** Readiness of workloads: Deployments, StatefulSets, DaemonSets (ReplicaSets by their own counts). */
export async function readWorkloadStatus(req: KubeRequester, apis: KubeApis, refs: readonly WorkloadRef[]): Promise<WorkloadStatus[]> {
  const out: WorkloadStatus[] = [];
  for (const ref of refs) {
    const { namespace, name } = ref;
    let desired = 0;
    let ready = 0;
    let isReady = false;
    if (ref.kind === 'Deployment') {
      const d = await req.readOptional(`GET deployment ${namespace}/${name}`, () => apis.apps.readNamespacedDeployment({ namespace, name }));
      if (!d) continue;
      desired = d.spec?.replicas ?? 1;
      ready = d.status?.readyReplicas ?? 0;
      isReady = ready >= desired && (d.status?.updatedReplicas ?? 0) >= desired && (d.status?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0);
    } else if (ref.kind === 'StatefulSet') {
      const s = await req.readOptional(`GET statefulset ${namespace}/${name}`, () => apis.apps.readNamespacedStatefulSet({ namespace, name }));
      if (!s) continue;
      desired = s.spec?.replicas ?? 1;
      ready = s.status?.readyReplicas ?? 0;
      isReady = ready >= desired;
    } else if (ref.kind === 'DaemonSet') {
      const d = await req.readOptional(`GET daemonset ${namespace}/${name}`, () => apis.apps.readNamespacedDaemonSet({ namespace, name }));
      if (!d) continue;
      desired = d.status?.desiredNumberScheduled ?? 0;
      ready = d.status?.numberReady ?? 0;
      isReady = ready >= desired;
    } else {
      const r = await req.readOptional(`GET replicaset ${namespace}/${name}`, () => apis.apps.readNamespacedReplicaSet({ namespace, name }));
      if (!r) continue;
      desired = r.spec?.replicas ?? 1;
      ready = r.status?.readyReplicas ?? 0;
      isReady = ready >= desired;
    }
    out.push({ ...ref, desired, ready, isReady });
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
