// What a component looks like in the cluster: its release records, its ApplySet parent and the live members.
// Writes here (records, parent) go through ComponentKube, so the gate sees them.
import { isPlanned } from '../core/gate.js';
import type { ComponentKube } from './client.js';
import { ReleaseError } from './errors.js';
import {
  ADDITIONAL_NAMESPACES,
  APPLYSET_ID,
  APPLYSET_TOOLING,
  CONTAINS_GROUP_KINDS,
  type KObject,
  TOOLING,
  applySetId,
  groupKind,
  objectKey,
  PART_OF,
} from './objects.js';
import { type Release, RELEASE_OWNER, decodeRelease, encodeRelease } from './release.js';

/** Our own parent annotation: apiVersion/Kind of every member kind (ApplySet's group-kinds carry no version). */
export const MEMBER_KINDS = 'component.cluster-cookbooks.org/member-kinds';

/** The ApplySet parent of a component: a Secret named component-<name> in its namespace. */
export function parentOf(component: string, namespace: string): { name: string; namespace: string; id: string } {
  const name = `component-${component}`;
  return { name, namespace, id: applySetId({ name, namespace, kind: 'Secret', group: '' }) };
}

/** Every release record of a component, oldest first. */
export async function readReleases(kube: ComponentKube, component: string, namespace: string): Promise<Release[]> {
  const secrets = await kube.list('v1', 'Secret', { namespace, labelSelector: `owner=${RELEASE_OWNER},name=${component}` });
  const out: Release[] = [];
  for (const s of secrets) {
    try {
      const r = decodeRelease(s as never);
      if (r) out.push(r);
    } catch (err) {
      throw new ReleaseError(`the release record ${namespace}/${s.metadata.name} cannot be read`, {
        context: { object: `Secret/${namespace}/${s.metadata.name}` },
        cause: err,
        hint: 'the record is damaged; delete it (kubectl delete secret) if it belongs to a failed revision',
      });
    }
  }
  return out.sort((a, b) => a.revision - b.revision);
}

/** Every component with release records on the cluster (namespace and name). */
export async function listDeployedComponents(kube: ComponentKube): Promise<{ component: string; namespace: string }[]> {
  const secrets = await kube.list('v1', 'Secret', { labelSelector: `owner=${RELEASE_OWNER}` });
  const seen = new Map<string, { component: string; namespace: string }>();
  for (const s of secrets) {
    const c = s.metadata.labels?.name;
    if (c && !seen.has(c)) seen.set(c, { component: c, namespace: s.metadata.namespace ?? '' });
  }
  return [...seen.values()].sort((a, b) => a.component.localeCompare(b.component));
}

/** Writes (creates or updates) a release record. */
export async function writeRelease(kube: ComponentKube, r: Release): Promise<void> {
  await kube.apply(encodeRelease(r), { forceConflicts: true });
}

/** The kinds to look for members of: the parent's recorded member kinds plus the rendered ones. */
export function memberKinds(parent: KObject | undefined, rendered: readonly KObject[]): Map<string, { apiVersion: string; kind: string }> {
  const out = new Map<string, { apiVersion: string; kind: string }>();
  for (const entry of (parent?.metadata.annotations?.[MEMBER_KINDS] ?? '').split(',').filter(Boolean)) {
    const i = entry.lastIndexOf('/');
    const apiVersion = entry.slice(0, i);
    const kind = entry.slice(i + 1);
    out.set(groupKind({ apiVersion, kind }), { apiVersion, kind });
  }
  for (const o of rendered) out.set(groupKind(o), { apiVersion: o.apiVersion, kind: o.kind });
  return out;
}

/** The live members of the set, by key. */
export async function liveMembers(kube: ComponentKube, setId: string, kinds: Map<string, { apiVersion: string; kind: string }>): Promise<Map<string, KObject>> {
  const out = new Map<string, KObject>();
  for (const { apiVersion, kind } of kinds.values()) {
    for (const o of await kube.list(apiVersion, kind, { labelSelector: `${PART_OF}=${setId}` })) out.set(objectKey(o), o);
  }
  return out;
}

/** The parent Secret with the ApplySet labels and annotations for these members. */
export function parentObject(component: string, namespace: string, members: readonly KObject[], keepKinds: readonly { apiVersion: string; kind: string }[] = []): KObject {
  const p = parentOf(component, namespace);
  const kinds = new Map<string, { apiVersion: string; kind: string }>();
  for (const k of [...keepKinds, ...members]) kinds.set(groupKind(k), { apiVersion: k.apiVersion, kind: k.kind });
  const namespaces = [...new Set(members.map((m) => m.metadata.namespace).filter((n): n is string => !!n && n !== namespace))].sort();
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: p.name,
      namespace,
      labels: { [APPLYSET_ID]: p.id },
      annotations: {
        [APPLYSET_TOOLING]: TOOLING,
        [CONTAINS_GROUP_KINDS]: [...kinds.keys()].sort().join(','),
        [ADDITIONAL_NAMESPACES]: namespaces.join(','),
        [MEMBER_KINDS]: [...kinds.values()].map((k) => `${k.apiVersion}/${k.kind}`).sort().join(','),
      },
    },
    type: 'Opaque',
  };
}

/** Refuses a parent that another tool manages or whose id does not match (KEP-3659). */
export function checkParent(parent: KObject | undefined, expectedId: string): void {
  if (!parent) return;
  const id = parent.metadata.labels?.[APPLYSET_ID];
  const tooling = parent.metadata.annotations?.[APPLYSET_TOOLING];
  if (id !== expectedId || (tooling && !tooling.startsWith('cluster-cookbooks/'))) {
    throw new ReleaseError(`Secret ${parent.metadata.namespace}/${parent.metadata.name} is an ApplySet parent of another tool (id ${id ?? 'none'}, tooling ${tooling ?? 'none'})`, {
      context: { object: `Secret/${parent.metadata.namespace}/${parent.metadata.name}`, id, tooling },
      hint: 'rename the component or remove the other tool\'s parent',
    });
  }
}

/** Ensures the component's namespace exists (created, never pruned: it is not a set member). */
export async function ensureNamespace(kube: ComponentKube, namespace: string): Promise<boolean> {
  const ns: KObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } };
  if (await kube.read(ns)) return false;
  const r = await kube.apply(ns);
  return !isPlanned(r);
}
