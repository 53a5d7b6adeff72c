// Pod facts shared by the drain filter chain, the rollout's facts and the reboot's blockers: one home for
// "finished", a pod's key and label-selector matching (both the API's matchLabels/matchExpressions form, as PDBs
// carry it, and the parsed text form of a --block-on-pod option). Pure and light: no client module is loaded.
import type { V1LabelSelector, V1Pod } from '@kubernetes/client-node';

/** One requirement of a label selector. */
export type Requirement =
  | { key: string; op: '=' | '!='; value: string }
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | '!exists' };

/** A parsed label selector: every requirement must hold. */
export interface LabelSelector {
  text: string;
  requirements: Requirement[];
}

/** True for pods that finished (Succeeded/Failed): they hold no resources and may always go. */
export function podFinished(pod: V1Pod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

/** namespace/name of a pod. */
export function podKey(pod: V1Pod): string {
  return `${pod.metadata?.namespace ?? 'default'}/${pod.metadata?.name ?? '?'}`;
}

const OPERATORS: Record<string, 'in' | 'notin' | 'exists' | '!exists'> = { In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!exists' };

/**
 * The requirements of an API label selector (matchLabels + matchExpressions), or undefined when it uses an
 * operator we do not know (such a selector matches nothing, as the API server would refuse it).
 */
export function requirementsOf(spec: V1LabelSelector): Requirement[] | undefined {
  const out: Requirement[] = Object.entries(spec.matchLabels ?? {}).map(([key, value]) => ({ key, op: '=' as const, value }));
  for (const e of spec.matchExpressions ?? []) {
    const op = OPERATORS[e.operator];
    if (!op) return undefined;
    out.push(op === 'in' || op === 'notin' ? { key: e.key, op, values: e.values ?? [] } : { key: e.key, op });
  }
  return out;
}

function holds(r: Requirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, r.key);
  switch (r.op) {
    case '=':
      return has && labels[r.key] === r.value;
    case '!=':
      return !has || labels[r.key] !== r.value;
    case 'in':
      return has && r.values.includes(labels[r.key]!);
    case 'notin':
      return !has || !r.values.includes(labels[r.key]!);
    case 'exists':
      return has;
    case '!exists':
      return !has;
  }
}

/**
 * True when the labels satisfy the selector, Kubernetes semantics: `!=` and `notin` match a missing label, an
 * empty API selector selects everything (policy/v1), no selector selects nothing.
 */
export function matchesSelector(selector: LabelSelector | V1LabelSelector | undefined, labels: Readonly<Record<string, string>> | undefined): boolean {
  if (!selector) return false;
  const requirements = 'requirements' in selector ? selector.requirements : requirementsOf(selector);
  if (!requirements) return false;
  const l = labels ?? {};
  return requirements.every((r) => holds(r, l));
}
