import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, existsSync, writeFileSync } from 'node:fs';
import { refused } from '../../helpers/net.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadClusterFile } from '../../../lib/inventory/load.js';
import { type LabIO, ensureLab, findLab, findLabInventoryDir, labMain, labPorts, pidAlive } from '../../../lab/cli.js';
import { LabClient } from '../../../lab/client.js';
import { type LabInfo, readLabInfo } from '../../../lab/state.js';

function capture(): LabIO & { out: string; err: string } {
  const io = {
    out: '',
    err: '',
    stdout(t: string) {
      io.out += t;
    },
    stderr(t: string) {
      io.err += t;
    },
  };
  return io;
}

async function lab(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = capture();
  const code = await labMain(args, io);
  return { code, out: io.out, err: io.err };
}

async function assertGone(info: LabInfo): Promise<void> {
  assert.equal(pidAlive(info.pid), false, `lab pid ${info.pid} still alive`);
  for (const p of labPorts(info)) assert.equal(await refused(p.address, p.port), true, `${p.address}:${p.port} still accepts connections`);
}

describe('lab lifecycle (cookbook lab up|status|down, detached daemon)', function () {
  this.timeout(120000);
  let xdg: string;
  const savedXdg = process.env.XDG_STATE_HOME;
  const started: LabInfo[] = [];

  before(() => {
    // Labs in "the default location" of this test: a private XDG state dir.
    xdg = mkdtempSync(join(tmpdir(), 'lab-xdg-'));
    process.env.XDG_STATE_HOME = xdg;
  });

  after(async () => {
    // Whatever a failed test left running is stopped by its pid.
    for (const info of started) {
      if (pidAlive(info.pid)) {
        process.kill(info.pid, 'SIGTERM');
        const end = Date.now() + 5000;
        while (pidAlive(info.pid) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
        if (pidAlive(info.pid)) process.kill(info.pid, 'SIGKILL');
      }
    }
    if (savedXdg === undefined) delete process.env.XDG_STATE_HOME;
    else process.env.XDG_STATE_HOME = savedXdg;
    rmSync(xdg, { recursive: true, force: true });
  });

  it('up starts a detached lab in the default location, writes the state files, and is idempotent', async () => {
    const t0 = Date.now();
    const up = await lab(['up', '--cluster-name', 'lifecycle', '--speed', '20', '--fault', 'openstackErrorRate=0.01']);
    const upMs = Date.now() - t0;
    assert.equal(up.code, 0, up.err);
    assert.match(up.out, /^lab lifecycle is up \(pid \d+, speed 20\)/);
    assert.equal(up.out.includes('adminToken'), false);
    const dir = join(xdg, 'cluster-cookbooks', 'labs', 'lifecycle');
    const info = readLabInfo(dir)!;
    started.push(info);
    assert.ok(info, 'lab.json written');
    assert.notEqual(info.pid, process.pid);
    assert.equal(info.hosts.length, 14, '13 nodes and etcd members, and one load balancer (lab up --loadbalancers 1)');
    assert.ok(upMs < 30000, `lab up took ${upMs} ms`);

    assert.equal(statSync(dir).mode & 0o777, 0o700);
    for (const f of ['lab.json', 'kubeconfig', 'clouds.yaml', 'id_ed25519']) assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600, f);
    const known = readFileSync(join(dir, 'known_hosts'), 'utf8').trim().split('\n');
    assert.equal(known.length, 14);
    assert.match(known[0]!, /^\[127\.\d+\.\d+\.\d+\]:\d+ ssh-ed25519 AAAA[A-Za-z0-9+/=]+$/);
    const cluster = loadClusterFile(join(dir, 'inventory.yaml'));
    assert.equal(cluster.name, 'lifecycle');
    assert.equal(cluster.prefix, 'lifecycle-k8s');
    assert.equal(cluster.ssh.port, info.ssh.port);
    assert.equal(cluster.ssh.addresses, 'openstack');
    assert.equal(cluster.openstack.cloudsFile, join(dir, 'clouds.yaml'));
    // The API through the load balancer's HAProxy (lab/haproxy), when Debian's haproxy is installed.
    const lb = info.hosts.find((h) => h.role === 'loadbalancer')!;
    assert.equal(cluster.kubernetes.apiServer, info.haproxy && 'port' in info.haproxy ? `https://${lb.address}:${info.haproxy.port}` : info.endpoints.kubernetes);
    assert.equal(cluster.lab?.stateDir, dir);
    assert.match(readFileSync(join(dir, 'clouds.yaml'), 'utf8'), /lifecycle:\n\s+auth:\n\s+auth_url: http:\/\/127\.0\.0\.1:\d+\/identity\/v3/);
    assert.match(readFileSync(join(dir, 'kubeconfig'), 'utf8'), /current-context: lifecycle/);

    assert.deepEqual(await findLab('lifecycle'), info);
    const again = await lab(['up', '--cluster-name', 'lifecycle']);
    assert.equal(again.code, 0);
    assert.match(again.out, /already running/);
    assert.equal(readLabInfo(dir)!.pid, info.pid);
    assert.equal((await ensureLab({ clusterName: 'lifecycle' })).pid, info.pid);
  });

  it('status --json prints one object with counters; --reset-counters starts a new measurement', async () => {
    const client = LabClient.forCluster('lifecycle');
    const r = await client.ssh('lifecycle-k8s-worker-1', 'hostname && touch /var/run/reboot-required');
    assert.equal(r.stdout, 'lifecycle-k8s-worker-1\n');
    const status = await lab(['status', '--cluster-name', 'lifecycle', '--json']);
    assert.equal(status.code, 0, status.err);
    const obj = JSON.parse(status.out) as { running: boolean; counters: { ssh_mutations: number; requests: { ssh: number } }; hosts: unknown[]; faults: Record<string, unknown> };
    assert.equal(status.out.trim().split('\n').length, 1);
    assert.equal(obj.running, true);
    assert.equal(obj.hosts.length, 14);
    assert.ok(obj.counters.requests.ssh >= 1);
    assert.equal(obj.counters.ssh_mutations, 1);
    assert.deepEqual(obj.faults, { openstackErrorRate: 0.01 });
    assert.equal(status.out.includes(LabClient.forCluster('lifecycle').info.adminToken), false);
    const human = await lab(['status', '--cluster-name', 'lifecycle', '--reset-counters']);
    assert.equal(human.code, 0);
    assert.match(human.out, /lifecycle-k8s-worker-1\s+worker\s+127\.\S+\s+up\s+joined v1\.29\.4\s+reboot required/);
    assert.match(human.out, /ssh_mutations 1/);
    const after = await client.counters();
    assert.equal(after.ssh_mutations, 0);
    assert.equal(after.requests.ssh, 0);
  });

  it('the client drives faults and host hooks', async () => {
    const client = LabClient.forCluster('lifecycle');
    assert.deepEqual(await client.patchFaults({ hostsNeverReturn: ['x'], openstackErrorRate: null }), { hostsNeverReturn: ['x'] });
    assert.deepEqual(await client.setFaults({}), {});
    const before = await client.host('lifecycle-k8s-worker-2');
    assert.equal(before.rebootRequired, false);
    const rr = await client.rebootRequired('lifecycle-k8s-worker-2');
    assert.equal(rr.rebootRequired, true);
    assert.deepEqual(rr.kernel.installed, ['6.1.0-25-amd64', '6.1.0-28-amd64']);
    const exec = await client.exec('lifecycle-k8s-worker-2', 'cat /var/run/reboot-required; uname -r');
    assert.equal(exec.stdout, '*** System restart required ***\n6.1.0-25-amd64\n');
    await client.reboot('lifecycle-k8s-worker-2');
    await client.waitForHost('lifecycle-k8s-worker-2', 'up');
    const after = await client.host('lifecycle-k8s-worker-2');
    assert.notEqual(after.bootId, before.bootId);
    assert.equal(after.kernel.running, '6.1.0-28-amd64');
    assert.equal(after.rebootRequired, false);
    await assert.rejects(client.host('nope'), /404 no lab host named nope/);
  });

  it('status without --cluster-name lists every running lab; findLabInventoryDir finds one by name', async () => {
    const up = await lab(['up', '--cluster-name', 'second', '--speed', '20', '--control', '1', '--workers', '1', '--workers-nfs', '0', '--ingress', '0', '--etcd', '0']);
    assert.equal(up.code, 0, up.err);
    const dir = join(xdg, 'cluster-cookbooks', 'labs', 'second');
    started.push(readLabInfo(dir)!);
    const human = await lab(['status']);
    assert.equal(human.code, 0, human.err);
    assert.match(human.out, /^2 labs running/);
    for (const name of ['lifecycle', 'second']) {
      const info = readLabInfo(join(xdg, 'cluster-cookbooks', 'labs', name))!;
      assert.match(human.out, new RegExp(`^  ${name}\\s+${info.pid}\\s+20\\s+${info.hosts.length}\\s+\\S+\\s+${join(xdg, 'cluster-cookbooks', 'labs', name)}$`, 'm'));
    }
    const json = await lab(['status', '--json']);
    const listed = JSON.parse(json.out) as { running: boolean; labs: { clusterName: string; adminToken?: string }[] };
    assert.deepEqual(listed.labs.map((l) => l.clusterName), ['lifecycle', 'second']);
    assert.ok(listed.labs.every((l) => l.adminToken === undefined), 'no admin token in the listing');
    // Counters belong to one lab: with two running, the lab must be named.
    assert.equal((await lab(['status', '--reset-counters'])).code, 2);

    // What `--cluster-name second` without --inventory resolves to: the lab's own state dir with its inventory.
    assert.equal(findLabInventoryDir('second'), dir);
    assert.equal(loadClusterFile(join(findLabInventoryDir('second')!, 'inventory.yaml')).name, 'second');
    assert.equal(findLabInventoryDir('nosuchlab'), undefined);
    assert.equal(findLabInventoryDir('../labs/second'), undefined);
  });

  it('down waits for a daemon that already removed its lab.json (stopping), found by its daemon.pid', async () => {
    const dir = join(xdg, 'cluster-cookbooks', 'labs', 'second');
    const info = readLabInfo(dir)!;
    assert.equal(readFileSync(join(dir, 'daemon.pid'), 'utf8').trim(), String(info.pid));
    // A stale daemon.pid elsewhere that names this lab's pid must not stop this lab.
    const stale = mkdtempSync(join(tmpdir(), 'lab-stale-'));
    try {
      writeFileSync(join(stale, 'daemon.pid'), `${info.pid}\n`);
      const other = await lab(['down', '--state-dir', stale]);
      assert.equal(other.code, 0, other.err);
      assert.match(other.out, /no lab local was running/);
      assert.equal(pidAlive(info.pid), true, 'the lab of another state dir still runs');
    } finally {
      rmSync(stale, { recursive: true, force: true });
    }
    // The window in which the daemon is on its way out: lab.json is gone, the process is not.
    rmSync(join(dir, 'lab.json'));
    const down = await lab(['down', '--cluster-name', 'second']);
    assert.equal(down.code, 0, down.err);
    assert.match(down.out, new RegExp(`lab second stopped \\(pid ${info.pid} exited\\)`));
    assert.throws(() => process.kill(info.pid, 0), { code: 'ESRCH' }, `pid ${info.pid} is gone when down returns`);
    assert.equal(existsSync(dir), false);
    assert.equal(findLabInventoryDir('second'), undefined);
  });

  it('down stops the process by pid, leaves no listening port and removes the state dir', async () => {
    const dir = join(xdg, 'cluster-cookbooks', 'labs', 'lifecycle');
    const info = readLabInfo(dir)!;
    const down = await lab(['down', '--cluster-name', 'lifecycle']);
    // Right when down returns, not after a grace period: the process no longer exists.
    assert.throws(() => process.kill(info.pid, 0), { code: 'ESRCH' }, `pid ${info.pid} is gone when down returns`);
    assert.equal(down.code, 0, down.err);
    assert.match(down.out, /lab lifecycle stopped \(pid \d+ exited\)/);
    await assertGone(info);
    assert.equal(existsSync(dir), false);
    assert.equal(await findLab('lifecycle'), undefined);
    const again = await lab(['down', '--cluster-name', 'lifecycle']);
    assert.equal(again.code, 0);
    assert.match(again.out, /no lab lifecycle was running/);
    const status = await lab(['status', '--cluster-name', 'lifecycle']);
    assert.equal(status.code, 1);
    assert.match(status.err, /no lab lifecycle is running/);
    const json = await lab(['status', '--cluster-name', 'lifecycle', '--json']);
    assert.deepEqual(JSON.parse(json.out).running, false);
  });

  it('ensureLab starts a lab in an explicit state dir; the admin shutdown ends it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lab-ensure-'));
    try {
      const notes: string[] = [];
      const info = await ensureLab({ clusterName: 'ensure', stateDir: dir, onStart: (m) => notes.push(m), options: { speed: 20, control: 1, workers: 1, workersNfs: 0, ingress: 1, etcd: 0 } });
      started.push(info);
      assert.equal(notes.length, 1);
      assert.equal(info.hosts.length, 3);
      assert.equal(info.stateDir, dir);
      assert.equal((await ensureLab({ clusterName: 'ensure', stateDir: dir })).pid, info.pid);
      await new LabClient(info).shutdown();
      const end = Date.now() + 10000;
      while (pidAlive(info.pid) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      await assertGone(info);
      assert.equal(existsSync(join(dir, 'lab.json')), false, 'the daemon removes lab.json when it stops');
      assert.equal(await findLab('ensure', dir), undefined);
      assert.equal((await lab(['down', '--cluster-name', 'ensure', '--state-dir', dir])).code, 0);
      assert.equal(existsSync(dir), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects bad usage with exit 2 and starts nothing', async () => {
    for (const args of [
      ['frobnicate'],
      [],
      ['up', '--speed', '0'],
      ['up', '--workers', '-1'],
      ['up', '--fault', 'nonsense=1'],
      ['up', '--fault', 'openstackErrorRate=2'],
      ['up', '--k8s-version', '1.12.0'],
      ['up', '--cluster-name', 'Bad_Name'],
      ['up', '--bogus'],
    ]) {
      const r = await lab(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    }
    assert.equal(existsSync(join(xdg, 'cluster-cookbooks', 'labs', 'local')), false);
    const help = await lab(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.out, /cookbook lab up/);
  });
});
