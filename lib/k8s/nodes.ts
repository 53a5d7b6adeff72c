// Pure helpers over Node objects: readiness, boot id, cordon ownership, label/taint plans.
import type { V1Node, V1Taint } from '@kubernetes/client-node';

/** Annotation we set when we cordon a node, so we only ever uncordon what we cordoned. */
export const CORDON_ANNOTATION = 'cluster-cookbooks.io/cordoned-by';

/** True when the node's Ready condition is True. */
export function isNodeReady(node: V1Node): boolean {
  return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** True when the node is cordoned (spec.unschedulable). */
export function isCordoned(node: V1Node): boolean {
  return node.spec?.unschedulable === true;
}

/** The node's boot id as the kubelet reports it. */
export function nodeBootId(node: V1Node): string | undefined {
  return node.status?.nodeInfo?.bootID || undefined;
}

/** Who cordoned the node, when it was us (parsed annotation), else undefined. */
export function ourCordon(node: V1Node): { runId?: string; cookbook?: string; at?: string } | undefined {
  const raw = node.metadata?.annotations?.[CORDON_ANNOTATION];
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw) as { runId?: string; cookbook?: string; at?: string };
  } catch {
    return {};
  }
}

/** True when the node is unschedulable or not Ready (counts against max-unavailable). */
export function isUnavailable(node: V1Node): boolean {
  return isCordoned(node) || !isNodeReady(node);
}

/** The labels to add or change so that the node carries `wanted` (undefined when nothing is missing). */
export function missingLabels(node: V1Node, wanted: Record<string, string>): Record<string, string> | undefined {
  const have = node.metadata?.labels ?? {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(wanted)) if (have[k] !== v) out[k] = v;
  return Object.keys(out).length ? out : undefined;
}

/** The node's taints with `wanted` merged in (same key+effect replaced), or undefined when already there. */
export function mergedTaints(node: V1Node, wanted: readonly { key: string; value?: string; effect: string }[]): V1Taint[] | undefined {
  const have = node.spec?.taints ?? [];
  const missing = wanted.filter((w) => !have.some((h) => h.key === w.key && h.effect === w.effect && (h.value ?? '') === (w.value ?? '')));
  if (missing.length === 0) return undefined;
  const kept = have.filter((h) => !wanted.some((w) => w.key === h.key && w.effect === h.effect));
  return [...kept, ...wanted.map((w) => ({ key: w.key, value: w.value, effect: w.effect }))];
}
