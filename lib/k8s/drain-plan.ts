// The drain filter chain, kept pure and separate from eviction (as kubectl's pkg/drain does): each pod goes
// through the filters in kubectl's order and the first filter that objects decides. Errors stop the node's
// drain before a single eviction; warnings are reported; skipped pods stay.
import type { V1Pod } from '@kubernetes/client-node';
import { podFinished, podKey } from './pods.js';

export { podKey };

/** Explicit opt-ins, as kubectl drain's flags. */
export interface DrainFilterOptions {
  /** Leave DaemonSet pods alone (kubectl --ignore-daemonsets). Our default: true, as every operator passes it. */
  ignoreDaemonSets: boolean;
  /** Evict pods with emptyDir volumes; their data is lost (kubectl --delete-emptydir-data). */
  deleteEmptyDirData: boolean;
  /** Evict pods no controller will recreate (kubectl --force). */
  forceUnmanaged: boolean;
  /** Pods terminating for longer than this are skipped (kubectl --skip-wait-for-delete-timeout; 0 = off). */
  skipWaitForDeleteTimeoutSeconds: number;
}

/** Defaults: kubectl's, except DaemonSet pods are ignored (the flag every operator passes). */
export const defaultDrainFilterOptions: DrainFilterOptions = Object.freeze({
  ignoreDaemonSets: true,
  deleteEmptyDirData: false,
  forceUnmanaged: false,
  skipWaitForDeleteTimeoutSeconds: 0,
});

/** What the chain decided for one pod. */
export type PodVerdict =
  | { action: 'evict'; warning?: string }
  | { action: 'skip'; reason: string; warning?: string }
  | { action: 'refuse'; reason: string };

/** A pod with its verdict. */
export interface ClassifiedPod {
  pod: V1Pod;
  /** namespace/name */
  key: string;
  verdict: PodVerdict;
}

/** The plan for one node. */
export interface DrainPlan {
  evict: ClassifiedPod[];
  skip: ClassifiedPod[];
  refuse: ClassifiedPod[];
  warnings: string[];
}

/** Facts the chain needs beyond the pod itself (looked up by the caller). */
export interface DrainFacts {
  /** Whether the DaemonSet `namespace/name` still exists. */
  daemonSetExists(namespace: string, name: string): boolean;
  /** Now, in milliseconds (for the terminating-pod filter). */
  now: number;
}

type Filter = (pod: V1Pod, o: DrainFilterOptions, f: DrainFacts) => PodVerdict | undefined;

const MIRROR_ANNOTATION = 'kubernetes.io/config.mirror';

/** The pod's controller owner reference, if any. */
export function controllerOf(pod: V1Pod): { kind: string; name: string } | undefined {
  const ref = pod.metadata?.ownerReferences?.find((r) => r.controller);
  return ref ? { kind: ref.kind, name: ref.name } : undefined;
}

/** True when the pod uses an emptyDir volume (local data lost on eviction). */
export function hasLocalStorage(pod: V1Pod): boolean {
  return (pod.spec?.volumes ?? []).some((v) => v.emptyDir !== undefined && v.emptyDir !== null);
}

const skipDeleted: Filter = (pod, o, f) => {
  const ts = pod.metadata?.deletionTimestamp;
  if (!ts || o.skipWaitForDeleteTimeoutSeconds <= 0) return undefined;
  const since = f.now - new Date(ts).getTime();
  if (since > o.skipWaitForDeleteTimeoutSeconds * 1000) return { action: 'skip', reason: 'terminating for longer than the skip timeout' };
  return undefined;
};

const daemonSet: Filter = (pod, o, f) => {
  const c = controllerOf(pod);
  if (!c || c.kind !== 'DaemonSet') return undefined;
  const ns = pod.metadata?.namespace ?? 'default';
  if (!f.daemonSetExists(ns, c.name)) {
    if (o.forceUnmanaged) return { action: 'evict', warning: `deleting pod ${podKey(pod)}: its DaemonSet ${c.name} is gone` };
    return { action: 'refuse', reason: `its DaemonSet ${c.name} is gone (use --force-unmanaged to delete it)` };
  }
  if (!o.ignoreDaemonSets) return { action: 'refuse', reason: 'managed by a DaemonSet (cannot delete DaemonSet-managed pods)' };
  return { action: 'skip', reason: 'DaemonSet-managed', warning: `ignoring DaemonSet-managed pod ${podKey(pod)}` };
};

const mirror: Filter = (pod) => (pod.metadata?.annotations?.[MIRROR_ANNOTATION] !== undefined ? { action: 'skip', reason: 'mirror (static) pod' } : undefined);

const localStorage: Filter = (pod, o) => {
  if (!hasLocalStorage(pod) || podFinished(pod)) return undefined;
  if (!o.deleteEmptyDirData) return { action: 'refuse', reason: 'uses emptyDir local storage (use --delete-emptydir-data)' };
  return { action: 'evict', warning: `deleting pod ${podKey(pod)} with local storage` };
};

const unreplicated: Filter = (pod, o) => {
  if (podFinished(pod) || controllerOf(pod)) return undefined;
  if (!o.forceUnmanaged) return { action: 'refuse', reason: 'has no controller, nothing would recreate it (use --force-unmanaged)' };
  return { action: 'evict', warning: `deleting pod ${podKey(pod)} that declares no controller` };
};

/** kubectl's filter order. */
const CHAIN: Filter[] = [skipDeleted, daemonSet, mirror, localStorage, unreplicated];

/** Classifies one pod: the first filter that skips or refuses wins; evict warnings accumulate. */
export function classifyPod(pod: V1Pod, options: DrainFilterOptions, facts: DrainFacts): PodVerdict {
  const warnings: string[] = [];
  for (const filter of CHAIN) {
    const v = filter(pod, options, facts);
    if (!v) continue;
    if (v.action !== 'evict') return warnings.length && v.action === 'skip' ? { ...v, warning: [v.warning, ...warnings].filter(Boolean).join('; ') } : v;
    if (v.warning) warnings.push(v.warning);
  }
  return warnings.length ? { action: 'evict', warning: warnings.join('; ') } : { action: 'evict' };
}

/** Classifies every pod of a node into evict / skip / refuse, with the warnings to show. */
export function planDrain(pods: readonly V1Pod[], options: DrainFilterOptions, facts: DrainFacts): DrainPlan {
  const plan: DrainPlan = { evict: [], skip: [], refuse: [], warnings: [] };
  for (const pod of pods) {
    const verdict = classifyPod(pod, options, facts);
    const item = { pod, key: podKey(pod), verdict };
    if (verdict.action === 'evict') plan.evict.push(item);
    else if (verdict.action === 'skip') plan.skip.push(item);
    else plan.refuse.push(item);
    if ('warning' in verdict && verdict.warning) plan.warnings.push(verdict.warning);
  }
  return plan;
}
