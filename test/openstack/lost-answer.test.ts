// A create whose answer is lost must not be sent again (that would make a second VM): the client looks the
// server up by name instead. A small HTTP proxy in front of the lab's OpenStack API forwards everything and
// cuts the connection after forwarding POST /servers, so the lab really creates the server and the client
// sees a connection error.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../../lib/core/clock.js';
import { Gate, isPlanned } from '../../lib/core/gate.js';
import { MemoryLog } from '../../lib/core/log.js';
import { loadClusterFile } from '../../lib/inventory/load.js';
import { type LabHandle, startLab } from '../../lab/index.js';
import { OpenStackConnectionError, create, type Server } from '../../lib/openstack/index.js';
import { type Proxy, startProxy } from './proxy.js';

describe('openstack client: a create whose answer is lost', function () {
  this.timeout(60_000);
  let lab: LabHandle;
  let proxy: Proxy;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cc-openstack-lost-'));
    lab = await startLab({ stateDir: join(dir, 'lab'), speed: 20, seedWorkload: false, control: 1, workers: 1, workersNfs: 0, ingress: 0, etcd: 0 });
    proxy = await startProxy(lab.openstack.url, (method, path) => method === 'POST' && /\/compute\/v2\.1\/servers$/.test(path));
  });

  /** A client of the lab's cloud whose clouds.yaml points at the proxy instead of the lab. */
  async function proxiedClient(log: MemoryLog, transport?: Parameters<typeof create>[1]): ReturnType<typeof create> {
    const cluster = loadClusterFile(join(lab.stateDir, 'inventory.yaml'));
    const cloudsFile = join(dir, 'clouds-proxy.yaml');
    writeFileSync(cloudsFile, readFileSync(cluster.openstack.cloudsFile!, 'utf8').split(lab.openstack.url).join(proxy.url), { mode: 0o600 });
    const ctx = { cluster: { ...cluster, openstack: { ...cluster.openstack, cloudsFile } }, gate: new Gate({ dryRun: false }), log, signal: new AbortController().signal, clock: systemClock, stateDir: dir };
    return create(ctx, transport);
  }

  after(async () => {
    await proxy?.close();
    await lab?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is not sent again: the server is found by name and returned', async () => {
    const log = new MemoryLog();
    const client = await proxiedClient(log);
    const serversBefore = lab.openstack.cloud.servers.size;
    const mutationsBefore = lab.world.counters.openstack_mutations;
    const created = await client.createServer({ name: 'local-k8s-worker-2', flavor: 'lab.small', image: 'debian-12-bookworm', network: 'lab-net' });
    assert.ok(!isPlanned(created));
    assert.equal(proxy.dropped, 1, 'the answer of the create was cut');
    assert.equal((created as Server).name, 'local-k8s-worker-2');
    assert.equal(lab.openstack.cloud.servers.size, serversBefore + 1, 'exactly one server was created');
    assert.equal(lab.world.counters.openstack_mutations - mutationsBefore, 1, 'the POST was sent once');
    const warning = log.lines.find((l) => l.level === 'warn' && l.message.includes('but the server exists'));
    assert.ok(warning, 'the recovery is logged');

    await client.deleteServer(created as Server);
    await client.waitForStatus(created as Server, 'DELETED', { timeoutMs: 10_000, pollMs: 50 });
  });

  it('sends the create again only after finding no server of that name; surfaces the error when attempts run out', async () => {
    // The lab refuses this create (quota) and the proxy drops every answer: after each lost answer no server of
    // the name exists, so the create did not happen and may be sent again, up to the transport's attempts.
    const log = new MemoryLog();
    const client = await proxiedClient(log, { maxAttempts: 3, backoff: { initialMs: 5, maxMs: 20 } });
    const saved = lab.openstack.cloud.quotas.instances;
    lab.openstack.cloud.quotas.instances = lab.openstack.cloud.servers.size;
    const droppedBefore = proxy.dropped;
    const serversBefore = lab.openstack.cloud.servers.size;
    try {
      await assert.rejects(
        client.createServer({ name: 'local-k8s-worker-3', flavor: 'lab.small', image: 'debian-12-bookworm', network: 'lab-net' }),
        (err: unknown) => {
          assert.ok(err instanceof OpenStackConnectionError);
          assert.match(err.hint ?? '', /may or may not have been applied/);
          return true;
        },
      );
    } finally {
      lab.openstack.cloud.quotas.instances = saved;
    }
    assert.equal(proxy.dropped - droppedBefore, 3, 'three attempts, each after a look by name');
    assert.equal(log.lines.filter((l) => /checking the name, then attempt \d/.test(l.message)).length, 2);
    assert.equal(lab.openstack.cloud.servers.size, serversBefore, 'nothing was created');
  });
});
