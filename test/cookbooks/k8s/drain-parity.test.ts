// Drain parity with kubectl: on two identical labs, a node holding a DaemonSet pod, a mirror pod, an emptyDir
// pod, an unmanaged pod, a PDB-blocked pod and plain Deployment pods is drained by `kubectl drain` on one and
// by `cookbook k8s.drain` on the other, with the same flags. Both must evict and refuse exactly the same pods,
// and neither may violate a PodDisruptionBudget.
import { strict as assert } from 'node:assert';
import { cleanupTempDirs } from '../../helpers/cli.js';
import { type TestLab, startTestLab } from '../../helpers/lab.js';
import { kubectl, kubectlJson, labRunner } from '../../helpers/lab-cli.js';

const NODE = 'par-k8s-worker-1';

async function freshLab(): Promise<TestLab> {
  const lab = await startTestLab({ clusterName: 'par', workers: 2, workersNfs: 0, control: 1, ingress: 0, etcd: 0, speed: 40, seed: 11, namespaces: 1 });
  const api = lab.kube.api;
  const pinned = { nodeSelector: { 'kubernetes.io/hostname': NODE } };
  const deploy = (name: string, extra: Record<string, unknown>) =>
    api.create(api.res('apps', 'deployments'), 'tool-alpha', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: 'tool-alpha' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: name } },
        template: { metadata: { labels: { app: name } }, spec: { ...pinned, containers: [{ name: 'c', image: `img/${name}` }], ...extra } },
      },
    });
  deploy('scratch', { volumes: [{ name: 'tmp', emptyDir: {} }] });
  deploy('guarded', {});
  deploy('plain', {});
  api.create(api.res('policy', 'poddisruptionbudgets'), 'tool-alpha', {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: 'guarded', namespace: 'tool-alpha' },
    spec: { minAvailable: 1, selector: { matchLabels: { app: 'guarded' } } },
  });
  api.create(api.res('', 'pods'), 'tool-alpha', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'bare', namespace: 'tool-alpha' }, spec: { nodeName: NODE, containers: [{ name: 'c', image: 'x' }] } });
  api.create(api.res('', 'pods'), 'kube-system', {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `static-web-${NODE}`, namespace: 'kube-system', annotations: { 'kubernetes.io/config.mirror': 'abc123' } },
    spec: { nodeName: NODE, containers: [{ name: 'c', image: 'x' }] },
  });
  // Wait until every pinned pod runs on the node.
  for (let i = 0; i < 200; i++) {
    const keys = await podKeys(lab);
    if (['tool-alpha/Deployment/scratch', 'tool-alpha/Deployment/guarded', 'tool-alpha/Deployment/plain'].every((k) => keys.includes(k))) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  // And until every workload with a pod there is fully Ready, so PDBs allow the same disruptions on both labs.
  const kube = lab.client();
  await kube.waitWorkloadsReady(await kube.ownersOf(await kube.listPodsOnNode(NODE)), { timeoutMs: 30_000 });
  lab.world.resetCounters();
  return lab;
}

/** Pods on the node as stable keys (generated names differ between labs): namespace/owner kind/app or name. */
async function podKeys(lab: TestLab): Promise<string[]> {
  const pods = await lab.client().listPodsOnNode(NODE);
  return pods
    .filter((p) => !p.metadata?.deletionTimestamp)
    .map((p) => {
      const owner = p.metadata?.ownerReferences?.[0]?.kind;
      const kind = owner === 'ReplicaSet' ? 'Deployment' : (owner ?? 'Pod');
      return `${p.metadata?.namespace}/${kind}/${p.metadata?.labels?.app ?? p.metadata?.labels?.['k8s-app'] ?? p.metadata?.name}`;
    })
    .sort();
}

describe('k8s.drain parity with kubectl drain (identical labs)', function () {
  this.timeout(300_000);
  after(cleanupTempDirs);

  const variants: { name: string; kubectl: string[]; ours: string[]; refused: string[] }[] = [
    { name: 'defaults (DaemonSets ignored)', kubectl: ['--ignore-daemonsets'], ours: [], refused: ['tool-alpha/bare', 'tool-alpha/scratch'] },
    { name: 'emptyDir and unmanaged opted in', kubectl: ['--ignore-daemonsets', '--delete-emptydir-data', '--force'], ours: ['--delete-emptydir-data', '--force-unmanaged'], refused: [] },
  ];

  for (const v of variants) {
    it(`${v.name}: the same pods are evicted, refused and kept`, async () => {
      const a = await freshLab();
      const b = await freshLab();
      try {
        assert.deepEqual(await podKeys(a), await podKeys(b), 'the two labs start identical');
        const before = await podKeys(a);
        const k = await kubectl(a, ['drain', NODE, ...v.kubectl, '--timeout=12s']);
        const ours = await labRunner(b).run('k8s.drain', ['--hostname', NODE, ...v.ours, '--timeout', '12s']);
        const afterKubectl = await podKeys(a);
        const afterOurs = await podKeys(b);
        assert.deepEqual(afterOurs, afterKubectl, `kubectl left ${afterKubectl.join(', ')}; we left ${afterOurs.join(', ')}`);
        // What both refused, by name, in their error output.
        for (const pod of v.refused) {
          assert.match(k.stderr, new RegExp(pod.replace('/', '\\/')), `kubectl names ${pod}`);
          assert.match(ours.stderr, new RegExp(pod.replace('/', '\\/')), `we name ${pod}`);
        }
        if (v.refused.length) assert.deepEqual(afterKubectl, before, 'a refusal evicts nothing');
        else {
          // The PDB-guarded pod stays with both, and both report the drain as unfinished.
          assert.ok(afterOurs.includes('tool-alpha/Deployment/guarded'));
          assert.match(ours.stderr, /blocked by PodDisruptionBudget tool-alpha\/guarded/);
          assert.notEqual(k.code, 0);
          assert.equal(ours.code, 1);
          assert.ok(!afterOurs.includes('tool-alpha/Pod/bare') && !afterOurs.includes('tool-alpha/Deployment/plain'));
        }
        assert.ok(afterOurs.includes('kube-system/DaemonSet/calico-node'), 'DaemonSet pod kept');
        assert.ok(afterOurs.some((p) => p.startsWith('kube-system/Pod/static-web-')), 'mirror pod kept');
        assert.equal(a.counters().pdb_violations, 0);
        assert.equal(b.counters().pdb_violations, 0);
        const node = await kubectlJson(b, ['get', 'node', NODE]);
        assert.equal(node.spec.unschedulable, true, 'the node stays cordoned after a failed drain');
      } finally {
        await a.stop();
        await b.stop();
      }
    });
  }
});
