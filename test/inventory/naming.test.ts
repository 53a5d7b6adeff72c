// Naming rules: exact role series (worker vs worker-nfs), next and oldest names, hostname validation.
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { getCluster, loadInventory } from '../../lib/inventory/load.js';
import { clusterHostPattern, escapeRegExp, hostIndex, hostsOfRole, isDnsLabel, nextHostname, oldestHostname, requireHostOfRole, roleOf, validateHostname } from '../../lib/inventory/naming.js';
import { InputError } from '../../lib/core/errors.js';
import { ROOT } from '../helpers/cli.js';

const tools = getCluster(loadInventory([join(ROOT, 'inventory')]), 'tools');
const existing = ['tools-k8s-worker-1', 'tools-k8s-worker-7', 'tools-k8s-worker-nfs-2', 'tools-k8s-worker-nfs-12', 'tools-k8s-control-7', 'toolsbeta-test-k8s-worker-40', 'tools-k8s-worker-3x', 'tools-k8s-worker-'];

describe('naming', () => {
  it('worker and worker-nfs are separate series', () => {
    assert.deepEqual(hostsOfRole(tools, 'worker', existing), ['tools-k8s-worker-1', 'tools-k8s-worker-7']);
    assert.deepEqual(hostsOfRole(tools, 'worker_nfs', existing), ['tools-k8s-worker-nfs-2', 'tools-k8s-worker-nfs-12']);
    assert.equal(hostIndex(tools, 'worker', 'tools-k8s-worker-nfs-2'), undefined);
    assert.equal(hostIndex(tools, 'worker_nfs', 'tools-k8s-worker-nfs-12'), 12);
  });

  it('next name is the highest index + 1 of that role only', () => {
    assert.equal(nextHostname(tools, 'worker', existing), 'tools-k8s-worker-8');
    assert.equal(nextHostname(tools, 'worker_nfs', existing), 'tools-k8s-worker-nfs-13');
    assert.equal(nextHostname(tools, 'ingress', existing), 'tools-k8s-ingress-1');
  });

  it('oldest is the lowest index, never from another role or cluster', () => {
    assert.equal(oldestHostname(tools, 'worker', existing), 'tools-k8s-worker-1');
    assert.equal(oldestHostname(tools, 'worker', ['tools-k8s-worker-nfs-1', 'tools-k8s-worker-5']), 'tools-k8s-worker-5');
    assert.equal(oldestHostname(tools, 'ingress', existing), undefined);
  });

  it('roleOf matches exactly', () => {
    assert.equal(roleOf(tools, 'tools-k8s-worker-nfs-2'), 'worker_nfs');
    assert.equal(roleOf(tools, 'tools-k8s-worker-2'), 'worker');
    assert.equal(roleOf(tools, 'toolsbeta-test-k8s-worker-2'), undefined);
    assert.equal(roleOf(tools, 'tools-k8s-worker-2.tools.eqiad1.wikimedia.cloud'), undefined);
  });

  it('validates hostnames as DNS labels before any use', () => {
    for (const bad of ['', 'a;rm -rf /', 'UPPER', '-lead', 'trail-', 'a b', '$(id)', 'x'.repeat(64), 'a.b']) {
      assert.equal(isDnsLabel(bad), false, bad);
      assert.throws(() => validateHostname(bad), InputError, bad);
    }
    assert.equal(validateHostname('tools-k8s-worker-1'), 'tools-k8s-worker-1');
  });

  it('requireHostOfRole refuses hosts of another role or cluster', () => {
    assert.throws(() => requireHostOfRole(tools, 'tools-k8s-worker-nfs-1', 'worker'), /is a worker_nfs host, not worker/);
    assert.throws(() => requireHostOfRole(tools, 'toolsbeta-test-k8s-worker-1', 'worker'), /does not belong to cluster tools/);
    assert.throws(() => requireHostOfRole(tools, 'tools-k8s-worker-1;id'), /invalid hostname/);
    assert.equal(requireHostOfRole(tools, 'tools-k8s-worker-1', 'worker'), 'tools-k8s-worker-1');
  });
});

describe('cluster host pattern (clusterHostPattern)', () => {
  const rows: { title: string; prefix: string; host: string; matches: boolean }[] = [
    { title: 'a host of the cluster', prefix: 'tools-k8s', host: 'tools-k8s-worker-1', matches: true },
    { title: "a longer cluster's host whose name starts alike does not match", prefix: 'tools', host: 'toolsbeta-test-k8s-worker-1', matches: false },
    { title: 'a dot in the prefix is literal, not "any character"', prefix: 'a.b', host: 'axb-worker-1', matches: false },
    { title: 'a dotted prefix matches itself', prefix: 'a.b', host: 'a.b-worker-1', matches: true },
    { title: 'the prefix anchors at the start', prefix: 'k8s', host: 'tools-k8s-worker-1', matches: false },
  ];
  for (const row of rows) {
    it(row.title, () => assert.equal(new RegExp(clusterHostPattern({ prefix: row.prefix })).test(row.host), row.matches));
  }

  it('escapeRegExp makes every metacharacter literal', () => {
    const s = 'a.b*c+d?e^f$g{h}i(j)k|l[m]n\\o';
    assert.ok(new RegExp(`^${escapeRegExp(s)}$`).test(s));
    assert.ok(!new RegExp(`^${escapeRegExp('a.b')}$`).test('axb'));
  });
});
