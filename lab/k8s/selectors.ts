// Label and field selectors: the query-string syntax (`a=b,c!=d,e in (x,y),!f`) and metav1.LabelSelector.
import { badRequest } from './errors.js';
import type { KObject } from './types.js';

/** One parsed label requirement. */
export interface Requirement {
  key: string;
  op: 'eq' | 'neq' | 'in' | 'notin' | 'exists' | 'notexists';
  values: string[];
}

/** A parsed label selector: all requirements must hold. Empty matches everything. */
export type LabelSelector = Requirement[];

/** Parses the query-string label selector syntax; throws 400 on bad syntax. */
export function parseLabelSelector(text: string | undefined | null): LabelSelector {
  if (!text || !text.trim()) return [];
  const out: Requirement[] = [];
  let i = 0;
  const s = text;
  const skipWs = () => {
    while (i < s.length && /\s/.test(s[i]!)) i++;
  };
  const readKey = () => {
    skipWs();
    const m = /^[A-Za-z0-9_./-]+/.exec(s.slice(i));
    if (!m) throw badRequest(`unable to parse requirement: found '${s.slice(i, i + 10)}', expected: identifier`);
    i += m[0].length;
    return m[0];
  };
  const readValue = () => {
    skipWs();
    const m = /^[A-Za-z0-9_.-]*/.exec(s.slice(i))!;
    i += m[0].length;
    return m[0];
  };
  while (i < s.length) {
    skipWs();
    if (s[i] === '!') {
      i++;
      out.push({ key: readKey(), op: 'notexists', values: [] });
    } else {
      const key = readKey();
      skipWs();
      if (s.startsWith('==', i)) {
        i += 2;
        out.push({ key, op: 'eq', values: [readValue()] });
      } else if (s.startsWith('!=', i)) {
        i += 2;
        out.push({ key, op: 'neq', values: [readValue()] });
      } else if (s[i] === '=') {
        i++;
        out.push({ key, op: 'eq', values: [readValue()] });
      } else if (/^(in|notin)\s*\(/.test(s.slice(i))) {
        const op = s.startsWith('notin', i) ? 'notin' : 'in';
        i = s.indexOf('(', i) + 1;
        const close = s.indexOf(')', i);
        if (close < 0) throw badRequest(`unable to parse requirement: found '', expected: ')'`);
        const values = s
          .slice(i, close)
          .split(',')
          .map((v) => v.trim())
          .filter((v) => v.length);
        i = close + 1;
        out.push({ key, op, values });
      } else if (i >= s.length || s[i] === ',') {
        out.push({ key, op: 'exists', values: [] });
      } else {
        throw badRequest(`unable to parse requirement: found '${s.slice(i, i + 10)}', expected: in, notin, =, ==, !=, gt, lt`);
      }
    }
    skipWs();
    if (i < s.length) {
      if (s[i] !== ',') throw badRequest(`unable to parse requirement: found '${s[i]}', expected: ','`);
      i++;
    }
  }
  return out;
}

/** True when labels satisfy every requirement. */
export function matchLabels(selector: LabelSelector, labels: Record<string, string> | undefined): boolean {
  for (const r of selector) {
    const has = labels !== undefined && Object.prototype.hasOwnProperty.call(labels, r.key);
    const v = has ? labels![r.key] : undefined;
    switch (r.op) {
      case 'eq':
        if (v !== r.values[0]) return false;
        break;
      case 'neq':
        if (v === r.values[0]) return false;
        break;
      case 'in':
        if (!has || !r.values.includes(v!)) return false;
        break;
      case 'notin':
        if (has && r.values.includes(v!)) return false;
        break;
      case 'exists':
        if (!has) return false;
        break;
      case 'notexists':
        if (has) return false;
        break;
    }
  }
  return true;
}

/** A metav1.LabelSelector (matchLabels + matchExpressions). */
export interface LabelSelectorObject {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** Converts a metav1.LabelSelector to requirements; `null`/undefined selects nothing (returns undefined). */
export function fromLabelSelectorObject(sel: LabelSelectorObject | null | undefined): LabelSelector | undefined {
  if (!sel) return undefined;
  const out: Requirement[] = [];
  for (const [key, value] of Object.entries(sel.matchLabels ?? {})) out.push({ key, op: 'eq', values: [value] });
  for (const e of sel.matchExpressions ?? []) {
    const op = ({ In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: 'notexists' } as const)[e.operator as 'In'];
    if (!op) throw badRequest(`${e.operator} is not a valid label selector operator`);
    out.push({ key: e.key, op, values: e.values ?? [] });
  }
  return out;
}

/** The query-string form of a LabelSelector object. */
export function labelSelectorString(sel: LabelSelectorObject | undefined): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(sel?.matchLabels ?? {})) parts.push(`${k}=${v}`);
  for (const e of sel?.matchExpressions ?? []) {
    if (e.operator === 'In') parts.push(`${e.key} in (${(e.values ?? []).join(',')})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${(e.values ?? []).join(',')})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else parts.push(`!${e.key}`);
  }
  return parts.join(',');
}

/** One field requirement (`spec.nodeName=x`, `status.phase!=Running`). */
export interface FieldRequirement {
  field: string;
  op: 'eq' | 'neq';
  value: string;
}

/** Fields each kind can be selected on (besides metadata.name and metadata.namespace). */
const fieldsByKind: Record<string, string[]> = {
  Pod: ['spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'spec.hostNetwork', 'status.phase', 'status.podIP', 'status.nominatedNodeName'],
  Node: ['spec.unschedulable'],
  Event: ['involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name', 'involvedObject.uid', 'involvedObject.apiVersion', 'involvedObject.resourceVersion', 'involvedObject.fieldPath', 'reason', 'reportingComponent', 'source', 'type'],
  Secret: ['type'],
  Namespace: ['status.phase'],
  ReplicaSet: ['status.replicas'],
  Job: ['status.successful'],
};

/** Parses a field selector for a kind; 400 for unsupported fields, as the API server answers. */
export function parseFieldSelector(text: string | undefined | null, kind: string): FieldRequirement[] {
  if (!text || !text.trim()) return [];
  const out: FieldRequirement[] = [];
  for (const part of splitUnescaped(text)) {
    const m = /^\s*([^!=\s]+)\s*(==|!=|=)\s*(.*?)\s*$/.exec(part);
    if (!m) throw badRequest(`invalid selector: '${text}'; can't understand '${part}'`);
    const field = m[1]!;
    if (field !== 'metadata.name' && field !== 'metadata.namespace' && !(fieldsByKind[kind] ?? []).includes(field)) {
      throw badRequest(`field label not supported: ${field}`);
    }
    out.push({ field, op: m[2] === '!=' ? 'neq' : 'eq', value: unescapeFieldValue(m[3]!) });
  }
  return out;
}

function splitUnescaped(text: string): string[] {
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && i + 1 < text.length) {
      cur += c + text[++i];
    } else if (c === ',') {
      parts.push(cur);
      cur = '';
    } else cur += c;
  }
  parts.push(cur);
  return parts.filter((p) => p.trim().length > 0);
}

function unescapeFieldValue(v: string): string {
  return v.replace(/\\(.)/g, '$1');
}

/** The string value of a selectable field of an object ('' when unset, as the API server does). */
export function fieldValue(obj: KObject, field: string): string {
  let cur: unknown = obj;
  for (const part of field.split('.')) {
    if (cur === null || typeof cur !== 'object') return '';
    cur = (cur as Record<string, unknown>)[part];
  }
  if (cur === undefined || cur === null) return field === 'spec.unschedulable' || field === 'spec.hostNetwork' ? 'false' : '';
  return String(cur);
}

/** True when an object satisfies every field requirement. */
export function matchFields(reqs: FieldRequirement[], obj: KObject): boolean {
  for (const r of reqs) {
    const v = fieldValue(obj, r.field);
    if (r.op === 'eq' ? v !== r.value : v === r.value) return false;
  }
  return true;
}
