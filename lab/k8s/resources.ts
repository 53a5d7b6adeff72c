// The resource types the lab API serves: what discovery lists and what the router resolves URLs to.
// Built-in kinds are fixed; extra kinds (CRD-like, e.g. Kyverno policies) are registered at start.

/** One served resource (a plural under a group/version). */
export interface ResourceSpec {
  /** API group, '' for the core group. */
  group: string;
  version: string;
  kind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  /** Subresources served (`status`, `scale`, `eviction`, `binding`, `log`, `finalize`). */
  subresources?: string[];
  /** Verbs on the main resource; the full set when absent. */
  verbs?: string[];
  /** openAPIV3Schema of a custom resource's version (custom resources are checked against it). */
  schema?: unknown;
}

/** What callers give to register an extra kind; singular defaults to the lower-cased kind. */
export type ExtraKind = Omit<ResourceSpec, 'singular'> & { singular?: string };

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

/** The apiVersion string of a resource (`v1`, `apps/v1`). */
export function apiVersionOf(spec: Pick<ResourceSpec, 'group' | 'version'>): string {
  return spec.group ? `${spec.group}/${spec.version}` : spec.version;
}

/** The store key of a resource type: `group/plural`. */
export function resourceKey(spec: Pick<ResourceSpec, 'group' | 'plural'>): string {
  return `${spec.group}/${spec.plural}`;
}

/** The resource name as the API server qualifies it in messages: `pods`, `deployments.apps`. */
export function qualifiedName(spec: Pick<ResourceSpec, 'group' | 'plural'>): string {
  return spec.group ? `${spec.plural}.${spec.group}` : spec.plural;
}

function r(group: string, version: string, kind: string, plural: string, namespaced: boolean, extra: Partial<ResourceSpec> = {}): ResourceSpec {
  return { group, version, kind, plural, singular: kind.toLowerCase(), namespaced, ...extra };
}

/** The built-in kinds of the lab. */
export const builtinResources: readonly ResourceSpec[] = Object.freeze([
  r('', 'v1', 'Namespace', 'namespaces', false, { shortNames: ['ns'], subresources: ['status', 'finalize'], verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] }),
  r('', 'v1', 'Node', 'nodes', false, { shortNames: ['no'], subresources: ['status'] }),
  r('', 'v1', 'Pod', 'pods', true, { shortNames: ['po'], categories: ['all'], subresources: ['status', 'eviction', 'binding', 'log'] }),
  r('', 'v1', 'ConfigMap', 'configmaps', true, { shortNames: ['cm'] }),
  r('', 'v1', 'Secret', 'secrets', true),
  r('', 'v1', 'Service', 'services', true, { shortNames: ['svc'], categories: ['all'], subresources: ['status'] }),
  r('', 'v1', 'Event', 'events', true, { shortNames: ['ev'] }),
  r('', 'v1', 'ServiceAccount', 'serviceaccounts', true, { shortNames: ['sa'] }),
  r('', 'v1', 'Endpoints', 'endpoints', true, { shortNames: ['ep'] }),
  r('', 'v1', 'PersistentVolumeClaim', 'persistentvolumeclaims', true, { shortNames: ['pvc'], subresources: ['status'] }),
  r('apps', 'v1', 'Deployment', 'deployments', true, { shortNames: ['deploy'], categories: ['all'], subresources: ['status', 'scale'] }),
  r('apps', 'v1', 'ReplicaSet', 'replicasets', true, { shortNames: ['rs'], categories: ['all'], subresources: ['status', 'scale'] }),
  r('apps', 'v1', 'DaemonSet', 'daemonsets', true, { shortNames: ['ds'], categories: ['all'], subresources: ['status'] }),
  r('apps', 'v1', 'StatefulSet', 'statefulsets', true, { shortNames: ['sts'], categories: ['all'], subresources: ['status', 'scale'] }),
  r('apps', 'v1', 'ControllerRevision', 'controllerrevisions', true),
  r('policy', 'v1', 'PodDisruptionBudget', 'poddisruptionbudgets', true, { shortNames: ['pdb'], subresources: ['status'] }),
  r('coordination.k8s.io', 'v1', 'Lease', 'leases', true),
  r('networking.k8s.io', 'v1', 'Ingress', 'ingresses', true, { shortNames: ['ing'], subresources: ['status'] }),
  r('networking.k8s.io', 'v1', 'NetworkPolicy', 'networkpolicies', true, { shortNames: ['netpol'] }),
  r('batch', 'v1', 'Job', 'jobs', true, { categories: ['all'], subresources: ['status'] }),
  r('apiextensions.k8s.io', 'v1', 'CustomResourceDefinition', 'customresourcedefinitions', false, { shortNames: ['crd', 'crds'], categories: ['api-extensions'], subresources: ['status'] }),
]);

/** Extra kinds registered by default: Kyverno's namespaced Policy and cluster-wide ClusterPolicy. */
export const defaultExtraKinds: readonly ExtraKind[] = Object.freeze([
  { group: 'kyverno.io', version: 'v1', kind: 'Policy', plural: 'policies', namespaced: true, shortNames: ['pol'], categories: ['kyverno'], subresources: ['status'] },
  { group: 'kyverno.io', version: 'v1', kind: 'ClusterPolicy', plural: 'clusterpolicies', namespaced: false, shortNames: ['cpol'], categories: ['kyverno'], subresources: ['status'] },
]);

/** The set of served resources with lookups by URL parts and by kind. */
export class ResourceRegistry {
  readonly all: ResourceSpec[] = [];
  private readonly byGvPlural = new Map<string, ResourceSpec>();
  private readonly byGvk = new Map<string, ResourceSpec>();

  constructor(extra: readonly ExtraKind[] = defaultExtraKinds) {
    for (const spec of builtinResources) this.add(spec);
    for (const e of extra) this.add({ ...e, singular: e.singular ?? e.kind.toLowerCase() });
  }

  /** Serves a kind defined at run time (a CustomResourceDefinition's version); replaces an earlier definition. */
  register(spec: ResourceSpec): void {
    const gv = apiVersionOf(spec);
    const old = this.byGvPlural.get(`${gv}/${spec.plural}`);
    if (old) this.unregister(old);
    this.add(spec);
  }

  /** Stops serving a kind registered at run time. */
  unregister(spec: ResourceSpec): void {
    const gv = apiVersionOf(spec);
    const i = this.all.findIndex((s) => apiVersionOf(s) === gv && s.plural === spec.plural);
    if (i >= 0) this.all.splice(i, 1);
    this.byGvPlural.delete(`${gv}/${spec.plural}`);
    if (this.byGvk.get(`${gv}/${spec.kind}`)?.plural === spec.plural) this.byGvk.delete(`${gv}/${spec.kind}`);
  }

  private add(spec: ResourceSpec): void {
    const gv = apiVersionOf(spec);
    if (this.byGvPlural.has(`${gv}/${spec.plural}`)) throw new Error(`resource ${gv}/${spec.plural} registered twice`);
    this.all.push(spec);
    this.byGvPlural.set(`${gv}/${spec.plural}`, spec);
    this.byGvk.set(`${gv}/${spec.kind}`, spec);
  }

  /** The resource served at /api(s)/<gv>/<plural>. */
  lookup(group: string, version: string, plural: string): ResourceSpec | undefined {
    return this.byGvPlural.get(`${apiVersionOf({ group, version })}/${plural}`);
  }

  /** The resource of an apiVersion + kind. */
  byKind(apiVersion: string, kind: string): ResourceSpec | undefined {
    return this.byGvk.get(`${apiVersion}/${kind}`);
  }

  /** The resource for a core or grouped plural, e.g. ('', 'pods') or ('apps', 'deployments'). */
  get(group: string, plural: string): ResourceSpec {
    const spec = this.all.find((s) => s.group === group && s.plural === plural);
    if (!spec) throw new Error(`no resource ${group}/${plural}`);
    return spec;
  }

  /** Group names with their versions, core group excluded, in registration order. */
  groups(): { name: string; versions: string[] }[] {
    const out = new Map<string, Set<string>>();
    for (const s of this.all) {
      if (!s.group) continue;
      if (!out.has(s.group)) out.set(s.group, new Set());
      out.get(s.group)!.add(s.version);
    }
    return [...out].map(([name, versions]) => ({ name, versions: [...versions] }));
  }

  /** Resources in one group/version. */
  inGroupVersion(group: string, version: string): ResourceSpec[] {
    return this.all.filter((s) => s.group === group && s.version === version);
  }
}

/** Verbs of a resource's main endpoint. */
export function verbsOf(spec: ResourceSpec): string[] {
  return spec.verbs ?? ALL_VERBS;
}
