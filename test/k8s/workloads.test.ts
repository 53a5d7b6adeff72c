// Whether a workload is back to ready, from its object: one table of (kind, spec, status) → desired, ready and
// the verdict, one `it` per row. (Reading them and waiting against the lab: index.test.ts.)
import { strict as assert } from 'node:assert';
import { type WorkloadObject, type WorkloadRef, readinessOf } from '../../lib/k8s/workloads.js';

const obj = (spec: Record<string, unknown>, status: Record<string, unknown>, generation?: number): WorkloadObject => ({ metadata: { generation }, spec, status }) as unknown as WorkloadObject;

const rows: [string, WorkloadRef['kind'], WorkloadObject, { desired: number; ready: number; isReady: boolean }][] = [
  ['Deployment all ready and rolled out', 'Deployment', obj({ replicas: 3 }, { readyReplicas: 3, updatedReplicas: 3, observedGeneration: 2 }, 2), { desired: 3, ready: 3, isReady: true }],
  ['Deployment one short', 'Deployment', obj({ replicas: 3 }, { readyReplicas: 2, updatedReplicas: 3, observedGeneration: 2 }, 2), { desired: 3, ready: 2, isReady: false }],
  ['Deployment ready but old replicas (rollout running)', 'Deployment', obj({ replicas: 3 }, { readyReplicas: 3, updatedReplicas: 1, observedGeneration: 2 }, 2), { desired: 3, ready: 3, isReady: false }],
  ['Deployment whose new spec was not seen yet', 'Deployment', obj({ replicas: 3 }, { readyReplicas: 3, updatedReplicas: 3, observedGeneration: 1 }, 2), { desired: 3, ready: 3, isReady: false }],
  ['Deployment without replicas: one', 'Deployment', obj({}, { readyReplicas: 1, updatedReplicas: 1 }), { desired: 1, ready: 1, isReady: true }],
  ['Deployment scaled to 0', 'Deployment', obj({ replicas: 0 }, {}), { desired: 0, ready: 0, isReady: true }],
  ['StatefulSet ready', 'StatefulSet', obj({ replicas: 2 }, { readyReplicas: 2 }), { desired: 2, ready: 2, isReady: true }],
  ['StatefulSet without status yet', 'StatefulSet', obj({ replicas: 2 }, {}), { desired: 2, ready: 0, isReady: false }],
  ['DaemonSet on every node', 'DaemonSet', obj({}, { desiredNumberScheduled: 5, numberReady: 5 }), { desired: 5, ready: 5, isReady: true }],
  ['DaemonSet one node behind', 'DaemonSet', obj({}, { desiredNumberScheduled: 5, numberReady: 4 }), { desired: 5, ready: 4, isReady: false }],
  ['ReplicaSet by its own counts', 'ReplicaSet', obj({ replicas: 2 }, { readyReplicas: 1 }), { desired: 2, ready: 1, isReady: false }],
];

describe('k8s workloads: readinessOf', () => {
  for (const [title, kind, o, want] of rows) it(`${title} → ${want.isReady ? 'ready' : 'not ready'}`, () => assert.deepEqual(readinessOf(kind, o), want));
});
