// What the runner builds for a run, with real inventories in temp directories: which cluster entry (a lab
// entry whose lab is gone is refused with the command that starts it), which lock backend, and how a host
// name becomes an SSH address. One table per function.
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClientContext } from '../../lib/core/client.js';
import { InputError } from '../../lib/core/errors.js';
import { getCluster, loadInventory } from '../../lib/inventory/load.js';
import type { ClusterConfig } from '../../lib/inventory/schema.js';
import { hostResolver, lockBackendFor, resolveCluster } from '../../lib/runner/clients.js';
import { ROOT } from '../helpers/cli.js';

const toolsbeta = getCluster(loadInventory([join(ROOT, 'inventory')]), 'toolsbeta');

describe('runner clients: hostResolver (dns)', () => {
  const ctx = (domain: string | undefined, port: number): ClientContext => ({ cluster: { ...toolsbeta, domain, ssh: { ...toolsbeta.ssh, addresses: 'dns', port } } }) as unknown as ClientContext;
  const rows: [string, string | undefined, number, string][] = [
    ['the cluster domain appended', 'toolsbeta.eqiad1.wikimedia.cloud', 22, 'tb-k8s-worker-1.toolsbeta.eqiad1.wikimedia.cloud'],
    ['no domain: the name as it is', undefined, 2222, 'tb-k8s-worker-1'],
  ];
  for (const [title, domain, port, address] of rows) {
    it(`${title} → ${address}:${port}`, async () => {
      const resolve = hostResolver(ctx(domain, port), async () => assert.fail('OpenStack is not asked for dns addresses'));
      assert.deepEqual(await resolve('tb-k8s-worker-1'), { address, port });
    });
  }
});

describe('runner clients: resolveCluster and lockBackendFor', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'cc-clients-'));
    const local = readFileSync(join(ROOT, 'inventory', 'local.yaml'), 'utf8');
    // A lab's own generated entry (state dir and kubeconfig set) whose lab process is gone.
    writeFileSync(join(dir, 'gone.yaml'), local.replace('name: local', 'name: gone').replace('lab: {}', `lab: { stateDir: ${join(dir, 'gone-lab')} }`).replace('apiServer: https://127.0.0.1:6443', 'apiServer: https://127.0.0.1:6443\n  kubeconfig: /nonexistent/kubeconfig'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const rows: [string, string, string | RegExp][] = [
    ['an inventory cluster', 'toolsbeta', 'toolsbeta'],
    ['a lab entry whose lab is not running', 'gone', /the lab for cluster gone is not running[\s\S]*cookbook lab up --cluster-name gone --state-dir /],
    ['an unknown cluster', 'nope', /unknown cluster "nope"/],
  ];
  for (const [title, name, want] of rows) {
    it(`resolveCluster: ${title} → ${want instanceof RegExp ? 'InputError' : want}`, async () => {
      const notes: string[] = [];
      const got = await resolveCluster(name, { inventory: [join(ROOT, 'inventory'), dir] }, (m) => void notes.push(m)).catch((e: unknown) => e);
      if (typeof want === 'string') return assert.equal((got as ClusterConfig).name, want);
      assert.ok(got instanceof InputError, String(got));
      assert.match(`${got.message}\n${got.hint}`, want);
      assert.deepEqual(notes, [], 'no lab was started');
    });
  }

  const backends: [string, () => ClusterConfig | undefined, 'file'][] = [
    ['no cluster: a file lock', () => undefined, 'file'],
    ['a cluster whose inventory says file', () => ({ ...toolsbeta, lock: { ...toolsbeta.lock, backend: 'file' } }) as ClusterConfig, 'file'],
  ];
  for (const [title, cluster, want] of backends) {
    it(`lockBackendFor: ${title}`, async () => {
      const b = await lockBackendFor(cluster(), join(dir, 'state'));
      assert.equal(b.name, want);
      const h = await b.acquire('cluster/x', { user: 'u', host: 'h', pid: process.pid, cookbook: 'c', runId: 'r', since: 's' }, { ttlMs: 1000 });
      assert.equal((await b.inspect('cluster/x'))?.runId, 'r', 'its lock files live under the state dir');
      await h.release();
      await b.close();
    });
  }
});
