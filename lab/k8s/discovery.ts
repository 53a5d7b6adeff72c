// Discovery documents (/api, /apis, group versions), /version, and the minimal OpenAPI v3 that kubectl reads
// to learn that the server validates fields itself (so `kubectl apply` needs no client-side schema).
import { createHash } from 'node:crypto';
import { apiVersionOf, verbsOf, type ResourceRegistry, type ResourceSpec } from './resources.js';

/** GET /version for a Kubernetes version like 1.29.4. */
export function versionInfo(version: string): Record<string, string> {
  const [major, minor] = version.split('.');
  return {
    major: major ?? '1',
    minor: minor ?? '29',
    gitVersion: `v${version}`,
    gitCommit: createHash('sha1').update(version).digest('hex'),
    gitTreeState: 'clean',
    buildDate: '2024-04-16T08:00:00Z',
    goVersion: 'go1.21.9',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

/** GET /api. */
export function apiVersions(serverAddress: string): object {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

function groupDoc(name: string, versions: string[]): object {
  const vs = versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
  return { name, versions: vs, preferredVersion: vs[0] };
}

/** GET /apis. */
export function apiGroupList(reg: ResourceRegistry): object {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: reg.groups().map((g) => groupDoc(g.name, g.versions)) };
}

/** GET /apis/<group>, or undefined when the group is not served. */
export function apiGroup(reg: ResourceRegistry, group: string): object | undefined {
  const g = reg.groups().find((x) => x.name === group);
  return g ? { kind: 'APIGroup', apiVersion: 'v1', ...groupDoc(g.name, g.versions) } : undefined;
}

function subresourceEntries(spec: ResourceSpec): object[] {
  const out: object[] = [];
  for (const sub of spec.subresources ?? []) {
    const base = { name: `${spec.plural}/${sub}`, singularName: '', namespaced: spec.namespaced };
    switch (sub) {
      case 'status':
        out.push({ ...base, kind: spec.kind, verbs: ['get', 'patch', 'update'] });
        break;
      case 'scale':
        out.push({ ...base, group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] });
        break;
      case 'eviction':
        out.push({ ...base, group: 'policy', version: 'v1', kind: 'Eviction', verbs: ['create'] });
        break;
      case 'binding':
        out.push({ ...base, kind: 'Binding', verbs: ['create'] });
        break;
      case 'log':
        out.push({ ...base, kind: 'Pod', verbs: ['get'] });
        break;
      case 'finalize':
        out.push({ ...base, kind: spec.kind, verbs: ['update'] });
        break;
    }
  }
  return out;
}

/** GET /api/v1 or /apis/<group>/<version>, or undefined when not served. */
export function apiResourceList(reg: ResourceRegistry, group: string, version: string): object | undefined {
  const specs = reg.inGroupVersion(group, version);
  if (!specs.length) return undefined;
  const resources: object[] = [];
  for (const s of specs) {
    const entry: Record<string, unknown> = {
      name: s.plural,
      singularName: s.singular,
      namespaced: s.namespaced,
      kind: s.kind,
      verbs: verbsOf(s),
      storageVersionHash: createHash('sha256').update(`${apiVersionOf(s)}/${s.kind}`).digest('base64').slice(0, 11),
    };
    if (s.shortNames?.length) entry.shortNames = s.shortNames;
    if (s.categories?.length) entry.categories = s.categories;
    resources.push(entry, ...subresourceEntries(s));
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: apiVersionOf({ group, version }), resources };
}

function gvPath(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

/** GET /openapi/v3: the group versions with their document URLs. */
export function openApiV3Root(reg: ResourceRegistry, k8sVersion: string): object {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  const gvs = new Set(reg.all.map((s) => `${s.group}|${s.version}`));
  for (const gv of gvs) {
    const [group, version] = gv.split('|') as [string, string];
    const p = gvPath(group, version);
    const hash = createHash('sha512').update(`${k8sVersion}/${p}`).digest('hex').toUpperCase().slice(0, 128);
    paths[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=${hash}` };
  }
  return { paths };
}

const WRITE_PARAMS = ['dryRun', 'fieldManager', 'fieldValidation', 'force', 'pretty'].map((name) => ({
  name,
  in: 'query',
  schema: { type: name === 'force' ? 'boolean' : 'string', uniqueItems: true },
}));

/**
 * GET /openapi/v3/<gv>: paths with their operations and group-version-kind, enough for kubectl's
 * query-parameter verifier (it looks for PATCH operations of the kind accepting `fieldValidation`).
 */
export function openApiV3Doc(reg: ResourceRegistry, path: string, k8sVersion: string): object | undefined {
  const m = /^(?:api\/(v1)|apis\/([^/]+)\/([^/]+))$/.exec(path);
  if (!m) return undefined;
  const group = m[1] ? '' : m[2]!;
  const version = m[1] ?? m[3]!;
  const specs = reg.inGroupVersion(group, version);
  if (!specs.length) return undefined;
  const paths: Record<string, unknown> = {};
  const schemas: Record<string, unknown> = {};
  for (const s of specs) {
    const gvk = { group: s.group, version: s.version, kind: s.kind };
    const base = `/${gvPath(group, version)}${s.namespaced ? '/namespaces/{namespace}' : ''}/${s.plural}`;
    const ref = `io.k8s.lab.${s.group || 'core'}.${s.version}.${s.kind}`;
    schemas[ref] = {
      type: 'object',
      'x-kubernetes-group-version-kind': [gvk],
      properties: { apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object' }, spec: { type: 'object' }, status: { type: 'object' } },
    };
    const ok = { '200': { description: 'OK', content: { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } } } };
    const op = (action: string, params = WRITE_PARAMS) => ({ operationId: `${action}${s.kind}`, 'x-kubernetes-action': action, 'x-kubernetes-group-version-kind': gvk, parameters: params, responses: ok });
    paths[base] = { get: op('list', []), post: op('post') };
    paths[`${base}/{name}`] = { get: op('get', []), put: op('put'), patch: op('patch'), delete: op('delete', []) };
    for (const sub of s.subresources ?? []) {
      if (sub === 'status' || sub === 'scale') paths[`${base}/{name}/${sub}`] = { get: op('get', []), put: op('put'), patch: op('patch') };
    }
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: `v${k8sVersion}` }, paths, components: { schemas } };
}

/** GET /openapi/v2: a swagger document without schemas (served for completeness; kubectl does not need it). */
export function openApiV2Doc(k8sVersion: string): object {
  return { swagger: '2.0', info: { title: 'Kubernetes', version: `v${k8sVersion}` }, paths: {}, definitions: {} };
}
