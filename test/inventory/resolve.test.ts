// Names the operator types: closest-role suggestions limited to the roles a cookbook takes, FQDN hosts
// shortened with the cluster's domain, "did you mean" for any list of names.
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { InputError } from '../../lib/core/errors.js';
import { getCluster, loadInventory } from '../../lib/inventory/load.js';
import { NODE_ROLES, getRole, roleNames } from '../../lib/inventory/naming.js';
import { findCluster, shortHostname, shortenHostArgs } from '../../lib/inventory/resolve.js';
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

  });

  describe('FQDN hosts', () => {
    // One row per name: its short name, or the InputError (exit 2) it gets.
    const rows: [string, string, string | RegExp][] = [
      ['a name in the cluster domain', 'toolsbeta-test-k8s-worker-1.toolsbeta.eqiad1.wikimedia.cloud', 'toolsbeta-test-k8s-worker-1'],
      ['upper case and a trailing dot', 'Toolsbeta-Test-K8s-Worker-1.toolsbeta.eqiad1.wikimedia.cloud.', 'toolsbeta-test-k8s-worker-1'],
      ['a short name stays', 'toolsbeta-test-k8s-worker-1', 'toolsbeta-test-k8s-worker-1'],
      ['what is no DNS name is left for the host name check', '../../etc/passwd', '../../etc/passwd'],
      ['another domain', 'toolsbeta-test-k8s-worker-1.tools.eqiad1.wikimedia.cloud', /is not a host of cluster toolsbeta: its hosts are <name>\.toolsbeta\.eqiad1\.wikimedia\.cloud/],
      ['a deeper name', 'a.b.toolsbeta.eqiad1.wikimedia.cloud', /is not a host of cluster toolsbeta/],
      ['the bare domain', 'toolsbeta.eqiad1.wikimedia.cloud', /is not a host of cluster toolsbeta/],
    ];
    for (const [title, host, want] of rows) {
      it(`${title}: ${host} → ${want instanceof RegExp ? 'InputError' : want}`, () => {
        if (want instanceof RegExp) inputError(() => shortHostname(toolsbeta, host), want);
        else assert.equal(shortHostname(toolsbeta, host), want);
      });
    }

    it('a full name in a cluster without a domain is refused, suggesting the short name', () => {
      inputError(() => shortHostname({ ...toolsbeta, domain: undefined }, 'web-1.example.org'), /web-1\.example\.org is a full name, but cluster toolsbeta has no domain/);
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
