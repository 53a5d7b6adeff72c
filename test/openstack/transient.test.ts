// Transient OpenStack failures and the server-name invariant, against the lab: a create/list/delete cycle gets
// through a cloud that answers 20% of its requests with 503, creating each server exactly once; and a server
// whose name appears between the start of a create and its POST is refused at the POST, not created twice.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../../lib/core/clock.js';
import { Gate, isPlanned } from '../../lib/core/gate.js';
import { MemoryLog } from '../../lib/core/log.js';
import { loadClusterFile } from '../../lib/inventory/load.js';
import type { ClusterConfig } from '../../lib/inventory/schema.js';
import { type LabHandle, startLab } from '../../lab/index.js';
import { OpenStackExistsError, OpenStackRateLimitError, type OpenStackClient, type Server, create } from '../../lib/openstack/index.js';
import { startProxy } from './proxy.js';

describe('openstack client: transient failures and unique names (lab)', function () {
  this.timeout(60_000);
  let lab: LabHandle;
  let dir: string;
  let cluster: ClusterConfig;

  async function client(log: MemoryLog): Promise<OpenStackClient> {
    const ctx = { cluster, gate: new Gate({ dryRun: false }), log, signal: new AbortController().signal, clock: systemClock, stateDir: dir };
    return create(ctx, { maxAttempts: 8, backoff: { initialMs: 5, maxMs: 40 } });
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cc-openstack-transient-'));
    lab = await startLab({ stateDir: join(dir, 'lab'), speed: 40, seedWorkload: false, control: 1, workers: 1, workersNfs: 0, ingress: 0, etcd: 0 });
    cluster = loadClusterFile(join(lab.stateDir, 'inventory.yaml'));
  });

  after(async () => {
    await lab?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  afterEach(() => {
    lab.world.faults = {};
  });

  it('creates, lists and deletes through openstackErrorRate=0.2, creating each server exactly once', async () => {
    const log = new MemoryLog();
    const os = await client(log);
    const created = new Map<string, number>();
    const onAdded = (h: { name: string }): void => void created.set(h.name, (created.get(h.name) ?? 0) + 1);
    lab.world.on('host-added', onAdded);
    lab.world.faults = { openstackErrorRate: 0.2 };
    const retries = (): number => log.lines.filter((l) => l.level === 'debug' && /; (retry|checking the name, then attempt) \d/.test(l.message)).length;
    try {
      // At least two cycles, and more until the faults have hit (so the test cannot pass on a lucky streak).
      for (let i = 1; i <= 10 && (i <= 2 || retries() === 0); i++) {
        const name = `local-k8s-worker-${20 + i}`;
        const server = await os.createServer({ name, flavor: 'lab.medium', image: 'debian-12-bookworm', network: 'lab-net' });
        assert.ok(!isPlanned(server));
        await os.waitForStatus(server as Server, 'ACTIVE', { timeoutMs: 20_000, pollMs: 20 });
        assert.deepEqual((await os.listServers({ name })).map((s) => s.id), [(server as Server).id]);
        await os.deleteServer(server as Server);
        await os.waitForStatus(server as Server, 'DELETED', { timeoutMs: 20_000, pollMs: 20 });
        assert.equal(created.get(name), 1, `the lab created ${name} exactly once`);
      }
    } finally {
      lab.world.off('host-added', onAdded);
    }
    assert.ok(retries() > 0, 'the injected 503s were met and retried');
    assert.deepEqual([...created.entries()].filter(([, n]) => n !== 1), [], 'no server was created twice');
    // Every retry names the method and path, and no line carries the token.
    const token = (await (os as unknown as { http: { auth: { token(): Promise<{ value: string }> } } }).http.auth.token()).value;
    for (const l of log.lines.filter((x) => /; retry \d/.test(x.message))) assert.match(l.message, /^(GET|POST|DELETE|PUT) \/\S+ /);
    assert.ok(!log.lines.some((l) => JSON.stringify(l).includes(token)), 'the token appears in no log line');
  });

  it('refuses a create when a server of that name appears right before the POST, naming its id', async () => {
    const os = await client(new MemoryLog());
    const cloud = lab.openstack.cloud;
    const name = 'local-k8s-worker-40';
    const images = cloud.images;
    const hostKey = [...cloud.servers.values()][0]!.host.hostKey;
    let other: { id: string } | undefined;
    let armed = true;
    // Another run creates the server while this one resolves its image, after its first look at the name.
    Object.defineProperty(cloud, 'images', {
      configurable: true,
      get() {
        if (!armed) return images;
        // Disarmed first: addInitialServer reads the images itself.
        armed = false;
        other = cloud.addInitialServer({ name, flavor: 'lab.medium', image: 'debian-12-bookworm', network: 'lab-net', securityGroups: ['default'], address: '127.254.0.1', hostKey });
        return images;
      },
    });
    const postsBefore = lab.world.counters.openstack_mutations;
    try {
      await assert.rejects(os.createServer({ name, flavor: 'lab.medium', image: 'debian-12-bookworm', network: 'lab-net' }), (err: unknown) => {
        assert.ok(err instanceof OpenStackExistsError, String(err));
        assert.ok(other, 'the namesake appeared during the create');
        assert.equal(err.context.id, other.id);
        assert.match(err.message, new RegExp(`a server named ${name} exists already \\(${other.id}, ACTIVE\\)`));
        assert.match(err.hint ?? '', /pick another name, or delete the existing server first \(openstack server delete /);
        return true;
      });
      assert.equal(lab.world.counters.openstack_mutations, postsBefore, 'no POST was sent');
      assert.deepEqual([...cloud.servers.values()].filter((s) => s.name === name).map((s) => s.id), [other!.id]);
    } finally {
      Object.defineProperty(cloud, 'images', { value: images, writable: true, configurable: true, enumerable: true });
      if (other) cloud.servers.delete(other.id);
    }
  });

  it('honours Retry-After of a 429, and gives up at once when waiting would pass the deadline', async () => {
    let limited = 0;
    const proxy = await startProxy(lab.openstack.url, () => false, (method, path) => {
      if (method !== 'GET' || !path.endsWith('/servers/detail') || limited >= 1) return undefined;
      limited++;
      return { status: 429, headers: { 'retry-after': '1' }, body: '{"overLimit": {"code": 429, "message": "Over limit"}}' };
    });
    try {
      const cloudsFile = join(dir, 'clouds-429.yaml');
      writeFileSync(cloudsFile, readFileSync(cluster.openstack.cloudsFile!, 'utf8').split(lab.openstack.url).join(proxy.url), { mode: 0o600 });
      const through = { ...cluster, openstack: { ...cluster.openstack, cloudsFile } };
      const log = new MemoryLog();
      const ctx = { cluster: through, gate: new Gate({ dryRun: false }), log, signal: new AbortController().signal, clock: systemClock, stateDir: dir };
      const os = await create(ctx, { maxAttempts: 8, backoff: { initialMs: 5, maxMs: 40 } });
      await os.listFlavors(); // authenticated first, so the timing below is the list's alone
      const started = Date.now();
      assert.ok((await os.listServers()).length >= 2);
      const took = Date.now() - started;
      assert.equal(limited, 1);
      assert.ok(took >= 1000, `waited for Retry-After (${took} ms)`);
      assert.ok(log.lines.some((l) => /^GET \/compute\/v2\.1\/servers\/detail answered 429; retry 2\/8 in 1000ms$/.test(l.message)), 'the retry is logged at debug with method and path');

      // A deadline shorter than what the API asks for: no pointless wait, the 429 is the answer.
      limited = 0;
      const hurried = await create({ ...ctx, log: new MemoryLog() }, { maxAttempts: 8, deadlineMs: 500, backoff: { initialMs: 5, maxMs: 40 } });
      await hurried.listFlavors();
      const t0 = Date.now();
      await assert.rejects(hurried.listServers(), (err: unknown) => err instanceof OpenStackRateLimitError && err.retryAfterMs === 1000);
      assert.ok(Date.now() - t0 < 900, 'gave up without waiting');
    } finally {
      await proxy.close();
    }
  });
});
