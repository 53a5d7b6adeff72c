// The lab's real etcd: hosts of role etcd run Debian's etcd on their own address, driven by the host's
// systemctl, reboots and VM deletion; the host's etcdctl is the real one; /readyz reports the real cluster's
// health; apiserver manifests and kubeadm-config list the members; nothing starts until etcd is used, and every
// process is gone after stop().
import { strict as assert } from 'node:assert';
import { request } from 'node:https';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ETCD_PACKAGES_HINT } from '../../../lab/etcd/cluster.js';
import { runCaptured } from '../../../lab/ssh/interpreter.js';
import { cleanupTempDirs, runCli, tempDir } from '../../helpers/cli.js';
import { type TestLab, startTestLab } from '../../helpers/lab.js';
import { kubectlJson, labRunner } from '../../helpers/lab-cli.js';
import { until as pollUntil } from '../k8s/helpers.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** GET /readyz of the lab's API: status and body. */
function readyz(lab: TestLab): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${lab.kube.url}/readyz`, { ca: lab.kube.caPem }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Polls every 50 ms, 15 s by default. */
const until = <T,>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, ms = 15_000): Promise<T> => pollUntil(what, probe, ms, 50);

describe('lab: real etcd behind hosts of role etcd', function () {
  this.timeout(120_000);
  let lab: TestLab;
  const host = (n: number) => lab.world.hosts.get(`le-k8s-etcd-${n}`)!;
  const sh = (n: number, cmd: string) => runCaptured(host(n), lab.world, cmd);
  before(async () => {
    lab = await startTestLab({ clusterName: 'le', control: 2, workers: 0, workersNfs: 0, ingress: 0, etcd: 3, speed: 60, seedWorkload: false });
  });
  after(async () => {
    await lab?.stop();
    cleanupTempDirs();
  });

  it('starts no etcd process until etcd is used, then runs one per member on its own address', async () => {
    assert.ok(lab.etcd, 'Debian etcd is installed (apt-get install etcd-server etcd-client)');
    assert.deepEqual(lab.etcd.pids(), {}, 'nothing started by startLab');
    assert.equal((await readyz(lab)).status, 200);
    const r = await sh(1, 'etcdctl -w json member list');
    assert.equal(r.code, 0, r.stderr);
    const members = (JSON.parse(r.stdout.replace(/(\d{16,})/g, '"$1"')) as { members: { name: string; clientURLs: string[] }[] }).members;
    assert.deepEqual(members.map((m) => m.name).sort(), ['le-k8s-etcd-1', 'le-k8s-etcd-2', 'le-k8s-etcd-3']);
    for (const m of members) assert.equal(new URL(m.clientURLs[0]!).hostname, lab.world.hosts.get(m.name)!.address, `${m.name} listens on its own address`);
    assert.equal(Object.keys(lab.etcd.pids()).length, 3);
  });

  it("etcdctl is the real one: its exit code and output, an unknown flag fails as etcdctl fails", async () => {
    const put = await sh(2, 'etcdctl put lab/k v && etcdctl get lab/k --print-value-only');
    assert.deepEqual([put.code, put.stdout], [0, 'OK\nv\n']);
    const bad = await sh(2, 'etcdctl get --no-such-flag');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /unknown flag: --no-such-flag/);
  });

  it('control hosts list the members in the apiserver manifest, and so does kubeadm-config', async () => {
    const urls = [1, 2, 3].map((n) => `http://${host(n).address}:${lab.etcd!.options.clientPort}`);
    const manifest = lab.world.hosts.get('le-k8s-control-1')!.files.get('/etc/kubernetes/manifests/kube-apiserver.yaml')!;
    assert.match(manifest, new RegExp(`--etcd-servers=${urls.join(',').replace(/[.]/g, '\\.')}`));
    const cm = await kubectlJson(lab, ['get', 'configmap', '-n', 'kube-system', 'kubeadm-config']);
    for (const u of urls) assert.ok(cm.data.ClusterConfiguration.includes(`- ${u}`), `kubeadm-config lists ${u}`);
  });

  it('systemctl stop kills the member; without quorum /readyz fails its etcd check; start brings it back', async () => {
    const pid = lab.etcd!.pids()['le-k8s-etcd-3']!;
    assert.equal((await sh(3, 'systemctl stop etcd')).code, 0);
    await until('the member process to exit', () => !alive(pid));
    assert.equal((await sh(3, 'systemctl is-active etcd')).stdout, 'inactive\n');
    assert.equal((await readyz(lab)).status, 200, 'two of three still make a quorum');
    await sh(2, 'systemctl stop etcd');
    const down = await until('/readyz to fail', async () => {
      const r = await readyz(lab);
      return r.status === 500 ? r : undefined;
    });
    assert.match(down.body, /\[-\]etcd failed/);
    await sh(2, 'systemctl start etcd');
    await sh(3, 'systemctl start etcd');
    await until('/readyz to pass again', async () => ((await readyz(lab)).status === 200 ? true : undefined));
    const health = await sh(1, `etcdctl --endpoints=${[1, 2, 3].map((n) => `http://${host(n).address}:${lab.etcd!.options.clientPort}`).join(',')} endpoint health`);
    assert.equal(health.code, 0, health.stderr);
  });

  it('a reboot restarts the member with a new process; a deleted VM takes its etcd with it', async () => {
    const before = lab.etcd!.pids()['le-k8s-etcd-1']!;
    lab.world.rebootHost('le-k8s-etcd-1');
    const after = await until('etcd to run again after the reboot', () => {
      const p = lab.etcd!.pids()['le-k8s-etcd-1'];
      return p !== undefined && p !== before ? p : undefined;
    });
    assert.ok(alive(after));
    assert.equal(alive(before), false);
    const pid3 = lab.etcd!.pids()['le-k8s-etcd-3']!;
    lab.world.removeHost('le-k8s-etcd-3');
    await until('the deleted VM’s etcd to exit', () => !alive(pid3));
  });

  it('without Debian etcd, etcdctl and the etcd cookbooks say what to install', async () => {
    const backend = lab.world.etcd;
    lab.world.etcd = undefined;
    lab.world.etcdUnavailable = `the lab runs real etcd for hosts of role etcd, but /usr/bin/etcd is missing: ${ETCD_PACKAGES_HINT}`;
    try {
      const r = await sh(1, 'etcdctl member list');
      assert.equal(r.code, 1);
      assert.match(r.stderr, /apt-get install -y --no-install-recommends etcd-server etcd-client/);
      const status = await labRunner(lab).run('etcd.status');
      assert.equal(status.code, 1);
      assert.match(status.stderr, /etcdctl: the lab runs real etcd .* apt-get install -y --no-install-recommends etcd-server etcd-client/);
    } finally {
      lab.world.etcd = backend;
      lab.world.etcdUnavailable = undefined;
    }
  });

  it('stop() stops every etcd process by PID', async () => {
    const pids = Object.values(lab.etcd!.pids());
    assert.ok(pids.length >= 2);
    await lab.stop();
    assert.deepEqual(pids.filter(alive), []);
  });
});

describe('lab up / lab down with real etcd', function () {
  this.timeout(60_000);
  after(cleanupTempDirs);

  it('lab up starts the members (the daemon does not wait for first use); lab down stops them and removes their data', async () => {
    const dir = join(tempDir('cc-etcd-up-'), 'lab');
    const state = tempDir('cc-xdg-');
    const up = await runCli(['lab', 'up', '--cluster-name', 'eup', '--state-dir', dir, '--speed', '60', '--workers', '1', '--workers-nfs', '0', '--ingress', '0', '--control', '1'], { env: { XDG_STATE_HOME: state } });
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stdout, /etcd {8}real etcd on each etcd host's address/);
    const members = (): number[] =>
      readdirSync('/proc')
        .filter((p) => /^\d+$/.test(p))
        .filter((p) => {
          try {
            return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(join(dir, 'etcd'));
          } catch {
            return false;
          }
        })
        .map(Number);
    assert.equal(members().length, 3, 'three etcd processes of this lab');
    const down = await runCli(['lab', 'down', '--cluster-name', 'eup', '--state-dir', dir], { env: { XDG_STATE_HOME: state } });
    assert.equal(down.code, 0, down.stderr);
    assert.deepEqual(members(), [], 'every etcd of the lab is gone');
    assert.equal(existsSync(dir), false, 'state dir (etcd data included) removed');
  });
});
