import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LabHandle, startLab } from '../../../lab/index.js';
import { parseConsoleHostKeysForTest } from './util.js';

/** Runs the real openstack CLI against the lab's clouds.yaml. */
function openstack(dir: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'openstack',
      ['--os-cloud', 'local', ...args],
      { timeout: 60000, env: { ...process.env, OS_CLIENT_CONFIG_FILE: join(dir, 'clouds.yaml'), HOME: dir } },
      (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr }),
    );
  });
}

describe('lab OpenStack API (real openstack CLI)', function () {
  this.timeout(120000);
  let lab: LabHandle;
  let dir: string;

  before(async function () {
    try {
      execFileSync('openstack', ['--version'], { stdio: 'ignore' });
    } catch {
      throw new Error('the openstack CLI is missing: run scripts/setup-packages.sh (apt-get install -y python3-openstackclient)');
    }
    dir = mkdtempSync(join(tmpdir(), 'lab-oscli-'));
    lab = await startLab({ stateDir: dir, speed: 50, control: 3, workers: 2, workersNfs: 1, ingress: 1, etcd: 3, seedWorkload: false });
  });

  after(async () => {
    await lab?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('server list -f json shows the whole lab cluster', async () => {
    const r = await openstack(dir, ['server', 'list', '-f', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const servers = JSON.parse(r.stdout) as { Name: string; Status: string; Networks: Record<string, string[]>; Image: string; Flavor: string }[];
    assert.deepEqual(servers.map((s) => s.Name).sort(), [...lab.world.hosts.keys()].sort());
    assert.equal(servers.length, 10);
    for (const s of servers) {
      assert.equal(s.Status, 'ACTIVE');
      assert.deepEqual(s.Networks, { 'lab-net': [lab.world.hosts.get(s.Name)!.address] });
      assert.equal(s.Image, 'debian-12-bookworm');
    }
    assert.equal(servers.find((s) => s.Name === 'local-k8s-worker-1')!.Flavor, 'lab.medium');
  });

  it('server show NAME finds a server by name', async () => {
    const r = await openstack(dir, ['server', 'show', 'local-k8s-control-2', '-f', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout) as { name: string; status: string; id: string; security_groups: { name: string }[] };
    assert.equal(s.name, 'local-k8s-control-2');
    assert.equal(s.status, 'ACTIVE');
    assert.equal(s.id, lab.world.hosts.get('local-k8s-control-2')!.serverId);
    assert.deepEqual(s.security_groups.map((g) => g.name).sort(), ['default', 'k8s-full-connectivity']);
  });

  it('console log show prints the host key fingerprints as cloud-init does', async () => {
    const r = await openstack(dir, ['console', 'log', 'show', 'local-k8s-worker-2']);
    assert.equal(r.code, 0, r.stderr);
    const host = lab.world.hosts.get('local-k8s-worker-2')!;
    assert.ok(r.stdout.includes(`256 ${host.hostKey.fingerprintSha256} root@local-k8s-worker-2 (ED25519)`));
    const keys = parseConsoleHostKeysForTest(r.stdout);
    assert.deepEqual(keys.keys, [`ssh-ed25519 ${host.hostKey.publicBase64} root@local-k8s-worker-2`]);
  });

  it('flavor list shows the lab flavors', async () => {
    const r = await openstack(dir, ['flavor', 'list', '-f', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const flavors = JSON.parse(r.stdout) as { Name: string; VCPUs: number; RAM: number }[];
    assert.deepEqual(
      flavors.map((f) => f.Name),
      ['lab.small', 'lab.medium', 'lab.large', 'lab.xlarge'],
    );
    assert.equal(flavors.find((f) => f.Name === 'lab.medium')!.RAM, 8192);
  });
});
