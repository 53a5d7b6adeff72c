// The eviction subresource and PodDisruptionBudgets through client-node: 201/404/409/429/500, computed PDB
// status, unhealthyPodEvictionPolicy, parallel evictions, dryRun and the pdb_violations counter.
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { NEVER_READY_ANNOTATION } from '../../../lab/k8s/index.js';
import { bodyOf, codeOf, makeWorld, startLab, until, type Lab } from './helpers.js';

function barePod(name: string, app: string, neverReady = false): k8s.V1Pod {
  return {
    metadata: { name, labels: { app }, ...(neverReady ? { annotations: { [NEVER_READY_ANNOTATION]: 'true' } } : {}) },
    spec: { containers: [{ name: 'c', image: 'busybox:1.36' }], terminationGracePeriodSeconds: 5 },
  };
}

describe('lab k8s API: eviction and disruption budgets', function () {
  this.timeout(60_000);
  let lab: Lab;
  let ns = 0;
  let namespace = '';
  before(async () => {
    lab = await startLab(makeWorld(40, { control: 1, worker: 3, worker_nfs: 0, ingress: 0, etcd: 0 }));
  });
  after(async () => lab.stop());
  beforeEach(async () => {
    namespace = `ev-${++ns}`;
    await lab.core.createNamespace({ body: { metadata: { name: namespace } } });
  });

  const evict = (name: string, deleteOptions?: k8s.V1DeleteOptions, dryRun?: string) =>
    lab.core.createNamespacedPodEviction({ namespace, name, body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace }, ...(deleteOptions ? { deleteOptions } : {}) }, dryRun });

  async function readyPods(n: number, app = 'app'): Promise<void> {
    await until(`${n} ready pods`, async () => {
      const pods = (await lab.core.listNamespacedPod({ namespace, labelSelector: `app=${app}` })).items;
      return pods.filter((p) => !p.metadata?.deletionTimestamp && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length >= n;
    });
  }

  async function deployment(name: string, replicas: number): Promise<void> {
    await lab.apps.createNamespacedDeployment({
      namespace,
      body: { metadata: { name }, spec: { replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'busybox:1.36' }] } } } },
    });
    await readyPods(replicas, name);
  }

  const pdb = (name: string, app: string, spec: Partial<k8s.V1PodDisruptionBudgetSpec>) =>
    lab.policy.createNamespacedPodDisruptionBudget({ namespace, body: { metadata: { name }, spec: { selector: { matchLabels: { app } }, ...spec } } });

  it('evicts a pod without a budget (201), 404 when gone, 409 on a UID precondition mismatch', async () => {
    await lab.core.createNamespacedPod({ namespace, body: barePod('free', 'free') });
    await readyPods(1, 'free');
    await assert.rejects(evict('free', { preconditions: { uid: '00000000-0000-0000-0000-000000000000' } }), (e) => codeOf(e) === 409 && bodyOf(e).reason === 'Conflict');
    const live = await lab.core.readNamespacedPod({ namespace, name: 'free' });
    await evict('free', { preconditions: { uid: live.metadata!.uid! } });
    const after = await lab.core.readNamespacedPod({ namespace, name: 'free' }).catch(() => undefined);
    assert.ok(!after || after.metadata?.deletionTimestamp, 'pod is terminating or gone');
    await until('pod gone', async () => (await lab.core.listNamespacedPod({ namespace })).items.length === 0);
    await assert.rejects(evict('free'), (e) => codeOf(e) === 404);
  });

  it('computes PDB status and refuses with 429 naming the budget when no disruption is allowed', async () => {
    await deployment('web', 3);
    await pdb('web', 'web', { minAvailable: 2 });
    const status = await until('pdb status', async () => {
      const p = await lab.policy.readNamespacedPodDisruptionBudget({ namespace, name: 'web' });
      return p.status?.currentHealthy === 3 ? p.status : undefined;
    });
    assert.deepEqual([status.expectedPods, status.desiredHealthy, status.currentHealthy, status.disruptionsAllowed], [3, 2, 3, 1]);
    const pods = (await lab.core.listNamespacedPod({ namespace, labelSelector: 'app=web' })).items;
    await evict(pods[0]!.metadata!.name!);
    const refused = await evict(pods[1]!.metadata!.name!).catch((e) => e);
    assert.equal(codeOf(refused), 429);
    assert.equal(bodyOf(refused).reason, 'TooManyRequests');
    assert.equal(bodyOf(refused).message, "Cannot evict pod as it would violate the pod's disruption budget.");
    assert.match(bodyOf(refused).details.causes[0].message, /The disruption budget web needs 2 healthy pods and has 2 currently/);
    // The replacement becomes ready, so the budget allows one again.
    await readyPods(3, 'web');
    await until('budget back', async () => (await lab.policy.readNamespacedPodDisruptionBudget({ namespace, name: 'web' })).status?.disruptionsAllowed === 1);
    await evict(pods[1]!.metadata!.name!);
  });

  it('answers 500 when two budgets select the pod', async () => {
    await lab.core.createNamespacedPod({ namespace, body: barePod('two', 'two') });
    await readyPods(1, 'two');
    await pdb('one', 'two', { maxUnavailable: 1 });
    await pdb('other', 'two', { maxUnavailable: 1 });
    const e = await evict('two').catch((x) => x);
    assert.equal(codeOf(e), 500);
    assert.match(bodyOf(e).message, /more than one PodDisruptionBudget/);
  });

  it('never lets parallel evictions take a budget below its minimum', async () => {
    await deployment('par', 4);
    await pdb('par', 'par', { maxUnavailable: 1 });
    await until('pdb ready', async () => (await lab.policy.readNamespacedPodDisruptionBudget({ namespace, name: 'par' })).status?.disruptionsAllowed === 1);
    const pods = (await lab.core.listNamespacedPod({ namespace, labelSelector: 'app=par' })).items;
    const results = await Promise.allSettled(pods.map((p) => evict(p.metadata!.name!)));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    assert.ok(results.filter((r) => r.status === 'rejected').every((r) => codeOf((r as PromiseRejectedResult).reason) === 429));
  });

  it('follows unhealthyPodEvictionPolicy for pods that are not ready', async () => {
    // 1 ready + 1 never-ready, minAvailable 2: the budget is short.
    await lab.core.createNamespacedPod({ namespace, body: barePod('ok-1', 'crash') });
    await lab.core.createNamespacedPod({ namespace, body: barePod('crash-1', 'crash', true) });
    await readyPods(1, 'crash');
    await pdb('crash', 'crash', { minAvailable: 2 });
    await until('running', async () => (await lab.core.readNamespacedPod({ namespace, name: 'crash-1' })).status?.phase === 'Running');
    // IfHealthyBudget (default): the not-ready pod is blocked because the budget is not healthy.
    assert.equal(codeOf(await evict('crash-1').catch((e) => e)), 429);
    // AlwaysAllow lets it go.
    await lab.policy.patchNamespacedPodDisruptionBudget({ namespace, name: 'crash', body: { spec: { unhealthyPodEvictionPolicy: 'AlwaysAllow' } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    await evict('crash-1');
    // With a healthy budget (2 ready, minAvailable 2), IfHealthyBudget evicts a not-ready pod but not a ready one.
    await lab.core.createNamespacedPod({ namespace, body: barePod('ok-2', 'sick') });
    await lab.core.createNamespacedPod({ namespace, body: barePod('ok-3', 'sick') });
    await lab.core.createNamespacedPod({ namespace, body: barePod('crash-2', 'sick', true) });
    await readyPods(2, 'sick');
    await pdb('sick', 'sick', { minAvailable: 2 });
    await until('running', async () => (await lab.core.readNamespacedPod({ namespace, name: 'crash-2' })).status?.phase === 'Running');
    await until('pdb', async () => (await lab.policy.readNamespacedPodDisruptionBudget({ namespace, name: 'sick' })).status?.currentHealthy === 2);
    assert.equal(codeOf(await evict('ok-2').catch((e) => e)), 429);
    await evict('crash-2');
  });

  it('does nothing on a dryRun eviction, and counts a direct delete that breaks a budget', async () => {
    await deployment('dry', 2);
    await pdb('dry', 'dry', { minAvailable: 2 });
    await until('pdb', async () => (await lab.policy.readNamespacedPodDisruptionBudget({ namespace, name: 'dry' })).status?.currentHealthy === 2);
    const pods = (await lab.core.listNamespacedPod({ namespace, labelSelector: 'app=dry' })).items;
    await lab.core.createNamespacedPod({ namespace, body: barePod('dry-free', 'dry-free') });
    await readyPods(1, 'dry-free');
    const mutations = lab.world.counters.k8s_mutations;
    await evict('dry-free', undefined, 'All');
    assert.equal((await lab.core.readNamespacedPod({ namespace, name: 'dry-free' })).metadata!.deletionTimestamp, undefined);
    assert.equal(lab.world.counters.k8s_mutations, mutations);
    const violations = lab.world.counters.pdb_violations;
    await lab.core.deleteNamespacedPod({ namespace, name: pods[0]!.metadata!.name! });
    assert.equal(lab.world.counters.pdb_violations, violations + 1);
  });

  it('delays evictions by slowEvictionMs', async () => {
    await lab.core.createNamespacedPod({ namespace, body: barePod('slow', 'slow') });
    await readyPods(1, 'slow');
    lab.world.faults.slowEvictionMs = 300;
    const t = Date.now();
    await evict('slow');
    lab.world.faults.slowEvictionMs = 0;
    assert.ok(Date.now() - t >= 280);
  });
});
