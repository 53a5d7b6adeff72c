// Server-side apply and managedFields. Field ownership is kept as sets of field paths (`f:spec` `f:replicas`,
// list items `k:{"name":"web"}`, set members `v:"x"`) and shown as FieldsV1 trees in metadata.managedFields.
// Apply merges the configuration into the live object, refuses to change a field another manager owns
// (409 unless force), and removes fields this manager applied before but no longer applies and nobody else owns.
import { ApiError } from './errors.js';
import { listStrategy } from './patch.js';
import { clone, isPlainObject, jsonEqual, k8sTime, type KObject, type ManagedFieldsEntry } from './types.js';

type JsonObject = Record<string, unknown>;
/** Field paths joined with SEP. */
export type FieldSet = Set<string>;
const SEP = '\n';

/** Metadata fields the server owns; they never appear in managedFields. */
const SYSTEM_METADATA = new Set(['name', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'managedFields', 'selfLink', 'generateName']);

/** The field set of an object or applied configuration (status only when `withStatus`). */
export function fieldSetOf(obj: JsonObject, withStatus = false): FieldSet {
  const out: FieldSet = new Set();
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'apiVersion' || k === 'kind') continue;
    if (k === 'status' && !withStatus) continue;
    if (k === 'metadata' && isPlainObject(v)) {
      const meta = Object.fromEntries(Object.entries(v).filter(([mk]) => !SYSTEM_METADATA.has(mk)));
      if (Object.keys(meta).length === 0) continue;
      out.add('f:metadata');
      walk(meta, ['f:metadata'], ['metadata'], out);
      continue;
    }
    walkValue(k, v, [], [], out);
  }
  return out;
}

function walk(obj: JsonObject, path: string[], struct: string[], out: FieldSet): void {
  for (const [k, v] of Object.entries(obj)) walkValue(k, v, path, struct, out);
}

function walkValue(k: string, v: unknown, path: string[], struct: string[], out: FieldSet): void {
  const p = [...path, `f:${k}`];
  const sp = [...struct, k];
  out.add(p.join(SEP));
  if (isPlainObject(v)) {
    walk(v, p, sp, out);
  } else if (Array.isArray(v)) {
    const strategy = listStrategy(sp);
    if (strategy?.mergeKey && v.every(isPlainObject)) {
      for (const item of v as JsonObject[]) {
        const ip = [...p, itemKey(item, strategy.mergeKey)];
        out.add(ip.join(SEP));
        walk(item, ip, sp, out);
      }
    } else if (strategy?.primitiveMerge) {
      for (const item of v) out.add([...p, `v:${JSON.stringify(item)}`].join(SEP));
    }
  }
}

function itemKey(item: JsonObject, key: string): string {
  return `k:${JSON.stringify({ [key]: item[key] })}`;
}

/** FieldsV1 tree of a field set. */
export function toFieldsV1(set: FieldSet): JsonObject {
  const root: JsonObject = {};
  const paths = [...set].sort();
  const parents = parentsOf(set);
  for (const path of paths) {
    let node = root;
    for (const el of path.split(SEP)) {
      if (!isPlainObject(node[el])) node[el] = {};
      node = node[el] as JsonObject;
    }
    if (parents.has(path) && path.split(SEP).at(-1)!.startsWith('k:')) node['.'] = {};
  }
  return root;
}

/** Field set of a FieldsV1 tree. */
export function fromFieldsV1(tree: unknown, prefix: string[] = [], out: FieldSet = new Set()): FieldSet {
  if (!isPlainObject(tree)) return out;
  for (const [k, v] of Object.entries(tree)) {
    if (k === '.') continue;
    const p = [...prefix, k];
    out.add(p.join(SEP));
    fromFieldsV1(v, p, out);
  }
  return out;
}

function parentsOf(set: FieldSet): Set<string> {
  const parents = new Set<string>();
  for (const path of set) {
    const els = path.split(SEP);
    for (let i = 1; i < els.length; i++) parents.add(els.slice(0, i).join(SEP));
  }
  return parents;
}

function leavesOf(set: FieldSet): string[] {
  const parents = parentsOf(set);
  return [...set].filter((p) => !parents.has(p));
}

/** `.spec.template.spec.containers[name="web"].image`, as conflicts are reported. */
export function displayPath(path: string): string {
  return path
    .split(SEP)
    .map((el) => {
      if (el.startsWith('f:')) return `.${el.slice(2)}`;
      if (el.startsWith('k:')) {
        const obj = JSON.parse(el.slice(2)) as JsonObject;
        return `[${Object.entries(obj)
          .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
          .join(',')}]`;
      }
      if (el.startsWith('v:')) return `[${el.slice(2)}]`;
      return el;
    })
    .join('');
}

const MISSING = Symbol('missing');

function valueAt(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const el of path.split(SEP)) {
    if (el.startsWith('f:')) {
      if (!isPlainObject(cur) || !(el.slice(2) in cur)) return MISSING;
      cur = cur[el.slice(2)];
    } else if (el.startsWith('k:')) {
      if (!Array.isArray(cur)) return MISSING;
      const want = JSON.parse(el.slice(2)) as JsonObject;
      cur = cur.find((x) => isPlainObject(x) && Object.entries(want).every(([k, v]) => jsonEqual(x[k], v)));
      if (cur === undefined) return MISSING;
    } else if (el.startsWith('v:')) {
      if (!Array.isArray(cur)) return MISSING;
      const want = JSON.parse(el.slice(2));
      if (!cur.some((x) => jsonEqual(x, want))) return MISSING;
      cur = want;
    }
  }
  return cur;
}

function deleteAt(obj: JsonObject, path: string): void {
  const els = path.split(SEP);
  const parentPath = els.slice(0, -1).join(SEP);
  const parent = els.length === 1 ? obj : valueAt(obj, parentPath);
  if (parent === MISSING) return;
  const el = els[els.length - 1]!;
  if (el.startsWith('f:') && isPlainObject(parent)) delete parent[el.slice(2)];
  else if (el.startsWith('k:') && Array.isArray(parent)) {
    const want = JSON.parse(el.slice(2)) as JsonObject;
    const i = parent.findIndex((x) => isPlainObject(x) && Object.entries(want).every(([k, v]) => jsonEqual(x[k], v)));
    if (i >= 0) parent.splice(i, 1);
  } else if (el.startsWith('v:') && Array.isArray(parent)) {
    const want = JSON.parse(el.slice(2));
    const i = parent.findIndex((x) => jsonEqual(x, want));
    if (i >= 0) parent.splice(i, 1);
  }
}

/** Merges an applied configuration into a live object (keyed lists by key, sets by value, the rest replaced). */
export function applyMerge(live: unknown, config: unknown, struct: string[] = []): unknown {
  if (isPlainObject(config)) {
    const out: JsonObject = isPlainObject(live) ? { ...live } : {};
    for (const [k, v] of Object.entries(config)) {
      if (v === null) delete out[k];
      else out[k] = applyMerge(out[k], v, [...struct, k]);
    }
    return out;
  }
  if (Array.isArray(config)) {
    const strategy = listStrategy(struct);
    const cur = Array.isArray(live) ? live : [];
    if (strategy?.mergeKey && config.every(isPlainObject)) {
      const key = strategy.mergeKey;
      const out = [...cur];
      for (const item of config as JsonObject[]) {
        const i = out.findIndex((x) => isPlainObject(x) && jsonEqual(x[key], item[key]));
        if (i >= 0) out[i] = applyMerge(out[i], item, struct);
        else out.push(clone(item));
      }
      return out;
    }
    if (strategy?.primitiveMerge) {
      const out = [...cur];
      for (const v of config) if (!out.some((x) => jsonEqual(x, v))) out.push(v);
      return out;
    }
    return clone(config);
  }
  return config;
}

/** Ownership sets by (manager, operation, subresource), read from metadata.managedFields. */
interface Owner {
  entry: ManagedFieldsEntry;
  set: FieldSet;
}

function ownersOf(obj: KObject | undefined): Owner[] {
  return (obj?.metadata.managedFields ?? []).map((entry) => ({ entry, set: fromFieldsV1(entry.fieldsV1) }));
}

function writeOwners(obj: KObject, owners: Owner[]): void {
  const entries = owners
    .filter((o) => o.set.size > 0)
    .map((o) => ({ ...o.entry, fieldsV1: toFieldsV1(o.set) }));
  if (entries.length) obj.metadata.managedFields = entries;
  else delete obj.metadata.managedFields;
}

function sameOwner(e: ManagedFieldsEntry, manager: string, operation: string, subresource?: string): boolean {
  return e.manager === manager && e.operation === operation && (e.subresource ?? '') === (subresource ?? '');
}

/**
 * Server-side apply of `config` by `manager` onto `live` (undefined: create). Returns the new object (without
 * server-set metadata) or throws 409 listing conflicts when another manager owns a changed field and !force.
 */
export function serverSideApply(live: KObject | undefined, config: KObject, manager: string, force: boolean, apiVersion: string): KObject {
  const cfgSet = fieldSetOf(config);
  const owners = ownersOf(live);
  const mine = owners.find((o) => sameOwner(o.entry, manager, 'Apply'));
  const others = owners.filter((o) => o !== mine);

  if (live) {
    const conflicts: { manager: string; apiVersion: string; path: string }[] = [];
    for (const leaf of leavesOf(cfgSet)) {
      const want = valueAt(config, leaf);
      const have = valueAt(live, leaf);
      if (have === MISSING || jsonEqual(want, have)) continue;
      // Maps are granular: applying `{}` claims no member field, so it conflicts with nobody.
      if (isPlainObject(want) && isPlainObject(have)) continue;
      for (const o of others) if (o.set.has(leaf) && !(o.entry.subresource)) conflicts.push({ manager: o.entry.manager, apiVersion: o.entry.apiVersion, path: leaf });
    }
    if (conflicts.length && !force) throw conflictError(live, conflicts);
    if (force) for (const c of conflicts) for (const o of others) o.set.delete(c.path);
  }

  const base = live ? clone(live) : { apiVersion: config.apiVersion, kind: config.kind, metadata: { name: config.metadata.name } };
  const { status: _ignored, ...cfgNoStatus } = config;
  const merged = applyMerge(base, cfgNoStatus) as KObject;

  // Fields this manager applied before, applies no longer, and nobody else holds: remove them.
  if (mine) {
    const othersUnion = new Set<string>();
    for (const o of others) for (const p of o.set) othersUnion.add(p);
    const othersParents = parentsOf(othersUnion);
    const gone = [...mine.set].filter((p) => !cfgSet.has(p) && !othersUnion.has(p) && !othersParents.has(p));
    const mineParents = parentsOf(mine.set);
    const removable = gone.filter((p) => !mineParents.has(p) || p.split(SEP).at(-1)!.startsWith('k:'));
    removable.sort((a, b) => a.length - b.length);
    for (const p of removable) deleteAt(merged, p);
  }

  const now = k8sTime();
  const next: Owner[] = others.map((o) => ({ entry: o.entry, set: o.set }));
  next.unshift({ entry: { manager, operation: 'Apply', apiVersion, time: now, fieldsType: 'FieldsV1', fieldsV1: {} }, set: cfgSet });
  writeOwners(merged, next);
  return merged;
}

function conflictError(live: KObject, conflicts: { manager: string; apiVersion: string; path: string }[]): ApiError {
  const byManager = new Map<string, string[]>();
  for (const c of conflicts) {
    const k = `"${c.manager}" using ${c.apiVersion}`;
    if (!byManager.has(k)) byManager.set(k, []);
    byManager.get(k)!.push(displayPath(c.path));
  }
  const n = conflicts.length;
  let msg = `Apply failed with ${n} conflict${n === 1 ? '' : 's'}: `;
  const parts = [...byManager].map(([who, paths]) => (paths.length === 1 ? `conflict with ${who}: ${paths[0]}` : `conflicts with ${who}:\n${paths.map((p) => `- ${p}`).join('\n')}`));
  msg += parts.join('\n');
  return new ApiError(409, 'Conflict', msg, {
    name: live.metadata.name,
    kind: live.kind,
    causes: conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with "${c.manager}" using ${c.apiVersion}`, field: displayPath(c.path) })),
  });
}

/**
 * Records a non-apply write (create, update, patch) by `manager`: it owns every field it changed; other
 * managers lose those fields; fields that no longer exist leave every set.
 */
export function recordUpdate(old: KObject | undefined, next: KObject, manager: string, apiVersion: string, subresource?: string): void {
  const withStatus = subresource === 'status';
  const nextSet = fieldSetOf(next, withStatus);
  const changed: FieldSet = new Set();
  for (const leaf of leavesOf(nextSet)) {
    if (!old || !jsonEqual(valueAt(old, leaf), valueAt(next, leaf))) {
      const els = leaf.split(SEP);
      for (let i = 1; i <= els.length; i++) changed.add(els.slice(0, i).join(SEP));
    }
  }
  if (withStatus) for (const p of [...changed]) if (!p.startsWith('f:status')) changed.delete(p);
  const owners = ownersOf(old);
  const fullNext = fieldSetOf(next, true);
  const changedParents = parentsOf(changed);
  for (const o of owners) {
    for (const p of [...o.set]) {
      if (!fullNext.has(p)) o.set.delete(p);
      else if (changed.has(p) && !changedParents.has(p) && !sameOwner(o.entry, manager, 'Update', subresource)) o.set.delete(p);
    }
  }
  if (changed.size) {
    let mine = owners.find((o) => sameOwner(o.entry, manager, 'Update', subresource));
    if (!mine) {
      const entry: ManagedFieldsEntry = { manager, operation: 'Update', apiVersion, time: k8sTime(), fieldsType: 'FieldsV1', fieldsV1: {} };
      if (subresource) entry.subresource = subresource;
      mine = { entry, set: new Set() };
      owners.push(mine);
    } else mine.entry = { ...mine.entry, time: k8sTime() };
    for (const p of changed) mine.set.add(p);
  }
  writeOwners(next, owners);
}
