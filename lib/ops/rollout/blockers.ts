// Blockers of a rollout, checked again before every node: pods matching --block-on-pod label selectors on the
// node, and (blocker-checks.ts) firing Alertmanager alerts matching --block-on-alert, where `{node}` stands for
// the node's name. Pure and light: cookbooks parse their arguments with it, and `cookbook list` loads them
// without any client module.
import type { V1Pod } from '@kubernetes/client-node';
import { UsageError } from '../../core/errors.js';
import { type LabelSelector, type Requirement, matchesSelector, podFinished, podKey } from '../../k8s/pods.js';

export type { LabelSelector, Requirement };

const KEY = /^([a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?\/)?[a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?$/;
const VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function splitTopLevel(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const c of text) {
    if (c === '(') depth++;
    if (c === ')') depth--;
    if (c === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out.map((s) => s.trim()).filter(Boolean);
}

/** Parses a Kubernetes label selector (`app=web,tier!=db,env in (a,b),!legacy,backup`); UsageError when malformed. */
export function parseLabelSelector(text: string, option = 'block-on-pod'): LabelSelector {
  const bad = (why: string): UsageError => new UsageError(`--${option}: "${text}" is not a label selector: ${why}`, { context: { option, selector: text } });
  const parts = splitTopLevel(text);
  if (parts.length === 0) throw bad('it is empty');
  const requirements = parts.map((p): Requirement => {
    let m = /^(\S+?)\s+(in|notin)\s+\((.*)\)$/.exec(p);
    if (m) {
      const values = m[3]!.split(',').map((v) => v.trim()).filter(Boolean);
      if (!KEY.test(m[1]!) || values.some((v) => !VALUE.test(v))) throw bad(`bad key or value in "${p}"`);
      return { key: m[1]!, op: m[2] as 'in' | 'notin', values };
    }
    m = /^(\S+?)\s*(==|=|!=)\s*(\S*)$/.exec(p);
    if (m) {
      if (!KEY.test(m[1]!) || !VALUE.test(m[3]!)) throw bad(`bad key or value in "${p}"`);
      return { key: m[1]!, op: m[2] === '!=' ? '!=' : '=', value: m[3]! };
    }
    m = /^(!?)\s*(\S+)$/.exec(p);
    if (m && KEY.test(m[2]!)) return { key: m[2]!, op: m[1] ? '!exists' : 'exists' };
    throw bad(`cannot read "${p}"`);
  });
  return { text, requirements };
}

/** The reason a node is held by blocking pods on it, or undefined. Finished pods do not block. */
export function podBlocker(pods: readonly V1Pod[], selectors: readonly LabelSelector[]): string | undefined {
  for (const s of selectors) {
    const hits = pods.filter((p) => !podFinished(p) && matchesSelector(s, p.metadata?.labels));
    if (hits.length) return `blocking pod${hits.length > 1 ? 's' : ''} ${hits.slice(0, 3).map(podKey).join(', ')}${hits.length > 3 ? ', ...' : ''} (--block-on-pod ${s.text})`;
  }
  return undefined;
}

/**
 * The matcher text for one node: `{node}` replaced by the node's name. Node names are DNS labels (letters,
 * digits, "-"), which mean themselves in a regex too; escaping here would be undone by the matcher's quoting.
 */
export function alertSpecFor(spec: string, node: string): string {
  return spec.replaceAll('{node}', node);
}

/** True when a spec depends on the node (its answer differs per node). */
export function perNodeSpec(spec: string): boolean {
  return spec.includes('{node}');
}
