// The lab's starting workload: tenant namespaces with Deployments (some under PodDisruptionBudgets, one with
// emptyDir data), a StatefulSet with a PDB, DaemonSets on every node, CoreDNS and an ingress controller in
// system namespaces; mirror pods come from the control-plane kubelets. About 40 pods on the default lab.
// Deterministic: the same world (seed, hosts) gives the same objects.
import type { World } from '../world.js';
import type { KubeApiHandle } from './index.js';
import type { ResourceSpec } from './resources.js';
import { isPodReady, nodeReadyStatus, type KObject } from './types.js';

interface AppSpec {
  ns: string;
  name: string;
  replicas: number;
  pdb?: { minAvailable?: number | string; maxUnavailable?: number | string };
  emptyDir?: boolean;
  extra?: Record<string, unknown>;
}

function container(name: string, image: string, cpu = '50m', memory = '64Mi'): Record<string, unknown> {
  return { name, image, ports: [{ containerPort: 8080, name: 'http' }], resources: { requests: { cpu, memory }, limits: { memory: '256Mi' } } };
}

function deployment(a: AppSpec): KObject {
  const labels = { app: a.name, 'app.kubernetes.io/name': a.name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: a.name, namespace: a.ns, labels },
    spec: {
      replicas: a.replicas,
      selector: { matchLabels: { app: a.name } },
      template: {
        metadata: { labels },
        spec: {
          containers: [container(a.name, `docker-registry.lab.internal/${a.name}:1.0.0`)],
          ...(a.emptyDir ? { volumes: [{ name: 'cache', emptyDir: {} }] } : {}),
          ...(a.extra ?? {}),
        },
      },
    },
  };
}

function pdb(ns: string, name: string, app: string, bound: AppSpec['pdb']): KObject {
  return { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name, namespace: ns }, spec: { ...bound, selector: { matchLabels: { app } } } };
}

/** Creates the realistic starting workload and waits until every pod runs and is Ready. */
export async function seedWorkload(world: World, api: KubeApiHandle, options: { namespaces?: number; timeoutMs?: number } = {}): Promise<void> {
  const a = api.api;
  const res = (g: string, p: string): ResourceSpec => a.res(g, p);
  // Workloads go in once the joined nodes are Ready and untainted, so the first pods spread as in a running cluster.
  await waitNodesReady(world, api, options.timeoutMs ?? 60_000);
  const create = (spec: ResourceSpec, obj: KObject) => {
    if (!api.store.get(spec, obj.metadata.namespace, obj.metadata.name)) a.create(spec, obj.metadata.namespace, obj, { internal: true });
  };
  const tenants = ['tool-alpha', 'tool-beta', 'tool-gamma'];
  for (let i = tenants.length; i < (options.namespaces ?? 3); i++) tenants.push(`tool-${String(i + 1).padStart(4, '0')}`);
  for (const ns of [...tenants, 'ingress-nginx']) {
    create(res('', 'namespaces'), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: ns.startsWith('tool-') ? { 'toolforge.org/tenant': 'true' } : {} } });
  }

  const apps: AppSpec[] = [
    { ns: 'tool-alpha', name: 'web', replicas: 3, pdb: { minAvailable: 2 } },
    { ns: 'tool-alpha', name: 'worker', replicas: 2, emptyDir: true },
    { ns: 'tool-beta', name: 'api', replicas: 4, pdb: { maxUnavailable: 1 } },
    { ns: 'tool-beta', name: 'cache', replicas: 2, pdb: { maxUnavailable: '50%' } },
    { ns: 'tool-gamma', name: 'frontend', replicas: 2, pdb: { minAvailable: '50%' } },
    {
      ns: 'kube-system',
      name: 'coredns',
      replicas: 2,
      pdb: { maxUnavailable: 1 },
      extra: { priorityClassName: 'system-cluster-critical', tolerations: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] },
    },
  ];
  // The ingress controller only where the lab has an ingress node: it could never be scheduled otherwise.
  const hasIngress = [...world.hosts.values()].some((h) => h.kubelet.joined && world.roles[h.role]?.labels['kubernetes.io/role'] === 'ingress');
  if (hasIngress) {
    apps.push({
      ns: 'ingress-nginx',
      name: 'ingress-nginx-controller',
      replicas: 1,
      extra: { nodeSelector: { 'kubernetes.io/role': 'ingress' }, tolerations: [{ key: 'ingress', operator: 'Equal', value: 'true', effect: 'NoSchedule' }] },
    });
  }
  for (let i = 3; i < tenants.length; i++) apps.push({ ns: tenants[i]!, name: 'tool', replicas: 1 });
  for (const app of apps) {
    create(res('apps', 'deployments'), deployment(app));
    if (app.pdb) create(res('policy', 'poddisruptionbudgets'), pdb(app.ns, app.name, app.name, app.pdb));
  }

  // A StatefulSet with a budget.
  create(res('', 'services'), { apiVersion: 'v1', kind: 'Service', metadata: { name: 'db', namespace: 'tool-gamma' }, spec: { clusterIP: 'None', selector: { app: 'db' }, ports: [{ port: 5432 }] } });
  create(res('apps', 'statefulsets'), {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db', namespace: 'tool-gamma', labels: { app: 'db' } },
    spec: {
      replicas: 3,
      serviceName: 'db',
      selector: { matchLabels: { app: 'db' } },
      template: { metadata: { labels: { app: 'db' } }, spec: { containers: [container('postgres', 'docker-registry.lab.internal/postgres:15', '100m', '128Mi')] } },
    },
  });
  create(res('policy', 'poddisruptionbudgets'), pdb('tool-gamma', 'db', 'db', { maxUnavailable: 1 }));

  // The CNI DaemonSet runs everywhere, tolerating every taint.
  create(res('apps', 'daemonsets'), {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'calico-node', namespace: 'kube-system', labels: { 'k8s-app': 'calico-node' } },
    spec: {
      selector: { matchLabels: { 'k8s-app': 'calico-node' } },
      template: {
        metadata: { labels: { 'k8s-app': 'calico-node' } },
        spec: {
          hostNetwork: true,
          priorityClassName: 'system-node-critical',
          tolerations: [{ operator: 'Exists', effect: 'NoSchedule' }, { operator: 'Exists', effect: 'NoExecute' }, { key: 'CriticalAddonsOnly', operator: 'Exists' }],
          containers: [container('calico-node', 'docker.io/calico/node:v3.26.1', '25m', '32Mi')],
        },
      },
    },
  });
  create(res('', 'configmaps'), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'tool-alpha' }, data: { LOG_LEVEL: 'info' } });

  await waitSettled(world, api, options.timeoutMs ?? 60_000);
  // Registering the nodes at start-up is not an operator's disruption: start measuring from now.
  world.counters.max_unavailable_nodes = api.unavailableNodes();
}

/** Waits until the Node of every joined Kubernetes host is Ready without not-ready/unreachable taints. */
export async function waitNodesReady(world: World, api: KubeApiHandle, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const nodes = api.api.res('', 'nodes');
  for (;;) {
    let missing: string | undefined;
    for (const h of world.hosts.values()) {
      if (!h.kubelet.joined || h.state !== 'up' || world.roles[h.role]?.node === 'none' || !world.roles[h.role]) continue;
      const n = api.store.get(nodes, undefined, h.name);
      const tainted = (n?.spec?.taints ?? []).some((t: { key: string }) => t.key === 'node.kubernetes.io/not-ready' || t.key === 'node.kubernetes.io/unreachable');
      if (!n || nodeReadyStatus(n) !== 'True' || tainted) missing = h.name;
    }
    if (!missing) return;
    if (Date.now() > deadline) throw new Error(`lab node ${missing} did not become Ready within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Waits until every workload has its pods and every pod on a Ready node is Running and Ready. */
export async function waitSettled(world: World, api: KubeApiHandle, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const problem = unsettled(api);
    if (!problem) return;
    if (Date.now() > deadline) throw new Error(`lab workload did not settle within ${timeoutMs} ms: ${problem}`);
    await new Promise((r) => setTimeout(r, Math.max(5, Math.min(50, world.scaled(100)))));
  }
}

function unsettled(api: KubeApiHandle): string | undefined {
  const a = api.api;
  const store = api.store;
  const readyNodes = new Set<string>();
  for (const n of store.scan(a.res('', 'nodes'))) if (nodeReadyStatus(n) === 'True') readyNodes.add(n.metadata.name);
  for (const d of store.scan(a.res('apps', 'deployments'))) {
    if ((d.status?.readyReplicas ?? 0) < (d.spec?.replicas ?? 1) || d.status?.observedGeneration !== d.metadata.generation) return `deployment ${d.metadata.namespace}/${d.metadata.name}`;
  }
  for (const s of store.scan(a.res('apps', 'statefulsets'))) {
    if ((s.status?.readyReplicas ?? 0) < (s.spec?.replicas ?? 1)) return `statefulset ${s.metadata.namespace}/${s.metadata.name}`;
  }
  for (const ds of store.scan(a.res('apps', 'daemonsets'))) {
    if ((ds.status?.numberReady ?? 0) < (ds.status?.desiredNumberScheduled ?? 0) || ds.status?.observedGeneration !== ds.metadata.generation) return `daemonset ${ds.metadata.namespace}/${ds.metadata.name}`;
  }
  for (const p of store.scan(a.res('', 'pods'))) {
    if (p.spec?.nodeName && readyNodes.has(p.spec.nodeName) && !isPodReady(p)) return `pod ${p.metadata.namespace}/${p.metadata.name}`;
  }
  return undefined;
}
