import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { refused } from '../../helpers/net.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LabHandle, startLab } from '../../../lab/index.js';
import { parseConsoleHostKeysForTest, waitFor } from './util.js';

interface Reply {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

describe('lab OpenStack API (HTTP)', function () {
  this.timeout(60000);
  let lab: LabHandle;
  let dir: string;
  let base: string;
  let token: string;
  const password = (): string => /password: (\S+)/.exec(readFileSync(join(dir, 'clouds.yaml'), 'utf8'))![1]!;

  async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
    const res = await fetch(base + path, {
      method,
      headers: { 'content-type': 'application/json', ...(token ? { 'x-auth-token': token } : {}), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, headers: res.headers, body: parsed, text };
  }

  function passwordAuth(pw: string, project = 'lab'): unknown {
    return {
      auth: {
        identity: { methods: ['password'], password: { user: { name: 'local-operator', domain: { name: 'Default' }, password: pw } } },
        scope: { project: { name: project, domain: { name: 'Default' } } },
      },
    };
  }

  async function authenticate(): Promise<string> {
    const r = await call('POST', '/identity/v3/auth/tokens', passwordAuth(password()));
    assert.equal(r.status, 201, r.text);
    return r.headers.get('x-subject-token')!;
  }

  async function createServer(name: string, extra: Record<string, unknown> = {}, hints?: Record<string, string>): Promise<Reply> {
    const image = lab.openstack.cloud.images.find((i) => i.name === 'debian-12-bookworm')!;
    const net = lab.openstack.cloud.networks[0]!;
    return call('POST', '/compute/v2.1/servers', {
      server: { name, flavorRef: 'lab.medium', imageRef: image.id, networks: [{ uuid: net.id }], security_groups: [{ name: 'default' }], metadata: { role: 'worker' }, ...extra },
      ...(hints ? { 'os:scheduler_hints': hints } : {}),
    });
  }

  async function serverStatus(id: string): Promise<string> {
    return (await call('GET', `/compute/v2.1/servers/${id}`)).body?.server?.status;
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lab-os-'));
    lab = await startLab({ stateDir: dir, speed: 50, control: 3, workers: 2, workersNfs: 0, ingress: 0, etcd: 0, hypervisors: 4, seedWorkload: false, timings: { vmDeleteMs: 20_000 } });
    base = lab.openstack.url;
    token = await authenticate();
  });

  after(async () => {
    await lab?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('Keystone', () => {
    it('serves the version document and issues scoped tokens with a catalog', async () => {
      const v = await call('GET', '/identity/v3');
      assert.equal(v.status, 200);
      assert.equal(v.body.version.id, 'v3.14');
      const r = await call('POST', '/identity/v3/auth/tokens', passwordAuth(password()));
      assert.equal(r.status, 201);
      assert.match(r.headers.get('x-subject-token')!, /^gAAAAA/);
      assert.match(r.headers.get('x-openstack-request-id')!, /^req-[0-9a-f-]{36}$/);
      const types = (r.body.token.catalog as { type: string; endpoints: { interface: string }[] }[]).map((c) => c.type).sort();
      assert.deepEqual(types, ['compute', 'identity', 'image', 'network']);
      for (const c of r.body.token.catalog) assert.deepEqual(c.endpoints.map((e: { interface: string }) => e.interface).sort(), ['admin', 'internal', 'public']);
      assert.equal(r.body.token.project.name, 'lab');
      assert.ok(Date.parse(r.body.token.expires_at) > Date.now());
    });

    it('answers 401 in Keystone form for a bad password, another project or an unscoped request', async () => {
      for (const body of [passwordAuth('wrong'), passwordAuth(password(), 'other')]) {
        const r = await call('POST', '/identity/v3/auth/tokens', body, { 'x-auth-token': '' });
        assert.equal(r.status, 401);
        assert.equal(r.body.error.code, 401);
        assert.equal(r.body.error.title, 'Unauthorized');
        assert.ok(r.headers.get('x-openstack-request-id'));
      }
      const unscoped = passwordAuth(password()) as { auth: Record<string, unknown> };
      delete unscoped.auth.scope;
      assert.equal((await call('POST', '/identity/v3/auth/tokens', unscoped)).status, 401);
    });

    it('accepts application credentials by id and by name', async () => {
      const cred = lab.openstack.identity.createAppCredential('ci');
      const byId = await call('POST', '/identity/v3/auth/tokens', { auth: { identity: { methods: ['application_credential'], application_credential: { id: cred.id, secret: cred.secret } } } });
      assert.equal(byId.status, 201, byId.text);
      assert.deepEqual(byId.body.token.methods, ['application_credential']);
      const byName = await call('POST', '/identity/v3/auth/tokens', {
        auth: { identity: { methods: ['application_credential'], application_credential: { name: 'ci', user: { name: 'local-operator', domain: { name: 'Default' } }, secret: cred.secret } } },
      });
      assert.equal(byName.status, 201);
      const bad = await call('POST', '/identity/v3/auth/tokens', { auth: { identity: { methods: ['application_credential'], application_credential: { id: cred.id, secret: 'nope' } } } });
      assert.equal(bad.status, 401);
    });

    it('requires a token for the services and expires tokens', async () => {
      const none = await call('GET', '/compute/v2.1/servers', undefined, { 'x-auth-token': '' });
      assert.equal(none.status, 401);
      assert.match(none.headers.get('www-authenticate')!, /^Keystone uri=/);
      assert.equal(none.body.error.message, 'The request you have made requires authentication.');
      lab.openstack.identity.tokenLifetimeMs = 150;
      try {
        const short = await authenticate();
        assert.equal((await call('GET', '/compute/v2.1/servers', undefined, { 'x-auth-token': short })).status, 200);
        await new Promise((r) => setTimeout(r, 250));
        assert.equal((await call('GET', '/compute/v2.1/servers', undefined, { 'x-auth-token': short })).status, 401);
      } finally {
        lab.openstack.identity.tokenLifetimeMs = 3_600_000;
      }
    });
  });

  describe('Nova', () => {
    it('lists the lab cluster as servers, with Nova name/status filters and paging', async () => {
      const all = await call('GET', '/compute/v2.1/servers/detail');
      assert.equal(all.status, 200);
      assert.equal(all.headers.get('x-compute-request-id'), all.headers.get('x-openstack-request-id'));
      const names = (all.body.servers as { name: string }[]).map((s) => s.name).sort();
      assert.deepEqual(names, ['local-k8s-control-1', 'local-k8s-control-2', 'local-k8s-control-3', 'local-k8s-worker-1', 'local-k8s-worker-2']);
      const s = all.body.servers.find((x: { name: string }) => x.name === 'local-k8s-worker-1');
      const host = lab.world.hosts.get('local-k8s-worker-1')!;
      assert.deepEqual(s.addresses, { 'lab-net': [{ version: 4, addr: host.address, 'OS-EXT-IPS:type': 'fixed', 'OS-EXT-IPS-MAC:mac_addr': s.addresses['lab-net'][0]['OS-EXT-IPS-MAC:mac_addr'] }] });
      assert.equal(s.status, 'ACTIVE');
      const filtered = await call('GET', '/compute/v2.1/servers?name=' + encodeURIComponent('control-[12]$'));
      assert.deepEqual(filtered.body.servers.map((x: { name: string }) => x.name).sort(), ['local-k8s-control-1', 'local-k8s-control-2']);
      assert.equal((await call('GET', '/compute/v2.1/servers?status=SHUTOFF')).body.servers.length, 0);
      const page = await call('GET', '/compute/v2.1/servers?limit=2');
      assert.equal(page.body.servers.length, 2);
      assert.match(page.body.servers_links[0].href, /marker=/);
      const missing = await call('GET', '/compute/v2.1/servers/00000000-0000-0000-0000-000000000000');
      assert.equal(missing.status, 404);
      assert.equal(missing.body.itemNotFound.message, 'Instance 00000000-0000-0000-0000-000000000000 could not be found.');
    });

    it('creates a server that builds, boots a new SSH host and shows its key on the console', async () => {
      const before = lab.world.counters.openstack_mutations;
      const r = await createServer('local-k8s-worker-3');
      assert.equal(r.status, 202, r.text);
      assert.equal(lab.world.counters.openstack_mutations, before + 1);
      const id = r.body.server.id as string;
      assert.match(r.headers.get('location')!, new RegExp(`/servers/${id}$`));
      assert.equal(await serverStatus(id), 'BUILD');
      const host = lab.world.hosts.get('local-k8s-worker-3')!;
      assert.equal(host.state, 'building');
      assert.equal(host.packages.has('kubeadm'), false);
      await waitFor('ACTIVE', async () => (await serverStatus(id)) === 'ACTIVE');
      await waitFor('ssh listening', () => lab.ssh.isListening(host.name));
      const shown = (await call('GET', `/compute/v2.1/servers/${id}`)).body.server;
      assert.equal(shown.addresses['lab-net'][0].addr, host.address);
      assert.deepEqual(shown.metadata, { role: 'worker' });
      const consoleOut = await call('POST', `/compute/v2.1/servers/${id}/action`, { 'os-getConsoleOutput': { length: null } });
      assert.equal(consoleOut.status, 200);
      assert.equal(lab.world.counters.openstack_mutations, before + 1, 'console output is a read');
      const keys = parseConsoleHostKeysForTest(consoleOut.body.output);
      assert.deepEqual(keys.fingerprints, [`256 ${host.hostKey.fingerprintSha256} root@local-k8s-worker-3 (ED25519)`]);
      assert.deepEqual(keys.keys, [`ssh-ed25519 ${host.hostKey.publicBase64} root@local-k8s-worker-3`]);
      // The new VM is not in known_hosts: clients must trust it through the console log.
      const knownHosts = readFileSync(join(dir, 'known_hosts'), 'utf8');
      assert.equal(knownHosts.includes(host.hostKey.publicBase64), false);
      await waitFor('lab.json lists the host', () => readFileSync(join(dir, 'lab.json'), 'utf8').includes('local-k8s-worker-3'));
      const args = ['-i', join(dir, 'id_ed25519'), '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-p', String(host.port)];
      const strict = await run('ssh', [...args, '-o', `UserKnownHostsFile=${join(dir, 'known_hosts')}`, `root@${host.address}`, 'hostname']);
      assert.equal(strict.code, 255);
      const trusted = join(dir, 'trusted_hosts');
      writeFileSync(trusted, `[${host.address}]:${host.port} ${keys.keys[0]!.split(' ').slice(0, 2).join(' ')}\n`);
      const ok = await run('ssh', [...args, '-o', `UserKnownHostsFile=${trusted}`, `root@${host.address}`, 'hostname; dpkg-query -W kubeadm']);
      assert.equal(ok.stdout, 'local-k8s-worker-3\n');
      assert.equal(ok.code, 1, 'a new VM has no kubeadm');
      rmSync(trusted);
    });

    it('reboots a server through the API (REBOOT, then ACTIVE with a new boot id and a second console boot)', async () => {
      const s = [...lab.openstack.cloud.servers.values()].find((x) => x.name === 'local-k8s-worker-1')!;
      const host = lab.world.hosts.get(s.name)!;
      const bootId = host.bootId;
      // Long enough to see REBOOT even on a busy machine.
      const savedUp = lab.world.timings.rebootUpMs;
      lab.world.timings.rebootUpMs = 25_000;
      const r = await call('POST', `/compute/v2.1/servers/${s.id}/action`, { reboot: { type: 'SOFT' } });
      lab.world.timings.rebootUpMs = savedUp;
      assert.equal(r.status, 202, r.text);
      assert.equal(await serverStatus(s.id), 'REBOOT');
      const again = await call('POST', `/compute/v2.1/servers/${s.id}/action`, { reboot: { type: 'SOFT' } });
      assert.equal(again.status, 409);
      assert.ok(again.body.conflictingRequest.message);
      await waitFor('ACTIVE after reboot', async () => (await serverStatus(s.id)) === 'ACTIVE' && host.state === 'up');
      assert.notEqual(host.bootId, bootId);
      const out = (await call('POST', `/compute/v2.1/servers/${s.id}/action`, { 'os-getConsoleOutput': {} })).body.output as string;
      assert.equal(out.split('-----BEGIN SSH HOST KEY FINGERPRINTS-----').length - 1, 2);
      const bad = await call('POST', `/compute/v2.1/servers/${s.id}/action`, { reboot: { type: 'GENTLE' } });
      assert.equal(bad.status, 400);
      assert.ok(bad.body.badRequest);
    });

    it('deletes a server: the host goes at once, the server after a moment', async () => {
      const s = [...lab.openstack.cloud.servers.values()].find((x) => x.name === 'local-k8s-worker-3')!;
      const host = lab.world.hosts.get(s.name)!;
      const r = await call('DELETE', `/compute/v2.1/servers/${s.id}`);
      assert.equal(r.status, 204);
      assert.equal(lab.world.hosts.has(s.name), false);
      const during = (await call('GET', `/compute/v2.1/servers/${s.id}`)).body.server;
      assert.equal(during?.['OS-EXT-STS:task_state'], 'deleting');
      await waitFor('404', async () => (await call('GET', `/compute/v2.1/servers/${s.id}`)).status === 404);
      await waitFor('ssh closed', () => !lab.ssh.isListening(s.name));
      assert.equal(await refused(host.address, host.port), true);
      await waitFor('lab.json drops the host', () => !readFileSync(join(dir, 'lab.json'), 'utf8').includes('local-k8s-worker-3'));
    });

    it('refuses creates over quota with 403 as Nova', async () => {
      const used = lab.openstack.cloud.servers.size;
      const put = await call('PUT', `/compute/v2.1/os-quota-sets/${lab.openstack.identity.projectId}`, { quota_set: { instances: used } });
      assert.equal(put.status, 200, put.text);
      try {
        const r = await createServer('local-k8s-worker-9');
        assert.equal(r.status, 403);
        assert.equal(r.body.forbidden.message, `Quota exceeded for instances: Requested 1, but already used ${used} of ${used} instances`);
        const detail = await call('GET', `/compute/v2.1/os-quota-sets/${lab.openstack.identity.projectId}/detail`);
        assert.deepEqual(detail.body.quota_set.instances, { limit: used, in_use: used, reserved: 0 });
      } finally {
        await call('PUT', `/compute/v2.1/os-quota-sets/${lab.openstack.identity.projectId}`, { quota_set: { instances: 100 } });
      }
      const cores = await call('PUT', `/compute/v2.1/os-quota-sets/${lab.openstack.identity.projectId}`, { quota_set: { cores: 1 } });
      assert.equal(cores.status, 200);
      const r = await createServer('local-k8s-worker-9');
      assert.equal(r.status, 403);
      assert.match(r.body.forbidden.message, /^Quota exceeded for cores: Requested 4/);
      await call('PUT', `/compute/v2.1/os-quota-sets/${lab.openstack.identity.projectId}`, { quota_set: { cores: 400 } });
    });

    it('enforces anti-affinity over the modelled hypervisors; soft anti-affinity never refuses', async () => {
      const groups = (await call('GET', '/compute/v2.1/os-server-groups')).body.server_groups as { id: string; name: string; members: string[]; policies: string[] }[];
      const control = groups.find((g) => g.name === 'local-k8s-control')!;
      const worker = groups.find((g) => g.name === 'local-k8s-worker')!;
      assert.deepEqual(control.policies, ['anti-affinity']);
      assert.equal(control.members.length, 3);
      // Four hypervisors: one more control plane fits, the next finds no valid host.
      const fourth = await createServer('local-k8s-control-4', { flavorRef: 'lab.small' }, { group: control.id });
      assert.equal(fourth.status, 202);
      const fifth = await createServer('local-k8s-control-5', { flavorRef: 'lab.small' }, { group: control.id });
      assert.equal(fifth.status, 202);
      const failed = (await call('GET', `/compute/v2.1/servers/${fifth.body.server.id}`)).body.server;
      assert.equal(failed.status, 'ERROR');
      assert.equal(failed.fault.message, 'No valid host was found. There are not enough hosts available.');
      assert.equal(lab.world.hosts.has('local-k8s-control-5'), false);
      await waitFor('control-4 ACTIVE', async () => (await serverStatus(fourth.body.server.id)) === 'ACTIVE');
      const hvs = new Set([...lab.openstack.cloud.servers.values()].filter((s) => s.groupId === control.id && s.status === 'ACTIVE').map((s) => s.hypervisor));
      assert.equal(hvs.size, 4);
      const ids: string[] = [];
      for (const n of [5, 6, 7]) {
        const r = await createServer(`local-k8s-worker-${n}`, {}, { group: worker.id });
        assert.equal(r.status, 202);
        ids.push(r.body.server.id);
      }
      for (const id of ids) await waitFor('soft group member ACTIVE', async () => (await serverStatus(id)) === 'ACTIVE');
      for (const id of [...ids, fourth.body.server.id, fifth.body.server.id]) await call('DELETE', `/compute/v2.1/servers/${id}`);
    });

    it('speaks microversions where bodies differ', async () => {
      const v264 = await call('GET', '/compute/v2.1/os-server-groups', undefined, { 'OpenStack-API-Version': 'compute 2.64' });
      assert.equal(v264.headers.get('openstack-api-version'), 'compute 2.64');
      assert.equal(v264.body.server_groups[0].policy !== undefined && v264.body.server_groups[0].policies === undefined, true);
      const created = await call('POST', '/compute/v2.1/os-server-groups', { server_group: { name: 'extra', policy: 'anti-affinity' } }, { 'OpenStack-API-Version': 'compute 2.64' });
      assert.equal(created.status, 200);
      assert.equal(created.body.server_group.policy, 'anti-affinity');
      const old = await call('POST', '/compute/v2.1/os-server-groups', { server_group: { name: 'extra2', policy: 'anti-affinity' } });
      assert.equal(old.status, 400);
      assert.equal((await call('DELETE', `/compute/v2.1/os-server-groups/${created.body.server_group.id}`)).status, 204);
      const s = (await call('GET', '/compute/v2.1/servers/detail', undefined, { 'X-OpenStack-Nova-API-Version': '2.47' })).body.servers[0];
      assert.equal(typeof s.flavor.original_name, 'string');
      const tooNew = await call('GET', '/compute/v2.1/servers', undefined, { 'OpenStack-API-Version': 'compute 2.99' });
      assert.equal(tooNew.status, 406);
      const flavor = await call('GET', '/compute/v2.1/flavors/2');
      assert.equal(flavor.body.flavor.name, 'lab.medium');
      assert.equal((await call('GET', '/compute/v2.1/flavors/99')).status, 404);
    });

    it('goes to ERROR when a build fault matches, and answers 503 under an error-rate fault', async () => {
      lab.world.faults.vmBuildErrors = ['local-k8s-worker-8'];
      try {
        const r = await createServer('local-k8s-worker-8');
        await waitFor('ERROR', async () => (await serverStatus(r.body.server.id)) === 'ERROR');
        assert.equal(lab.world.hosts.has('local-k8s-worker-8'), false);
        await call('DELETE', `/compute/v2.1/servers/${r.body.server.id}`);
      } finally {
        lab.world.faults = {};
      }
      lab.world.faults.openstackErrorRate = 1;
      try {
        const r = await call('GET', '/compute/v2.1/servers');
        assert.equal(r.status, 503);
        assert.ok(r.body.serviceUnavailable.message);
        assert.ok(r.headers.get('x-compute-request-id'));
      } finally {
        lab.world.faults = {};
      }
      assert.equal((await call('GET', '/compute/v2.1/servers')).status, 200);
    });
  });

  describe('Glance and Neutron', () => {
    it('lists images with a name filter and 404s in text', async () => {
      const r = await call('GET', '/image/v2/images?name=debian-12-bookworm');
      assert.equal(r.body.images.length, 1);
      assert.equal(r.body.images[0].status, 'active');
      const missing = await call('GET', '/image/v2/images/nope');
      assert.equal(missing.status, 404);
      assert.match(missing.text, /^404 Not Found/);
    });

    it('lists networks, security groups and the port of a server', async () => {
      const nets = await call('GET', '/network/v2.0/networks?name=lab-net');
      assert.equal(nets.body.networks.length, 1);
      const sgs = await call('GET', '/network/v2.0/security-groups?name=k8s-full-connectivity');
      assert.equal(sgs.body.security_groups.length, 1);
      const s = [...lab.openstack.cloud.servers.values()].find((x) => x.name === 'local-k8s-control-1')!;
      const ports = await call('GET', `/network/v2.0/ports?device_id=${s.id}`);
      assert.equal(ports.body.ports.length, 1);
      assert.equal(ports.body.ports[0].fixed_ips[0].ip_address, lab.world.hosts.get(s.name)!.address);
      const missing = await call('GET', '/network/v2.0/networks/nope');
      assert.equal(missing.status, 404);
      assert.equal(missing.body.NeutronError.type, 'NetworkNotFound');
    });
  });
});

function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { timeout: 20000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 255) : 0;
      resolve({ code, stdout, stderr });
    });
    child.stdin?.end();
  });
}

