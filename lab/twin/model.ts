// The model user's cluster as a snapshot (issue 15's scale): 60 nodes, 3,500 tenant namespaces each with a
// Kyverno policy (4,000 in all), 10,000 pods. Benches and tests start "the production cluster" from it
// (startLab fromSnapshot / startTwin) instead of building a second kind of lab.
import type { ClusterSnapshot, SnapshotNamespace, SnapshotNode, SnapshotPdb, SnapshotWorkload } from '../../lib/twin/types.js';
import { DEFAULT_TIMINGS, type SnapshotTimings, type TimingName } from '../../lib/twin/timings.js';
import { deriveCluster } from '../state.js';

/** The sizes of a model snapshot (defaults: the model user's cluster). */
export interface ModelSpec {
  clusterName?: string;
  nodes?: number;
  namespaces?: number;
  policies?: number;
  pods?: number;
  /** Every Nth tenant's Deployment has a PDB of maxUnavailable 1 (default 10; 0: none). */
  pdbEvery?: number;
  kubernetesVersion?: string;
}

const CONTROL = 3;

/** A synthetic snapshot of a cluster of the given size (deterministic). */
export function modelSnapshot(spec: ModelSpec = {}): ClusterSnapshot {
  const name = spec.clusterName ?? 'model';
  const total = spec.nodes ?? 60;
  const nsCount = spec.namespaces ?? 3500;
  const policies = spec.policies ?? 4000;
  const podTarget = spec.pods ?? 10_000;
  const pdbEvery = spec.pdbEvery ?? 10;
  const version = spec.kubernetesVersion ?? '1.29.4';
  const template = deriveCluster(name);
  const roles = Object.fromEntries(
    Object.entries(template.roles)
      .filter(([r]) => r !== 'etcd' && r !== 'loadbalancer')
      .map(([r, v]) => [r, { prefix: v.prefix, node: v.node, flavor: v.flavor, image: v.image, network: v.network, securityGroups: [...v.securityGroups], labels: { ...v.labels }, taints: v.taints.map((t) => ({ ...t })), min: v.min, ...(v.serverGroup ? { serverGroup: { name: v.serverGroup.name, policy: v.serverGroup.policy } } : {}), ...(v.maxUnavailable !== undefined ? { maxUnavailable: v.maxUnavailable } : {}) }]),
  );
  const nfs = Math.min(4, Math.max(0, total - CONTROL - 2));
  const ingress = total - CONTROL - nfs > 1 ? 1 : 0;
  const workers = Math.max(0, total - CONTROL - nfs - ingress);
  const nodes: SnapshotNode[] = [];
  const node = (role: string, i: number): void => {
    const r = roles[role]!;
    const n = `${template.prefix}-${r.prefix}-${i}`;
    const labels: Record<string, string> = { 'kubernetes.io/hostname': n, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', ...r.labels };
    if (r.node === 'control-plane') labels['node-role.kubernetes.io/control-plane'] = '';
    const taints = r.node === 'control-plane' ? [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }, ...r.taints] : r.taints;
    const size = r.node === 'control-plane' ? { cpu: '8', memory: '16Gi', pods: '110' } : { cpu: '32', memory: '128Gi', pods: '250' };
    nodes.push({ name: n, role, labels, taints, unschedulable: false, conditions: [{ type: 'Ready', status: 'True' }], capacity: size, allocatable: size, kubeletVersion: `v${version}` });
  };
  for (let i = 1; i <= Math.min(CONTROL, total); i++) node('control', i);
  for (let i = 1; i <= workers; i++) node('worker', i);
  for (let i = 1; i <= nfs; i++) node('worker_nfs', i);
  for (let i = 1; i <= ingress; i++) node('ingress', i);

  const tenant = (i: number): string => `tool-${String(i + 1).padStart(4, '0')}`;
  const namespaces: SnapshotNamespace[] = [];
  for (let i = 0; i < nsCount; i++) {
    const p = Math.floor(policies / nsCount) + (i < policies % nsCount ? 1 : 0);
    namespaces.push({ name: tenant(i), labels: { 'toolforge.org/tenant': 'true' }, counts: { 'policies.kyverno.io': p, configmaps: 1 } });
  }
  const container = (n: string, cpu: string, memory: string) => ({ name: n, image: `docker-registry.lab.internal/${n}:1.0`, requests: { cpu, memory }, limits: { memory: '256Mi' } });
  const workloads: SnapshotWorkload[] = [
    {
      kind: 'DaemonSet',
      namespace: 'kube-system',
      name: 'calico-node',
      replicas: nodes.length,
      readyReplicas: nodes.length,
      labels: { 'k8s-app': 'calico-node' },
      selector: { matchLabels: { 'k8s-app': 'calico-node' } },
      template: { labels: { 'k8s-app': 'calico-node' }, tolerations: [{ operator: 'Exists' }], priorityClassName: 'system-node-critical', hostNetwork: true, containers: [container('calico-node', '25m', '32Mi')], volumes: {} },
    },
    {
      kind: 'Deployment',
      namespace: 'kube-system',
      name: 'coredns',
      replicas: 2,
      readyReplicas: 2,
      labels: { app: 'coredns' },
      selector: { matchLabels: { app: 'coredns' } },
      template: { labels: { app: 'coredns' }, priorityClassName: 'system-cluster-critical', containers: [container('coredns', '100m', '70Mi')], volumes: {} },
    },
  ];
  const pdbs: SnapshotPdb[] = [{ namespace: 'kube-system', name: 'coredns', maxUnavailable: 1, selector: { matchLabels: { app: 'coredns' } }, status: { currentHealthy: 2, desiredHealthy: 1, disruptionsAllowed: 1, expectedPods: 2 } }];
  // Tenant pods: what is left after the DaemonSet and CoreDNS, spread as evenly as whole replicas allow.
  const tenantPods = Math.max(0, podTarget - nodes.length - 2);
  for (let i = 0; i < nsCount; i++) {
    const replicas = Math.floor(tenantPods / nsCount) + (i < tenantPods % nsCount ? 1 : 0);
    if (replicas === 0) continue;
    const ns = tenant(i);
    workloads.push({ kind: 'Deployment', namespace: ns, name: 'tool', replicas, readyReplicas: replicas, labels: { app: 'tool' }, selector: { matchLabels: { app: 'tool' } }, template: { labels: { app: 'tool', 'toolforge.org/tool': 'true' }, containers: [container('tool', '10m', '32Mi')], volumes: i % 7 === 0 ? { cache: 'emptyDir' } : {} } });
    if (pdbEvery > 0 && i % pdbEvery === 0) pdbs.push({ namespace: ns, name: 'tool', maxUnavailable: 1, selector: { matchLabels: { app: 'tool' } }, status: { currentHealthy: replicas, desiredHealthy: replicas - 1, disruptionsAllowed: 1, expectedPods: replicas } });
  }
  const timings = Object.fromEntries((Object.entries(DEFAULT_TIMINGS) as [TimingName, number][]).map(([k, seconds]) => [k, { seconds, source: 'default', samples: 0 }])) as SnapshotTimings;
  return {
    format: 1,
    takenAt: new Date(0).toISOString(),
    cluster: { name, prefix: template.prefix, kubernetesVersion: version, roles },
    nodes,
    workloads,
    // Pods are left to the twin's scheduler: a model has no history of where they ran.
    pods: [],
    pdbs,
    namespaces,
    kinds: [
      { key: 'policies.kyverno.io', group: 'kyverno.io', version: 'v1', kind: 'Policy', plural: 'policies' },
      { key: 'configmaps', group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps' },
    ],
    crds: [],
    openstack: { servers: [], flavors: [], images: [], serverGroups: [] },
    hosts: [],
    timings,
    capture: { durationMs: 0, requests: { k8s: 0, openstack: 0, ssh: 0 } },
  };
}
