// takeSnapshot against a lab: what it captures (names with a gap, roles, pods, PDBs, per-namespace counts,
// host facts, a deployed component), that it writes nothing anywhere, and that no secret the lab holds ends up
// in it (a component's values and Secret included).
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'mocha';
import { parse } from 'yaml';
import { loadClusterFile } from '../../lib/inventory/load.js';
import { standaloneSnapshotContext } from '../../lib/twin/context.js';
import { type ClusterSnapshot, takeSnapshot } from '../../lib/twin/snapshot.js';
import type { KObject } from '../../lab/k8s/types.js';
import { SECRET_PLACEHOLDER, SECRET_PLACEHOLDER_DATA } from '../../lib/twin/components.js';
import { COMPONENT_SECRET, REPO_TOKEN, componentFixture } from './component-fixture.js';
import { type TestLab, startTestLab } from '../helpers/lab.js';
import { tempDir } from '../helpers/cli.js';

/** Hosts of the snapshotted lab: worker 3 is missing (deleted long ago), as in a real cluster's numbering. */
export const GAP_HOSTS = [
  { name: 'snap-k8s-control-1', role: 'control' },
  { name: 'snap-k8s-worker-1', role: 'worker' },
  { name: 'snap-k8s-worker-2', role: 'worker' },
  { name: 'snap-k8s-worker-4', role: 'worker' },
  { name: 'snap-k8s-worker-nfs-1', role: 'worker_nfs' },
];

const SECRET_VALUE = 'sup3r-s3cret-tenant-password-7f1c';

describe('twin: takeSnapshot of a lab', function () {
  this.timeout(120_000);
  let lab: TestLab;
  let snap: ClusterSnapshot;
  let before_: ReturnType<TestLab['counters']>;

  before(async () => {
    lab = await startTestLab({ clusterName: 'snap', hosts: GAP_HOSTS, speed: 50 });
    // A tenant Secret, and a Deployment whose environment and annotations carry the same value.
    const a = lab.kube.api;
    a.create(a.res('', 'secrets'), 'tool-alpha', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db-password', namespace: 'tool-alpha' }, data: { password: Buffer.from(SECRET_VALUE).toString('base64') }, stringData: undefined } as unknown as KObject, { internal: true });
    a.create(
      a.res('apps', 'deployments'),
      'tool-beta',
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'leaky', namespace: 'tool-beta', annotations: { 'kubectl.kubernetes.io/last-applied-configuration': `{"password":"${SECRET_VALUE}"}` } },
        spec: { replicas: 1, selector: { matchLabels: { app: 'leaky' } }, template: { metadata: { labels: { app: 'leaky' } }, spec: { containers: [{ name: 'main', image: 'registry.lab.internal/leaky:1', env: [{ name: 'PASSWORD', value: SECRET_VALUE }], resources: { requests: { cpu: '10m', memory: '16Mi' } } }] } } },
      } as unknown as KObject,
      { internal: true },
    );
    componentFixture(lab);
    await new Promise<void>((resolve) => {
      const t = setInterval(() => {
        if ([...lab.kube.store.scan(a.res('', 'pods'))].some((p) => p.metadata.name.startsWith('leaky-') && p.status?.phase === 'Running')) {
          clearInterval(t);
          resolve();
        }
      }, 20);
    });
    before_ = structuredClone(lab.counters());
    const ctx = standaloneSnapshotContext(loadClusterFile(join(lab.stateDir, 'inventory.yaml')), { stateDir: tempDir('cc-twin-state-') });
    try {
      snap = await takeSnapshot(ctx);
    } finally {
      await ctx.close();
    }
  });
  after(async () => lab?.stop());

  it('names every host with its role, the gap in the numbering included', () => {
    assert.deepEqual(snap.hosts.map((h) => [h.name, h.role]).sort(), GAP_HOSTS.map((h) => [h.name, h.role]).sort());
    assert.deepEqual(snap.nodes.map((n) => n.name).sort(), GAP_HOSTS.map((h) => h.name).sort());
    assert.deepEqual(snap.openstack.servers.map((s) => s.name).sort(), GAP_HOSTS.map((h) => h.name).sort());
    assert.equal(snap.cluster.prefix, 'snap-k8s');
    assert.equal(snap.nodes.find((n) => n.name === 'snap-k8s-worker-nfs-1')?.labels['toolforge.org/nfs-mounted'], 'true');
  });

  it('holds every pod on its node with its owner, every workload and PDB', () => {
    const pods = [...lab.kube.store.scan(lab.kube.api.res('', 'pods'))];
    assert.equal(snap.pods.length, pods.length);
    for (const p of pods) {
      const s = snap.pods.find((x) => x.namespace === p.metadata.namespace && x.name === p.metadata.name);
      assert.ok(s, `pod ${p.metadata.name} captured`);
      assert.equal(s.node, p.spec.nodeName);
    }
    assert.ok(snap.pods.some((p) => p.owner?.kind === 'Deployment' && p.owner.name === 'web' && p.namespace === 'tool-alpha'));
    assert.ok(snap.pods.some((p) => p.owner?.kind === 'StatefulSet' && p.owner.name === 'db'));
    assert.ok(snap.pods.some((p) => p.mirror));
    assert.deepEqual(snap.pdbs.map((b) => `${b.namespace}/${b.name}`).sort(), [...lab.kube.store.scan(lab.kube.api.res('policy', 'poddisruptionbudgets'))].map((b) => `${b.metadata.namespace}/${b.metadata.name}`).sort());
    assert.equal(snap.pdbs.find((b) => b.name === 'web')?.minAvailable, 2);
    const web = snap.workloads.find((w) => w.kind === 'Deployment' && w.name === 'web');
    assert.equal(web?.replicas, 3);
    assert.ok(snap.workloads.some((w) => w.kind === 'DaemonSet' && w.name === 'calico-node'));
    assert.ok(!snap.workloads.some((w) => w.kind === 'ReplicaSet'), "a Deployment's ReplicaSets are not workloads of their own");
  });

  it('counts objects of every kind per namespace (Secrets counted, not read)', () => {
    const alpha = snap.namespaces.find((n) => n.name === 'tool-alpha');
    assert.equal(alpha?.counts.configmaps, 1);
    assert.equal(alpha?.counts.secrets, 1);
    assert.equal(alpha?.counts['deployments.apps'], 2);
    assert.ok(snap.kinds.some((k) => k.key === 'secrets'));
    assert.ok(!snap.kinds.some((k) => k.key === 'events'));
  });

  it('reads the host facts cookbooks use', () => {
    const w = snap.hosts.find((h) => h.name === 'snap-k8s-worker-4')!;
    assert.equal(w.reachable, true);
    assert.equal(w.bootId, lab.world.hosts.get('snap-k8s-worker-4')!.bootId);
    assert.equal(w.rebootRequired, false);
    assert.equal(w.packages.kubelet, '1.29.4-1.1');
    assert.ok(w.kernel?.running);
  });

  it("a lab without journal history gets the lab's own (speed-1) timings as its defaults", () => {
    assert.deepEqual(snap.timings.nodeRebootS, { seconds: 3, source: 'default', samples: 0 });
    assert.deepEqual(snap.timings.vmBuildS, { seconds: 4, source: 'default', samples: 0 });
  });

  it('makes no write to Kubernetes, OpenStack or any host', () => {
    const now = lab.counters();
    assert.equal(now.k8s_mutations, before_.k8s_mutations);
    assert.equal(now.openstack_mutations, before_.openstack_mutations);
    assert.equal(now.ssh_mutations, before_.ssh_mutations);
    assert.ok(now.requests.k8s > before_.requests.k8s && now.requests.ssh > before_.requests.ssh, 'it did read');
    assert.ok(snap.capture.requests.k8s > 10);
  });

  it('holds the deployed component as a re-deploy reads it: record without values, parent, members; Secret values masked', () => {
    const c = snap.components?.find((x) => x.component === 'vault');
    assert.ok(c, `the component is captured: ${JSON.stringify(snap.components?.map((x) => x.component))}`);
    assert.equal(c.parent?.name, 'component-vault');
    assert.deepEqual(c.members.map((m) => `${m.kind}/${(m.metadata as { name: string }).name}`).sort(), ['ConfigMap/vault-config', 'Secret/vault-key']);
    const secret = c.members.find((m) => m.kind === 'Secret') as { data: Record<string, string>; metadata: { annotations?: Record<string, string> } };
    assert.deepEqual(secret.data, { apiKey: SECRET_PLACEHOLDER_DATA }, 'the keys stay, every value is the placeholder');
    assert.deepEqual(Object.keys(secret.metadata.annotations ?? {}), [], "no hash of the values, no kubectl copy of them");
    assert.deepEqual(c.maskedSecrets, ['vault/vault-key']);
    assert.equal(c.releases.length, 1);
    const r = c.releases[0]!;
    assert.deepEqual(r.labels, { owner: 'cluster-cookbooks', name: 'vault', status: 'deployed', version: '1' });
    assert.ok(!('values' in r.record), 'values are left out');
    assert.equal((r.record.repo as { url: string }).url, 'https://git.example.org/components.git');
    assert.match(r.record.manifest, new RegExp(`apiKey: ${SECRET_PLACEHOLDER}`));
  });

  it("never contains the lab's secrets: Secret data, API token, SSH private key, OpenStack password, admin token", () => {
    const text = JSON.stringify(snap);
    const clouds = parse(readFileSync(join(lab.stateDir, 'clouds.yaml'), 'utf8')) as { clouds: Record<string, { auth: { password: string } }> };
    const key = readFileSync(join(lab.stateDir, 'id_ed25519'), 'utf8');
    const keyBody = key.split('\n').filter((l) => l && !l.startsWith('-----'));
    const values: [string, string][] = [
      ['Secret data', SECRET_VALUE],
      ['Secret data (base64)', Buffer.from(SECRET_VALUE).toString('base64')],
      ['Kubernetes token', lab.kube.token],
      ['OpenStack password', Object.values(clouds.clouds)[0]!.auth.password],
      ['admin token', lab.info.adminToken],
      ["a component's values and its Secret", COMPONENT_SECRET],
      ["a component's Secret (base64)", Buffer.from(COMPONENT_SECRET).toString('base64')],
      ['a token in a repository URL', REPO_TOKEN],
      ...keyBody.map((l, i): [string, string] => [`SSH private key line ${i}`, l]),
    ];
    assert.ok(values.length > 5);
    for (const [what, v] of values) assert.ok(v.length >= 8 && !text.includes(v), `${what} found in the snapshot`);
    // Host keys: not even the hosts' private keys.
    for (const h of lab.world.hosts.values()) assert.ok(!text.includes(h.hostKey.privateKey.split('\n')[1]!), `host key of ${h.name}`);
  });
});
