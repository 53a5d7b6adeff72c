// PodDisruptionBudget arithmetic, as the disruption controller and the eviction subresource compute it:
// which PDBs cover a pod, expected and desired healthy counts, and the disruptions still allowed.
import { intOrPercent } from './names.js';
import { fromLabelSelectorObject, matchLabels } from './selectors.js';
import type { Store } from './store.js';
import { controllerOf, isPodReady, type KObject } from './types.js';

/** Computed PDB numbers. */
export interface PdbNumbers {
  expectedPods: number;
  desiredHealthy: number;
  currentHealthy: number;
  disruptionsAllowed: number;
  /** Pods the budget covers. */
  pods: KObject[];
}

/** True when a PDB's selector selects the pod (same namespace; an empty selector selects every pod). */
export function pdbSelects(pdb: KObject, pod: KObject): boolean {
  if (pdb.metadata.namespace !== pod.metadata.namespace) return false;
  const sel = fromLabelSelectorObject(pdb.spec?.selector);
  if (!sel) return false;
  return matchLabels(sel, pod.metadata.labels);
}

/** The PDBs covering a pod. */
export function pdbsForPod(store: Store, pod: KObject): KObject[] {
  const spec = store.registry.get('policy', 'poddisruptionbudgets');
  const out: KObject[] = [];
  for (const pdb of store.scan(spec, pod.metadata.namespace)) if (pdbSelects(pdb, pod)) out.push(pdb);
  return out;
}

/** The replicas a pod's controller wants (Deployment through its ReplicaSet, StatefulSet, ReplicaSet). */
function controllerScale(store: Store, pod: KObject, cache: Map<string, { uid: string; scale: number } | undefined>): { uid: string; scale: number } | undefined {
  const ref = controllerOf(pod);
  if (!ref) return undefined;
  if (cache.has(ref.uid)) return cache.get(ref.uid);
  const ns = pod.metadata.namespace;
  let result: { uid: string; scale: number } | undefined;
  if (ref.kind === 'ReplicaSet') {
    const rs = store.get(store.registry.get('apps', 'replicasets'), ns, ref.name);
    if (rs && rs.metadata.uid === ref.uid) {
      const dref = controllerOf(rs);
      const dep = dref?.kind === 'Deployment' ? store.get(store.registry.get('apps', 'deployments'), ns, dref.name) : undefined;
      result = dep && dep.metadata.uid === dref!.uid ? { uid: dep.metadata.uid!, scale: dep.spec?.replicas ?? 1 } : { uid: rs.metadata.uid!, scale: rs.spec?.replicas ?? 1 };
    }
  } else if (ref.kind === 'StatefulSet') {
    const sts = store.get(store.registry.get('apps', 'statefulsets'), ns, ref.name);
    if (sts && sts.metadata.uid === ref.uid) result = { uid: sts.metadata.uid!, scale: sts.spec?.replicas ?? 1 };
  }
  cache.set(ref.uid, result);
  return result;
}

/** Computes a PDB's numbers from the current pods; `disrupted` pods (recently evicted) do not count as healthy. */
export function computePdb(store: Store, pdb: KObject, disrupted: ReadonlySet<string> = new Set()): PdbNumbers {
  const podSpec = store.registry.get('', 'pods');
  const pods: KObject[] = [];
  for (const p of store.scan(podSpec, pdb.metadata.namespace)) if (pdbSelects(pdb, p)) pods.push(p);
  const s = pdb.spec ?? {};
  let expected = pods.length;
  let desired = 0;
  const scaled = () => {
    const cache = new Map<string, { uid: string; scale: number } | undefined>();
    const seen = new Set<string>();
    let total = 0;
    for (const p of pods) {
      const c = controllerScale(store, p, cache);
      if (!c) total += 1;
      else if (!seen.has(c.uid)) {
        seen.add(c.uid);
        total += c.scale;
      }
    }
    return total;
  };
  if (s.maxUnavailable !== undefined && s.maxUnavailable !== null) {
    expected = scaled();
    desired = expected - intOrPercent(s.maxUnavailable, expected, true);
  } else if (typeof s.minAvailable === 'number') {
    desired = s.minAvailable;
  } else if (typeof s.minAvailable === 'string') {
    expected = scaled();
    desired = intOrPercent(s.minAvailable, expected, true);
  }
  if (!Number.isFinite(desired) || desired < 0) desired = 0;
  let healthy = 0;
  for (const p of pods) if (!p.metadata.deletionTimestamp && !disrupted.has(p.metadata.name) && isPodReady(p)) healthy++;
  return { expectedPods: expected, desiredHealthy: desired, currentHealthy: healthy, disruptionsAllowed: Math.max(0, healthy - desired), pods };
}

/** True when a pod counts as healthy for a PDB (Ready, not terminating). */
export function podHealthy(pod: KObject): boolean {
  return !pod.metadata.deletionTimestamp && isPodReady(pod);
}
