// The three PATCH formats of the API server: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic
// merge patch (lists merged by key where the built-in types declare a patchMergeKey; the directives kubectl
// sends: $patch, $retainKeys, $setElementOrder/, $deleteFromPrimitiveList/).
import { ApiError, badRequest } from './errors.js';
import { clone, isPlainObject, jsonEqual } from './types.js';

type JsonObject = Record<string, unknown>;

/** RFC 7386: objects merge recursively, null deletes, everything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return clone(patch);
  const out: JsonObject = isPlainObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** One RFC 6902 operation. */
interface JsonPatchOp {
  op: string;
  path: string;
  value?: unknown;
  from?: string;
}

function unprocessable(message: string): ApiError {
  return new ApiError(422, 'Invalid', message);
}

function parsePointer(ptr: string): string[] {
  if (ptr === '') return [];
  if (!ptr.startsWith('/')) throw badRequest(`json patch: invalid path "${ptr}"`);
  return ptr
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function resolveParent(doc: unknown, tokens: string[], op: string): { parent: unknown; last: string } {
  let cur = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[Number(t)];
    else if (isPlainObject(cur)) cur = cur[t];
    else cur = undefined;
    if (cur === undefined) throw unprocessable(`the server rejected our request due to an error in our request: ${op} operation does not apply: doc is missing path: "/${tokens.join('/')}": missing value`);
  }
  return { parent: cur, last: tokens[tokens.length - 1]! };
}

function getAt(doc: unknown, tokens: string[]): unknown {
  let cur = doc;
  for (const t of tokens) {
    if (Array.isArray(cur)) cur = cur[Number(t)];
    else if (isPlainObject(cur)) cur = cur[t];
    else return undefined;
  }
  return cur;
}

function applyOne(doc: unknown, op: JsonPatchOp): unknown {
  const tokens = parsePointer(op.path);
  const missing = () => unprocessable(`the server rejected our request due to an error in our request: ${op.op} operation does not apply: doc is missing path: "${op.path}": missing value`);
  switch (op.op) {
    case 'add':
    case 'replace': {
      if (!('value' in op)) throw badRequest(`json patch: ${op.op} operation has no value`);
      if (tokens.length === 0) return clone(op.value);
      const { parent, last } = resolveParent(doc, tokens, op.op);
      if (Array.isArray(parent)) {
        if (op.op === 'add') {
          const idx = last === '-' ? parent.length : Number(last);
          if (!Number.isInteger(idx) || idx < 0 || idx > parent.length) throw missing();
          parent.splice(idx, 0, clone(op.value));
        } else {
          const idx = Number(last);
          if (!Number.isInteger(idx) || idx < 0 || idx >= parent.length) throw missing();
          parent[idx] = clone(op.value);
        }
      } else if (isPlainObject(parent)) {
        if (op.op === 'replace' && !(last in parent)) throw missing();
        parent[last] = clone(op.value);
      } else throw missing();
      return doc;
    }
    case 'remove': {
      const { parent, last } = resolveParent(doc, tokens, op.op);
      if (Array.isArray(parent)) {
        const idx = Number(last);
        if (!Number.isInteger(idx) || idx < 0 || idx >= parent.length) throw missing();
        parent.splice(idx, 1);
      } else if (isPlainObject(parent) && last in parent) delete parent[last];
      else throw missing();
      return doc;
    }
    case 'test': {
      if (!jsonEqual(getAt(doc, tokens), op.value)) throw unprocessable(`the server rejected our request due to an error in our request: testing value ${op.path} failed: test failed`);
      return doc;
    }
    case 'move':
    case 'copy': {
      if (op.from === undefined) throw badRequest(`json patch: ${op.op} operation has no from`);
      const value = getAt(doc, parsePointer(op.from));
      if (value === undefined) throw unprocessable(`the server rejected our request due to an error in our request: ${op.op} operation does not apply: doc is missing from path: "${op.from}"`);
      let d = doc;
      if (op.op === 'move') d = applyOne(d, { op: 'remove', path: op.from });
      return applyOne(d, { op: 'add', path: op.path, value: clone(value) });
    }
    default:
      throw badRequest(`json patch: unknown operation "${op.op}"`);
  }
}

/** RFC 6902 on a copy of the document. */
export function jsonPatch(target: unknown, patch: unknown): unknown {
  if (!Array.isArray(patch)) throw badRequest('json patch: the patch must be a JSON array of operations');
  let doc = clone(target);
  for (const op of patch) {
    if (!isPlainObject(op) || typeof op.op !== 'string' || typeof op.path !== 'string') throw badRequest('json patch: every operation needs "op" and "path"');
    doc = applyOne(doc, op as unknown as JsonPatchOp);
  }
  return doc;
}

/** How a list at a field path merges in a strategic merge patch. */
export interface ListStrategy {
  /** Items are maps identified by this key. */
  mergeKey?: string;
  /** A list of scalars merged as a set. */
  primitiveMerge?: boolean;
}

const containerLists = new Set(['containers', 'initContainers', 'ephemeralContainers']);

/** The patch strategy of the list at `path` (field names, list positions left out) for built-in kinds. */
export function listStrategy(path: readonly string[]): ListStrategy | undefined {
  const field = path[path.length - 1];
  const parent = path[path.length - 2];
  switch (field) {
    case 'containers':
    case 'initContainers':
    case 'ephemeralContainers':
    case 'env':
    case 'volumes':
    case 'imagePullSecrets':
      return { mergeKey: 'name' };
    case 'volumeMounts':
      return { mergeKey: 'mountPath' };
    case 'volumeDevices':
      return { mergeKey: 'devicePath' };
    case 'hostAliases':
      return { mergeKey: 'ip' };
    case 'topologySpreadConstraints':
      return { mergeKey: 'topologyKey' };
    case 'ports':
      return parent && containerLists.has(parent) ? { mergeKey: 'containerPort' } : { mergeKey: 'port' };
    case 'conditions':
    case 'addresses':
      return { mergeKey: 'type' };
    case 'ownerReferences':
      return { mergeKey: 'uid' };
    case 'finalizers':
      return parent === 'metadata' ? { primitiveMerge: true } : undefined;
    default:
      return undefined;
  }
}

/** Strategic merge patch of a built-in object. */
export function strategicMergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) throw badRequest('strategic merge patch: the patch must be a JSON object');
  return smpMap(isPlainObject(target) ? target : {}, patch, []);
}

function smpMap(original: JsonObject, patch: JsonObject, path: string[]): JsonObject | undefined {
  const directive = patch.$patch;
  if (directive === 'delete') return undefined;
  if (directive === 'replace') {
    const out = clone(patch);
    delete out.$patch;
    return out;
  }
  const out: JsonObject = { ...original };
  const retain = patch.$retainKeys as string[] | undefined;
  const orders: [string, unknown[]][] = [];
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k === '$retainKeys') continue;
    if (k.startsWith('$setElementOrder/')) {
      orders.push([k.slice('$setElementOrder/'.length), v as unknown[]]);
      continue;
    }
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length);
      const cur = out[field];
      if (Array.isArray(cur) && Array.isArray(v)) out[field] = cur.filter((x) => !v.some((d) => jsonEqual(d, x)));
      continue;
    }
    if (v === null) {
      delete out[k];
      continue;
    }
    const cur = out[k];
    const sub = [...path, k];
    if (isPlainObject(v)) {
      const merged = smpMap(isPlainObject(cur) ? cur : {}, v, sub);
      if (merged === undefined) delete out[k];
      else out[k] = merged;
    } else if (Array.isArray(v)) {
      out[k] = smpList(Array.isArray(cur) ? cur : [], v, sub);
    } else out[k] = v;
  }
  for (const [field, order] of orders) {
    const list = out[field];
    if (Array.isArray(list)) out[field] = applyOrder(list, order, listStrategy([...path, field])?.mergeKey);
  }
  if (retain) for (const k of Object.keys(out)) if (!retain.includes(k)) delete out[k];
  return out;
}

function smpList(original: unknown[], patch: unknown[], path: string[]): unknown[] {
  const strategy = listStrategy(path);
  if (patch.some((p) => isPlainObject(p) && p.$patch === 'replace')) {
    return clone(patch.filter((p) => !(isPlainObject(p) && p.$patch === 'replace')));
  }
  if (strategy?.primitiveMerge) {
    const out = [...original];
    for (const v of patch) if (!out.some((x) => jsonEqual(x, v))) out.push(v);
    return out;
  }
  const key = strategy?.mergeKey;
  if (!key) return clone(patch);
  const out = original.map((x) => x);
  for (const item of patch) {
    if (!isPlainObject(item)) {
      out.push(item);
      continue;
    }
    const idx = out.findIndex((x) => isPlainObject(x) && jsonEqual(x[key], item[key]));
    if (item.$patch === 'delete') {
      if (idx >= 0) out.splice(idx, 1);
      continue;
    }
    if (idx >= 0) {
      const merged = smpMap(out[idx] as JsonObject, item, path);
      if (merged === undefined) out.splice(idx, 1);
      else out[idx] = merged;
    } else {
      const fresh = smpMap({}, item, path);
      if (fresh) out.push(fresh);
    }
  }
  return out;
}

function applyOrder(list: unknown[], order: unknown[], key: string | undefined): unknown[] {
  const id = (x: unknown) => (key && isPlainObject(x) ? x[key] : x);
  const ordered: unknown[] = [];
  const rest = [...list];
  for (const o of order) {
    const want = key && isPlainObject(o) ? o[key] : o;
    const i = rest.findIndex((x) => jsonEqual(id(x), want));
    if (i >= 0) ordered.push(rest.splice(i, 1)[0]);
  }
  return [...ordered, ...rest];
}
