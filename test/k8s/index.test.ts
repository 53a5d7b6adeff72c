// The Kubernetes client (lib/k8s/index.ts, and drains through drain.ts) against the lab's API: nodes, cordon
// ownership, pods on a node, drains with kubectl's semantics, workload readiness, dry-run.
import { strict as assert } from 'node:assert';
import type { V1Pod } from '@kubernetes/client-node';
import { GateViolation } from '../../lib/core/errors.js';
import { isPlanned } from '../../lib/core/gate.js';
import { CORDON_ANNOTATION, DrainFailedError, DrainRefusedError, NodeNotFoundError, NotOurCordonError, drainNode, isCordoned, isNodeReady, nodeBootId } from '../../lib/k8s/index.js';
import { cleanupTempDirs } from '../helpers/cli.js';
import { type TestLab, startTestLab } from '../helpers/lab.js';

const by = { runId: 'r1', cookbook: 'test' };

describe('k8s client layer (lab)', function () {
  this.timeout(120_000);
  let lab: TestLab;
  before(async () => {
    lab = await startTestLab({ workers: 4, workersNfs: 1, speed: 40 });
  });
  after(async () => {
    await lab?.stop();
    cleanupTempDirs();
  });

  const worker = (n: number): string => `labtest-k8s-worker-${n}`;

  it('lists nodes and pods on one node with a field selector', async () => {
    const kube = lab.client();
    const nodes = await kube.listNodes();
    assert.ok(nodes.length >= 8);
    assert.ok(nodes.every(isNodeReady));
    const pods = await kube.listPodsOnNode(worker(1));
    assert.ok(pods.length > 0);
    assert.ok(pods.every((p) => p.spec?.nodeName === worker(1)));
    await assert.rejects(kube.requireNode('labtest-k8s-worker-99'), NodeNotFoundError);
  });

  it('cordons idempotently, records that we did, and uncordons only our cordon', async () => {
    const kube = lab.client();
    const r1 = await kube.cordon(worker(2), by);
    assert.deepEqual(r1, { node: worker(2), changed: true, ours: true });
    const r2 = await kube.cordon(worker(2), by);
    assert.deepEqual(r2, { node: worker(2), changed: false, ours: true });
    const node = await kube.requireNode(worker(2));
    assert.ok(isCordoned(node));
    assert.match(node.metadata!.annotations![CORDON_ANNOTATION]!, /"runId":"r1"/);
    assert.deepEqual(await kube.uncordon(worker(2)), { node: worker(2), changed: true, ours: true });
    const after = await kube.requireNode(worker(2));
    assert.equal(isCordoned(after), false);
    assert.equal(after.metadata?.annotations?.[CORDON_ANNOTATION], undefined);
  });

  it('refuses to uncordon a node an admin cordoned, unless forced', async () => {
    const api = lab.kube.api;
    api.patch(api.res('', 'nodes'), undefined, worker(3), 'application/merge-patch+json', JSON.stringify({ spec: { unschedulable: true } }));
    const kube = lab.client();
    await assert.rejects(kube.uncordon(worker(3)), NotOurCordonError);
    assert.ok(isCordoned(await kube.requireNode(worker(3))));
    const r = await kube.uncordon(worker(3), { force: true });
    assert.equal((r as { changed: boolean }).changed, true);
  });

  it('in dry-run plans cordon, eviction and deletion without a single write', async () => {
    const kube = lab.client({ dryRun: true });
    const before = lab.counters().k8s_mutations;
    assert.ok(isPlanned(await kube.cordon(worker(1), by)));
    const pod = (await kube.listPodsOnNode(worker(1)))[0]!;
    assert.ok(isPlanned(await kube.evictPod(pod.metadata!.namespace!, pod.metadata!.name!, { uid: pod.metadata!.uid })));
    assert.ok(isPlanned(await kube.deleteNode(worker(1))));
    const plan = await drainNode(kube, worker(1), { retryMinMs: 50 });
    assert.equal(plan.planned, true);
    assert.equal(lab.counters().k8s_mutations, before);
    assert.equal(isCordoned(await kube.requireNode(worker(1))), false);
  });

  it('refuses a write outside the gate at the transport', async () => {
    const kube = lab.client();
    // Reaching past the gate (as a buggy client method would) fails at the transport.
    const apis = (kube as unknown as { apis: { core: { patchNode(a: unknown): Promise<unknown> } } }).apis;
    await assert.rejects(apis.core.patchNode({ name: worker(1), body: { spec: { unschedulable: true } } }), GateViolation);
  });

  it('drains like kubectl: evicts managed pods, leaves DaemonSet and mirror pods, refuses emptyDir and unmanaged pods', async () => {
    const kube = lab.client();
    const api = lab.kube.api;
    const node = worker(4);
    api.create(api.res('', 'pods'), 'tool-alpha', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'bare', namespace: 'tool-alpha' },
      spec: { nodeName: node, containers: [{ name: 'c', image: 'x' }] },
    });
    await kube.cordon(node, by);
    const err = await drainNode(kube, node, { retryMinMs: 50, timeoutMs: 20_000 }).catch((e: unknown) => e);
    assert.ok(err instanceof DrainRefusedError, String(err));
    assert.match(err.message, /tool-alpha\/bare \(has no controller/);
    const refused = (err.context.refused as { pod: string }[]).map((r) => r.pod);
    assert.ok(refused.includes('tool-alpha/bare'));
    const stillThere = await kube.listPodsOnNode(node);
    assert.ok(stillThere.some((p) => p.metadata?.name === 'bare'), 'nothing was evicted');

    const result = await drainNode(kube, node, { retryMinMs: 100, timeoutMs: 30_000, forceUnmanaged: true, deleteEmptyDirData: true });
    assert.ok(result.evicted.includes('tool-alpha/bare'));
    const left = await kube.listPodsOnNode(node);
    assert.ok(left.every((p) => p.metadata?.ownerReferences?.some((o) => o.kind === 'DaemonSet') || p.metadata?.annotations?.['kubernetes.io/config.mirror']));
    assert.equal(lab.counters().pdb_violations, 0);
    await kube.uncordon(node);
  });

  it('a PDB that allows no disruption blocks the drain until the deadline and is named', async () => {
    const kube = lab.client();
    const api = lab.kube.api;
    // Make the web PDB (tool-alpha/web) allow no disruption at all.
    api.patch(api.res('policy', 'poddisruptionbudgets'), 'tool-alpha', 'web', 'application/merge-patch+json', JSON.stringify({ spec: { minAvailable: 3 } }));
    const pods = await lab.client().listPodsOnNode(worker(1));
    const webNode = pods.some((p) => p.metadata?.labels?.app === 'web') ? worker(1) : undefined;
    const target = webNode ?? (await findNodeWith(lab, 'web'));
    await kube.cordon(target, by);
    const err = await drainNode(kube, target, { retryMinMs: 100, timeoutMs: 3000, deleteEmptyDirData: true }).catch((e: unknown) => e);
    assert.ok(err instanceof DrainFailedError, String(err));
    assert.match(err.message, /blocked by PodDisruptionBudget tool-alpha\/web/);
    assert.ok(isCordoned(await kube.requireNode(target)), 'the node stays cordoned');
    assert.equal(lab.counters().pdb_violations, 0);
    api.patch(api.res('policy', 'poddisruptionbudgets'), 'tool-alpha', 'web', 'application/merge-patch+json', JSON.stringify({ spec: { minAvailable: 2 } }));
    const ok = await drainNode(kube, target, { retryMinMs: 100, timeoutMs: 30_000, deleteEmptyDirData: true });
    assert.ok(ok.evicted.some((p) => p.startsWith('tool-alpha/web-')));
    await kube.uncordon(target);
  });

  it('waits for workloads to be back to their desired ready replicas', async () => {
    const kube = lab.client();
    const refs = [
      { kind: 'Deployment' as const, namespace: 'tool-alpha', name: 'web' },
      { kind: 'StatefulSet' as const, namespace: 'tool-gamma', name: 'db' },
    ];
    const st = await kube.waitWorkloadsReady(refs, { timeoutMs: 30_000 });
    assert.ok(st.every((s) => s.isReady && s.ready === s.desired));
  });

  it("resolves pods' owners to their Deployment, reading each ReplicaSet once per client", async () => {
    const kube = lab.client();
    const pods: V1Pod[] = [];
    for (let n = 1; n <= 4; n++) pods.push(...(await kube.listPodsOnNode(worker(n))).filter((p) => p.metadata?.ownerReferences?.some((o) => o.kind === 'ReplicaSet')));
    assert.ok(pods.length > 1, 'the lab runs Deployments');
    const replicaSets = new Set(pods.map((p) => p.metadata!.ownerReferences!.find((o) => o.controller)!.uid));
    const r0 = kube.requestCount();
    const owners = await kube.ownersOf(pods);
    assert.equal(kube.requestCount() - r0, replicaSets.size, 'one GET per ReplicaSet, not per pod');
    assert.ok(owners.length > 0 && owners.every((o) => o.kind === 'Deployment'), JSON.stringify(owners));
    assert.equal(new Set(owners.map((o) => `${o.namespace}/${o.name}`)).size, owners.length, 'deduplicated');
    const r1 = kube.requestCount();
    assert.deepEqual(await kube.ownersOf(pods), owners);
    assert.equal(kube.requestCount() - r1, 0, 'the second time from the cache');
  });

  it('sees a rebooted node come back Ready with a new boot id', async () => {
    const kube = lab.client();
    const before = nodeBootId(await kube.requireNode(worker(2)))!;
    lab.world.rebootHost(worker(2));
    const node = await kube.waitNodeReady(worker(2), { timeoutMs: 30_000, notBootId: before });
    assert.notEqual(nodeBootId(node), before);
  });

  it('reports cluster health', async () => {
    const h = await lab.client().clusterHealth();
    assert.equal(h.readyz, true);
    assert.ok(h.nodes >= 8);
  });
});

async function findNodeWith(lab: TestLab, app: string): Promise<string> {
  for (const n of await lab.client().listNodes()) {
    const pods = await lab.client().listPodsOnNode(n.metadata!.name!);
    if (pods.some((p) => p.metadata?.labels?.app === app)) return n.metadata!.name!;
  }
  throw new Error(`no node runs ${app}`);
}
