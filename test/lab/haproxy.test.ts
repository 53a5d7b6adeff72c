// Real HAProxy in the lab: hosts of role loadbalancer run Debian's haproxy on their own address in front of the
// control nodes' own API endpoints, configured from the host's /etc/haproxy/haproxy.cfg; its /readyz checks,
// the admin socket through socat over real SSH, systemctl's real reload (admin states kept), stop by PID, and
// no process left once the lab is gone (also when the lab daemon is SIGKILLed).
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { parse } from 'yaml';
import { HAPROXY_PACKAGES_HINT, haproxyMissing } from '../../lab/haproxy/index.js';
import { loadClusterFile } from '../../lib/inventory/load.js';
import { pidAlive, readDaemonPid } from '../../lab/running.js';
import { runCaptured } from '../../lab/ssh/interpreter.js';
import { cleanupTempDirs, runCli, tempDir } from '../helpers/cli.js';
import { type TestLab, startTestLab } from '../helpers/lab.js';
import { refused } from '../helpers/net.js';
import { until as pollUntil } from './k8s/helpers.js';

/** Polls every 50 ms, 15 s by default. */
const until = <T,>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, ms = 15_000): Promise<T> => pollUntil(what, probe, ms, 50);

/** GET a path of an API endpoint with the lab's CA and token, on a new connection: status and body. */
function get(url: string, lab: TestLab, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { ca: lab.kube.caPem, headers: { authorization: `Bearer ${lab.kube.token}` }, timeout: 3000, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** The real OpenSSH client on a lab host as root, with the lab's key and known_hosts. */
function ssh(lab: TestLab, address: string, command: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const args = ['-i', join(lab.stateDir, 'id_ed25519'), '-o', `UserKnownHostsFile=${join(lab.stateDir, 'known_hosts')}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-p', String(lab.info.ssh.port), `root@${address}`, command];
  return new Promise((resolve) => {
    execFile('ssh', args, { timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err ? (err as { code?: unknown }).code : 0;
      resolve({ code: typeof code === 'number' ? code : 255, stdout, stderr });
    });
  });
}

/** Sets a node's Ready condition as the node lifecycle controller would (the lab's kubelet leaves it alone). */
function setNodeReady(lab: TestLab, name: string, status: 'True' | 'Unknown'): void {
  lab.kube.api.mutate(lab.kube.api.res('', 'nodes'), undefined, name, (o) => {
    const ready = (o.status as { conditions: { type: string; status: string }[] }).conditions.find((c) => c.type === 'Ready')!;
    ready.status = status;
  });
}

/** `show stat` rows of the lab's first LB: server name -> status (UP, DOWN, DRAIN, ...), total sessions, last check. */
function parseStat(csv: string): Map<string, { status: string; stot: number; check: string; code: string }> {
  const lines = csv.trim().split('\n');
  const header = lines[0]!.replace(/^# /, '').split(',');
  const col = (n: string): number => header.indexOf(n);
  const out = new Map<string, { status: string; stot: number; check: string; code: string }>();
  for (const l of lines.slice(1)) {
    const f = l.split(',');
    if (f[col('pxname')] === 'k8s-api') out.set(f[col('svname')]!, { status: f[col('status')]!, stot: Number(f[col('stot')]), check: f[col('check_status')]!, code: f[col('check_code')]! });
  }
  return out;
}

describe('lab: real HAProxy on load balancer hosts', function () {
  this.timeout(90_000);
  let lab: TestLab;
  const lb = () => lab.world.hosts.get('lh-k8s-lb-1')!;
  const sh = (cmd: string) => runCaptured(lb(), lab.world, cmd);
  const stat = async () => {
    const r = await sh('echo "show stat" | socat stdio /run/haproxy/admin.sock');
    assert.equal(r.code, 0, r.stderr);
    return parseStat(r.stdout);
  };
  const pidOf = () => lab.loadBalancers.haproxy!.pids()['lh-k8s-lb-1']![0]!;

  before(async function () {
    const missing = haproxyMissing();
    if (missing) throw new Error(`${missing} (${HAPROXY_PACKAGES_HINT})`);
    lab = await startTestLab({ clusterName: 'lh', control: 2, workers: 0, workersNfs: 0, ingress: 0, etcd: 0, loadbalancer: 1, speed: 60, seedWorkload: false });
  });
  after(async () => {
    await lab?.stop();
    cleanupTempDirs();
  });

  it('a request through the load balancer reaches the API; kubeconfig, inventory and lab.json point at it', async () => {
    const port = lab.loadBalancers.port;
    const url = `https://${lb().address}:${port}`;
    const kubeconfig = parse(readFileSync(lab.kubeconfig, 'utf8')) as { clusters: { cluster: { server: string } }[] };
    assert.equal(kubeconfig.clusters[0]!.cluster.server, url);
    const inventory = loadClusterFile(join(lab.stateDir, 'inventory.yaml'));
    assert.equal(inventory.kubernetes.apiServer, url);
    assert.equal(inventory.kubernetes.apiserverPort, port, "each control node's own API port");
    assert.equal(inventory.kubernetes.loadBalancers!.management, 'haproxy-config');
    assert.equal(inventory.roles.loadbalancer!.node, 'none');
    const labJson = JSON.parse(readFileSync(join(lab.stateDir, 'lab.json'), 'utf8')) as { haproxy: { port: number; pids: Record<string, number[]> } };
    assert.deepEqual(labJson.haproxy, { port, pids: { 'lh-k8s-lb-1': [pidOf()] } });
    assert.match(readFileSync(`/proc/${pidOf()}/cmdline`, 'utf8'), /^\/usr\/sbin\/haproxy\0/, 'the PID is haproxy itself');
    const cfg = lb().files.get('/etc/haproxy/haproxy.cfg')!;
    for (const n of [1, 2]) {
      const h = lab.world.hosts.get(`lh-k8s-control-${n}`)!;
      assert.ok(cfg.includes(`    server lh-k8s-control-${n} ${h.address}:${port}\n`), `the managed block lists control-${n}`);
    }
    const up = await until('both backends UP', async () => ((s) => ([...s.values()].filter((x) => x.status === 'UP').length === 3 ? s : undefined))(await stat()));
    const before = up.get('BACKEND')!.stot;
    const nodes = await lab.client().listNodes();
    assert.deepEqual(nodes.map((n) => n.metadata!.name).sort(), ['lh-k8s-control-1', 'lh-k8s-control-2']);
    const version = await get(url, lab, '/version');
    assert.equal(version.status, 200);
    assert.match(version.body, /"gitVersion": ?"v1\.29\.4"/);
    const after = (await stat()).get('BACKEND')!.stot;
    // At least the /version request's own connection went through HAProxy (the client may keep its one alive).
    assert.ok(after >= before + 2, `HAProxy counted the sessions (backend stot ${before} → ${after})`);
  });

  it('a backend whose /readyz fails goes DOWN within 2 s, and UP again once it passes', async () => {
    const control = lab.world.hosts.get('lh-k8s-control-2')!;
    const own = `https://${control.address}:${lab.loadBalancers.port}`;
    assert.equal((await get(own, lab, '/readyz')).status, 200);
    // A NotReady node's apiserver still accepts connections (a TCP check would pass) but fails /readyz.
    setNodeReady(lab, 'lh-k8s-control-2', 'Unknown');
    try {
      await until("control-2's /readyz to fail", async () => ((await get(own, lab, '/readyz')).status === 500 ? true : undefined));
      const failedAt = Date.now();
      const down = await until('HAProxy to mark control-2 DOWN', async () => ((s) => (s?.status.startsWith('DOWN') ? s : undefined))((await stat()).get('lh-k8s-control-2')), 8000);
      const took = Date.now() - failedAt;
      // inter 500ms, fall 2: two failed checks; the margin is for a loaded machine.
      assert.ok(took < 2500, `DOWN after ${took} ms`);
      assert.deepEqual([down.check, down.code], ['L7STS', '500'], 'HAProxy saw /readyz answer 500, not a refused connection');
      assert.equal((await stat()).get('lh-k8s-control-1')!.status, 'UP');
      for (let i = 0; i < 4; i++) assert.equal((await get(`https://${lb().address}:${lab.loadBalancers.port}`, lab, '/readyz')).status, 200, 'every new connection goes to control-1');
    } finally {
      setNodeReady(lab, 'lh-k8s-control-2', 'True');
    }
    await until('control-2 UP again', async () => ((await stat()).get('lh-k8s-control-2')?.status === 'UP' ? true : undefined));
  });

  it('drain set through socat over real SSH survives `systemctl reload haproxy` (a new process takes over)', async () => {
    const set = await ssh(lab, lb().address, 'echo "set server k8s-api/lh-k8s-control-1 state drain" | socat stdio /run/haproxy/admin.sock');
    assert.equal(set.code, 0, set.stderr);
    assert.equal((await stat()).get('lh-k8s-control-1')!.status, 'DRAIN');
    const old = pidOf();
    const reload = await ssh(lab, lb().address, 'systemctl reload haproxy && systemctl is-active haproxy');
    assert.deepEqual([reload.code, reload.stdout], [0, 'active\n'], reload.stderr);
    assert.notEqual(pidOf(), old, 'a real reload starts a new process');
    const info = await sh('echo "show info" | socat stdio /run/haproxy/admin.sock');
    assert.match(info.stdout, new RegExp(`^Pid: ${pidOf()}$`, 'm'), 'the admin socket is the new process');
    // The old one finishes the sessions it holds (our client's kept-alive connection), then exits.
    assert.ok(!pidAlive(old) || lab.loadBalancers.haproxy!.pids()['lh-k8s-lb-1']!.includes(old));
    const after = await stat();
    assert.equal(after.get('lh-k8s-control-1')!.status, 'DRAIN', 'drain kept across the reload');
    assert.equal(after.get('lh-k8s-control-2')!.status, 'UP');
    const ready = await ssh(lab, lb().address, 'echo "set server k8s-api/lh-k8s-control-1 state ready" | socat - UNIX-CONNECT:/run/haproxy/admin.sock');
    assert.equal(ready.code, 0, ready.stderr);
    assert.equal((await stat()).get('lh-k8s-control-1')!.status, 'UP');
  });

  it('a broken config fails `haproxy -c` and the reload; the running process stays', async () => {
    const good = lb().files.get('/etc/haproxy/haproxy.cfg')!;
    const pid = pidOf();
    try {
      const r = await sh('echo "    no-such-keyword" >> /etc/haproxy/haproxy.cfg; haproxy -c -f /etc/haproxy/haproxy.cfg');
      assert.equal(r.code, 1);
      assert.match(r.stderr, /parsing \[\/etc\/haproxy\/haproxy\.cfg:\d+\] : unknown keyword 'no-such-keyword'/);
      assert.ok(!r.stderr.includes(lab.stateDir), 'messages name the host path only');
      const reload = await sh('systemctl reload haproxy');
      assert.equal(reload.code, 1);
      assert.match(reload.stderr, /^Job for haproxy\.service failed because the control process exited with error code\./);
      assert.equal(pidOf(), pid);
      assert.ok(pidAlive(pid));
    } finally {
      lb().files.set('/etc/haproxy/haproxy.cfg', good);
    }
    assert.equal((await sh('haproxy -c -f /etc/haproxy/haproxy.cfg')).code, 0);
  });

  it('systemctl stop kills the process by PID and closes the port; start runs a new one', async () => {
    const pid = pidOf();
    assert.equal((await sh('systemctl stop haproxy')).code, 0);
    assert.equal(pidAlive(pid), false, 'stopped by the time systemctl returns');
    assert.equal((await sh('systemctl is-active haproxy')).stdout, 'inactive\n');
    assert.ok(await refused(lb().address, lab.loadBalancers.port));
    const socat = await sh('echo "show info" | socat stdio /run/haproxy/admin.sock');
    assert.equal(socat.code, 1);
    assert.equal((await sh('systemctl start haproxy')).code, 0);
    assert.ok(pidAlive(pidOf()) && pidOf() !== pid);
    assert.equal((await sh('systemctl is-active haproxy')).stdout, 'active\n');
    assert.match((await sh('systemctl status haproxy')).stdout, new RegExp(`^ {3}Main PID: ${pidOf()} \\(haproxy\\)$`, 'm'));
  });

  it('a reboot of the load balancer kills its haproxy and starts a new one once the host is up, drain kept', async () => {
    const pid = pidOf();
    assert.equal((await sh('echo "set server k8s-api/lh-k8s-control-2 state drain" | socat stdio /run/haproxy/admin.sock')).code, 0);
    lab.world.rebootHost('lh-k8s-lb-1');
    assert.equal(lb().state, 'rebooting');
    const next = await until('haproxy to run again after the reboot', () => {
      const p = lab.loadBalancers.haproxy!.pids()['lh-k8s-lb-1']?.[0];
      return p !== undefined && p !== pid ? p : undefined;
    });
    assert.equal(pidAlive(pid), false);
    assert.ok(pidAlive(next));
    assert.equal((await sh('systemctl is-active haproxy')).stdout, 'active\n');
    // The unit saved the servers' state when the host shut down; the new process loaded it.
    assert.equal((await stat()).get('lh-k8s-control-2')!.status, 'DRAIN');
    await sh('echo "set server k8s-api/lh-k8s-control-2 state ready" | socat stdio /run/haproxy/admin.sock');
    await until('both backends UP', async () => ([...(await stat()).values()].filter((x) => x.status === 'UP').length === 3 ? true : undefined));
  });

  it('no haproxy is left once the lab stops', async () => {
    const pids = Object.values(lab.loadBalancers.haproxy!.pids()).flat();
    assert.ok(pids.length > 0);
    await lab.stop();
    assert.deepEqual(pids.filter(pidAlive), []);
  });

  it('a SIGKILLed lab daemon takes its haproxy along; lab down then cleans up', async () => {
    const dir = join(tempDir('cc-lb-kill-'), 'lab');
    const env = { XDG_STATE_HOME: tempDir('cc-xdg-') };
    const up = await runCli(['lab', 'up', '--json', '--cluster-name', 'lbkill', '--state-dir', dir, '--speed', '60', '--control', '1', '--workers', '1', '--workers-nfs', '0', '--ingress', '0', '--etcd', '0', '--loadbalancers', '1'], { env });
    assert.equal(up.code, 0, up.stderr);
    const pids = Object.values((JSON.parse(up.stdout) as { haproxy: { pids: Record<string, number[]> } }).haproxy.pids).flat();
    assert.equal(pids.length, 1);
    assert.ok(pidAlive(pids[0]!));
    const daemon = readDaemonPid(dir)!;
    process.kill(daemon, 'SIGKILL');
    await until('haproxy to die with the lab daemon', () => pids.every((p) => !pidAlive(p)), 10_000);
    const down = await runCli(['lab', 'down', '--cluster-name', 'lbkill', '--state-dir', dir], { env });
    assert.equal(down.code, 0, down.stderr);
  });
});

describe('lab: load balancers without Debian haproxy', function () {
  this.timeout(60_000);
  let lab: TestLab;
  before(async () => {
    lab = await startTestLab({ clusterName: 'ln', control: 2, workers: 0, workersNfs: 0, ingress: 0, etcd: 0, loadbalancer: 1, speed: 60, seedWorkload: false, haproxyBin: '/nonexistent/sbin/haproxy' });
  });
  after(async () => {
    await lab?.stop();
    cleanupTempDirs();
  });

  it('lab.json says what to install, the kubeconfig points at the first control node, and socat says why it cannot connect', async () => {
    const info = JSON.parse(readFileSync(join(lab.stateDir, 'lab.json'), 'utf8')) as { haproxy: { unavailable: string } };
    assert.match(info.haproxy.unavailable, /\/nonexistent\/sbin\/haproxy is missing: install Debian haproxy: apt-get install -y --no-install-recommends haproxy/);
    const control = lab.world.hosts.get('ln-k8s-control-1')!;
    const kubeconfig = parse(readFileSync(lab.kubeconfig, 'utf8')) as { clusters: { cluster: { server: string } }[] };
    assert.equal(kubeconfig.clusters[0]!.cluster.server, `https://${control.address}:${lab.world.apiserverPort}`);
    assert.equal((await lab.client().listNodes()).length, 2, 'the API answers on that endpoint');
    const lb = lab.world.hosts.get('ln-k8s-lb-1')!;
    assert.ok(lb.files.get('/etc/haproxy/haproxy.cfg')!.includes(`server ln-k8s-control-1 ${control.address}:`), 'the host is provisioned all the same');
    const r = await runCaptured(lb, lab.world, 'echo "show stat" | socat stdio /run/haproxy/admin.sock');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /apt-get install -y --no-install-recommends haproxy/);
  });
});
