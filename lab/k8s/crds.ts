// CustomResourceDefinitions: a CRD (apiextensions.k8s.io/v1) is validated like the real API server does
// (name = plural.group, names, scope, exactly one storage version, a structural schema per version); once
// stored its served versions become resources (URLs, discovery, OpenAPI) and the CRD's status reports
// NamesAccepted and Established. Custom resources are checked against the version's openAPIV3Schema (types,
// required, enum, bounds, patterns), with fields the schema does not declare pruned as the real server does.
// Deleting a CRD deletes every custom resource of it and stops serving the kind.
import type { ResourceSpec } from './resources.js';
import type { ObjectApi } from './rest.js';
import type { StoreEvent } from './store.js';
import { WorkQueue } from './timers.js';
import { isPlainObject, k8sTime, type KObject } from './types.js';

/** One invalid field, as admission collects them. */
export interface Cause {
  field: string;
  message: string;
  reason?: string;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Schema = Record<string, any>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const isMap = (v: unknown): v is Schema => isPlainObject(v);

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const KIND = /^[A-Za-z][A-Za-z0-9]*$/;

/** The resources a CRD serves: one per served version. */
export function crdResources(crd: KObject): ResourceSpec[] {
  const s = crd.spec ?? {};
  const names = s.names ?? {};
  const out: ResourceSpec[] = [];
  for (const v of s.versions ?? []) {
    if (!v.served) continue;
    const subresources: string[] = [];
    if (isPlainObject(v.subresources?.status)) subresources.push('status');
    if (isPlainObject(v.subresources?.scale)) subresources.push('scale');
    const spec: ResourceSpec = {
      group: s.group,
      version: v.name,
      kind: names.kind,
      plural: names.plural,
      singular: names.singular ?? String(names.kind).toLowerCase(),
      namespaced: s.scope !== 'Cluster',
      subresources,
      schema: v.schema?.openAPIV3Schema,
    };
    if (names.shortNames?.length) spec.shortNames = names.shortNames;
    if (names.categories?.length) spec.categories = names.categories;
    out.push(spec);
  }
  return out;
}

/** Defaults of a CRD as the API server fills them. */
export function defaultCrd(crd: KObject): void {
  const s = crd.spec;
  if (!isPlainObject(s)) return;
  if (isPlainObject(s.names)) {
    s.names.singular ??= typeof s.names.kind === 'string' ? s.names.kind.toLowerCase() : undefined;
    s.names.listKind ??= typeof s.names.kind === 'string' ? `${s.names.kind}List` : undefined;
  }
  s.conversion ??= { strategy: 'None' };
}

/** Validation of a CRD (metadata.name, group, names, scope, versions, schemas). */
export function validateCrd(crd: KObject, causes: Cause[], old?: KObject): void {
  const s = crd.spec;
  if (!isPlainObject(s)) {
    causes.push({ field: 'spec', message: 'Required value', reason: 'FieldValueRequired' });
    return;
  }
  const group = s.group;
  if (typeof group !== 'string' || !group) causes.push({ field: 'spec.group', message: 'Required value', reason: 'FieldValueRequired' });
  else if (!DNS1123_SUBDOMAIN.test(group) || !group.includes('.')) causes.push({ field: 'spec.group', message: `Invalid value: "${group}": should be a domain with at least one dot` });
  const names = isPlainObject(s.names) ? s.names : {};
  if (typeof names.plural !== 'string' || !names.plural) causes.push({ field: 'spec.names.plural', message: 'Required value', reason: 'FieldValueRequired' });
  else if (!DNS1035_LABEL.test(names.plural)) causes.push({ field: 'spec.names.plural', message: `Invalid value: "${names.plural}": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'` });
  if (typeof names.kind !== 'string' || !names.kind) causes.push({ field: 'spec.names.kind', message: 'Required value', reason: 'FieldValueRequired' });
  else if (!KIND.test(names.kind)) causes.push({ field: 'spec.names.kind', message: `Invalid value: "${names.kind}": must be a valid kind name` });
  if (typeof names.plural === 'string' && typeof group === 'string' && crd.metadata.name !== `${names.plural}.${group}`) {
    causes.push({ field: 'metadata.name', message: `Invalid value: "${crd.metadata.name}": must be spec.names.plural+"."+spec.group` });
  }
  if (s.scope !== 'Namespaced' && s.scope !== 'Cluster') {
    causes.push({ field: 'spec.scope', message: s.scope === undefined ? 'Required value' : `Unsupported value: "${s.scope}": supported values: "Cluster", "Namespaced"`, reason: s.scope === undefined ? 'FieldValueRequired' : 'FieldValueNotSupported' });
  }
  const versions = Array.isArray(s.versions) ? s.versions : [];
  if (!versions.length) causes.push({ field: 'spec.versions', message: 'Invalid value: null: must have exactly one version marked as storage version' });
  else if (versions.filter((v: Schema) => v?.storage === true).length !== 1) causes.push({ field: 'spec.versions', message: `Invalid value: ${JSON.stringify(versions.map((v: Schema) => v?.name))}: must have exactly one version marked as storage version` });
  versions.forEach((v: Schema, i: number) => {
    if (typeof v?.name !== 'string' || !DNS1035_LABEL.test(v.name)) causes.push({ field: `spec.versions[${i}].name`, message: `Invalid value: ${JSON.stringify(v?.name)}: must be a DNS-1035 label` });
    if (typeof v?.served !== 'boolean') causes.push({ field: `spec.versions[${i}].served`, message: 'Required value', reason: 'FieldValueRequired' });
    const schema = v?.schema?.openAPIV3Schema;
    if (!isPlainObject(schema)) causes.push({ field: `spec.versions[${i}].schema.openAPIV3Schema`, message: 'Required value: schemas are required', reason: 'FieldValueRequired' });
    else if (schema.type !== 'object') causes.push({ field: `spec.versions[${i}].schema.openAPIV3Schema.type`, message: `Unsupported value: ${JSON.stringify(schema.type)}: supported values: "object"`, reason: 'FieldValueNotSupported' });
  });
  if (old && old.spec?.scope && s.scope !== old.spec.scope) causes.push({ field: 'spec.scope', message: `Invalid value: "${s.scope}": field is immutable` });
  if (old && old.spec?.group && group !== old.spec.group) causes.push({ field: 'spec.group', message: `Invalid value: "${group}": field is immutable` });
}

function typeOk(type: string, v: unknown, schema: Schema): boolean {
  if (schema['x-kubernetes-int-or-string'] && (typeof v === 'string' || Number.isInteger(v))) return true;
  switch (type) {
    case 'object':
      return isPlainObject(v);
    case 'array':
      return Array.isArray(v);
    case 'string':
      return typeof v === 'string';
    case 'integer':
      return Number.isInteger(v);
    case 'number':
      return typeof v === 'number';
    case 'boolean':
      return typeof v === 'boolean';
    default:
      return true;
  }
}

/** Checks (and prunes) a value against a structural schema, collecting causes with the API server's paths. */
export function checkSchema(v: unknown, schema: Schema | undefined, path: string, causes: Cause[]): void {
  if (!isMap(schema)) return;
  if (v === null) {
    if (!schema.nullable && schema.type) causes.push({ field: path, message: `Invalid value: "null": ${path} in body must be of type ${schema.type}: "null"`, reason: 'FieldValueTypeInvalid' });
    return;
  }
  if (schema.type && !typeOk(schema.type, v, schema)) {
    const got = Array.isArray(v) ? 'array' : Number.isInteger(v) ? 'integer' : typeof v;
    causes.push({ field: path, message: `Invalid value: "${got}": ${path} in body must be of type ${schema.type}: "${got}"`, reason: 'FieldValueTypeInvalid' });
    return;
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((e: unknown) => e === v)) {
    causes.push({ field: path, message: `Unsupported value: ${JSON.stringify(v)}: supported values: ${schema.enum.map((e: unknown) => JSON.stringify(e)).join(', ')}`, reason: 'FieldValueNotSupported' });
  }
  if (typeof v === 'number') {
    if (typeof schema.minimum === 'number' && v < schema.minimum) causes.push({ field: path, message: `Invalid value: ${v}: ${path} in body should be greater than or equal to ${schema.minimum}` });
    if (typeof schema.maximum === 'number' && v > schema.maximum) causes.push({ field: path, message: `Invalid value: ${v}: ${path} in body should be less than or equal to ${schema.maximum}` });
  }
  if (typeof v === 'string') {
    if (typeof schema.maxLength === 'number' && v.length > schema.maxLength) causes.push({ field: path, message: `Too long: may not be longer than ${schema.maxLength}`, reason: 'FieldValueTooLong' });
    if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern as string).test(v)) causes.push({ field: path, message: `Invalid value: "${v}": ${path} in body should match '${schema.pattern}'` });
  }
  if (Array.isArray(v) && isMap(schema.items)) v.forEach((item, i) => checkSchema(item, schema.items as Schema, `${path}[${i}]`, causes));
  if (isPlainObject(v)) {
    for (const r of Array.isArray(schema.required) ? schema.required : []) {
      if (!(r in v)) causes.push({ field: path ? `${path}.${r}` : r, message: 'Required value', reason: 'FieldValueRequired' });
    }
    const props: Schema | undefined = isMap(schema.properties) ? schema.properties : undefined;
    const extra: Schema | undefined = isMap(schema.additionalProperties) ? schema.additionalProperties : undefined;
    for (const [k, child] of Object.entries(v)) {
      const p = path ? `${path}.${k}` : k;
      if (props && k in props) checkSchema(child, props[k], p, causes);
      else if (extra) checkSchema(child, extra, p, causes);
      else if (props && !schema['x-kubernetes-preserve-unknown-fields']) delete v[k]; // pruned, as the real server does
    }
  }
}

/** Validates a custom resource against its version's schema (metadata and apiVersion/kind are the server's). */
export function validateCustomResource(spec: ResourceSpec, obj: KObject, causes: Cause[]): void {
  const schema = spec.schema;
  if (!isMap(schema)) return;
  const props: Schema = isMap(schema.properties) ? schema.properties : {};
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'apiVersion' || k === 'kind' || k === 'metadata') continue;
    if (k in props) checkSchema(v, props[k], k, causes);
    else if (!schema['x-kubernetes-preserve-unknown-fields'] && Object.keys(props).length) delete obj[k];
  }
  for (const r of Array.isArray(schema.required) ? schema.required : []) {
    if (!['apiVersion', 'kind', 'metadata'].includes(r) && !(r in obj)) causes.push({ field: r, message: 'Required value', reason: 'FieldValueRequired' });
  }
}

/**
 * Serves the kinds of stored CRDs: registers them as soon as the CRD is written (so the next request finds
 * them), reports NamesAccepted/Established in the CRD's status, and on deletion removes the custom resources
 * and stops serving the kind.
 */
export class CrdController {
  private readonly statusQ: WorkQueue;
  private readonly cleanupQ: WorkQueue;
  /** Kinds served per CRD name (so an update that drops a version stops serving it). */
  private readonly served = new Map<string, ResourceSpec[]>();
  private readonly gone = new Map<string, ResourceSpec[]>();

  constructor(private readonly api: ObjectApi) {
    this.statusQ = new WorkQueue('crd-establishing', (name) => this.establish(name));
    this.cleanupQ = new WorkQueue('crd-finalizer', (name) => this.cleanup(name));
    api.store.on('change', (ev) => this.onChange(ev));
  }

  private onChange(ev: StoreEvent): void {
    if (ev.spec.kind !== 'CustomResourceDefinition' || ev.spec.group !== 'apiextensions.k8s.io') return;
    const name = ev.object.metadata.name;
    const reg = this.api.store.registry;
    const before = this.served.get(name) ?? [];
    if (ev.type === 'DELETED') {
      this.served.delete(name);
      this.gone.set(name, before);
      this.cleanupQ.add(name);
      return;
    }
    const now = crdResources(ev.object);
    for (const old of before) if (!now.some((s) => s.version === old.version)) reg.unregister(old);
    for (const spec of now) {
      reg.register(spec);
      this.api.store.ensureTable(spec);
    }
    this.served.set(name, now);
    if (!ev.object.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Established' && c.status === 'True') || ev.type === 'ADDED') this.statusQ.add(name);
  }

  private establish(name: string): void {
    const crds = this.api.res('apiextensions.k8s.io', 'customresourcedefinitions');
    this.api.mutate(crds, undefined, name, (o) => {
      const now = k8sTime();
      const storage = (o.spec.versions ?? []).find((v: Schema) => v.storage)?.name;
      const stored: string[] = o.status?.storedVersions ?? [];
      o.status = {
        acceptedNames: { ...o.spec.names },
        conditions: [
          { type: 'NamesAccepted', status: 'True', lastTransitionTime: now, reason: 'NoConflicts', message: 'no conflicts found' },
          { type: 'Established', status: 'True', lastTransitionTime: now, reason: 'InitialNamesAccepted', message: 'the initial names have been accepted' },
        ],
        storedVersions: storage && !stored.includes(storage) ? [...stored, storage] : stored,
      };
    });
  }

  private cleanup(name: string): void {
    const specs = this.gone.get(name) ?? [];
    this.gone.delete(name);
    if (this.served.has(name)) return; // recreated meanwhile: its objects stay
    const store = this.api.store;
    const first = specs[0];
    if (first) {
      for (const obj of [...store.scan(first)]) store.remove(first, obj.metadata.namespace, obj.metadata.name);
      for (const spec of specs) store.registry.unregister(spec);
      store.dropTable(first);
    }
  }

  /** Stops the queues. */
  stop(): void {
    this.statusQ.stop();
    this.cleanupQ.stop();
  }
}
