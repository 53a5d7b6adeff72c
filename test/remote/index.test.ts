// The SSH client (lib/remote/index.ts) against the lab's SSH hosts (lab/): commands and fan-out, a reboot
// confirmed by a new boot id, trust of a host key from the lab's OpenStack console log, and dry-run leaving the
// lab's mutation counter untouched. The lab is a different SSH server implementation (ssh2) from the sshd
// integration tests.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClientContext } from '../../lib/core/client.js';
import { systemClock } from '../../lib/core/clock.js';
import { Gate, isPlanned } from '../../lib/core/gate.js';
import { MemoryLog } from '../../lib/core/log.js';
import type { ClusterConfig } from '../../lib/inventory/schema.js';
import { HostKeyUnknownError, type Remote, RemoteCommandError, create } from '../../lib/remote/index.js';
import { type TestLab, startTestLab } from '../helpers/lab.js';

describe('remote against the lab SSH hosts', function () {
  this.timeout(60_000);
  let lab: TestLab;
  const clients: Remote[] = [];

  async function remoteFor(o: { dryRun?: boolean; knownHosts?: string } = {}): Promise<{ remote: Remote; gate: Gate }> {
    const cluster = {
      name: lab.info.clusterName,
      source: join(lab.stateDir, 'inventory.yaml'),
      ssh: { user: 'root', port: lab.info.ssh.port, sudo: false, addresses: 'dns', knownHosts: o.knownHosts ?? join(lab.stateDir, 'known_hosts'), identityFile: join(lab.stateDir, 'id_ed25519') },
    } as unknown as ClusterConfig;
    const gate = new Gate({ dryRun: o.dryRun ?? false });
    const ctx: ClientContext = { cluster, gate, log: new MemoryLog(), signal: new AbortController().signal, clock: systemClock, stateDir: lab.stateDir };
    const remote = await create(ctx, {
      resolveHost: async (name) => {
        const h = lab.world.hosts.get(name);
        if (!h) throw new Error(`no lab host ${name}`);
        return { address: h.address, port: h.port };
      },
      options: { agentSocket: null },
    });
    clients.push(remote);
    return { remote, gate };
  }

  const hostNames = (): string[] => [...lab.world.hosts.keys()].sort();

  before(async () => {
    lab = await startTestLab({ speed: 50, control: 1, workers: 2, workersNfs: 0, ingress: 0, etcd: 0, seedWorkload: false });
  });

  after(async () => {
    for (const c of clients) await c.close();
    await lab?.stop();
  });

  it('runs commands on every lab host and reports failures with the host', async () => {
    const { remote } = await remoteFor();
    const res = await remote.runOnHosts(hostNames(), ['hostname'], { readOnly: true });
    assert.equal(res.ok.length, hostNames().length);
    for (const r of res.results) assert.equal(r.stdout.trim(), r.host);
    const err = await remote.query(hostNames()[0]!, ['no-such-command']).catch((e: unknown) => e);
    assert.ok(err instanceof RemoteCommandError, String(err));
    assert.equal(err.status, 127);
  });

  it('reboots a lab host and confirms its new boot id', async () => {
    const { remote } = await remoteFor();
    const host = hostNames().find((h) => h.includes('worker'))!;
    const before = lab.counters().ssh_mutations;
    const req = await remote.reboot(host);
    assert.ok(!isPlanned(req));
    assert.ok(lab.counters().ssh_mutations > before);
    const done = await remote.waitRebootSince(host, req.previousBootId, { timeoutMs: 20_000 });
    assert.notEqual(done.bootId, req.previousBootId);
    assert.equal(done.bootId, lab.world.hosts.get(host)!.bootId);
  });

  it('trusts a lab VM host key from its OpenStack console log only', async () => {
    const host = hostNames().at(-1)!;
    const rec = lab.world.hosts.get(host)!;
    const knownHosts = join(lab.stateDir, 'known_hosts.partial');
    writeFileSync(knownHosts, readFileSync(join(lab.stateDir, 'known_hosts'), 'utf8').split('\n').filter((l) => !l.startsWith(`[${rec.address}]:`)).join('\n'));
    const { remote } = await remoteFor({ knownHosts });
    await assert.rejects(remote.query(host, ['true']), HostKeyUnknownError);
    const consoleLog = lab.openstack.cloud.console(rec.serverId!);
    const trusted = await remote.trustFromConsoleLog(host, consoleLog);
    assert.equal(trusted.fingerprint, rec.hostKey.fingerprintSha256);
    assert.equal((await remote.query(host, ['hostname'])).stdout.trim(), host);
    assert.match(readFileSync(knownHosts, 'utf8'), new RegExp(rec.hostKey.publicBase64.replace(/[+/]/g, '\\$&')));
  });

  it('sends no mutation to the lab in dry-run', async () => {
    const { remote, gate } = await remoteFor({ dryRun: true });
    const hosts = hostNames();
    const before = lab.counters().ssh_mutations;
    assert.ok(isPlanned(await remote.run(hosts[0]!, ['systemctl', 'restart', 'kubelet'])));
    assert.deepEqual((await remote.runOnHosts(hosts, ['apt-get', 'install', '-y', 'jq'])).planned, hosts);
    assert.ok(isPlanned(await remote.runWithSecretFile(hosts[0]!, 'lab-dry-run-secret', (p) => ['kubeadm', 'join', '--config', p])));
    assert.ok(isPlanned(await remote.upload(hosts[0]!, '/etc/planned.conf', 'x')));
    assert.ok(isPlanned(await remote.reboot(hosts[0]!)));
    assert.equal(lab.counters().ssh_mutations, before, 'the lab saw no mutation');
    assert.equal((await remote.query(hosts[0]!, ['hostname'])).stdout.trim(), hosts[0], 'reads still run');
    assert.ok(gate.changes.every((c) => c.planned));
  });
});
