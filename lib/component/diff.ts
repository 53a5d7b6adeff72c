// The deploy plan, computed purely: each rendered object against the live set members is created, changed or
// unchanged; live members no longer rendered are pruned. Changed objects get a readable line diff of the live
// values at the rendered fields against the rendered values. Secret data is masked on both sides.
import { stringify } from 'yaml';
import { HASH_ANNOTATION, type KObject, displayName, isSubset, objectKey } from './objects.js';

/** What a deploy does to one object. */
export type ObjectAction = 'create' | 'change' | 'unchanged' | 'prune';

/** One object of the plan. */
export interface PlanEntry {
  key: string;
  name: string;
  action: ObjectAction;
  /** For changed objects: unified-style lines (`- live`, `+ rendered`, `  same`), Secret data masked. */
  diff?: string[];
}

/** The plan of a deploy. */
export interface DeployPlan {
  entries: PlanEntry[];
  counts: Record<ObjectAction, number>;
}

/** Secrets carry stringData on the way in and data when read: compare them as data. */
export function normaliseSecret(obj: KObject): KObject {
  if (obj.kind !== 'Secret' || !obj.stringData) return obj;
  const data = { ...(obj.data as Record<string, string> | undefined) };
  for (const [k, v] of Object.entries(obj.stringData as Record<string, string>)) data[k] = Buffer.from(String(v), 'utf8').toString('base64');
  const { stringData: _s, ...rest } = obj;
  return { ...rest, data } as KObject;
}

/** Classifies rendered (stamped) objects against the live members of the set; `diffs: false` skips the readable diffs (the apply only needs the actions). */
export function planDeploy(desired: readonly KObject[], live: ReadonlyMap<string, KObject>, options: { diffs?: boolean } = {}): DeployPlan {
  const withDiffs = options.diffs ?? true;
  const entries: PlanEntry[] = [];
  const wanted = new Set<string>();
  for (const d of desired) {
    const key = objectKey(d);
    wanted.add(key);
    const have = live.get(key);
    if (!have) {
      entries.push({ key, name: displayName(d), action: 'create' });
      continue;
    }
    const want = normaliseSecret(d);
    const same = have.metadata.annotations?.[HASH_ANNOTATION] === d.metadata.annotations?.[HASH_ANNOTATION] && isSubset(want, have);
    entries.push(same ? { key, name: displayName(d), action: 'unchanged' } : { key, name: displayName(d), action: 'change', diff: withDiffs ? objectDiff(want, have) : undefined });
  }
  for (const [key, have] of live) if (!wanted.has(key)) entries.push({ key, name: displayName(have), action: 'prune' });
  const counts = { create: 0, change: 0, unchanged: 0, prune: 0 };
  for (const e of entries) counts[e.action]++;
  return { entries, counts };
}

/** The live values at the rendered object's fields (lists item by item). */
export function projectLive(want: unknown, have: unknown): unknown {
  if (Array.isArray(want)) return Array.isArray(have) ? have.map((h, i) => (i < want.length ? projectLive(want[i], h) : h)) : have;
  if (want && typeof want === 'object') {
    if (!have || typeof have !== 'object' || Array.isArray(have)) return have;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(want)) if ((have as Record<string, unknown>)[k] !== undefined) out[k] = projectLive((want as Record<string, unknown>)[k], (have as Record<string, unknown>)[k]);
    return out;
  }
  return have;
}

/** Replaces Secret values by markers: equal values show `***`, different ones `*** (changed)`. */
export function maskSecrets(want: KObject, live: KObject | undefined): { want: KObject; live: KObject | undefined } {
  if (want.kind !== 'Secret') return { want, live };
  const wd = (want.data ?? {}) as Record<string, string>;
  const ld = (live?.data ?? {}) as Record<string, string>;
  const mark = (k: string, side: 'want' | 'live'): string => (wd[k] === ld[k] ? '***' : `*** (${side === 'want' ? 'new' : 'old'} value)`);
  const w = { ...want, data: Object.fromEntries(Object.keys(wd).map((k) => [k, mark(k, 'want')])) };
  const l = live && { ...live, data: Object.fromEntries(Object.keys(ld).map((k) => [k, mark(k, 'live')])) };
  return { want: w, live: l };
}

/** A readable diff of one changed object: live (projected) against rendered, Secret data masked. */
export function objectDiff(want: KObject, have: KObject): string[] {
  const masked = maskSecrets(want, have);
  const strip = (o: unknown): unknown => {
    const c = structuredClone(o) as KObject;
    if (c?.metadata) delete c.metadata.annotations?.[HASH_ANNOTATION];
    if (c?.metadata?.annotations && Object.keys(c.metadata.annotations).length === 0) delete c.metadata.annotations;
    return c;
  };
  const a = stringify(strip(projectLive(masked.want, masked.live))).trimEnd().split('\n');
  const b = stringify(strip(masked.want)).trimEnd().split('\n');
  return lineDiff(a, b);
}

/** A minimal line diff (LCS): `- ` lines only in `a`, `+ ` only in `b`, `  ` in both. */
export function lineDiff(a: readonly string[], b: readonly string[]): string[] {
  const n = a.length;
  const m = b.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) out.push(`  ${a[i++]}`), j++;
    else if (i < n && (j >= m || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) out.push(`- ${a[i++]}`);
    else out.push(`+ ${b[j++]}`);
  }
  return out;
}

/** The plan as text for the operator: one line per object that changes, diffs indented. */
export function formatPlan(plan: DeployPlan, options: { context?: number } = {}): string {
  const ctxLines = options.context ?? 2;
  const lines: string[] = [];
  for (const e of plan.entries) {
    if (e.action === 'unchanged') continue;
    lines.push(`${{ create: '+ create', change: '~ change', prune: '- prune ', unchanged: '' }[e.action]} ${e.name}`);
    if (e.diff) {
      const keep = e.diff.map((l, i) => !l.startsWith('  ') || e.diff!.slice(Math.max(0, i - ctxLines), i + ctxLines + 1).some((x) => !x.startsWith('  ')));
      e.diff.forEach((l, i) => keep[i] && lines.push(`    ${l}`));
    }
  }
  const c = plan.counts;
  lines.push(`${c.create} to create, ${c.change} to change, ${c.prune} to prune, ${c.unchanged} unchanged`);
  return lines.join('\n');
}
