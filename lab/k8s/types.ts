// Shapes of the objects the lab stores. Objects are plain JSON; the store never mutates a stored object in
// place (writers build a new one), so readers, watch history and list snapshots can share references.

/** Any JSON value. */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** An owner reference. */
export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** Object metadata as the lab keeps it. */
export interface ObjectMeta {
  name: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  managedFields?: ManagedFieldsEntry[];
  [k: string]: unknown;
}

/** One metadata.managedFields entry. */
export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: Record<string, unknown>;
  subresource?: string;
}

/** A stored object. Fields beyond metadata are free-form. */
export interface KObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [k: string]: any;
}

/** RFC 3339 time with second precision, as metav1.Time serialises. */
export function k8sTime(ms = Date.now()): string {
  // Called for every status write: formatting a Date once per second is enough (a model-scale twin seeds
  // 10,000 pods through here).
  const second = Math.floor(ms / 1000);
  if (second !== lastTime.second) lastTime = { second, text: new Date(second * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z') };
  return lastTime.text;
}
let lastTime = { second: Number.NaN, text: '' };

/**
 * Deep copy of JSON data. Plain objects and arrays are copied by hand: structuredClone costs several times
 * more per small object, and every controller write copies one (it was the lab's hottest function at 10,000
 * pods). Anything else (a Date, a Buffer) still goes through structuredClone.
 */
export function clone<T>(value: T): T {
  return copyJson(value) as T;
}

function copyJson(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) {
    const out = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) out[i] = copyJson(v[i]);
    return out;
  }
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return structuredClone(v);
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) out[k] = copyJson((v as Record<string, unknown>)[k]);
  return out;
}

/** The store key of an object: `ns/name` or `name`. */
export function objectKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

/** The controller owner reference of an object, if any. */
export function controllerOf(obj: KObject): OwnerReference | undefined {
  return obj.metadata.ownerReferences?.find((o) => o.controller);
}

/** True when a pod's Ready condition is True. */
export function isPodReady(pod: KObject): boolean {
  return !!pod.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True');
}

/** True when a pod is finished (Succeeded or Failed). */
export function isPodTerminated(pod: KObject): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

/** True when a pod counts for its controller: not finished and not being deleted. */
export function isPodActive(pod: KObject): boolean {
  return !isPodTerminated(pod) && !pod.metadata.deletionTimestamp;
}

/** The Ready condition status of a node: 'True', 'False', 'Unknown' or undefined. */
export function nodeReadyStatus(node: KObject): string | undefined {
  return node.status?.conditions?.find((c: { type: string }) => c.type === 'Ready')?.status;
}

/** Deep equality of JSON values. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ak = Object.keys(a as object);
  const bk = Object.keys(b as object);
  if (ak.length !== bk.length) return false;
  for (const k of ak) {
    if (!Object.prototype.hasOwnProperty.call(b, k)) return false;
    if (!jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}

/** True for a plain JSON object (not an array, not null). */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
