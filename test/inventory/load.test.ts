// Inventory loading: the shipped clusters are valid, and a corpus of malformed files (one table row each)
// each fails with a message that names the file, the path inside it and the reason.
import { strict as assert } from 'node:assert';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InventoryError, getCluster, loadClusterFile, loadInventory } from '../../lib/inventory/load.js';
import { InputError } from '../../lib/core/errors.js';
import { ROOT } from '../helpers/cli.js';

const BAD = join(ROOT, 'test', 'fixtures', 'inventory-bad');

const expected: Record<string, RegExp> = {
  '01-yaml-syntax': /:3:1: YAML error: Flow sequence/,
  '02-not-a-mapping': /: expected a mapping describing one cluster$/,
  '03-empty': /: expected a mapping describing one cluster$/,
  '04-missing-name': /: name: is required \(string\)$/,
  '05-name-not-dns': /: name: must be a DNS label/,
  '06-unknown-top-key': /: colour: unknown key "colour"$/,
  '07-production-not-bool': /: production: Invalid input: expected boolean, received string$/,
  '08-missing-openstack': /: openstack: is required \(object\)$/,
  '09-api-not-url': /: kubernetes\.apiServer: Invalid URL$/,
  '10-ssh-port-range': /: ssh\.port: Too big: expected number to be <=65535$/,
  '11-lock-backend': /: lock\.backend: Invalid option: expected one of "kubernetes"\|"file"\|"etcd"$/,
  '12-no-roles': /: roles: at least one role is required$/,
  '13-role-name': /: roles\.Worker: invalid name: role names are lowercase letters, digits and "_"$/,
  '14-role-missing-flavor': /: roles\.worker\.flavor: is required \(string\)$/,
  '15-role-unknown-key': /: roles\.worker\.flavour: unknown key "flavour"$/,
  '16-taint-effect': /: roles\.ingress\.taints\[0\]\.effect: Invalid option/,
  '17-duplicate-prefix': /: roles\.worker2\.prefix: "worker" is also the prefix of role worker$/,
  '18-duplicate-yaml-key': /:7:1: YAML error: Map keys must be unique/,
  '19-etcd-lock-no-endpoints': /: lock\.etcdEndpoints: the etcd lock backend needs/,
  '20-min-negative': /: roles\.worker\.min: Too small: expected number to be >=0$/,
  '21-max-unavailable': /: roles\.worker\.maxUnavailable: a count or a percentage like 25%$/,
  '22-provision-shape': /: roles\.worker\.provision\[0\]: Invalid input: expected array, received string$/,
  '23-k8s-version': /: kubernetes\.version: a Kubernetes version like 1\.29\.4$/,
  '24-label-not-string': /: roles\.worker\.labels\.a: Invalid input: expected string, received number$/,
  '25-alias-bomb': /: YAML aliases expand without bound \(more than 100 alias expansions\): refused$/,
};

describe('inventory loading', () => {
  it('loads the shipped clusters tools, toolsbeta and local', () => {
    const inv = loadInventory([join(ROOT, 'inventory')]);
    assert.deepEqual([...inv.clusters.keys()].sort(), ['local', 'tools', 'toolsbeta']);
    const tools = getCluster(inv, 'tools');
    assert.equal(tools.production, true);
    assert.equal(tools.prefix, 'tools-k8s');
    assert.equal(getCluster(inv, 'toolsbeta').prefix, 'toolsbeta-test-k8s');
    assert.deepEqual(Object.keys(tools.roles).sort(), ['control', 'etcd', 'ingress', 'worker', 'worker_nfs']);
    assert.equal(tools.roles.worker_nfs!.labels['toolforge.org/nfs-mounted'], 'true');
    assert.equal(tools.roles.control!.node, 'control-plane');
    assert.equal(tools.roles.etcd!.node, 'none');
    assert.ok(Object.isFrozen(tools.roles.worker), 'entries are frozen');
    assert.ok(getCluster(inv, 'local').lab, 'local is lab-backed');
  });

  it('an unknown cluster is an InputError listing the known ones', () => {
    const inv = loadInventory([join(ROOT, 'inventory')]);
    assert.throws(() => getCluster(inv, 'toolz'), (e: unknown) => e instanceof InputError && /known clusters: local, tools, toolsbeta/.test(e.message));
  });

  it('every file of the malformed corpus has a row below', () => {
    const files = readdirSync(BAD).filter((f) => f.endsWith('.yaml')).map((f) => f.replace(/\.yaml$/, ''));
    assert.deepEqual(files.sort(), Object.keys(expected).sort());
  });

  // One row per malformed file: an InventoryError (exit 2) naming the file, the path inside it and the reason.
  for (const [name, reason] of Object.entries(expected)) {
    it(`refuses ${name}: ${reason.source}`, () => {
      const file = join(BAD, `${name}.yaml`);
      assert.throws(
        () => loadClusterFile(file),
        (e: unknown) => {
          assert.ok(e instanceof InventoryError, 'InventoryError');
          assert.ok(e.message.startsWith(file), `message names the file: ${e.message}`);
          assert.match(e.message, reason);
          assert.equal(e.exitCode, 2);
          return true;
        },
      );
    });
  }

  it('a later directory overrides a cluster of the same name; two files of one name in a directory are an error', () => {
    const over = mkdtempSync(join(tmpdir(), 'inv-'));
    const tools = readFileSync(join(ROOT, 'inventory', 'tools.yaml'), 'utf8');
    writeFileSync(join(over, 'mine.yaml'), tools.replace('production: true', 'production: false'));
    const inv = loadInventory([join(ROOT, 'inventory'), over]);
    assert.equal(getCluster(inv, 'tools').production, false);
    assert.equal(getCluster(inv, 'tools').source, join(over, 'mine.yaml'));
    writeFileSync(join(over, 'copy.yaml'), tools);
    assert.throws(() => loadInventory([over]), /mine\.yaml: name: cluster "tools" is also defined in .*copy\.yaml/);
    rmSync(over, { recursive: true });
  });

  it('a missing inventory directory is an InventoryError naming it', () => {
    assert.throws(() => loadInventory(['/nonexistent/inv']), /cannot read inventory directory \/nonexistent\/inv/);
  });
});
