// Helpers the scheduler and the workload controllers share: taints and tolerations, node selection rules,
// resource requests, and building a pod from a workload's template.
import { parseQuantity } from '../names.js';
import { clone, type KObject, type OwnerReference } from '../types.js';

/** A node taint. */
export interface Taint {
  key: string;
  value?: string;
  effect: string;
  timeAdded?: string;
}

/** A pod toleration. */
export interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
  tolerationSeconds?: number;
}

/** True when a toleration tolerates a taint (the API's ToleratesTaint). */
export function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  if (!t.key && t.operator !== 'Exists') return false;
  if (t.operator === 'Exists') return true;
  return (t.value ?? '') === (taint.value ?? '');
}

/** The first taint with one of `effects` that no toleration tolerates. */
export function untoleratedTaint(taints: Taint[] | undefined, tolerations: Toleration[] | undefined, effects: string[]): Taint | undefined {
  for (const taint of taints ?? []) {
    if (!effects.includes(taint.effect)) continue;
    if (!(tolerations ?? []).some((t) => tolerates(t, taint))) return taint;
  }
  return undefined;
}

interface NodeSelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}

function requirementMatches(r: NodeSelectorRequirement, value: string | undefined): boolean {
  switch (r.operator) {
    case 'In':
      return value !== undefined && (r.values ?? []).includes(value);
    case 'NotIn':
      return value === undefined || !(r.values ?? []).includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
      return value !== undefined && Number(value) > Number(r.values?.[0]);
    case 'Lt':
      return value !== undefined && Number(value) < Number(r.values?.[0]);
    default:
      return false;
  }
}

/** True when the pod's nodeSelector and required node affinity admit the node. */
export function nodeSelectorMatches(podSpec: Record<string, any>, node: KObject): boolean {
  const labels: Record<string, string> = node.metadata.labels ?? {};
  for (const [k, v] of Object.entries((podSpec.nodeSelector ?? {}) as Record<string, string>)) if (labels[k] !== v) return false;
  const terms = podSpec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms as
    | { matchExpressions?: NodeSelectorRequirement[]; matchFields?: NodeSelectorRequirement[] }[]
    | undefined;
  if (!terms || terms.length === 0) return true;
  return terms.some(
    (t) =>
      (t.matchExpressions ?? []).every((r) => requirementMatches(r, labels[r.key])) &&
      (t.matchFields ?? []).every((r) => requirementMatches(r, r.key === 'metadata.name' ? node.metadata.name : undefined)),
  );
}

/** CPU (cores) and memory (bytes) a pod requests (init containers: the max, as the scheduler counts). */
export function podRequests(pod: KObject): { cpu: number; memory: number } {
  let cpu = 0;
  let memory = 0;
  for (const c of pod.spec?.containers ?? []) {
    const r = c.resources?.requests ?? c.resources?.limits ?? {};
    cpu += parseQuantity(r.cpu ?? 0) || 0;
    memory += parseQuantity(r.memory ?? 0) || 0;
  }
  for (const c of pod.spec?.initContainers ?? []) {
    const r = c.resources?.requests ?? {};
    cpu = Math.max(cpu, parseQuantity(r.cpu ?? 0) || 0);
    memory = Math.max(memory, parseQuantity(r.memory ?? 0) || 0);
  }
  return { cpu, memory };
}

/** A node's allocatable cpu (cores), memory (bytes) and pod count. */
export function allocatable(node: KObject): { cpu: number; memory: number; pods: number } {
  // Stored objects are never changed in place, so the parse is cached per object: the scheduler asks for
  // every feasible node of every pod (60 nodes x 10,000 pods in a model-scale twin).
  const cached = allocatableCache.get(node);
  if (cached) return cached;
  const a = node.status?.allocatable ?? node.status?.capacity ?? {};
  const out = Object.freeze({
    cpu: a.cpu !== undefined ? parseQuantity(a.cpu) : Infinity,
    memory: a.memory !== undefined ? parseQuantity(a.memory) : Infinity,
    pods: a.pods !== undefined ? parseQuantity(a.pods) : 110,
  });
  allocatableCache.set(node, out);
  return out;
}
const allocatableCache = new WeakMap<KObject, { cpu: number; memory: number; pods: number }>();

/** A controller owner reference to `owner`. */
export function ownerRef(owner: KObject): OwnerReference {
  return { apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata.name, uid: owner.metadata.uid!, controller: true, blockOwnerDeletion: true };
}

/** A new pod object from a pod template. */
export function podFromTemplate(template: KObject['spec'], ns: string, name: string, owner: KObject, extraLabels: Record<string, string> = {}): KObject {
  const t = clone(template ?? {});
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: ns,
      labels: { ...(t.metadata?.labels ?? {}), ...extraLabels },
      ...(t.metadata?.annotations ? { annotations: t.metadata.annotations } : {}),
      ownerReferences: [ownerRef(owner)],
    },
    spec: t.spec ?? {},
  };
}

/** Sort key for choosing which pods a controller deletes first (unscheduled, pending, not ready, newest). */
export function deletionRank(pod: KObject): number[] {
  const scheduled = pod.spec?.nodeName ? 1 : 0;
  const running = pod.status?.phase === 'Running' ? 1 : 0;
  const ready = (pod.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True') ? 1 : 0;
  const created = -Date.parse(pod.metadata.creationTimestamp ?? '') || 0;
  return [scheduled, running, ready, created];
}

/** Compares two rank arrays. */
export function compareRank(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}
