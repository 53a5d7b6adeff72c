// The components deployed on a cluster, as a re-deploy reads them (lib/component/state.ts): the release records
// (Secrets labelled owner=cluster-cookbooks), each ApplySet parent and its live members. A twin recreates them,
// so simulating a re-deploy predicts a re-deploy, not a first install. Secret values never enter a snapshot:
// a record's values are left out altogether (values files may hold secrets), every Secret object (a member, or
// one in a record's objects or manifest) keeps its keys with a fixed placeholder for each value, and the
// content-hash annotation of a Secret (a hash of its values) is dropped. Repository URLs lose any credentials.
import { parseAllDocuments, stringify } from 'yaml';
import { APPLYSET_ID, APPLYSET_TOOLING, CONTAINS_GROUP_KINDS, HASH_ANNOTATION, type KObject, PART_OF, groupOf } from '../component/objects.js';
import { RELEASE_OWNER, decodeRelease } from '../component/release.js';
import { memberKinds } from '../component/state.js';
import type { ApiResource, KubeReader, RawObject } from './kube-read.js';
import type { SnapshotComponent, SnapshotRelease } from './types.js';

/** What every Secret value becomes in a snapshot (stringData, and a record's manifest). */
export const SECRET_PLACEHOLDER = 'secret-value-not-captured-by-the-snapshot';
/** The placeholder as Secret `data` (base64, as the API holds data). */
export const SECRET_PLACEHOLDER_DATA = Buffer.from(SECRET_PLACEHOLDER, 'utf8').toString('base64');

/** kubectl's copy of the last applied object: for a Secret, its values in clear. Never captured. */
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
/** Server bookkeeping a twin sets itself. */
const SERVER_FIELDS = ['resourceVersion', 'uid', 'creationTimestamp', 'generation', 'selfLink', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'ownerReferences'];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

/** A copy of an object with its Secret values replaced by the placeholder (any other object: unchanged). */
export function maskSecretValues<T>(obj: T): T {
  const o = structuredClone(obj) as Any;
  if (!o || typeof o !== 'object') return o;
  const annotations = o.metadata?.annotations as Record<string, string> | undefined;
  if (annotations) delete annotations[LAST_APPLIED];
  if (o.kind !== 'Secret') return o;
  if (o.data && typeof o.data === 'object') o.data = Object.fromEntries(Object.keys(o.data).map((k) => [k, SECRET_PLACEHOLDER_DATA]));
  if (o.stringData && typeof o.stringData === 'object') o.stringData = Object.fromEntries(Object.keys(o.stringData).map((k) => [k, SECRET_PLACEHOLDER]));
  if (annotations) delete annotations[HASH_ANNOTATION];
  return o;
}

/** A live object as a twin recreates it: no status or server bookkeeping; managed fields kept (they name fields, not values). */
export function liveObject(o: RawObject): Record<string, unknown> {
  const { status: _s, ...rest } = maskSecretValues(o) as Any;
  for (const k of SERVER_FIELDS) delete rest.metadata[k];
  if (rest.metadata.annotations && Object.keys(rest.metadata.annotations).length === 0) delete rest.metadata.annotations;
  return rest;
}

/** A rendered manifest (YAML documents) with its Secrets' values masked; undefined when it cannot be parsed. */
export function maskManifest(manifest: string): string | undefined {
  const docs = parseAllDocuments(manifest);
  if (!Array.isArray(docs) || docs.some((d) => d.errors.length)) return undefined;
  return docs
    .map((d) => d.toJS())
    .filter((o) => o !== null && o !== undefined)
    .map((o) => stringify(maskSecretValues(o)))
    .join('---\n');
}

/** A URL without user information (an https://user:token@host/ clone URL must not reach a snapshot). */
export function withoutCredentials(url: string): string {
  try {
    const u = new URL(url);
    if (!u.username && !u.password) return url;
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    // scp-like git addresses (git@host:repo) name a user, never a password.
    return url.replace(/^[^@/]*:[^@/]*@/, '');
  }
}

/** A release record Secret as captured: its labels and its record without values, Secrets masked. */
export function captureRelease(secret: RawObject): SnapshotRelease | undefined {
  const r = decodeRelease(secret as never);
  if (!r) return undefined;
  const { values: _v, manifest, objects, repo, ...rest } = r;
  const masked = maskManifest(manifest ?? '');
  return {
    name: secret.metadata.name,
    labels: { ...((secret.metadata.labels as Record<string, string> | undefined) ?? {}) },
    type: String((secret as Any).type ?? ''),
    record: {
      ...structuredClone(rest),
      repo: { ...repo, url: withoutCredentials(repo.url) },
      objects: (objects ?? []).map((o) => maskSecretValues(o)),
      manifest: masked ?? '# not captured: the manifest could not be parsed to mask its Secrets\n',
    },
  };
}

const key = (o: { metadata: { namespace?: string; name: string } }): string => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

/**
 * Every component on the cluster: release records, ApplySet parent (Secret component-<name> with our tooling)
 * and the parent's live members of every kind it records. GET only; `resources` is the server's discovery.
 */
export async function captureComponents(reader: KubeReader, resources: () => Promise<ApiResource[]>, warn: (message: string) => void = () => {}): Promise<SnapshotComponent[]> {
  const secrets = { group: '', version: 'v1', plural: 'secrets' };
  const byComponent = new Map<string, SnapshotComponent>();
  const entry = (namespace: string, component: string): SnapshotComponent => {
    const k = `${namespace}/${component}`;
    let c = byComponent.get(k);
    if (!c) byComponent.set(k, (c = { component, namespace, releases: [], members: [], maskedSecrets: [] }));
    return c;
  };
  const records: RawObject[] = [];
  const parents: RawObject[] = [];
  try {
    await reader.list(secrets, (items) => records.push(...items), { labelSelector: `owner=${RELEASE_OWNER}` });
    await reader.list(secrets, (items) => parents.push(...items), { labelSelector: APPLYSET_ID });
  } catch (err) {
    // A user who may not list Secrets: the rest of the snapshot still holds, and the twin has no components.
    warn(`snapshot: deployed components not captured (${(err as Error).message}): a simulated deploy of one will look like a first install`);
    return [];
  }
  for (const s of records) {
    const name = (s.metadata.labels as Record<string, string> | undefined)?.name;
    if (!name) continue;
    try {
      const r = captureRelease(s);
      if (r) entry(s.metadata.namespace ?? '', name).releases.push(r);
    } catch (err) {
      // A damaged record is the re-deploy's problem to report; the twin goes without it.
      warn(`snapshot: release record ${key(s)} left out: ${(err as Error).message}`);
    }
  }
  let discovered: ApiResource[] | undefined;
  for (const p of parents) {
    const annotations = (p.metadata.annotations ?? {}) as Record<string, string>;
    const labels = (p.metadata.labels ?? {}) as Record<string, string>;
    if (!annotations[APPLYSET_TOOLING]?.startsWith('cluster-cookbooks/') || !p.metadata.name.startsWith('component-')) continue;
    const c = entry(p.metadata.namespace ?? '', p.metadata.name.slice('component-'.length));
    c.parent = { name: p.metadata.name, labels: { ...labels }, annotations: { ...annotations }, type: String((p as Any).type ?? 'Opaque') };
    discovered ??= await resources();
    const id = labels[APPLYSET_ID]!;
    for (const kind of memberKindsOf(annotations, discovered)) {
      try {
        await reader.list(kind, (items) => c.members.push(...items.map((o) => liveObject(o))), { labelSelector: `${PART_OF}=${id}` });
      } catch (err) {
        warn(`snapshot: members of ${c.namespace}/${c.component} of kind ${kind.kind} left out: ${(err as Error).message}`);
      }
    }
  }
  for (const c of byComponent.values()) {
    c.releases.sort((a, b) => Number(a.record.revision) - Number(b.record.revision));
    const secretsOf = [...c.members, ...c.releases.flatMap((r) => r.record.objects as Any[])].filter((o) => o?.kind === 'Secret');
    c.maskedSecrets = [...new Set(secretsOf.map((o) => `${o.metadata.namespace ?? c.namespace}/${o.metadata.name}`))].sort();
  }
  return [...byComponent.values()].sort((a, b) => `${a.namespace}/${a.component}`.localeCompare(`${b.namespace}/${b.component}`));
}

/** The served resources of a parent's member kinds: our own apiVersion/Kind list, else ApplySet's group-kinds. */
function memberKindsOf(annotations: Record<string, string>, served: readonly ApiResource[]): ApiResource[] {
  const out = new Map<string, ApiResource>();
  const add = (group: string, kind: string, version?: string): void => {
    // The recorded version when it is served, else the group's preferred one (discovery lists only that).
    const same = served.filter((x) => x.group === group && x.kind === kind);
    const r = same.find((x) => x.version === version) ?? same[0];
    if (r) out.set(`${group}/${kind}`, version && !same.some((x) => x.version === version) ? r : { ...r, version: version ?? r.version });
  };
  // The recorded apiVersion/Kind list, read as a re-deploy reads it (lib/component/state.ts memberKinds).
  for (const { apiVersion, kind } of memberKinds({ metadata: { name: '', annotations } } as KObject, []).values()) {
    add(groupOf(apiVersion), kind, apiVersion.includes('/') ? apiVersion.split('/')[1] : apiVersion);
  }
  for (const gk of (annotations[CONTAINS_GROUP_KINDS] ?? '').split(',').filter(Boolean)) {
    const dot = gk.indexOf('.');
    const [kind, group] = dot < 0 ? [gk, ''] : [gk.slice(0, dot), gk.slice(dot + 1)];
    if (!out.has(`${group}/${kind}`)) add(group, kind);
  }
  return [...out.values()];
}
