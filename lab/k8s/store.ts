// The raw object store: one sorted table per resource, a global resourceVersion, change events for
// controllers and watches, a bounded event history for watches that resume from a resourceVersion, and
// indexes (pods by node, dependents by owner UID) so the hot queries do not scan everything.
import { EventEmitter } from 'node:events';
import { badRequest, expired } from './errors.js';
import { resourceKey, type ResourceRegistry, type ResourceSpec } from './resources.js';
import { matchFields, matchLabels, type FieldRequirement, type LabelSelector } from './selectors.js';
import { objectKey, type KObject } from './types.js';

/** A change to the store. */
export interface StoreEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  spec: ResourceSpec;
  object: KObject;
  old?: KObject;
  rv: number;
}

/** Something that receives the events of one resource (a watch stream). */
export interface StoreWatcher {
  deliver(event: StoreEvent): void;
}

/** Options of a list. */
export interface ListOptions {
  namespace?: string;
  labels?: LabelSelector;
  fields?: FieldRequirement[];
  limit?: number;
  continueToken?: string;
}

/** A page of a list. */
export interface ListResult {
  items: KObject[];
  resourceVersion: string;
  continueToken?: string;
  remainingItemCount?: number;
}

interface Table {
  spec: ResourceSpec;
  objects: Map<string, KObject>;
  /** Keys in lexicographic order, as etcd returns them. */
  keys: string[];
}

function lowerBound(keys: string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The in-memory object store. */
export class Store extends EventEmitter<{ change: [StoreEvent] }> {
  readonly registry: ResourceRegistry;
  private rv = 1;
  private readonly tables = new Map<string, Table>();
  private readonly podsByNode = new Map<string, Set<string>>();
  private readonly byOwner = new Map<string, Set<string>>();
  private readonly watchers = new Map<string, Set<StoreWatcher>>();
  private readonly history: StoreEvent[] = [];
  private historyHead = 0;
  /** Highest resourceVersion no longer in the history. */
  private droppedRv = 1;
  private readonly historySize: number;
  /** Deep-freeze stored objects (tests: catches code that mutates what it read). */
  freeze = false;

  constructor(registry: ResourceRegistry, options: { historySize?: number } = {}) {
    super();
    this.setMaxListeners(0);
    this.registry = registry;
    this.historySize = options.historySize ?? 20000;
    for (const spec of registry.all) this.tables.set(resourceKey(spec), { spec, objects: new Map(), keys: [] });
  }

  /** The current (highest) resourceVersion. */
  currentRv(): number {
    return this.rv;
  }

  /** Adds the table of a kind defined at run time (a CRD); keeps an existing one (other versions share it). */
  ensureTable(spec: ResourceSpec): void {
    if (!this.tables.has(resourceKey(spec))) this.tables.set(resourceKey(spec), { spec, objects: new Map(), keys: [] });
  }

  /** Forgets the table of a kind no longer served (its objects were removed first). */
  dropTable(spec: ResourceSpec): void {
    this.tables.delete(resourceKey(spec));
  }

  private table(spec: ResourceSpec): Table {
    const t = this.tables.get(resourceKey(spec));
    if (!t) throw new Error(`resource ${resourceKey(spec)} is not registered`);
    return t;
  }

  /** One object, or undefined. */
  get(spec: ResourceSpec, namespace: string | undefined, name: string): KObject | undefined {
    return this.table(spec).objects.get(objectKey(spec.namespaced ? namespace : undefined, name));
  }

  /** Number of objects of a resource. */
  count(spec: ResourceSpec): number {
    return this.table(spec).objects.size;
  }

  /** Writes an object (new or replacing); assigns the next resourceVersion and emits ADDED/MODIFIED. */
  put(spec: ResourceSpec, obj: KObject): KObject {
    const t = this.table(spec);
    const key = objectKey(spec.namespaced ? obj.metadata.namespace : undefined, obj.metadata.name);
    const old = t.objects.get(key);
    this.rv++;
    obj.metadata.resourceVersion = String(this.rv);
    if (this.freeze) deepFreeze(obj);
    t.objects.set(key, obj);
    if (!old) t.keys.splice(lowerBound(t.keys, key), 0, key);
    this.reindex(spec, key, old, obj);
    this.publish({ type: old ? 'MODIFIED' : 'ADDED', spec, object: obj, old, rv: this.rv });
    return obj;
  }

  /** Removes an object for good; emits DELETED carrying the deletion's resourceVersion. */
  remove(spec: ResourceSpec, namespace: string | undefined, name: string): KObject | undefined {
    const t = this.table(spec);
    const key = objectKey(spec.namespaced ? namespace : undefined, name);
    const old = t.objects.get(key);
    if (!old) return undefined;
    t.objects.delete(key);
    const i = lowerBound(t.keys, key);
    if (t.keys[i] === key) t.keys.splice(i, 1);
    this.reindex(spec, key, old, undefined);
    this.rv++;
    const last: KObject = { ...old, metadata: { ...old.metadata, resourceVersion: String(this.rv) } };
    if (this.freeze) deepFreeze(last);
    this.publish({ type: 'DELETED', spec, object: last, old, rv: this.rv });
    return last;
  }

  private reindex(spec: ResourceSpec, key: string, old: KObject | undefined, now: KObject | undefined): void {
    const rkey = resourceKey(spec);
    if (rkey === '/pods') {
      const before = old?.spec?.nodeName as string | undefined;
      const after = now?.spec?.nodeName as string | undefined;
      if (before !== after) {
        if (before) this.podsByNode.get(before)?.delete(key);
        if (after) {
          if (!this.podsByNode.has(after)) this.podsByNode.set(after, new Set());
          this.podsByNode.get(after)!.add(key);
        }
      }
    }
    const ref = `${rkey}|${key}`;
    const ownersBefore = old?.metadata.ownerReferences?.map((o) => o.uid) ?? [];
    const ownersAfter = now?.metadata.ownerReferences?.map((o) => o.uid) ?? [];
    for (const uid of ownersBefore) if (!ownersAfter.includes(uid)) this.byOwner.get(uid)?.delete(ref);
    for (const uid of ownersAfter) {
      if (!this.byOwner.has(uid)) this.byOwner.set(uid, new Set());
      this.byOwner.get(uid)!.add(ref);
    }
  }

  private publish(event: StoreEvent): void {
    if (this.history.length < this.historySize) this.history.push(event);
    else {
      this.droppedRv = this.history[this.historyHead]!.rv;
      this.history[this.historyHead] = event;
      this.historyHead = (this.historyHead + 1) % this.historySize;
    }
    const ws = this.watchers.get(resourceKey(event.spec));
    if (ws) for (const w of ws) w.deliver(event);
    this.emit('change', event);
  }

  /** Events of a resource after `rv`, oldest first; throws 410 when the history no longer reaches back. */
  eventsSince(spec: ResourceSpec, rv: number): StoreEvent[] {
    if (rv < this.droppedRv) throw expired(`too old resource version: ${rv} (${this.droppedRv})`);
    const rkey = resourceKey(spec);
    const out: StoreEvent[] = [];
    const n = this.history.length;
    for (let i = 0; i < n; i++) {
      const ev = this.history[(this.historyHead + i) % n]!;
      if (ev.rv > rv && resourceKey(ev.spec) === rkey) out.push(ev);
    }
    return out;
  }

  /** Registers a watcher for a resource; returns the function that unregisters it. */
  addWatcher(spec: ResourceSpec, w: StoreWatcher): () => void {
    const rkey = resourceKey(spec);
    if (!this.watchers.has(rkey)) this.watchers.set(rkey, new Set());
    this.watchers.get(rkey)!.add(w);
    return () => this.watchers.get(rkey)?.delete(w);
  }

  /** All objects of a resource (optionally in one namespace), in key order. Internal use: no copies. */
  *scan(spec: ResourceSpec, namespace?: string): Generator<KObject> {
    const t = this.table(spec);
    if (!spec.namespaced || namespace === undefined) {
      for (const obj of t.objects.values()) yield obj;
      return;
    }
    const prefix = `${namespace}/`;
    const keys = t.keys;
    for (let i = lowerBound(keys, prefix); i < keys.length && keys[i]!.startsWith(prefix); i++) {
      const obj = t.objects.get(keys[i]!);
      if (obj) yield obj;
    }
  }

  /** Pods bound to a node (index lookup). */
  podsOnNode(node: string): KObject[] {
    const keys = this.podsByNode.get(node);
    if (!keys) return [];
    const t = this.table(this.registry.get('', 'pods'));
    const out: KObject[] = [];
    for (const k of keys) {
      const p = t.objects.get(k);
      if (p) out.push(p);
    }
    return out;
  }

  /** Objects (of any resource) whose ownerReferences name this UID. */
  dependents(uid: string): { spec: ResourceSpec; object: KObject }[] {
    const refs = this.byOwner.get(uid);
    if (!refs) return [];
    const out: { spec: ResourceSpec; object: KObject }[] = [];
    for (const ref of refs) {
      const bar = ref.indexOf('|');
      const t = this.tables.get(ref.slice(0, bar));
      const obj = t?.objects.get(ref.slice(bar + 1));
      if (t && obj) out.push({ spec: t.spec, object: obj });
    }
    return out;
  }

  /** A page of objects matching selectors, in key order, with a continue token when more remain. */
  list(spec: ResourceSpec, opts: ListOptions = {}): ListResult {
    const t = this.table(spec);
    const labels = opts.labels ?? [];
    const fields = opts.fields ?? [];
    const limit = opts.limit && opts.limit > 0 ? opts.limit : Infinity;
    let listRv = this.rv;
    let startKey = '';
    if (opts.continueToken) {
      const tok = decodeContinue(opts.continueToken);
      listRv = tok.rv;
      startKey = tok.start;
    }
    const prefix = spec.namespaced && opts.namespace !== undefined ? `${opts.namespace}/` : '';
    const match = (o: KObject) => matchLabels(labels, o.metadata.labels) && matchFields(fields, o);

    // Index path: pods selected by one spec.nodeName= requirement.
    let keys: string[] = t.keys;
    const nodeReq = resourceKey(spec) === '/pods' ? fields.find((f) => f.field === 'spec.nodeName' && f.op === 'eq') : undefined;
    if (nodeReq && nodeReq.value !== '') {
      keys = [...(this.podsByNode.get(nodeReq.value) ?? [])].sort();
    }
    let i = lowerBound(keys, startKey > prefix ? startKey : prefix);
    const items: KObject[] = [];
    let lastKey = '';
    let more = false;
    for (; i < keys.length; i++) {
      const key = keys[i]!;
      if (prefix && !key.startsWith(prefix)) break;
      const obj = t.objects.get(key);
      if (!obj || !match(obj)) continue;
      if (items.length >= limit) {
        more = true;
        break;
      }
      items.push(obj);
      lastKey = key;
    }
    const out: ListResult = { items, resourceVersion: String(listRv) };
    if (more) {
      out.continueToken = encodeContinue(listRv, lastKey + '\u0000');
      if (!labels.length && !fields.length) {
        let remaining = 0;
        for (let j = i; j < keys.length && (!prefix || keys[j]!.startsWith(prefix)); j++) remaining++;
        out.remainingItemCount = remaining;
      }
    }
    return out;
  }
}

/** The continue token format of the API server: base64 of {v, rv, start}. */
export function encodeContinue(rv: number, start: string): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv, start })).toString('base64url');
}

function decodeContinue(token: string): { rv: number; start: string } {
  try {
    const tok = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { v?: string; rv?: number; start?: string };
    if (tok.v !== 'meta.k8s.io/v1' || typeof tok.rv !== 'number' || typeof tok.start !== 'string') throw new Error('bad');
    return { rv: tok.rv, start: tok.start };
  } catch {
    throw badRequest('continue key is not valid: illegal base64 data or JSON');
  }
}

function deepFreeze(o: unknown): void {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
}
