// The inventory schema on its own: what a minimal entry gets by default, and one row per value → accepted or
// the path and message of its refusal. (Files, their line numbers and the loader's messages: load.test.ts.)
import { strict as assert } from 'node:assert';
import { clusterSchema, roleSchema } from '../../lib/inventory/schema.js';

const role = { prefix: 'worker', flavor: 'g4.cores8', image: 'debian-12', network: 'lan' };
const cluster = {
  name: 'tb',
  prefix: 'tb-k8s',
  openstack: { cloud: 'c', project: 'p' },
  kubernetes: { apiServer: 'https://k8s.example.org:6443' },
  roles: { worker: role },
};

describe('inventory schema: defaults', () => {
  it('a role gets node worker, no groups, labels, taints, provisioning or metadata, min 0', () => {
    assert.deepEqual(roleSchema.parse(role), { ...role, node: 'worker', securityGroups: [], labels: {}, taints: [], min: 0, provision: [], metadata: {} });
  });
  it('a cluster is not production, uses the public interface, root over ssh port 22 without sudo, a Lease lock for 60 s', () => {
    const c = clusterSchema.parse(cluster);
    assert.equal(c.production, false);
    assert.equal(c.openstack.interface, 'public');
    assert.deepEqual(c.ssh, { user: 'root', port: 22, sudo: false, addresses: 'dns' });
    assert.deepEqual(c.lock, { backend: 'kubernetes', namespace: 'kube-system', ttlSeconds: 60 });
  });
});

describe('inventory schema: values', () => {
  const withRole = (extra: Record<string, unknown>) => ({ ...cluster, roles: { worker: { ...role, ...extra } } });
  const rows: [string, unknown, string | undefined][] = [
    ['maxUnavailable 3', withRole({ maxUnavailable: 3 }), undefined],
    ['maxUnavailable 25%', withRole({ maxUnavailable: '25%' }), undefined],
    ['maxUnavailable 100%', withRole({ maxUnavailable: '100%' }), undefined],
    ['maxUnavailable 0', withRole({ maxUnavailable: 0 }), 'roles.worker.maxUnavailable'],
    ['maxUnavailable 0%', withRole({ maxUnavailable: '0%' }), 'roles.worker.maxUnavailable'],
    ['maxUnavailable 101%', withRole({ maxUnavailable: '101%' }), 'roles.worker.maxUnavailable'],
    ['a taint effect Kubernetes lacks', withRole({ taints: [{ key: 'k', effect: 'NoRun' }] }), 'roles.worker.taints.0.effect'],
    ['a server group policy Nova lacks', withRole({ serverGroup: { name: 'g', policy: 'spread' } }), 'roles.worker.serverGroup.policy'],
    ['an empty provisioning command', withRole({ provision: [[]] }), 'roles.worker.provision.0'],
    ['a role name with a dash', { ...cluster, roles: { 'worker-nfs': role } }, 'roles.worker-nfs'],
    ['no roles', { ...cluster, roles: {} }, 'roles'],
    ['a cluster name that is no DNS label', { ...cluster, name: 'TB' }, 'name'],
    ['an unknown key', { ...cluster, colour: 'blue' }, ''],
    ['a Kubernetes version 1.30.2', { ...cluster, kubernetes: { ...cluster.kubernetes, version: '1.30.2' } }, undefined],
    ['a Kubernetes version v1.30', { ...cluster, kubernetes: { ...cluster.kubernetes, version: 'v1.30' } }, 'kubernetes.version'],
    ['an ssh user with a capital', { ...cluster, ssh: { user: 'Ops' } }, 'ssh.user'],
    ['a lock ttl of 4 s', { ...cluster, lock: { ttlSeconds: 4 } }, 'lock.ttlSeconds'],
    ['an etcd lock with endpoints', { ...cluster, lock: { backend: 'etcd', etcdEndpoints: ['http://127.0.0.1:2379'] } }, undefined],
    ['an alertmanager URL that is none', { ...cluster, alertmanager: { url: 'alertmanager 9093' } }, 'alertmanager.url'],
  ];
  for (const [title, value, path] of rows) {
    it(`${title} → ${path === undefined ? 'accepted' : `refused at ${path || '(top)'}`}`, () => {
      const r = clusterSchema.safeParse(value);
      if (path === undefined) return assert.ok(r.success, JSON.stringify(r.error?.issues));
      assert.equal(r.success, false);
      assert.ok(r.error!.issues.some((i) => i.path.join('.') === path), `issues at ${r.error!.issues.map((i) => i.path.join('.')).join(', ')}`);
    });
  }
});
