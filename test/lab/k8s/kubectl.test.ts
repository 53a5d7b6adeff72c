// Black-box: the real kubectl (/usr/bin/kubectl, dispatching on the lab's /version) against the lab, with a
// kubeconfig holding the CA data and token and a fresh --cache-dir per run. Effects are checked in the store.
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { seedWorkload } from '../../../lab/k8s/index.js';
import { isPodReady, nodeReadyStatus } from '../../../lab/k8s/types.js';
import { kubectl, makeWorld, startLab, until, type Lab } from './helpers.js';

describe('lab k8s: the real kubectl', function () {
  this.timeout(60_000);
  let lab: Lab;
  before(async function () {
    if (!existsSync('/usr/bin/kubectl')) throw new Error('kubectl is missing: it is preinstalled on this machine kind at /usr/bin/kubectl');
    lab = await startLab(makeWorld(40));
    await seedWorkload(lab.world, lab.api);
  });
  after(async () => lab?.stop());

  const nodes = () => lab.api.api.res('', 'nodes');
  const pods = () => lab.api.api.res('', 'pods');

  it('get nodes and get pods -A', async () => {
    const n = await kubectl(lab, ['get', 'nodes']);
    assert.equal(n.code, 0, n.stderr);
    assert.match(n.stdout, /^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION/);
    assert.match(n.stdout, /local-k8s-control-1\s+Ready\s+control-plane\s+\S+\s+v1\.29\.4/);
    assert.equal(n.stdout.trim().split('\n').length, 11);
    const p = await kubectl(lab, ['get', 'pods', '-A', '-o', 'json']);
    assert.equal(p.code, 0, p.stderr);
    const items = JSON.parse(p.stdout).items as { metadata: { name: string } }[];
    assert.equal(items.length, lab.api.store.count(pods()));
    const w = await kubectl(lab, ['get', 'pods', '-n', 'tool-gamma']);
    assert.match(w.stdout, /db-0\s+1\/1\s+Running/);
  });

  it('cordon and uncordon', async () => {
    const name = 'local-k8s-worker-3';
    const c = await kubectl(lab, ['cordon', name]);
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stdout, /cordoned/);
    assert.equal(lab.api.store.get(nodes(), undefined, name)!.spec.unschedulable, true);
    const u = await kubectl(lab, ['uncordon', name]);
    assert.equal(u.code, 0, u.stderr);
    assert.equal(lab.api.store.get(nodes(), undefined, name)!.spec.unschedulable, undefined);
  });

  it('drain --ignore-daemonsets --delete-emptydir-data evicts everything but DaemonSet and mirror pods', async () => {
    const name = 'local-k8s-worker-nfs-1';
    const d = await kubectl(lab, ['drain', name, '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=40s']);
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, /drained/);
    const left = lab.api.store.podsOnNode(name).filter((p) => !p.metadata.deletionTimestamp);
    assert.ok(left.every((p) => p.metadata.ownerReferences?.[0]?.kind === 'DaemonSet'), left.map((p) => p.metadata.name).join(','));
    assert.equal(lab.api.store.get(nodes(), undefined, name)!.spec.unschedulable, true);
    assert.equal(lab.world.counters.pdb_violations, 0);
    await kubectl(lab, ['uncordon', name]);
  });

  it('drain retries while a PDB blocks and gives up at --timeout', async () => {
    const ns = 'kubectl-pdb';
    const api = lab.api.api;
    api.create(api.res('', 'namespaces'), undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }, { internal: true });
    api.create(api.res('', 'pods'), ns, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'pinned', namespace: ns, labels: { app: 'pinned' }, ownerReferences: [] }, spec: { nodeName: 'local-k8s-worker-4', containers: [{ name: 'c', image: 'x:1' }] } }, { internal: true });
    api.create(api.res('policy', 'poddisruptionbudgets'), ns, { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'pinned', namespace: ns }, spec: { minAvailable: 1, selector: { matchLabels: { app: 'pinned' } } } }, { internal: true });
    await until('pinned ready', () => isPodReady(lab.api.store.get(pods(), ns, 'pinned')!));
    const d = await kubectl(lab, ['drain', 'local-k8s-worker-4', '--ignore-daemonsets', '--delete-emptydir-data', '--force', '--timeout=7s']);
    assert.notEqual(d.code, 0);
    assert.match(d.stderr, /Cannot evict pod as it would violate the pod's disruption budget/);
    assert.match(d.stderr, /will retry after 5s/);
    assert.ok(lab.api.store.get(pods(), ns, 'pinned'), 'the PDB-protected pod is still there');
    await kubectl(lab, ['uncordon', 'local-k8s-worker-4']);
  });

  it('delete pod', async () => {
    const victim = [...lab.api.store.scan(pods(), 'tool-alpha')].find((p) => p.metadata.labels?.app === 'worker')!;
    const d = await kubectl(lab, ['delete', 'pod', '-n', 'tool-alpha', victim.metadata.name]);
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, /deleted/);
    assert.equal(lab.api.store.get(pods(), 'tool-alpha', victim.metadata.name), undefined);
  });

  it('apply --server-side of a ConfigMap and a Deployment', async () => {
    const cm = join(lab.dir, 'cm.yaml');
    writeFileSync(cm, 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo\n  namespace: tool-alpha\ndata:\n  greeting: hello\n');
    const dep = join(lab.dir, 'dep.yaml');
    writeFileSync(dep, 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: demo\n  namespace: tool-alpha\nspec:\n  replicas: 2\n  selector:\n    matchLabels: {app: demo}\n  template:\n    metadata:\n      labels: {app: demo}\n    spec:\n      containers:\n      - name: demo\n        image: nginx:1.25\n');
    for (const f of [cm, dep]) {
      const r = await kubectl(lab, ['apply', '--server-side', '-f', f]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /serverside-applied/);
    }
    const stored = lab.api.store.get(lab.api.api.res('', 'configmaps'), 'tool-alpha', 'demo')!;
    assert.equal(stored.data.greeting, 'hello');
    assert.equal(stored.metadata.managedFields?.[0]?.manager, 'kubectl');
    await until('demo pods ready', () => [...lab.api.store.scan(pods(), 'tool-alpha')].filter((p) => p.metadata.labels?.app === 'demo' && isPodReady(p)).length === 2);
    // Re-applying a change updates in place.
    writeFileSync(cm, 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo\n  namespace: tool-alpha\ndata:\n  greeting: bye\n');
    const again = await kubectl(lab, ['apply', '--server-side', '-f', cm]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(lab.api.store.get(lab.api.api.res('', 'configmaps'), 'tool-alpha', 'demo')!.data.greeting, 'bye');
    assert.ok([...lab.api.store.scan(nodes())].every((n) => nodeReadyStatus(n) === 'True'));
  });
});
