// What the rollout's facts make of Nodes and pods (pure parts of facts.ts): requests, own taints, the pods a
// drain would evict, and one node's facts for decide().
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import type { V1Node, V1Pod, V1PodDisruptionBudget } from '@kubernetes/client-node';
import { getCluster, loadInventory } from '../../../lib/inventory/load.js';
import { defaultDrainFilterOptions } from '../../../lib/k8s/drain-plan.js';
import { evictablePods, hasOwnTaint, nodeFacts, podRequests, slimPod } from '../../../lib/ops/rollout/facts.js';
import { ROOT } from '../../helpers/cli.js';

const tools = getCluster(loadInventory([join(ROOT, 'inventory')]), 'tools');
const GiB = 2 ** 30;
const NOW = 1_000_000;

type Res = { requests?: Record<string, string>; limits?: Record<string, string> };
const container = (resources: Res) => ({ name: 'c', resources });

function pod(name: string, extra: { owner?: string; phase?: string; labels?: Record<string, string>; mirror?: boolean; deleting?: boolean; emptyDir?: boolean; containers?: Res[]; init?: Res[] } = {}): V1Pod {
  const [kind, owner] = extra.owner?.split('/') ?? [];
  return {
    metadata: {
      name,
      namespace: 'ns',
      labels: extra.labels,
      ownerReferences: kind ? [{ apiVersion: 'apps/v1', kind: kind!, name: owner!, uid: 'u', controller: true }] : undefined,
      annotations: extra.mirror ? { 'kubernetes.io/config.mirror': 'x' } : undefined,
      deletionTimestamp: extra.deleting ? new Date(NOW - 1000) : undefined,
    },
    spec: { containers: (extra.containers ?? []).map(container), initContainers: extra.init?.map(container), volumes: extra.emptyDir ? [{ name: 'tmp', emptyDir: {} }] : [] },
    status: { phase: extra.phase ?? 'Running' },
  };
}

describe('rollout facts: podRequests', () => {
  const rows: [string, Parameters<typeof pod>[1], { cpu: number; memory: number }][] = [
    ['no containers', {}, { cpu: 0, memory: 0 }],
    ['containers add up', { containers: [{ requests: { cpu: '500m', memory: '1Gi' } }, { requests: { cpu: '250m', memory: '512Mi' } }] }, { cpu: 0.75, memory: 1.5 * GiB }],
    ['limits stand in for missing requests', { containers: [{ limits: { cpu: '2', memory: '2Gi' } }] }, { cpu: 2, memory: 2 * GiB }],
    ['a larger init container sets the floor', { containers: [{ requests: { cpu: '100m' } }], init: [{ requests: { cpu: '1', memory: '64Mi' } }] }, { cpu: 1, memory: 64 * 2 ** 20 }],
  ];
  for (const [title, extra, want] of rows) it(title, () => assert.deepEqual(podRequests(pod('p', extra)), want));
});

describe('rollout facts: hasOwnTaint', () => {
  const node = (taints: { key: string; effect: string }[]): V1Node => ({ metadata: { name: 'n' }, spec: { taints } });
  const rows: [string, { key: string; effect: string }[], boolean][] = [
    ['no taints', [], false],
    ['its own NoSchedule taint (ingress)', [{ key: 'ingress', effect: 'NoSchedule' }], true],
    ['its own NoExecute taint', [{ key: 'dedicated', effect: 'NoExecute' }], true],
    ['PreferNoSchedule keeps nobody away', [{ key: 'soft', effect: 'PreferNoSchedule' }], false],
    ['the cordon taint comes and goes with the rollout', [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }], false],
    ['so does not-ready', [{ key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' }], false],
  ];
  for (const [title, taints, want] of rows) it(`${title} → ${want}`, () => assert.equal(hasOwnTaint(node(taints)), want));
});

describe('rollout facts: evictablePods', () => {
  const rows: [string, V1Pod, boolean][] = [
    ['a ReplicaSet pod goes', pod('web', { owner: 'ReplicaSet/web-1' }), true],
    ['a DaemonSet pod stays', pod('calico', { owner: 'DaemonSet/calico' }), false],
    ['a mirror (static) pod stays', pod('kube-apiserver', { mirror: true }), false],
    ['a terminating pod is on its way out already', pod('old', { owner: 'ReplicaSet/web-1', deleting: true }), false],
    ['an emptyDir pod goes in the plan (the drain decides whether it may)', pod('cache', { owner: 'ReplicaSet/c', emptyDir: true }), true],
    ['an unmanaged pod goes in the plan too', pod('bare'), true],
  ];
  for (const [title, p, want] of rows) it(`${title} → ${want}`, () => assert.equal(evictablePods([p], defaultDrainFilterOptions, NOW).length, want ? 1 : 0));
});

describe('rollout facts: nodeFacts', () => {
  const pdb = (name: string, namespace: string, matchLabels: Record<string, string>): V1PodDisruptionBudget => ({ metadata: { name, namespace }, spec: { selector: { matchLabels } } });
  const node: V1Node = {
    metadata: { name: 'tools-k8s-worker-7' },
    spec: { unschedulable: true, taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }] },
    status: { allocatable: { cpu: '8', memory: '16Gi' }, conditions: [{ type: 'Ready', status: 'True' }] },
  };
  const pods = [
    pod('web-1', { owner: 'ReplicaSet/web', labels: { app: 'web' }, containers: [{ requests: { cpu: '1', memory: '1Gi' } }] }),
    pod('calico', { owner: 'DaemonSet/calico', containers: [{ requests: { cpu: '250m', memory: '256Mi' } }] }),
    pod('job-1', { owner: 'Job/j', phase: 'Succeeded', containers: [{ requests: { cpu: '4', memory: '4Gi' } }] }),
  ];
  const facts = nodeFacts(tools, node, pods, [pdb('web', 'ns', { app: 'web' }), pdb('web', 'other', { app: 'web' }), pdb('db', 'ns', { app: 'db' })], defaultDrainFilterOptions, NOW);
  const rows: [string, unknown, unknown][] = [
    ['name and inventory role', [facts.name, facts.role, facts.control], ['tools-k8s-worker-7', 'worker', false]],
    ['Ready and cordoned', [facts.ready, facts.cordoned], [true, true]],
    ['the cordon taint is not its own', facts.tainted, false],
    ['pods to evict, with the PDBs of their namespace that select them', facts.pods.map((p) => [p.key, p.pdbs]), [['ns/web-1', ['ns/web']], ['ns/job-1', []]]],
    ['requested counts every pod that has not finished', facts.requested, { cpu: 1.25, memory: 1.25 * GiB }],
    ['allocatable', facts.allocatable, { cpu: 8, memory: 16 * GiB }],
  ];
  for (const [title, got, want] of rows) it(title, () => assert.deepEqual(got, want));
});

describe('rollout facts: slimPod (the cached pod lists keep only what the facts read)', () => {
  const full = (p: V1Pod): V1Pod => ({
    ...p,
    metadata: { ...p.metadata, annotations: { ...p.metadata?.annotations, 'kubectl.kubernetes.io/last-applied-configuration': 'x'.repeat(2000) }, managedFields: [{ manager: 'kubectl', operation: 'Apply' }] },
    status: { ...p.status, conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: [{ name: 'c', image: 'i', imageID: 'id', ready: true, restartCount: 0 }] },
  });
  const pods = [
    pod('web-1', { owner: 'ReplicaSet/web', labels: { app: 'web' }, containers: [{ requests: { cpu: '1', memory: '1Gi' } }], init: [{ requests: { cpu: '2' } }] }),
    pod('calico', { owner: 'DaemonSet/calico', containers: [{ requests: { cpu: '250m' } }] }),
    pod('api-server', { mirror: true }),
    pod('old', { owner: 'ReplicaSet/web', deleting: true }),
    pod('cache', { owner: 'ReplicaSet/c', emptyDir: true, labels: { app: 'cache' } }),
    pod('bare'),
    pod('job-1', { owner: 'Job/j', phase: 'Succeeded', containers: [{ limits: { cpu: '4', memory: '4Gi' } }] }),
  ].map(full);
  const slim = pods.map(slimPod);
  const node: V1Node = { metadata: { name: 'tools-k8s-worker-7' }, status: { allocatable: { cpu: '8', memory: '16Gi' }, conditions: [{ type: 'Ready', status: 'True' }] } };
  const pdbs: V1PodDisruptionBudget[] = [{ metadata: { name: 'web', namespace: 'ns' }, spec: { selector: { matchLabels: { app: 'web' } } } }];
  it('the same node facts as the full pods', () => assert.deepEqual(nodeFacts(tools, node, slim, pdbs, defaultDrainFilterOptions, NOW), nodeFacts(tools, node, pods, pdbs, defaultDrainFilterOptions, NOW)));
  it('the same evictable pods', () => assert.deepEqual(evictablePods(slim, defaultDrainFilterOptions, NOW).map((p) => p.metadata?.name), evictablePods(pods, defaultDrainFilterOptions, NOW).map((p) => p.metadata?.name)));
  it('without the bulk (annotations other than the mirror one, managed fields, container statuses)', () => {
    assert.ok(JSON.stringify(slim).length * 3 < JSON.stringify(pods).length, `${JSON.stringify(slim).length} vs ${JSON.stringify(pods).length}`);
    assert.deepEqual(slim[2]!.metadata?.annotations, { 'kubernetes.io/config.mirror': 'x' });
  });
});
