// Object semantics of the API server on top of the raw store: create (generateName, defaults, validation,
// namespace checks), update (resourceVersion conflicts, status subresource, generation), the PATCH formats,
// server-side apply, delete (graceful pod deletion, finalizers, preconditions, propagation) and dryRun.
// Both the HTTP router (client requests) and the lab's controllers (internal actions) write through here.
import { randomUUID } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { applyDefaults, normalizeInput, validate } from './admission.js';
import { recordUpdate, serverSideApply } from './apply.js';
import { ApiError, alreadyExists, badRequest, conflict, forbidden, internalError, invalid, notFound, unsupportedMediaType } from './errors.js';
import { jsonPatch, mergePatch, strategicMergePatch } from './patch.js';
import { apiVersionOf, builtinResources, type ResourceSpec } from './resources.js';
import type { NameSource } from './names.js';
import type { Store } from './store.js';
import { clone, isPlainObject, jsonEqual, k8sTime, type KObject } from './types.js';

/** Who writes and how. */
export interface WriteOptions {
  dryRun?: boolean;
  /** Field manager recorded in managedFields (client writes). */
  manager?: string;
  /** A controller of the lab itself: no managedFields, no client counters. */
  internal?: boolean;
  /** `status`, `scale` ... */
  subresource?: string;
}

/** metav1.DeleteOptions (the parts the lab honours). */
export interface DeleteOptions {
  gracePeriodSeconds?: number | null;
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground' | null;
  orphanDependents?: boolean | null;
  preconditions?: { uid?: string | null; resourceVersion?: string | null } | null;
}

/** The result of a delete: the object as it is now, and whether it is gone already. */
export interface DeleteResult {
  object: KObject;
  gone: boolean;
}

/** Called before a client deletes a pod (the PDB violation counter hooks in here). */
export type PodDeleteHook = (pod: KObject, opts: WriteOptions) => void;

const PATCH_TYPES = ['application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/apply-patch+yaml'];
const builtinKinds = new Set(builtinResources.map((r) => `${apiVersionOf(r)}/${r.kind}`));

/** The object API. */
export class ObjectApi {
  readonly store: Store;
  private readonly names: NameSource;
  private nextServiceIp = 10;
  /** Hooks run before a client (not internal) deletes a pod. */
  readonly podDeleteHooks: PodDeleteHook[] = [];

  constructor(store: Store, names: NameSource) {
    this.store = store;
    this.names = names;
  }

  /** The resource by group and plural. */
  res(group: string, plural: string): ResourceSpec {
    return this.store.registry.get(group, plural);
  }

  /** One object or 404. */
  get(spec: ResourceSpec, ns: string | undefined, name: string): KObject {
    const obj = this.store.get(spec, ns, name);
    if (!obj) throw notFound(spec, name);
    return obj;
  }

  private checkNamespace(spec: ResourceSpec, ns: string | undefined, name: string): void {
    if (!spec.namespaced) return;
    if (!ns) throw badRequest('the namespace of the object is required');
    const nsSpec = this.res('', 'namespaces');
    const nsObj = this.store.get(nsSpec, undefined, ns);
    if (!nsObj) throw notFound(nsSpec, ns);
    if (nsObj.metadata.deletionTimestamp || nsObj.status?.phase === 'Terminating') {
      throw forbidden(spec, name, `unable to create new content in namespace ${ns} because it is being terminated`);
    }
  }

  private checkBody(spec: ResourceSpec, ns: string | undefined, body: unknown): KObject {
    if (!isPlainObject(body)) throw badRequest('the body of the request must be a JSON object');
    const obj = body as KObject;
    const want = apiVersionOf(spec);
    if (obj.apiVersion !== undefined && obj.apiVersion !== want) throw badRequest(`the API version in the data (${obj.apiVersion}) does not match the expected API version (${want})`);
    if (obj.kind !== undefined && obj.kind !== spec.kind) throw badRequest(`${spec.kind} in version "${spec.version}" cannot be handled as a ${obj.kind}: the kind in the data does not match the URL`);
    if (!isPlainObject(obj.metadata)) obj.metadata = { name: '' };
    if (spec.namespaced && obj.metadata.namespace && ns && obj.metadata.namespace !== ns) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    obj.apiVersion = want;
    obj.kind = spec.kind;
    if (spec.namespaced) obj.metadata.namespace = ns;
    else delete obj.metadata.namespace;
    return obj;
  }

  /** Creates an object (POST). */
  create(spec: ResourceSpec, ns: string | undefined, body: unknown, opts: WriteOptions = {}, presetManagedFields?: KObject['metadata']['managedFields']): KObject {
    const obj = this.checkBody(spec, ns, clone(body));
    const meta = obj.metadata;
    if (meta.resourceVersion) throw internalError('resourceVersion should not be set on objects to be created');
    if (!meta.name && meta.generateName) {
      for (let i = 0; i < 8 && !meta.name; i++) {
        const candidate = `${meta.generateName}${this.names.suffix(5)}`;
        if (!this.store.get(spec, ns, candidate)) meta.name = candidate;
      }
      if (!meta.name) throw new ApiError(409, 'AlreadyExists', `${spec.plural} "${meta.generateName}" already exists, the server was not able to generate a unique name for the object`);
    }
    if (!meta.name) throw invalid(spec, '', [{ field: 'metadata.name', message: 'Required value: name or generateName is required', reason: 'FieldValueRequired' }]);
    this.checkNamespace(spec, ns, meta.name);
    if (this.store.get(spec, ns, meta.name)) throw alreadyExists(spec, meta.name);
    for (const k of ['uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'managedFields', 'selfLink', 'resourceVersion']) delete meta[k];
    if (spec.subresources?.includes('status') && spec.kind !== 'Node') delete obj.status;
    // The uid comes first: defaults may name it (a Job's generated selector).
    meta.uid = randomUUID();
    normalizeInput(spec, obj);
    applyDefaults(spec, obj, { allocateClusterIP: () => this.allocateClusterIP() });
    validate(spec, obj);
    meta.creationTimestamp = k8sTime();
    meta.generation = 1;
    if (presetManagedFields) meta.managedFields = presetManagedFields;
    else if (!opts.internal) recordUpdate(undefined, obj, opts.manager ?? 'unknown', apiVersionOf(spec), undefined);
    if (opts.dryRun) return obj;
    return this.store.put(spec, obj);
  }

  private allocateClusterIP(): string {
    const n = this.nextServiceIp++;
    return `10.96.${Math.floor(n / 250)}.${(n % 250) + 1}`;
  }

  /** Replaces an object (PUT), or its status when opts.subresource is `status`. */
  update(spec: ResourceSpec, ns: string | undefined, name: string, body: unknown, opts: WriteOptions = {}): KObject {
    const live = this.get(spec, ns, name);
    const obj = this.checkBody(spec, ns, clone(body));
    if (obj.metadata.name && obj.metadata.name !== name) throw badRequest(`the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`);
    obj.metadata.name = name;
    const rv = obj.metadata.resourceVersion;
    if (rv && rv !== live.metadata.resourceVersion) throw conflict(spec, name);
    let next: KObject;
    if (opts.subresource === 'status') {
      next = clone(live);
      next.status = obj.status;
    } else {
      next = obj;
      const m = next.metadata;
      const lm = live.metadata;
      m.uid = lm.uid;
      m.creationTimestamp = lm.creationTimestamp;
      m.generation = lm.generation;
      if (lm.deletionTimestamp) m.deletionTimestamp = lm.deletionTimestamp;
      else delete m.deletionTimestamp;
      if (lm.deletionGracePeriodSeconds !== undefined) m.deletionGracePeriodSeconds = lm.deletionGracePeriodSeconds;
      else delete m.deletionGracePeriodSeconds;
      if (m.managedFields === undefined && lm.managedFields) m.managedFields = lm.managedFields;
      if (spec.kind === 'Service' && isPlainObject(next.spec) && !next.spec.clusterIP && live.spec?.clusterIP) next.spec.clusterIP = live.spec.clusterIP;
      normalizeInput(spec, next);
      applyDefaults(spec, next, { allocateClusterIP: () => this.allocateClusterIP() });
      if (spec.subresources?.includes('status')) {
        if (live.status === undefined) delete next.status;
        else next.status = live.status;
      }
      if (spec.kind === 'Namespace') next.status = live.status;
    }
    return this.commitUpdate(spec, live, next, opts);
  }

  /** Validates and writes an updated object built from `live`. */
  private commitUpdate(spec: ResourceSpec, live: KObject, next: KObject, opts: WriteOptions): KObject {
    if (specChanged(live, next)) next.metadata.generation = (live.metadata.generation ?? 1) + 1;
    next.metadata.resourceVersion = live.metadata.resourceVersion;
    if (opts.subresource !== 'status') validate(spec, next, live);
    if (!opts.internal) recordUpdate(live, next, opts.manager ?? 'unknown', apiVersionOf(spec), opts.subresource);
    if (jsonEqual(stripVolatile(live), stripVolatile(next))) return live;
    if (opts.dryRun) return next;
    if (next.metadata.deletionTimestamp && !(next.metadata.finalizers?.length) && spec.kind !== 'Pod' && spec.kind !== 'Namespace') {
      return this.store.remove(spec, next.metadata.namespace, next.metadata.name) ?? next;
    }
    return this.store.put(spec, next);
  }

  /** Applies a PATCH of any supported content type; apply-patch may create the object. */
  patch(spec: ResourceSpec, ns: string | undefined, name: string, contentType: string, raw: string, opts: WriteOptions & { force?: boolean } = {}): { object: KObject; created: boolean } {
    const type = contentType.split(';')[0]!.trim().toLowerCase();
    if (!PATCH_TYPES.includes(type)) throw unsupportedMediaType(type);
    if (type === 'application/apply-patch+yaml') return this.apply(spec, ns, name, raw, opts);
    if (type === 'application/strategic-merge-patch+json' && !builtinKinds.has(`${apiVersionOf(spec)}/${spec.kind}`)) {
      throw new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`);
    }
    let patchBody: unknown;
    try {
      patchBody = JSON.parse(raw);
    } catch (e) {
      throw badRequest(`error decoding patch: ${(e as Error).message}`);
    }
    const live = this.get(spec, ns, name);
    const base = clone(live);
    let patched: unknown;
    if (type === 'application/json-patch+json') patched = jsonPatch(base, patchBody);
    else if (type === 'application/merge-patch+json') patched = mergePatch(base, patchBody);
    else patched = strategicMergePatch(base, patchBody);
    if (!isPlainObject(patched)) throw badRequest('the patch produced something that is not an object');
    const body = patched as KObject;
    if (!isPlainObject(body.metadata)) body.metadata = { name };
    if (!body.metadata.resourceVersion) body.metadata.resourceVersion = live.metadata.resourceVersion;
    return { object: this.update(spec, ns, name, body, opts), created: false };
  }

  private apply(spec: ResourceSpec, ns: string | undefined, name: string, raw: string, opts: WriteOptions & { force?: boolean }): { object: KObject; created: boolean } {
    if (!opts.manager) throw badRequest('PATCH: fieldManager is required for apply requests');
    let config: unknown;
    try {
      // kubectl and client-node send JSON (a subset of YAML): parsing it as JSON first is an order of magnitude
      // cheaper than the YAML parser, which matters at thousands of objects.
      config = raw.trimStart().startsWith('{') ? jsonOrYaml(raw) : parseYaml(raw);
    } catch (e) {
      throw badRequest(`error decoding YAML: ${(e as Error).message}`);
    }
    if (!isPlainObject(config)) throw badRequest('apply: the configuration must be an object');
    const cfg = config as KObject;
    if (!cfg.apiVersion || !cfg.kind) throw badRequest('apply: the configuration must set apiVersion and kind');
    if (!isPlainObject(cfg.metadata)) cfg.metadata = { name };
    if (cfg.metadata.name && cfg.metadata.name !== name) throw badRequest(`the name of the object (${cfg.metadata.name}) does not match the name on the URL (${name})`);
    this.checkBody(spec, ns, cfg);
    cfg.metadata.name = name;
    const live = this.store.get(spec, ns, name);
    if (opts.subresource === 'status') {
      if (!live) throw notFound(spec, name);
      const next = clone(live);
      next.status = cfg.status;
      return { object: this.commitUpdate(spec, live, next, { ...opts, internal: true }), created: false };
    }
    const rv = cfg.metadata.resourceVersion;
    if (rv && live && rv !== live.metadata.resourceVersion) throw conflict(spec, name);
    delete cfg.metadata.resourceVersion;
    const merged = serverSideApply(live, cfg, opts.manager, !!opts.force, apiVersionOf(spec));
    if (!live) {
      return { object: this.create(spec, ns, merged, { ...opts, internal: true }, merged.metadata.managedFields), created: true };
    }
    const m = merged.metadata;
    for (const k of ['uid', 'creationTimestamp', 'generation', 'deletionTimestamp', 'deletionGracePeriodSeconds'] as const) {
      if (live.metadata[k] !== undefined) (m as Record<string, unknown>)[k] = live.metadata[k];
    }
    normalizeInput(spec, merged);
    applyDefaults(spec, merged, { allocateClusterIP: () => this.allocateClusterIP() });
    if (spec.subresources?.includes('status') || spec.kind === 'Namespace') {
      if (live.status === undefined) delete merged.status;
      else merged.status = live.status;
    }
    return { object: this.commitUpdate(spec, live, merged, { ...opts, internal: true }), created: false };
  }

  /** Deletes an object: graceful for pods, deferred while finalizers remain, cascading by propagationPolicy. */
  delete(spec: ResourceSpec, ns: string | undefined, name: string, options: DeleteOptions = {}, opts: WriteOptions = {}): DeleteResult {
    const live = this.get(spec, ns, name);
    const pre = options.preconditions;
    if (pre?.uid && pre.uid !== live.metadata.uid) {
      throw conflict(spec, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${live.metadata.uid}`);
    }
    if (pre?.resourceVersion && pre.resourceVersion !== live.metadata.resourceVersion) {
      throw conflict(spec, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in meta: ${live.metadata.resourceVersion}`);
    }
    if (options.gracePeriodSeconds !== undefined && options.gracePeriodSeconds !== null && options.gracePeriodSeconds < 0) {
      throw invalid(spec, name, [{ field: 'gracePeriodSeconds', message: 'Invalid value: must be greater than or equal to 0' }]);
    }
    if (spec.kind === 'Pod' && !opts.internal && !opts.dryRun) for (const h of this.podDeleteHooks) h(live, opts);
    const policy = options.propagationPolicy ?? (options.orphanDependents ? 'Orphan' : 'Background');
    const next = clone(live);
    const m = next.metadata;
    const now = Date.now();

    if (policy === 'Orphan' || policy === 'Foreground') {
      const fin = policy === 'Orphan' ? 'orphan' : 'foregroundDeletion';
      m.finalizers = [...(m.finalizers ?? []).filter((f) => f !== 'orphan' && f !== 'foregroundDeletion'), fin];
    }

    if (spec.kind === 'Pod') {
      const specGrace = live.spec?.terminationGracePeriodSeconds ?? 30;
      let grace = options.gracePeriodSeconds ?? specGrace;
      const phase = live.status?.phase;
      if (!live.spec?.nodeName || phase === 'Succeeded' || phase === 'Failed') grace = 0;
      if (grace > 0 || m.finalizers?.length) {
        const current = live.metadata.deletionGracePeriodSeconds;
        if (live.metadata.deletionTimestamp && current !== undefined && current <= grace && jsonEqual(live.metadata.finalizers ?? [], m.finalizers ?? [])) {
          return { object: live, gone: false };
        }
        if (grace > 0 || !m.deletionTimestamp) m.deletionTimestamp = k8sTime(now + grace * 1000);
        m.deletionGracePeriodSeconds = grace;
        if (grace === 0 && !(m.finalizers?.length)) return this.removeNow(spec, next, opts);
        if (opts.dryRun) return { object: next, gone: false };
        return { object: this.store.put(spec, next), gone: false };
      }
      return this.removeNow(spec, next, opts);
    }

    if (spec.kind === 'Namespace') {
      if (live.metadata.deletionTimestamp) return { object: live, gone: false };
      m.deletionTimestamp = k8sTime(now);
      m.deletionGracePeriodSeconds = 0;
      next.status = { ...(next.status ?? {}), phase: 'Terminating' };
      if (opts.dryRun) return { object: next, gone: false };
      return { object: this.store.put(spec, next), gone: false };
    }

    if (m.finalizers?.length) {
      if (live.metadata.deletionTimestamp && jsonEqual(live.metadata.finalizers, m.finalizers)) return { object: live, gone: false };
      m.deletionTimestamp ??= k8sTime(now);
      m.deletionGracePeriodSeconds ??= 0;
      if (opts.dryRun) return { object: next, gone: false };
      return { object: this.store.put(spec, next), gone: false };
    }
    return this.removeNow(spec, next, opts);
  }

  private removeNow(spec: ResourceSpec, obj: KObject, opts: WriteOptions): DeleteResult {
    if (opts.dryRun) return { object: obj, gone: true };
    const gone = this.store.remove(spec, obj.metadata.namespace, obj.metadata.name);
    return { object: gone ?? obj, gone: true };
  }

  /**
   * Internal read-modify-write of one object by a lab controller. `fn` changes a copy; nothing is written
   * when it returns false or changes nothing. Returns the stored object (or undefined when it is gone).
   */
  mutate(spec: ResourceSpec, ns: string | undefined, name: string, fn: (obj: KObject) => boolean | void): KObject | undefined {
    const live = this.store.get(spec, ns, name);
    if (!live) return undefined;
    const next = clone(live);
    if (fn(next) === false) return live;
    if (jsonEqual(stripVolatile(live), stripVolatile(next))) return live;
    if (specChanged(live, next)) next.metadata.generation = (live.metadata.generation ?? 1) + 1;
    if (next.metadata.deletionTimestamp && !(next.metadata.finalizers?.length) && spec.kind !== 'Pod' && spec.kind !== 'Namespace') {
      return void this.store.remove(spec, ns, name);
    }
    return this.store.put(spec, next);
  }
}

function jsonOrYaml(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return parseYaml(raw);
  }
}

function specChanged(a: KObject, b: KObject): boolean {
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (k === 'metadata' || k === 'status' || k === 'apiVersion' || k === 'kind') continue;
    if (!jsonEqual(a[k], b[k])) return true;
  }
  return false;
}

function stripVolatile(o: KObject): KObject {
  const { resourceVersion: _rv, managedFields: _mf, ...meta } = o.metadata;
  return { ...o, metadata: meta as KObject['metadata'] };
}
