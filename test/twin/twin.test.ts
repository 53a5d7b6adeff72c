// A twin built from a snapshot of lab A is lab A again: the same host names (the gap kept) and roles, Node
// labels and cordons, pods of each workload on the same nodes, the same PDBs and per-namespace object counts.
// Also startTwin: the background twin, its inventory dir, its request stats, and that stop() removes it.
import { strict as assert } from 'node:assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'mocha';
import { loadClusterFile } from '../../lib/inventory/load.js';
import { standaloneSnapshotContext } from '../../lib/twin/context.js';
import { type ClusterSnapshot, takeSnapshot } from '../../lib/twin/snapshot.js';
import { startTwin } from '../../lab/api.js';
import { type LabHandle, startLab } from '../../lab/index.js';
import { type TestLab, startTestLab } from '../helpers/lab.js';
import { tempDir } from '../helpers/cli.js';
import { modelSnapshot } from '../../lab/twin/model.js';
import { podsOf, twinHeapMb } from '../../lab/twin/start.js';
import { nodeReadyStatus } from '../../lab/k8s/types.js';
import { decodeRelease } from '../../lib/component/release.js';
import { componentFixture } from './component-fixture.js';

const HOSTS = [
  { name: 'orig-k8s-control-1', role: 'control' },
  { name: 'orig-k8s-worker-2', role: 'worker' },
  { name: 'orig-k8s-worker-3', role: 'worker' },
  { name: 'orig-k8s-worker-7', role: 'worker' },
  { name: 'orig-k8s-ingress-1', role: 'ingress' },
];

async function snapshotOf(lab: LabHandle): Promise<ClusterSnapshot> {
  const ctx = standaloneSnapshotContext(loadClusterFile(join(lab.stateDir, 'inventory.yaml')), { stateDir: tempDir('cc-twin-state-') });
  try {
    return await takeSnapshot(ctx);
  } finally {
    await ctx.close();
  }
}

/** Per workload (namespace/kind/name) the sorted nodes of its pods; bare pods by name. */
function placement(s: ClusterSnapshot): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const p of s.pods) {
    if (p.mirror) continue;
    const key = p.owner ? `${p.namespace}/${p.owner.kind}/${p.owner.name}` : `${p.namespace}/Pod/${p.name}`;
    (out[key] ??= []).push(p.node ?? '-');
  }
  for (const v of Object.values(out)) v.sort();
  return out;
}

describe('twin: a lab built from a snapshot', function () {
  this.timeout(180_000);
  let a: TestLab;
  let twin: LabHandle | undefined;
  let snapA: ClusterSnapshot;
  let snapTwin: ClusterSnapshot;

  before(async () => {
    a = await startTestLab({ clusterName: 'orig', hosts: HOSTS, speed: 50 });
    // An admin's cordon, and a bare pod: both must come back as they were.
    const nodes = a.kube.api.res('', 'nodes');
    a.kube.api.mutate(nodes, undefined, 'orig-k8s-worker-7', (n) => {
      n.spec.unschedulable = true;
    });
    a.kube.api.create(a.kube.api.res('', 'pods'), 'tool-beta', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'debug', namespace: 'tool-beta', labels: { run: 'debug' } }, spec: { nodeName: 'orig-k8s-worker-3', containers: [{ name: 'sh', image: 'debian:12' }] } } as never, { internal: true });
    // A custom kind with objects in two namespaces: the twin needs its CRD to hold them.
    a.kube.api.create(
      a.kube.api.res('apiextensions.k8s.io', 'customresourcedefinitions'),
      undefined,
      {
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: 'widgets.example.org' },
        spec: { group: 'example.org', scope: 'Namespaced', names: { kind: 'Widget', plural: 'widgets', singular: 'widget' }, versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', required: ['spec'], properties: { spec: { type: 'object', required: ['size'], properties: { size: { type: 'integer' } } } } } } }] },
      } as never,
      { internal: true },
    );
    const widgets = a.kube.api.res('example.org', 'widgets');
    for (const [ns, name] of [['tool-alpha', 'w1'], ['tool-alpha', 'w2'], ['tool-beta', 'w3']]) a.kube.api.create(widgets, ns, { apiVersion: 'example.org/v1', kind: 'Widget', metadata: { name, namespace: ns }, spec: { size: 3 } } as never, { internal: true });
    componentFixture(a);
    snapA = await snapshotOf(a);
    twin = await startLab({ fromSnapshot: snapA, speed: 50, stateDir: join(tempDir('cc-twin-'), 'lab') });
    snapTwin = await snapshotOf(twin);
  });
  after(async () => {
    await twin?.stop();
    await a?.stop();
  });

  it('has the same hosts (the gaps kept), roles, prefix and Kubernetes version', () => {
    assert.deepEqual(snapTwin.hosts.map((h) => `${h.name}:${h.role}`), snapA.hosts.map((h) => `${h.name}:${h.role}`));
    assert.deepEqual(snapTwin.openstack.servers.map((s) => s.name).sort(), HOSTS.map((h) => h.name).sort());
    assert.equal(snapTwin.cluster.prefix, 'orig-k8s');
    assert.equal(snapTwin.cluster.name, 'orig');
    assert.equal(snapTwin.cluster.kubernetesVersion, snapA.cluster.kubernetesVersion);
  });

  it('has the same Node labels, taints and cordons', () => {
    for (const n of snapA.nodes) {
      const t = snapTwin.nodes.find((x) => x.name === n.name)!;
      assert.ok(t, n.name);
      assert.deepEqual(t.labels, n.labels, `labels of ${n.name}`);
      assert.deepEqual(t.taints, n.taints, `taints of ${n.name}`);
      assert.equal(t.unschedulable, n.unschedulable, `cordon of ${n.name}`);
      assert.deepEqual(t.allocatable, n.allocatable);
    }
    assert.equal(snapTwin.nodes.find((n) => n.name === 'orig-k8s-worker-7')?.unschedulable, true);
  });

  it("has every workload's pods on the same nodes, and the bare pod where it ran", () => {
    assert.deepEqual(placement(snapTwin), placement(snapA));
    assert.deepEqual(
      snapTwin.workloads.map((w) => `${w.namespace}/${w.kind}/${w.name}=${w.replicas}`).sort(),
      snapA.workloads.map((w) => `${w.namespace}/${w.kind}/${w.name}=${w.replicas}`).sort(),
    );
  });

  it('has the same PDBs with the same budgets, and the same objects per namespace', () => {
    const pdb = (s: ClusterSnapshot) => s.pdbs.map((b) => JSON.stringify([b.namespace, b.name, b.minAvailable, b.maxUnavailable, b.selector, b.status.disruptionsAllowed])).sort();
    assert.deepEqual(pdb(snapTwin), pdb(snapA));
    assert.deepEqual(snapA.crds.map((c) => c.name), ['widgets.example.org']);
    assert.equal(snapA.namespaces.find((n) => n.name === 'tool-alpha')?.counts['widgets.example.org'], 2);
    assert.deepEqual(snapTwin.crds.map((c) => c.name), ['widgets.example.org']);
    for (const ns of snapA.namespaces) {
      const t = snapTwin.namespaces.find((x) => x.name === ns.name);
      assert.ok(t, ns.name);
      for (const k of ['configmaps', 'secrets', 'services', 'deployments.apps', 'statefulsets.apps', 'poddisruptionbudgets.policy', 'policies.kyverno.io', 'widgets.example.org']) {
        assert.equal(t.counts[k] ?? 0, ns.counts[k] ?? 0, `${k} in ${ns.name}`);
      }
    }
  });

  it('has the deployed components as captured: release records, ApplySet parent, members with their managed fields', () => {
    assert.deepEqual(snapA.components?.map((c) => c.component), ['vault']);
    assert.deepEqual(snapTwin.components, snapA.components);
    const secret = twin!.kube.store.get(twin!.kube.api.res('', 'secrets'), 'vault', 'vault-key')!;
    assert.ok(secret.metadata.managedFields?.length, 'the member keeps its field owners');
    const record = decodeRelease(twin!.kube.store.get(twin!.kube.api.res('', 'secrets'), 'vault', 'cc.release.v1.vault.v1') as never);
    assert.equal(record?.revision, 1);
    assert.deepEqual(record?.values, {}, 'values were never captured');
  });

  it('runs its timings from the snapshot', () => {
    assert.equal(twin!.world.timings.rebootDownMs + twin!.world.timings.rebootUpMs, snapA.timings.nodeRebootS.seconds * 1000);
    assert.equal(twin!.world.timings.kubeletReadyMs, snapA.timings.kubeletReadyS.seconds * 1000);
  });

  it('startTwin runs it in the background with an inventory dir of its own, counts requests and removes it on stop', async () => {
    const root = tempDir('cc-twin-bg-');
    const t = await startTwin({ snapshot: snapA, speed: 50, stateDir: join(root, 'twin') });
    try {
      assert.equal(t.clusterName, 'orig');
      // Its heap is capped from the snapshot's pods (a model-size twin stays within the 1 GiB budget).
      const argv = readFileSync(`/proc/${t.info.pid}/cmdline`, 'utf8').split('\0');
      assert.ok(argv.includes(`--max-old-space-size=${twinHeapMb(podsOf(snapA))}`), argv.join(' '));
      assert.deepEqual(readdirSync(t.inventoryDir), ['inventory.yaml']);
      const cluster = loadClusterFile(join(t.inventoryDir, 'inventory.yaml'));
      assert.equal(cluster.name, 'orig');
      assert.deepEqual(t.info.hosts.map((h) => h.name).sort(), HOSTS.map((h) => h.name).sort());
      const before_ = await t.requestStats();
      const ctx = standaloneSnapshotContext(cluster, { stateDir: tempDir('cc-twin-state-') });
      try {
        const again = await takeSnapshot(ctx, { skipHosts: true });
        assert.deepEqual(placement(again), placement(snapA));
      } finally {
        await ctx.close();
      }
      const stats = await t.requestStats();
      assert.ok(stats.count > before_.count + 10, `requests counted (${before_.count} -> ${stats.count})`);
      assert.ok(stats.peakPerSecond >= 1);
      assert.deepEqual(await t.counters(), { pdbViolations: 0, maxUnavailableNodes: 1 });
    } finally {
      await t.stop();
    }
    assert.equal(existsSync(join(root, 'twin')), false);
  });
});

describe('twin: a node that was NotReady', function () {
  this.timeout(120_000);
  let lab: LabHandle | undefined;
  after(async () => lab?.stop());

  it('is down in the twin too, and counts as unavailable', async () => {
    const snap = modelSnapshot({ clusterName: 'sick', nodes: 5, namespaces: 2, policies: 2, pods: 12 });
    const sick = snap.nodes.find((n) => n.role === 'worker')!;
    sick.conditions = [{ type: 'Ready', status: 'Unknown', reason: 'NodeStatusUnknown' }];
    lab = await startLab({ fromSnapshot: snap, speed: 50, stateDir: join(tempDir('cc-twin-sick-'), 'lab') });
    const node = lab.kube.store.get(lab.kube.api.res('', 'nodes'), undefined, sick.name)!;
    assert.notEqual(nodeReadyStatus(node), 'True');
    assert.notEqual(lab.world.hosts.get(sick.name)?.state, 'up');
    const others = snap.nodes.filter((n) => n.name !== sick.name);
    for (const n of others) assert.equal(nodeReadyStatus(lab.kube.store.get(lab.kube.api.res('', 'nodes'), undefined, n.name)!), 'True', n.name);
    assert.equal(lab.world.counters.max_unavailable_nodes, 1);
  });
});

describe('twin: heap cap', () => {
  for (const [pods, mb] of [
    [0, 256],
    [40, 257],
    [10_000, 501],
    [50_000, 1477],
  ] as const) {
    it(`${pods} pods: ${mb} MiB`, () => assert.equal(twinHeapMb(pods), mb));
  }
  it('counts a model snapshot\'s workload replicas when it lists no pods', () => {
    assert.equal(podsOf({ pods: [], workloads: [{ replicas: 3 }, { replicas: 4 }] } as never), 7);
  });
});
