// The workload of a twin, from its snapshot: Node labels, taints, cordons and sizes as captured; namespaces;
// deployed components (components.ts: records, parents, members whole); the CRDs of counted custom kinds
// (names only, schema open); workloads with their templates and replicas, their
// pods placed on the nodes the snapshot had them on (a scheduler preference while seeding, dropped afterwards);
// PDBs; bare pods bound where they ran; and per namespace as many objects of each counted simple kind as the
// snapshot counted. Everything goes in through the object API in process (internal writes: no counters move).
import type { ClusterSnapshot, SnapshotWorkload } from '../../lib/twin/types.js';
import type { KubeApiHandle } from '../k8s/index.js';
import { waitNodesReady, waitSettled } from '../k8s/seed.js';
import { seedComponents } from './components.js';
import type { ResourceSpec } from '../k8s/resources.js';
import { controllerOf, nodeReadyStatus, type KObject } from '../k8s/types.js';
import { LabError } from '../../lib/core/errors.js';
import type { World } from '../world.js';

/** Kinds a twin fills up to the snapshot's per-namespace counts with empty objects (custom kinds too). */
const FILLABLE = new Set(['configmaps', 'secrets', 'serviceaccounts', 'services', 'networkpolicies.networking.k8s.io']);

/** What seeding left out, for the lab log. */
export interface TwinSeedReport {
  workloads: number;
  /** Objects of deployed components (records, parents, members). */
  components: number;
  pods: number;
  filled: number;
  skipped: string[];
}

/** A pod template from a captured workload: resources and placement only (volumes other than emptyDir dropped). */
function podTemplate(w: SnapshotWorkload): Record<string, unknown> {
  const t = w.template;
  const volumes = Object.entries(t.volumes)
    .filter(([, kind]) => kind === 'emptyDir')
    .map(([name]) => ({ name, emptyDir: {} }));
  return {
    metadata: { labels: { ...t.labels } },
    spec: {
      containers: t.containers.map((c) => ({ name: c.name, image: c.image || 'registry.lab.internal/twin:1', resources: { requests: { ...c.requests }, limits: { ...c.limits } } })),
      ...(volumes.length ? { volumes } : {}),
      ...(t.nodeSelector ? { nodeSelector: { ...t.nodeSelector } } : {}),
      ...(t.tolerations ? { tolerations: structuredClone(t.tolerations) } : {}),
      ...(t.affinity ? { affinity: structuredClone(t.affinity) } : {}),
      ...(t.priorityClassName ? { priorityClassName: t.priorityClassName } : {}),
      ...(t.hostNetwork ? { hostNetwork: true } : {}),
    },
  };
}

function workloadObject(w: SnapshotWorkload): KObject {
  const spec: Record<string, unknown> = { selector: structuredClone(w.selector), template: podTemplate(w) };
  if (w.kind !== 'DaemonSet') spec.replicas = w.replicas;
  if (w.kind === 'StatefulSet') spec.serviceName = w.serviceName ?? w.name;
  return { apiVersion: 'apps/v1', kind: w.kind, metadata: { name: w.name, namespace: w.namespace, labels: { ...w.labels } }, spec } as KObject;
}

/**
 * Where the snapshot had each workload's pods: per Deployment/ReplicaSet a node multiset, per StatefulSet pod
 * its node. The preference is what is left of it after the pods already bound (so it is used up exactly once).
 */
function placement(kube: KubeApiHandle, s: ClusterSnapshot): (pod: KObject) => string[] | undefined {
  const want = new Map<string, Map<string, number>>();
  const podNode = new Map<string, string>();
  for (const p of s.pods) {
    if (!p.owner || !p.node || p.mirror) continue;
    if (p.owner.kind === 'StatefulSet') podNode.set(`${p.namespace}/${p.name}`, p.node);
    else if (p.owner.kind === 'Deployment' || p.owner.kind === 'ReplicaSet') {
      const key = `${p.namespace}/${p.owner.kind}/${p.owner.name}`;
      const m = want.get(key) ?? new Map<string, number>();
      m.set(p.node, (m.get(p.node) ?? 0) + 1);
      want.set(key, m);
    }
  }
  const rsSpec = kube.api.res('apps', 'replicasets');
  return (pod) => {
    const c = controllerOf(pod);
    const ns = pod.metadata.namespace ?? '';
    if (c?.kind === 'StatefulSet') {
      const n = podNode.get(`${ns}/${pod.metadata.name}`);
      return n ? [n] : undefined;
    }
    if (c?.kind !== 'ReplicaSet') return undefined;
    const rs = kube.store.get(rsSpec, ns, c.name);
    const d = rs ? controllerOf(rs) : undefined;
    const wanted = want.get(d?.kind === 'Deployment' ? `${ns}/Deployment/${d.name}` : `${ns}/ReplicaSet/${c.name}`);
    if (!wanted) return undefined;
    const left = new Map(wanted);
    for (const dep of kube.store.dependents(c.uid)) {
      const n = dep.object.spec?.nodeName;
      if (dep.spec.kind === 'Pod' && n && left.has(n)) left.set(n, left.get(n)! - 1);
    }
    return [...left].filter(([, k]) => k > 0).map(([n]) => n);
  };
}

/** Seeds a started twin's Kubernetes side from its snapshot; resolves once every workload has settled. */
export async function seedFromSnapshot(world: World, kube: KubeApiHandle, s: ClusterSnapshot, options: { timeoutMs?: number; log?: (m: string) => void } = {}): Promise<TwinSeedReport> {
  const log = options.log ?? (() => {});
  const timeoutMs = options.timeoutMs ?? 120_000;
  const a = kube.api;
  const report: TwinSeedReport = { workloads: 0, components: 0, pods: 0, filled: 0, skipped: [] };
  const create = (spec: ResourceSpec, obj: KObject): boolean => {
    if (kube.store.get(spec, obj.metadata.namespace, obj.metadata.name)) return false;
    a.create(spec, obj.metadata.namespace, obj, { internal: true });
    return true;
  };
  const started = Date.now();
  const stages: string[] = [];
  const stage = (what: string): void => {
    stages.push(`${what} ${((Date.now() - started) / 1000).toFixed(1)} s`);
  };
  await waitNodesReady(world, kube, timeoutMs);
  stage('nodes Ready');
  const missing = s.nodes.filter((n) => !world.hosts.has(n.name)).map((n) => n.name);
  if (missing.length) report.skipped.push(`nodes whose names fit no inventory role: ${missing.join(', ')}`);

  // Nodes as captured: labels and sizes now; taints and cordons once the pods are placed (they may well have
  // come after the pods, which then stayed where they were).
  const nodes = a.res('', 'nodes');
  const eachNode = (fn: (o: KObject, n: ClusterSnapshot['nodes'][number]) => void): void => {
    for (const n of s.nodes) if (kube.store.get(nodes, undefined, n.name)) a.mutate(nodes, undefined, n.name, (o) => fn(o, n));
  };
  eachNode((o, n) => {
    o.metadata.labels = { ...(o.metadata.labels ?? {}), ...n.labels };
    o.status ??= {};
    if (Object.keys(n.capacity).length) o.status.capacity = { ...n.capacity };
    if (Object.keys(n.allocatable).length) o.status.allocatable = { ...n.allocatable };
  });

  // A component's own CRDs and Namespaces as the cluster has them (a re-deploy compares them with what it renders).
  report.components = seedComponents(kube, s, 'early', report.skipped);
  const namespaces = a.res('', 'namespaces');
  for (const ns of s.namespaces) create(namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns.name, labels: { ...ns.labels } } } as KObject);

  // Custom kinds the lab does not serve yet: a CRD with the captured names and an open schema.
  const crds = a.res('apiextensions.k8s.io', 'customresourcedefinitions');
  for (const c of s.crds ?? []) {
    // A kind the lab already serves (Kyverno's policies) keeps the lab's own definition.
    if (c.versions.some((v) => kube.store.registry.lookup(c.group, v.name, c.plural))) continue;
    try {
      create(crds, {
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: c.name },
        spec: {
          group: c.group,
          scope: c.scope,
          names: { kind: c.kind, plural: c.plural, singular: c.singular, listKind: `${c.kind}List` },
          versions: c.versions.map((v) => ({ ...v, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } })),
        },
      } as KObject);
    } catch (err) {
      report.skipped.push(`CRD ${c.name} (${(err as Error).message.split('\n')[0]})`);
    }
  }

  kube.preferNodes(placement(kube, s));
  try {
    // Components first: a workload or PDB that is a component's member is created whole, as the cluster has it.
    report.components += seedComponents(kube, s, 'objects', report.skipped);
    const services = a.res('', 'services');
    for (const w of s.workloads) {
      if (w.kind === 'StatefulSet') {
        const svc = w.serviceName ?? w.name;
        create(services, { apiVersion: 'v1', kind: 'Service', metadata: { name: svc, namespace: w.namespace }, spec: { clusterIP: 'None', selector: { ...(w.selector.matchLabels ?? {}) } } } as KObject);
      }
      const plural = { Deployment: 'deployments', StatefulSet: 'statefulsets', DaemonSet: 'daemonsets', ReplicaSet: 'replicasets' }[w.kind];
      if (create(a.res('apps', plural), workloadObject(w))) report.workloads++;
    }
    const pdbs = a.res('policy', 'poddisruptionbudgets');
    for (const b of s.pdbs) {
      const spec: Record<string, unknown> = { selector: structuredClone(b.selector) };
      if (b.minAvailable !== undefined) spec.minAvailable = b.minAvailable;
      if (b.maxUnavailable !== undefined) spec.maxUnavailable = b.maxUnavailable;
      if (b.unhealthyPodEvictionPolicy) spec.unhealthyPodEvictionPolicy = b.unhealthyPodEvictionPolicy;
      create(pdbs, { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: b.name, namespace: b.namespace }, spec } as KObject);
    }
    // Pods without a workload the twin recreates (bare pods, a Job's or an operator's): bound where they ran.
    const pods = a.res('', 'pods');
    // Only nodes the twin has (a node whose name fits no role of the inventory is not recreated).
    const nodeNames = new Set(s.nodes.map((n) => n.name).filter((n) => kube.store.get(nodes, undefined, n)));
    for (const p of s.pods) {
      if (p.mirror || (p.owner && ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet'].includes(p.owner.kind))) continue;
      if (p.phase === 'Succeeded' || p.phase === 'Failed') continue;
      const requests = { ...p.requests };
      const body = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: p.name, namespace: p.namespace, labels: { ...p.labels } },
        spec: {
          ...(p.node && nodeNames.has(p.node) ? { nodeName: p.node } : {}),
          containers: [{ name: 'main', image: 'registry.lab.internal/twin:1', resources: { requests } }],
          ...(p.volumes.includes('emptyDir') ? { volumes: [{ name: 'data', emptyDir: {} }] } : {}),
          ...(p.priorityClassName ? { priorityClassName: p.priorityClassName } : {}),
          tolerations: [{ operator: 'Exists' }],
        },
      } as KObject;
      if (create(pods, body)) report.pods++;
    }
    stage('objects created');
    await waitSettled(world, kube, timeoutMs);
    stage('pods running');
  } finally {
    // From now on the twin's scheduler decides alone, as the cluster's would.
    kube.preferNodes(undefined);
  }
  // The lifecycle's own taints (not-ready, unreachable, unschedulable) are the twin's to set.
  eachNode((o, n) => {
    const taints = n.taints.filter((t) => !t.key.startsWith('node.kubernetes.io/'));
    o.spec ??= {};
    if (taints.length) o.spec.taints = taints.map((t) => ({ ...t }));
    else delete o.spec.taints;
    if (n.unschedulable) o.spec.unschedulable = true;
  });
  report.filled = fillCounts(kube, s, report.skipped);
  stage('counts filled');
  await downAsCaptured(world, kube, s, timeoutMs);
  world.counters.max_unavailable_nodes = kube.unavailableNodes();
  log(`twin: ${report.workloads} workloads, ${report.components} objects of deployed components, ${report.pods} bare pods, ${report.filled} objects to match per-namespace counts${report.skipped.length ? `; left out: ${report.skipped.join('; ')}` : ''} (${stages.join(', ')})`);
  return report;
}

/**
 * Nodes that were not Ready in the snapshot are down in the twin too: their hosts go down and do not come back
 * (as a fault, visible in `lab status`), and the twin waits until their Nodes say so.
 */
async function downAsCaptured(world: World, kube: KubeApiHandle, s: ClusterSnapshot, timeoutMs: number): Promise<void> {
  const down = s.nodes.filter((n) => n.conditions.some((c) => c.type === 'Ready' && c.status !== 'True') && world.hosts.has(n.name)).map((n) => n.name);
  if (!down.length) return;
  world.faults = { ...world.faults, hostsNeverReturn: [...new Set([...(world.faults.hostsNeverReturn ?? []), ...down])] };
  for (const name of down) world.rebootHost(name);
  const nodes = kube.api.res('', 'nodes');
  const deadline = Date.now() + timeoutMs;
  while (down.some((n) => nodeReadyStatus(kube.store.get(nodes, undefined, n)!) === 'True')) {
    if (Date.now() > deadline) throw new LabError(`twin: nodes ${down.join(', ')} did not go NotReady within ${timeoutMs} ms`, { context: { nodes: down } });
    await new Promise((r) => setTimeout(r, Math.max(5, world.scaled(100))));
  }
}

/** Creates empty objects of each fillable counted kind until every namespace holds the snapshot's count. */
function fillCounts(kube: KubeApiHandle, s: ClusterSnapshot, skipped: string[]): number {
  const a = kube.api;
  let made = 0;
  for (const k of s.kinds ?? []) {
    const custom = (s.crds ?? []).some((c) => c.group === k.group && c.plural === k.plural) || (k.group !== '' && !k.group.endsWith('.k8s.io') && k.group !== 'apps' && k.group !== 'policy' && k.group !== 'batch');
    if (!FILLABLE.has(k.key) && !custom) continue;
    const spec = kube.store.registry.lookup(k.group, k.version, k.plural) ?? kube.store.registry.all.find((r) => r.group === k.group && r.plural === k.plural);
    if (!spec) {
      skipped.push(`${k.key} (not served by the lab)`);
      continue;
    }
    const have = new Map<string, number>();
    for (const o of kube.store.scan(spec)) have.set(o.metadata.namespace ?? '', (have.get(o.metadata.namespace ?? '') ?? 0) + 1);
    try {
      for (const ns of s.namespaces) {
        const want = ns.counts[k.key] ?? 0;
        for (let i = have.get(ns.name) ?? 0; i < want; i++) {
          a.create(spec, ns.name, fillObject(spec, ns.name, i), { internal: true });
          made++;
        }
      }
    } catch (err) {
      skipped.push(`${k.key} (${(err as Error).message.split('\n')[0]})`);
    }
  }
  return made;
}

function fillObject(spec: ResourceSpec, namespace: string, i: number): KObject {
  const metadata = { name: `twin-${spec.singular || spec.kind.toLowerCase()}-${i}`, namespace, labels: { 'cluster-cookbooks/twin-fill': 'true' } };
  const base = { apiVersion: spec.group ? `${spec.group}/${spec.version}` : spec.version, kind: spec.kind, metadata };
  switch (spec.kind) {
    case 'Secret':
      // Never the cluster's data: an empty opaque secret counts the same.
      return { ...base, type: 'Opaque', data: {} } as KObject;
    case 'ConfigMap':
      return { ...base, data: {} } as KObject;
    case 'Service':
      return { ...base, spec: { clusterIP: 'None', ports: [{ port: 80 }] } } as KObject;
    case 'NetworkPolicy':
      return { ...base, spec: { podSelector: {} } } as KObject;
    case 'ServiceAccount':
      return base as KObject;
    default:
      return { ...base, spec: {} } as KObject;
  }
}
