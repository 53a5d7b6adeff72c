// The Kubernetes half of a snapshot: Nodes, workloads, Pods, PDBs, namespaces with per-kind counts and the
// CRDs of counted custom kinds, read with paged GET lists (kube-read.ts). Only the fields a twin and a
// simulation need are kept: no environment, commands, annotations or Secret content ever enter the snapshot.
import type { ClusterConfig } from '../inventory/schema.js';
import { roleOf } from '../inventory/naming.js';
import type { ApiResource, KubeReader, RawObject } from './kube-read.js';
import type { ClusterSnapshot, Quantities, SnapshotContainer, SnapshotCrd, SnapshotKind, SnapshotNamespace, SnapshotNode, SnapshotPdb, SnapshotPod, SnapshotWorkload } from './types.js';

/** Kinds never counted: transient records a twin need not recreate, and live metrics (not objects). */
const NOT_COUNTED = new Set(['events', 'events.events.k8s.io']);
const NOT_COUNTED_GROUPS = new Set(['metrics.k8s.io', 'custom.metrics.k8s.io', 'external.metrics.k8s.io']);

/** What the Kubernetes capture returns: its part of the snapshot. */
export type K8sCapture = Pick<ClusterSnapshot, 'nodes' | 'workloads' | 'pods' | 'pdbs' | 'namespaces' | 'kinds' | 'crds'> & { kubernetesVersion: string };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

const strMap = (m: unknown): Record<string, string> => (m && typeof m === 'object' ? Object.fromEntries(Object.entries(m as Record<string, unknown>).map(([k, v]) => [k, String(v)])) : {});

/** The key counts use for a resource: `plural` (core) or `plural.group`. */
export function kindKey(r: Pick<ApiResource, 'group' | 'plural'>): string {
  return r.group ? `${r.plural}.${r.group}` : r.plural;
}

async function listAll(reader: KubeReader, group: string, version: string, plural: string): Promise<Any[]> {
  const out: Any[] = [];
  await reader.list({ group, version, plural }, (items) => out.push(...items));
  return out;
}

function containers(spec: Any): SnapshotContainer[] {
  return (spec?.containers ?? []).map((c: Any) => ({ name: String(c.name), image: String(c.image ?? ''), requests: strMap(c.resources?.requests), limits: strMap(c.resources?.limits) }));
}

function volumeKinds(spec: Any): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of spec?.volumes ?? []) out[String(v.name)] = Object.keys(v).find((k) => k !== 'name') ?? 'unknown';
  return out;
}

function workload(kind: SnapshotWorkload['kind'], o: Any): SnapshotWorkload {
  const t = o.spec?.template ?? {};
  const ps = t.spec ?? {};
  const w: SnapshotWorkload = {
    kind,
    namespace: o.metadata.namespace,
    name: o.metadata.name,
    replicas: kind === 'DaemonSet' ? Number(o.status?.desiredNumberScheduled ?? 0) : Number(o.spec?.replicas ?? 1),
    readyReplicas: Number(kind === 'DaemonSet' ? (o.status?.numberReady ?? 0) : (o.status?.readyReplicas ?? 0)),
    labels: strMap(o.metadata.labels),
    selector: { ...(o.spec?.selector?.matchLabels ? { matchLabels: strMap(o.spec.selector.matchLabels) } : {}), ...(o.spec?.selector?.matchExpressions ? { matchExpressions: o.spec.selector.matchExpressions } : {}) },
    template: {
      labels: strMap(t.metadata?.labels),
      ...(ps.nodeSelector ? { nodeSelector: strMap(ps.nodeSelector) } : {}),
      ...(ps.tolerations ? { tolerations: ps.tolerations } : {}),
      ...(ps.affinity ? { affinity: ps.affinity } : {}),
      ...(ps.priorityClassName ? { priorityClassName: String(ps.priorityClassName) } : {}),
      ...(ps.hostNetwork ? { hostNetwork: true } : {}),
      containers: containers(ps),
      volumes: volumeKinds(ps),
    },
  };
  if (kind === 'StatefulSet' && o.spec?.serviceName) w.serviceName = String(o.spec.serviceName);
  return w;
}

/** Sums CPU and memory requests of a pod's containers, as quantities (millicores, bytes). */
function podRequests(spec: Any): Quantities {
  let cpu = 0;
  let mem = 0;
  for (const c of spec?.containers ?? []) {
    cpu += parseCpu(c.resources?.requests?.cpu);
    mem += parseBytes(c.resources?.requests?.memory);
  }
  const out: Quantities = {};
  if (cpu) out.cpu = `${Math.round(cpu * 1000)}m`;
  if (mem) out.memory = String(Math.round(mem));
  return out;
}

function parseCpu(q: unknown): number {
  if (q === undefined || q === null) return 0;
  const s = String(q);
  return s.endsWith('m') ? Number(s.slice(0, -1)) / 1000 : Number(s) || 0;
}

const UNITS: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12, m: 1e-3 };

function parseBytes(q: unknown): number {
  if (q === undefined || q === null) return 0;
  const m = /^([0-9.]+)([A-Za-z]*)$/.exec(String(q));
  return m ? Number(m[1]) * (UNITS[m[2]!] ?? 1) : 0;
}

const controllerOf = (o: Any): { kind: string; name: string; uid?: string } | undefined => (o.metadata.ownerReferences ?? []).find((r: Any) => r.controller) ?? o.metadata.ownerReferences?.[0];

/** Reads everything Kubernetes-side; `stateDir`-free and pure apart from the reader. */
export async function captureKubernetes(reader: KubeReader, cluster: ClusterConfig, warn: (message: string) => void = () => {}): Promise<K8sCapture> {
  const version = (await reader.get<{ gitVersion?: string }>('/version'))?.gitVersion?.replace(/^v/, '') ?? cluster.kubernetes.version ?? '';
  const nodes: SnapshotNode[] = (await listAll(reader, '', 'v1', 'nodes')).map((n) => ({
    name: n.metadata.name,
    role: roleOf(cluster, n.metadata.name) ?? '',
    labels: strMap(n.metadata.labels),
    taints: (n.spec?.taints ?? []).map((t: Any) => ({ key: t.key, ...(t.value !== undefined ? { value: t.value } : {}), effect: t.effect })),
    unschedulable: !!n.spec?.unschedulable,
    conditions: (n.status?.conditions ?? []).map((c: Any) => ({ type: c.type, status: c.status, ...(c.reason ? { reason: c.reason } : {}) })),
    capacity: strMap(n.status?.capacity),
    allocatable: strMap(n.status?.allocatable),
    kubeletVersion: String(n.status?.nodeInfo?.kubeletVersion ?? ''),
    kernelVersion: n.status?.nodeInfo?.kernelVersion,
    osImage: n.status?.nodeInfo?.osImage,
    containerRuntimeVersion: n.status?.nodeInfo?.containerRuntimeVersion,
    bootId: n.status?.nodeInfo?.bootID,
  }));

  const deployments = await listAll(reader, 'apps', 'v1', 'deployments');
  const replicaSets = await listAll(reader, 'apps', 'v1', 'replicasets');
  const workloads: SnapshotWorkload[] = [
    ...deployments.map((o) => workload('Deployment', o)),
    ...(await listAll(reader, 'apps', 'v1', 'statefulsets')).map((o) => workload('StatefulSet', o)),
    ...(await listAll(reader, 'apps', 'v1', 'daemonsets')).map((o) => workload('DaemonSet', o)),
    ...replicaSets.filter((rs) => controllerOf(rs)?.kind !== 'Deployment').map((o) => workload('ReplicaSet', o)),
  ];
  // A ReplicaSet's pods belong to its Deployment.
  const rsOwner = new Map<string, string>();
  for (const rs of replicaSets) {
    const c = controllerOf(rs);
    if (c?.kind === 'Deployment') rsOwner.set(`${rs.metadata.namespace}/${rs.metadata.name}`, c.name);
  }
  const pods: SnapshotPod[] = [];
  await reader.list({ group: '', version: 'v1', plural: 'pods' }, (items) => {
    for (const p of items as Any[]) {
      const c = controllerOf(p);
      const mirror = !!p.metadata.annotations?.['kubernetes.io/config.mirror'];
      const deploy = c?.kind === 'ReplicaSet' ? rsOwner.get(`${p.metadata.namespace}/${c.name}`) : undefined;
      const { 'pod-template-hash': _h, 'controller-revision-hash': _r, 'statefulset.kubernetes.io/pod-name': _n, 'pod-template-generation': _g, ...labels } = strMap(p.metadata.labels);
      pods.push({
        namespace: p.metadata.namespace,
        name: p.metadata.name,
        ...(p.spec?.nodeName ? { node: p.spec.nodeName } : {}),
        phase: String(p.status?.phase ?? 'Pending'),
        ready: (p.status?.conditions ?? []).some((x: Any) => x.type === 'Ready' && x.status === 'True'),
        ...(deploy ? { owner: { kind: 'Deployment', name: deploy } } : c && !mirror ? { owner: { kind: c.kind, name: c.name } } : {}),
        ...(mirror ? { mirror: true } : {}),
        labels,
        requests: podRequests(p.spec),
        volumes: [...new Set(Object.values(volumeKinds(p.spec)))],
        ...(p.spec?.priorityClassName ? { priorityClassName: p.spec.priorityClassName } : {}),
      });
    }
  });
  const pdbs: SnapshotPdb[] = (await listAll(reader, 'policy', 'v1', 'poddisruptionbudgets')).map((b) => ({
    namespace: b.metadata.namespace,
    name: b.metadata.name,
    ...(b.spec?.minAvailable !== undefined ? { minAvailable: b.spec.minAvailable } : {}),
    ...(b.spec?.maxUnavailable !== undefined ? { maxUnavailable: b.spec.maxUnavailable } : {}),
    selector: { ...(b.spec?.selector?.matchLabels ? { matchLabels: strMap(b.spec.selector.matchLabels) } : {}), ...(b.spec?.selector?.matchExpressions ? { matchExpressions: b.spec.selector.matchExpressions } : {}) },
    ...(b.spec?.unhealthyPodEvictionPolicy ? { unhealthyPodEvictionPolicy: b.spec.unhealthyPodEvictionPolicy } : {}),
    status: { currentHealthy: b.status?.currentHealthy ?? 0, desiredHealthy: b.status?.desiredHealthy ?? 0, disruptionsAllowed: b.status?.disruptionsAllowed ?? 0, expectedPods: b.status?.expectedPods ?? 0 },
  }));

  const namespaces = new Map<string, SnapshotNamespace>();
  for (const ns of await listAll(reader, '', 'v1', 'namespaces')) namespaces.set(ns.metadata.name, { name: ns.metadata.name, labels: strMap(ns.metadata.labels), counts: {} });
  // Every namespaced kind is counted with a metadata-only list: Secrets are counted, never read.
  const kinds: SnapshotKind[] = [];
  for (const r of await reader.discover()) {
    const key = kindKey(r);
    if (!r.namespaced || NOT_COUNTED.has(key) || NOT_COUNTED_GROUPS.has(r.group) || kinds.some((k) => k.key === key)) continue;
    // Counts per page, added only once the whole list was read: a kind that fails midway counts nothing.
    const counts = new Map<string, number>();
    try {
      await reader.list(
        r,
        (items: RawObject[]) => {
          for (const o of items) counts.set(o.metadata.namespace ?? '', (counts.get(o.metadata.namespace ?? '') ?? 0) + 1);
        },
        { metadataOnly: true },
      );
    } catch (err) {
      // An aggregated API that is down, or a kind this user may not list: the rest of the snapshot still holds.
      warn(`snapshot: ${key} not counted: ${(err as Error).message}`);
      continue;
    }
    kinds.push({ key, group: r.group, version: r.version, kind: r.kind, plural: r.plural });
    for (const [name, n] of counts) {
      const ns = namespaces.get(name);
      if (ns) ns.counts[key] = n;
    }
  }
  const counted = new Set<string>();
  for (const ns of namespaces.values()) for (const k of Object.keys(ns.counts)) counted.add(k);
  const crds: SnapshotCrd[] = (await listAll(reader, 'apiextensions.k8s.io', 'v1', 'customresourcedefinitions'))
    .filter((c) => counted.has(`${c.spec?.names?.plural}.${c.spec?.group}`))
    .map((c) => ({
      name: c.metadata.name,
      group: c.spec.group,
      kind: c.spec.names.kind,
      plural: c.spec.names.plural,
      singular: c.spec.names.singular ?? String(c.spec.names.kind).toLowerCase(),
      scope: c.spec.scope,
      versions: (c.spec.versions ?? []).map((v: Any) => ({ name: v.name, served: !!v.served, storage: !!v.storage })),
    }));
  return { kubernetesVersion: version, nodes, workloads, pods, pdbs, namespaces: [...namespaces.values()], kinds: kinds.filter((k) => counted.has(k.key)), crds };
}
