// Rendered objects: identity, scope, the content hash we stamp on them (so an unchanged object needs no
// request at all), and the KEP-3659 ApplySet labels and annotations.
import { createHash } from 'node:crypto';

/** A Kubernetes object as rendered or read (loosely typed: any kind). */
export interface KObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; [k: string]: unknown };
  [k: string]: unknown;
}

/** Annotation holding the hash of what we applied (changes when the rendered object changes). */
export const HASH_ANNOTATION = 'component.cluster-cookbooks.org/applied-hash';
/** Label on members: the ApplySet they belong to (KEP-3659). */
export const PART_OF = 'applyset.kubernetes.io/part-of';
/** Label on the parent: the ApplySet id. */
export const APPLYSET_ID = 'applyset.kubernetes.io/id';
/** Parent annotation: which tool manages the set. */
export const APPLYSET_TOOLING = 'applyset.kubernetes.io/tooling';
/** Parent annotation: the group-kinds of the members (where to look for them when pruning). */
export const CONTAINS_GROUP_KINDS = 'applyset.kubernetes.io/contains-group-kinds';
/** Parent annotation: namespaces other than the parent's that hold members. */
export const ADDITIONAL_NAMESPACES = 'applyset.kubernetes.io/additional-namespaces';
/** Our tooling value. */
export const TOOLING = 'cluster-cookbooks/v1';
/** The field manager our server-side applies use. */
export const FIELD_MANAGER = 'cluster-cookbooks';

/** Kinds that are cluster-scoped (others are namespaced unless a rendered CRD says otherwise). */
const CLUSTER_SCOPED = new Set([
  'Namespace', 'Node', 'PersistentVolume', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding', 'PriorityClass', 'StorageClass',
  'IngressClass', 'ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration', 'APIService', 'ClusterPolicy', 'RuntimeClass', 'ValidatingAdmissionPolicy',
]);

/** The API group of an apiVersion ('' for the core group). */
export function groupOf(apiVersion: string): string {
  return apiVersion.includes('/') ? apiVersion.split('/')[0]! : '';
}

/** `Kind.group` (or just `Kind` for the core group), as ApplySet writes group-kinds. */
export function groupKind(obj: Pick<KObject, 'apiVersion' | 'kind'>): string {
  const g = groupOf(obj.apiVersion);
  return g ? `${obj.kind}.${g}` : obj.kind;
}

/** A stable identity: `Kind.group/namespace/name` (no namespace part for cluster-scoped objects). */
export function objectKey(obj: KObject): string {
  return `${groupKind(obj)}/${obj.metadata.namespace ? `${obj.metadata.namespace}/` : ''}${obj.metadata.name}`;
}

/** What operators read: `Kind/namespace/name`. */
export function displayName(obj: KObject): string {
  return `${obj.kind}/${obj.metadata.namespace ? `${obj.metadata.namespace}/` : ''}${obj.metadata.name}`;
}

/** Whether a kind is cluster-scoped, given the CRDs rendered alongside. */
export function isClusterScoped(obj: Pick<KObject, 'apiVersion' | 'kind'>, crdScopes: ReadonlyMap<string, string> = new Map()): boolean {
  const crd = crdScopes.get(groupKind(obj));
  if (crd) return crd === 'Cluster';
  return CLUSTER_SCOPED.has(obj.kind);
}

/**
 * JSON.stringify of `v` with every object's keys sorted, built in one pass (a deploy hashes thousands of
 * objects; building sorted copies first cost more than the hashing). Same text as stringifying sorted copies.
 */
function canonicalText(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined || typeof x === 'function' || typeof x === 'symbol' ? 'null' : canonicalText(x))).join(',')}]`;
  if (v && typeof v === 'object') {
    if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return JSON.stringify(v);
    const parts: string[] = [];
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x === undefined || typeof x === 'function' || typeof x === 'symbol') continue;
      parts.push(`${JSON.stringify(k)}:${canonicalText(x)}`);
    }
    return `{${parts.join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

// Hashes known without hashing: those the render cache stored with the objects it hands out (never mutated
// after rendering: stamped() copies them).
const knownHashes = new WeakMap<KObject, string>();

/** Records the content hash of a rendered object computed earlier (the render cache's copy of it). */
export function rememberContentHash(obj: KObject, hash: string): void {
  knownHashes.set(obj, hash);
}

/** The content hash of a rendered object (before our labels and annotations are added). */
export function contentHash(obj: KObject): string {
  return knownHashes.get(obj) ?? createHash('sha256').update(canonicalText(obj)).digest('hex').slice(0, 20);
}

/** The ApplySet id of a parent (KEP-3659): applyset-<base64url(sha256(name.namespace.Kind.group))>-v1. */
export function applySetId(parent: { name: string; namespace: string; kind: string; group: string }): string {
  const digest = createHash('sha256').update(`${parent.name}.${parent.namespace}.${parent.kind}.${parent.group}`).digest('base64url');
  return `applyset-${digest}-v1`;
}

/** The object to apply: the rendered one plus the part-of label and our hash annotation. */
export function stamped(obj: KObject, setId: string): KObject {
  const hash = contentHash(obj);
  return {
    ...obj,
    metadata: { ...obj.metadata, labels: { ...obj.metadata.labels, [PART_OF]: setId }, annotations: { ...obj.metadata.annotations, [HASH_ANNOTATION]: hash } },
  };
}

/** True when `want` is contained in `have` (maps by key, lists item by item with equal length). */
export function isSubset(want: unknown, have: unknown): boolean {
  if (Array.isArray(want)) return Array.isArray(have) && have.length === want.length && want.every((w, i) => isSubset(w, have[i]));
  if (want && typeof want === 'object') {
    if (!have || typeof have !== 'object' || Array.isArray(have)) return false;
    return Object.entries(want).every(([k, v]) => isSubset(v, (have as Record<string, unknown>)[k]));
  }
  if (typeof want === 'number' && typeof have === 'string') return String(want) === have;
  return want === have;
}

/** Matches a namespace against globs with `*`. */
export function namespaceAllowed(ns: string, own: string, globs: readonly string[]): boolean {
  if (ns === own) return true;
  return globs.some((g) => new RegExp(`^${g.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`).test(ns));
}
