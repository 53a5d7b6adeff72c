// Names the operator types: closest-role suggestions limited to the roles a cookbook takes, FQDN hosts
// shortened with the cluster's domain, "did you mean" for any list of names.
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { InputError } from '../../lib/core/errors.js';
import { getCluster, loadInventory } from '../../lib/inventory/load.js';
import { NODE_ROLES, getRole, roleNames } from '../../lib/inventory/naming.js';
import { findCluster, shortHostname, shortenHostArgs } from '../../lib/inventory/resolve.js';
import { suggest } from '../../lib/inventory/suggest.js';
import { ROOT } from '../helpers/cli.js';

const inventory = loadInventory([join(ROOT, 'inventory')]);
const toolsbeta = getCluster(inventory, 'toolsbeta');

function inputError(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InputError, String(err));
    assert.equal(err.exitCode, 2);
    assert.match(err.message, message);
    assert.ok(err.hint);
    return true;
  });
}

describe('names the operator types', () => {
  describe('roles', () => {
    it('an unknown role suggests the closest one (worker-nfs -> worker_nfs only)', () => {
      inputError(() => getRole(toolsbeta, 'worker-nfs'), /^unknown role "worker-nfs" in cluster toolsbeta; did you mean worker_nfs\? roles: control, etcd, ingress, worker, worker_nfs$/);
    });

    it('with a filter only the roles the cookbook takes are listed and suggested', () => {
      assert.deepEqual(roleNames(toolsbeta, NODE_ROLES), ['control', 'ingress', 'worker', 'worker_nfs']);
      inputError(() => getRole(toolsbeta, 'etcd', NODE_ROLES), /^role etcd of cluster toolsbeta is not a Kubernetes node role; Kubernetes node roles: control, ingress, worker, worker_nfs$/);
      inputError(() => getRole(toolsbeta, 'etc', NODE_ROLES), /^unknown role "etc" in cluster toolsbeta; (?!did you mean etcd)Kubernetes node roles: control, ingress, worker, worker_nfs$/);
      assert.equal(getRole(toolsbeta, 'control', NODE_ROLES).node, 'control-plane');
    });

    it('suggest treats - and _ alike and ranks close names first', () => {
      assert.deepEqual(suggest('worker-nfs', ['worker', 'worker_nfs', 'control']), ['worker_nfs']);
      assert.deepEqual(suggest('k8s.add_node', ['k8s.add-node', 'k8s.drain']), ['k8s.add-node']);
      assert.deepEqual(suggest('k8s.dran', ['k8s.add-node', 'k8s.drain']), ['k8s.drain']);
      assert.deepEqual(suggest('zzzzzzzz', ['k8s.drain']), []);
    });
  });

  describe('FQDN hosts', () => {
    it('a name in the cluster domain becomes its short name; a short name stays', () => {
      assert.equal(shortHostname(toolsbeta, 'toolsbeta-test-k8s-worker-1.toolsbeta.eqiad1.wikimedia.cloud'), 'toolsbeta-test-k8s-worker-1');
      assert.equal(shortHostname(toolsbeta, 'Toolsbeta-Test-K8s-Worker-1.toolsbeta.eqiad1.wikimedia.cloud.'), 'toolsbeta-test-k8s-worker-1');
      assert.equal(shortHostname(toolsbeta, 'toolsbeta-test-k8s-worker-1'), 'toolsbeta-test-k8s-worker-1');
    });

    it('another domain, a bare domain or a deeper name is refused', () => {
      inputError(() => shortHostname(toolsbeta, 'toolsbeta-test-k8s-worker-1.tools.eqiad1.wikimedia.cloud'), /is not a host of cluster toolsbeta: its hosts are <name>\.toolsbeta\.eqiad1\.wikimedia\.cloud/);
      inputError(() => shortHostname(toolsbeta, 'a.b.toolsbeta.eqiad1.wikimedia.cloud'), /is not a host of cluster toolsbeta/);
    });

    it('what is not a DNS name is left for the host name check', () => {
      assert.equal(shortHostname(toolsbeta, '../../etc/passwd'), '../../etc/passwd');
    });

    it('rewrites hostname options, lists included, and leaves the cluster unread without a dot', () => {
      const argv: Record<string, unknown> = { hostname: ['toolsbeta-test-k8s-worker-1.toolsbeta.eqiad1.wikimedia.cloud,toolsbeta-test-k8s-worker-2', 'toolsbeta-test-k8s-control-1.toolsbeta.eqiad1.wikimedia.cloud'] };
      shortenHostArgs(argv, ['hostname', 'role'], () => toolsbeta);
      assert.deepEqual(argv.hostname, ['toolsbeta-test-k8s-worker-1,toolsbeta-test-k8s-worker-2', 'toolsbeta-test-k8s-control-1']);
      shortenHostArgs({ hostname: 'short' }, ['hostname'], () => assert.fail('the cluster is not needed'));
    });
  });

  describe('findCluster', () => {
    it('an unknown cluster suggests the closest name', () => {
      inputError(() => findCluster('toolbeta', [join(ROOT, 'inventory')]), /^unknown cluster "toolbeta"; did you mean toolsbeta\? known clusters: local, tools, toolsbeta$/);
    });


    it('finds inventory clusters and lists the known ones with a hint naming lab up', () => {
      assert.equal(findCluster('tools', [join(ROOT, 'inventory')]).name, 'tools');
      inputError(() => findCluster('nolab-here', [join(ROOT, 'inventory')]), /unknown cluster "nolab-here"; known clusters: local, tools, toolsbeta/);
      try {
        findCluster('nolab-here', [join(ROOT, 'inventory')]);
      } catch (err) {
        assert.match((err as InputError).hint!, /cookbook lab up --cluster-name nolab-here/);
      }
    });
  });
});
