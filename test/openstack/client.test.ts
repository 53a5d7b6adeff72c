// lib/openstack against the lab's OpenStack API (Keystone, Nova, Glance, Neutron on 127.0.0.1), started in
// this process with startLab(). Faults and token lifetimes are set through the lab's model, counters read
// from it: openstack_mutations proves what reached the API.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { systemClock } from '../../lib/core/clock.js';
import type { ClientContext } from '../../lib/core/client.js';
import { DryRunStop, GateViolation, InputError } from '../../lib/core/errors.js';
import { Gate, isPlanned, type Planned } from '../../lib/core/gate.js';
import { MemoryLog } from '../../lib/core/log.js';
import { loadClusterFile } from '../../lib/inventory/load.js';
import type { ClusterConfig } from '../../lib/inventory/schema.js';
import { type LabHandle, startLab } from '../../lab/index.js';
import {
  KeystoneAuth,
  OpenStackAuthError,
  OpenStackClient,
  OpenStackConfigError,
  OpenStackConflictError,
  OpenStackExistsError,
  OpenStackHttp,
  OpenStackLookupError,
  OpenStackNotFoundError,
  OpenStackPolicyMismatchError,
  OpenStackQuotaError,
  OpenStackServerFaultError,
  OpenStackServiceError,
  create,
  loadCloudConfig,
  type Server,
  type ServerGroup,
} from '../../lib/openstack/index.js';

describe('openstack client against the lab OpenStack API', function () {
  this.timeout(60_000);
  let lab: LabHandle;
  let dir: string;
  let cluster: ClusterConfig;
  let cloudsFile: string;
  let password: string;

  function context(dryRun = false, clusterOverride?: ClusterConfig): ClientContext & { gate: Gate; log: MemoryLog } {
    return {
      cluster: clusterOverride ?? cluster,
      gate: new Gate({ dryRun }),
      log: new MemoryLog(),
      signal: new AbortController().signal,
      clock: systemClock,
      stateDir: dir,
    };
  }

  /** A client built from its parts, so a test can look at the Keystone session. */
  function composed(ctx: ClientContext, maxAttempts = 5): { client: OpenStackClient; auth: KeystoneAuth; http: OpenStackHttp } {
    const config = loadCloudConfig({ cloud: cluster.openstack.cloud, cloudsFile, env: {} });
    const auth = new KeystoneAuth({ config, log: ctx.log, expectedProject: cluster.openstack.project });
    const http = new OpenStackHttp({ auth, log: ctx.log, maxAttempts, backoff: { initialMs: 5, maxMs: 20 } });
    return { client: new OpenStackClient({ http, gate: ctx.gate, log: ctx.log }), auth, http };
  }

  function withCloudsYaml(name: string, yamlText: string): ClusterConfig {
    const file = join(dir, name);
    writeFileSync(file, yamlText, { mode: 0o600 });
    return { ...cluster, openstack: { ...cluster.openstack, cloudsFile: file } };
  }

  const mutations = (): number => lab.world.counters.openstack_mutations;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cc-openstack-'));
    lab = await startLab({ stateDir: join(dir, 'lab'), speed: 20, seedWorkload: false, control: 1, workers: 2, workersNfs: 0, ingress: 0, etcd: 0 });
    cluster = loadClusterFile(join(lab.stateDir, 'inventory.yaml'));
    cloudsFile = cluster.openstack.cloudsFile!;
    password = /password: (\S+)/.exec(readFileSync(cloudsFile, 'utf8'))![1]!;
  });

  after(async () => {
    await lab?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  afterEach(() => {
    lab.world.faults = {};
    lab.openstack.identity.tokenLifetimeMs = 3_600_000;
  });

  it('authenticates from the lab clouds.yaml and reads servers, flavors, images, networks, groups and quotas', async () => {
    const client = await create(context());
    const servers = await client.listServers();
    assert.deepEqual(servers.map((s) => s.name).sort(), ['local-k8s-control-1', 'local-k8s-worker-1', 'local-k8s-worker-2']);
    assert.ok(servers.every((s) => s.status === 'ACTIVE'));
    assert.deepEqual((await client.listServers({ name: /worker-\d$/ })).map((s) => s.name).sort(), ['local-k8s-worker-1', 'local-k8s-worker-2']);
    assert.equal((await client.listServers({ status: 'BUILD' })).length, 0);

    const worker = await client.findServer('local-k8s-worker-1');
    assert.ok(worker);
    // A Nova name filter is a regex: "worker-1" also matches "worker-10"; findServer must be exact.
    assert.equal(await client.findServer('local-k8s-worker'), undefined);
    assert.equal((await client.getServer(worker.id)).name, 'local-k8s-worker-1');
    assert.equal(await client.serverIPv4(worker), lab.world.hosts.get('local-k8s-worker-1')!.address);
    assert.equal(await client.serverAddress('local-k8s-worker-1'), lab.world.hosts.get('local-k8s-worker-1')!.address);
    await assert.rejects(client.serverAddress('local-k8s-worker-9'), OpenStackLookupError);

    assert.equal((await client.findFlavor('lab.medium'))?.vcpus, 4);
    const image = await client.findImage('debian-12-bookworm');
    assert.ok(image);
    assert.equal((await client.findImage(image.id))?.name, 'debian-12-bookworm');
    assert.equal(await client.findImage('no-such-image'), undefined);
    const net = await client.findNetwork('lab-net');
    assert.ok(net);
    assert.equal((await client.findNetwork(net.id))?.name, 'lab-net');
    assert.ok(await client.findSecurityGroup('k8s-full-connectivity'));
    assert.equal(await client.findSecurityGroup('nope'), undefined);
    assert.equal((await client.findServerGroup('local-k8s-control'))?.policy, 'anti-affinity');

    const quotas = await client.getQuotas();
    assert.equal(quotas.instances.in_use, 3);
    assert.equal(quotas.instances.limit, lab.openstack.cloud.quotas.instances);
    assert.equal(await client.projectId(), lab.openstack.identity.projectId);
  });

  it('maps a bad password to OpenStackAuthError without leaking it', async () => {
    const badPassword = 'wrong-' + randomUUID();
    const bad = withCloudsYaml('bad.yaml', readFileSync(cloudsFile, 'utf8').replace(password, badPassword));
    const ctx = context(false, bad);
    const client = await create(ctx);
    await assert.rejects(client.listServers(), (err: unknown) => {
      assert.ok(err instanceof OpenStackAuthError);
      assert.equal(err.status, 401);
      assert.match(err.message, /Keystone refused the credentials \(user local-operator, project lab\)/);
      assert.match(err.hint ?? '', /password/);
      assert.match(String(err.requestId), /^req-/);
      assert.ok(!JSON.stringify(err.toJSON()).includes(badPassword), 'the password is not in the error');
      return true;
    });
    assert.ok(!JSON.stringify(ctx.log.lines).includes(badPassword));
  });

  it('maps 404 with the request id and the API message, and treats deleting a missing server as done', async () => {
    const client = await create(context());
    const missing = randomUUID();
    await assert.rejects(client.getServer(missing), (err: unknown) => {
      assert.ok(err instanceof OpenStackNotFoundError);
      assert.equal(err.status, 404);
      assert.match(err.requestId ?? '', /^req-/);
      assert.equal(err.apiMessage, `Instance ${missing} could not be found.`);
      assert.match(String(err.context.url), new RegExp(`/compute/v2\\.1/servers/${missing}$`));
      assert.ok(err.message.includes(err.requestId!));
      return true;
    });
    await client.deleteServer(missing);
    await assert.rejects(client.createServer({ name: 'local-k8s-worker-77', flavor: 'lab.huge', image: 'debian-12-bookworm', network: 'lab-net' }), (err: unknown) => {
      assert.ok(err instanceof OpenStackLookupError);
      assert.match(err.message, /no flavor named lab\.huge/);
      assert.match(err.hint ?? '', /lab\.medium/);
      return true;
    });
  });

  it('maps 409 (reboot of a stopped server) to OpenStackConflictError and refuses a duplicate name', async () => {
    const client = await create(context());
    const worker = (await client.findServer('local-k8s-worker-2'))!;
    lab.openstack.cloud.stop(worker.id);
    try {
      await assert.rejects(client.rebootServer(worker, 'SOFT'), (err: unknown) => {
        assert.ok(err instanceof OpenStackConflictError);
        assert.equal(err.status, 409);
        assert.match(err.apiMessage, /Cannot 'reboot' instance .* while it is in vm_state stopped/);
        return true;
      });
    } finally {
      lab.openstack.cloud.start(worker.id);
    }
    await assert.rejects(
      client.createServer({ name: 'local-k8s-worker-1', flavor: 'lab.medium', image: 'debian-12-bookworm', network: 'lab-net' }),
      OpenStackExistsError,
    );
  });

  it('maps an over-quota create to OpenStackQuotaError naming the quota', async () => {
    const client = await create(context());
    const quotas = lab.openstack.cloud.quotas;
    const saved = quotas.instances;
    quotas.instances = lab.openstack.cloud.servers.size;
    try {
      await assert.rejects(
        client.createServer({ name: 'local-k8s-worker-50', flavor: 'lab.medium', image: 'debian-12-bookworm', network: 'lab-net' }),
        (err: unknown) => {
          assert.ok(err instanceof OpenStackQuotaError);
          assert.equal(err.quota, 'instances');
          assert.equal(err.status, 403);
          assert.match(err.message, /over quota for instances: Quota exceeded for instances: Requested 1, but already used 3 of 3 instances \(create server local-k8s-worker-50\)/);
          assert.match(err.hint ?? '', /instances/);
          return true;
        },
      );
    } finally {
      quotas.instances = saved;
    }
    assert.equal(await client.findServer('local-k8s-worker-50'), undefined);
  });

  it('retries reads through 503s, gives up after maxAttempts, and repeats a create only after checking its name', async () => {
    const ctx = context();
    const { client, http } = composed(ctx, 30);
    await client.listServers();
    lab.world.faults = { openstackErrorRate: 0.5 };
    const before = lab.world.counters.requests.openstack;
    for (let i = 0; i < 10; i++) assert.equal((await client.listServers()).length, 3);
    const sent = lab.world.counters.requests.openstack - before;
    assert.ok(sent > 10, `503s were retried (${sent} requests for 10 reads)`);
    assert.ok(ctx.log.lines.some((l) => /^GET \/compute\/v2\.1\/servers\/detail answered 503( \[[^\]]+\])?; retry \d\/30 in \d+ms$/.test(l.message)));

    // A create answered 503 is sent again only after a look by name found nothing: one server per name.
    const added = new Map<string, number>();
    const onAdded = (h: { name: string }): void => void added.set(h.name, (added.get(h.name) ?? 0) + 1);
    lab.world.on('host-added', onAdded);
    try {
      const postsBefore = http.sent.POST ?? 0;
      let creates = 0;
      for (let i = 0; i < 12 && (http.sent.POST ?? 0) - postsBefore === creates; i++) {
        const name = `local-k8s-worker-${60 + i}`;
        const created = await client.createServer({ name, flavor: 'lab.medium', image: 'debian-12-bookworm', network: 'lab-net' });
        creates++;
        assert.equal(added.get(name), 1, `${name} was created once`);
        await client.deleteServer(created as Server);
      }
      assert.ok((http.sent.POST ?? 0) - postsBefore > creates, 'some create was answered 503 and sent again');
      assert.ok(ctx.log.lines.some((l) => /^POST \/servers \(create local-k8s-worker-\d+\) failed .*503.*; checking the name, then attempt 2/.test(l.message)));
      assert.deepEqual([...added.values()].filter((n) => n !== 1), [], 'no name was created twice');
    } finally {
      lab.world.off('host-added', onAdded);
    }

    lab.world.faults = {};
    const few = composed(ctx, 3);
    // Authenticate first: Keystone answers 503 too while the fault is on.
    await few.client.listServers();
    const getsBefore = few.http.sent.GET ?? 0;
    lab.world.faults = { openstackErrorRate: 1 };
    await assert.rejects(few.client.getServer(randomUUID()), (err: unknown) => err instanceof OpenStackServiceError && err.status === 503);
    assert.equal((few.http.sent.GET ?? 0) - getsBefore, 3, 'three attempts, then the error');
  });

  it('re-authenticates once when the token is revoked, and refreshes a token before it expires', async () => {
    const ctx = context();
    const { client, auth } = composed(ctx);
    await client.listServers();
    assert.equal(auth.tokensIssued, 1);
    lab.openstack.identity.expireAllTokens();
    assert.equal((await client.listServers()).length, 3);
    assert.equal(auth.tokensIssued, 2);
    assert.ok(ctx.log.lines.some((l) => / -> 401 /.test(l.message)), 'the revoked token was answered 401');

    lab.openstack.identity.tokenLifetimeMs = 1500;
    const fresh = composed(ctx);
    await fresh.client.listServers();
    const lines = ctx.log.lines.length;
    await new Promise((r) => setTimeout(r, 1300));
    await fresh.client.listServers();
    assert.equal(fresh.auth.tokensIssued, 2, 'a new token was fetched before the old one expired');
    assert.ok(!ctx.log.lines.slice(lines).some((l) => / -> 401 /.test(l.message)), 'without a 401');
  });

  it('authenticates with an application credential (clouds.yaml and OS_* variables)', async () => {
    const cred = lab.openstack.identity.createAppCredential(`cookbooks-${randomUUID().slice(0, 8)}`);
    const authUrl = lab.openstack.authUrl;
    const viaFile = withCloudsYaml(
      'appcred.yaml',
      `clouds:\n  local:\n    auth_type: v3applicationcredential\n    auth:\n      auth_url: ${authUrl}\n      application_credential_id: ${cred.id}\n      application_credential_secret: ${cred.secret}\n    region_name: RegionOne\n`,
    );
    const client = await create(context(false, viaFile));
    assert.equal((await client.listServers()).length, 3);

    const noFile = { ...cluster, openstack: { ...cluster.openstack, cloudsFile: undefined } };
    const env = { OS_AUTH_URL: authUrl, OS_AUTH_TYPE: 'v3applicationcredential', OS_APPLICATION_CREDENTIAL_ID: cred.id, OS_APPLICATION_CREDENTIAL_SECRET: cred.secret };
    const fromEnv = await create(context(false, noFile), { env });
    assert.equal((await fromEnv.getQuotas()).instances.in_use, 3);

    const wrong = await create(context(false, noFile), { env: { ...env, OS_APPLICATION_CREDENTIAL_SECRET: 'not-the-secret-123' } });
    await assert.rejects(wrong.listServers(), (err: unknown) => {
      assert.ok(err instanceof OpenStackAuthError);
      assert.match(err.message, new RegExp(`application credential ${cred.id}`));
      assert.ok(!JSON.stringify(err.toJSON()).includes('not-the-secret-123'));
      return true;
    });
    // An application credential is bound to its project: one for another project than the inventory's is refused.
    const otherProject = await create(context(false, { ...noFile, openstack: { ...noFile.openstack, project: 'tools' } }), { env });
    await assert.rejects(otherProject.listServers(), (err: unknown) => err instanceof OpenStackConfigError && /are for project lab, but the inventory says tools/.test(err.message));
  });

  it('ensures server groups and refuses a mismatching policy', async () => {
    const client = await create(context());
    const existing = await client.ensureServerGroup('local-k8s-worker', 'soft-anti-affinity');
    assert.ok(!isPlanned(existing));
    assert.equal(existing.name, 'local-k8s-worker');
    await assert.rejects(client.ensureServerGroup('local-k8s-worker', 'anti-affinity'), (err: unknown) => {
      assert.ok(err instanceof OpenStackPolicyMismatchError);
      assert.match(err.message, /exists with policy soft-anti-affinity, not anti-affinity/);
      return true;
    });
    const before = mutations();
    const created = (await client.ensureServerGroup('test-group-1', 'soft-affinity')) as ServerGroup;
    assert.equal(created.policy, 'soft-affinity');
    assert.equal(mutations(), before + 1);
    const again = (await client.ensureServerGroup('test-group-1', 'soft-affinity')) as ServerGroup;
    assert.equal(again.id, created.id);
    assert.equal(mutations(), before + 1, 'an existing group is not created again');
  });

  it('creates a server, waits until ACTIVE, reads its console, reboots and deletes it', async () => {
    const client = await create(context());
    const group = (await client.ensureServerGroup('local-k8s-worker', 'soft-anti-affinity')) as ServerGroup;
    const created = (await client.createServer({
      name: 'local-k8s-worker-3',
      flavor: 'lab.medium',
      image: 'debian-12-bookworm',
      network: 'lab-net',
      securityGroups: ['default', 'k8s-full-connectivity'],
      serverGroup: group,
      metadata: { role: 'worker', cookbook: 'test' },
      userData: '#cloud-config\nhostname: local-k8s-worker-3\n',
    })) as Server;
    assert.equal(created.name, 'local-k8s-worker-3');
    assert.ok(['BUILD', 'ACTIVE'].includes(created.status));
    const seen: string[] = [];
    const active = (await client.waitForStatus(created, 'ACTIVE', { timeoutMs: 15_000, pollMs: 50, onPoll: (s) => seen.push(s.status) }))!;
    assert.equal(active.status, 'ACTIVE');
    assert.deepEqual(active.metadata, { role: 'worker', cookbook: 'test' });
    assert.deepEqual(active.security_groups?.map((g) => g.name).sort(), ['default', 'k8s-full-connectivity']);
    assert.ok((await client.findServerGroup('local-k8s-worker'))!.members.includes(created.id));
    assert.equal(await client.serverIPv4(created.id), lab.world.hosts.get('local-k8s-worker-3')!.address);

    const console = await client.getConsoleOutput(created);
    assert.match(console, /BEGIN SSH HOST KEY FINGERPRINTS/);
    assert.ok(console.includes(lab.world.hosts.get('local-k8s-worker-3')!.hostKey.fingerprintSha256.replace(/^SHA256:/, '')));
    const tail = await client.getConsoleOutput(created, 5);
    assert.ok(tail.split('\n').filter(Boolean).length <= 5);

    const bootId = lab.world.hosts.get('local-k8s-worker-3')!.bootId;
    await client.rebootServer(created, 'HARD');
    await client.waitForStatus(created, 'ACTIVE', { timeoutMs: 15_000, pollMs: 50 });
    await new Promise((r) => setTimeout(r, 300));
    assert.notEqual(lab.world.hosts.get('local-k8s-worker-3')!.bootId, bootId, 'the host rebooted');

    await client.deleteServer(created);
    assert.equal(await client.waitForStatus(created.id, 'DELETED', { timeoutMs: 15_000, pollMs: 50 }), undefined);
    assert.equal(await client.findServer('local-k8s-worker-3'), undefined);
    assert.equal(lab.world.hosts.has('local-k8s-worker-3'), false);
  });

  it('fails the wait with the fault message when the build ends in ERROR', async () => {
    lab.world.faults = { vmBuildErrors: ['local-k8s-worker-4'] };
    const client = await create(context());
    const created = (await client.createServer({ name: 'local-k8s-worker-4', flavor: 'lab.small', image: 'debian-12-bookworm', network: 'lab-net' })) as Server;
    await assert.rejects(client.waitForStatus(created, 'ACTIVE', { timeoutMs: 15_000, pollMs: 50 }), (err: unknown) => {
      assert.ok(err instanceof OpenStackServerFaultError);
      assert.match(err.message, /went to ERROR: Build of instance .* aborted: Failed to allocate the network\(s\)/);
      return true;
    });
    await client.deleteServer(created);
    await client.waitForStatus(created, 'DELETED', { timeoutMs: 15_000, pollMs: 50 });
  });

  it('refuses a mutation outside the gate before sending it', async () => {
    const ctx = context();
    const { http } = composed(ctx);
    const before = lab.world.counters.requests.openstack;
    await assert.rejects(http.call('compute', 'POST', '/servers', { body: { server: { name: 'x' } } }), GateViolation);
    // Only the token request (not a mutation) reached the lab.
    assert.equal(lab.world.counters.requests.openstack - before, 1);
    assert.equal(http.sent.POST ?? 0, 0);
  });

  it('dry-run: every method runs or is planned, and no mutation reaches the lab', async () => {
    const ctx = context(true);
    const client = await create(ctx);
    const worker = (await client.findServer('local-k8s-worker-1'))!;
    const serversBefore = lab.openstack.cloud.servers.size;
    const groupsBefore = lab.openstack.cloud.serverGroups.size;
    const bootBefore = lab.world.hosts.get('local-k8s-worker-1')!.bootId;
    const before = mutations();

    const spec = { name: 'local-k8s-worker-5', flavor: 'lab.medium', image: 'debian-12-bookworm', network: 'lab-net', securityGroups: ['default'] };
    let plannedServer: Planned | undefined;
    const calls: Record<string, () => Promise<unknown>> = {
      createServer: async () => {
        const group = await client.ensureServerGroup('dry-run-group', 'anti-affinity');
        assert.ok(isPlanned(group));
        const planned = await client.createServer({ ...spec, serverGroup: group });
        assert.ok(isPlanned(planned));
        plannedServer = planned;
        return planned;
      },
      deleteServer: () => client.deleteServer(worker),
      rebootServer: () => client.rebootServer(worker, 'HARD'),
      ensureServerGroup: () => client.ensureServerGroup('dry-run-group-2', 'soft-anti-affinity'),
    };
    const mutating = Object.entries(OpenStackClient.operations).filter(([, k]) => k === 'mutate').map(([n]) => n).sort();
    assert.deepEqual(mutating, Object.keys(calls).sort(), 'the test covers every mutating method');
    for (const name of mutating) assert.ok(isPlanned(await calls[name]!()), `${name} returns Planned`);

    // Dry-run still validates: an unknown image fails as it would for real.
    await assert.rejects(client.createServer({ ...spec, image: 'no-such-image' }), OpenStackLookupError);
    // A wait for a planned server stops planning instead of waiting.
    await assert.rejects(client.waitForStatus(plannedServer!, 'ACTIVE', { timeoutMs: 1000 }), DryRunStop);
    // Every read runs in dry-run, including the console output action (a POST that only reads).
    const reads: Record<string, () => Promise<unknown>> = {
      listServers: () => client.listServers(),
      getServer: () => client.getServer(worker.id),
      findServer: () => client.findServer(worker.name),
      waitForStatus: () => client.waitForStatus(worker, 'ACTIVE', { timeoutMs: 1000 }),
      getConsoleOutput: async () => assert.match(await client.getConsoleOutput(worker), /SSH HOST KEY/),
      serverIPv4: () => client.serverIPv4(worker.id),
      serverAddress: () => client.serverAddress(worker.name),
      listServerGroups: () => client.listServerGroups(),
      findServerGroup: () => client.findServerGroup('local-k8s-worker'),
      listFlavors: () => client.listFlavors(),
      findFlavor: () => client.findFlavor('lab.small'),
      listImages: () => client.listImages(),
      findImage: () => client.findImage('debian-12-bookworm'),
      findNetwork: () => client.findNetwork('lab-net'),
      findSecurityGroup: () => client.findSecurityGroup('default'),
      getQuotas: () => client.getQuotas(),
      getLimits: () => client.getLimits(),
      projectId: () => client.projectId(),
    };
    const reading = Object.entries(OpenStackClient.operations).filter(([, k]) => k === 'read').map(([n]) => n).sort();
    assert.deepEqual(reading, Object.keys(reads).sort(), 'the test covers every read method');
    for (const name of reading) assert.ok((await reads[name]!()) !== undefined || name === 'getConsoleOutput', `${name} answered`);

    assert.equal(mutations(), before, 'openstack_mutations unchanged');
    assert.equal(lab.openstack.cloud.servers.size, serversBefore);
    assert.equal(lab.openstack.cloud.serverGroups.size, groupsBefore);
    assert.equal(lab.world.hosts.get('local-k8s-worker-1')!.bootId, bootBefore);
    assert.ok(ctx.gate.changes.length >= 5 && ctx.gate.changes.every((c) => c.planned && c.system === 'openstack'));
    assert.deepEqual(
      ctx.gate.changes.map((c) => c.action),
      ['create server group', 'create server', 'delete server', 'create server group', 'hard reboot server'],
    );
  });

  it('validates input before calling the API', async () => {
    const client = await create(context());
    await assert.rejects(client.createServer({ name: 'bad name!', flavor: 'lab.small', image: 'x', network: 'y' }), InputError);
    await assert.rejects(client.getServer('../etc'), InputError);
    await assert.rejects(client.rebootServer('abc', 'COLD' as 'SOFT'), InputError);
  });
});
