import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { refused } from '../../helpers/net.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { generateEd25519, knownHostsLine } from '../../../lab/ssh/keys.js';
import { freshHost, provisionInitial } from '../../../lab/ssh/host.js';
import { SshFleet } from '../../../lab/ssh/server.js';
import type { LabHost, World } from '../../../lab/world.js';
import { testWorld } from './helpers.js';

/** Runs the real OpenSSH client; resolves with its exit code and output. */
function ssh(args: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile('ssh', args, { timeout: 20000 }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 255) : 0;
      resolve({ code: typeof code === 'number' ? code : 255, stdout, stderr });
    });
    if (stdin !== undefined) child.stdin!.end(stdin);
    else child.stdin!.end();
  });
}

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('lab SSH hosts (real OpenSSH client)', function () {
  this.timeout(60000);
  let dir: string;
  let world: World;
  let fleet: SshFleet;
  let hosts: LabHost[];
  const operator = generateEd25519('operator@lab');
  let base: string[];

  before(async () => {
    for (const tool of ['ssh', 'sftp']) {
      try {
        execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
      } catch {
        throw new Error(`the OpenSSH client (${tool}) is missing: run scripts/setup-packages.sh (apt-get install -y openssh-client)`);
      }
    }
    dir = mkdtempSync(join(tmpdir(), 'lab-ssh-'));
    writeFileSync(join(dir, 'id_ed25519'), operator.privateKey, { mode: 0o600 });
    world = testWorld(20);
    fleet = await SshFleet.start(world, { authorizedKey: operator.publicBase64 });
    hosts = [];
    for (const [name, role] of [
      ['local-k8s-worker-1', 'worker'],
      ['local-k8s-control-1', 'control'],
      ['local-k8s-worker-2', 'worker'],
    ] as const) {
      const spec = freshHost({ name, role, address: await fleet.allocateAddress(), port: fleet.port });
      provisionInitial(spec, world);
      hosts.push(world.addHost(spec));
    }
    await fleet.settled();
    writeFileSync(join(dir, 'known_hosts'), hosts.map((h) => knownHostsLine(h.address, h.port, h.hostKey.publicBase64)).join('\n') + '\n');
    base = [
      '-i', join(dir, 'id_ed25519'),
      '-o', `UserKnownHostsFile=${join(dir, 'known_hosts')}`,
      '-o', 'StrictHostKeyChecking=yes',
      '-o', 'BatchMode=yes',
      '-o', 'IdentitiesOnly=yes',
      '-o', 'ConnectTimeout=5',
      '-p', String(fleet.port),
    ];
  });

  after(async () => {
    await fleet?.stop();
    world?.shutdown();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('gives each host its own 127.x address on one shared port', () => {
    const addrs = new Set(hosts.map((h) => h.address));
    assert.equal(addrs.size, 3);
    for (const h of hosts) {
      assert.match(h.address, /^127\.(1\d\d|2[0-5]\d)\.\d+\.\d+$/);
      assert.equal(h.port, fleet.port);
    }
  });

  it('runs a command with the lab key and verified host keys', async () => {
    for (const h of hosts) {
      const r = await ssh([...base, `root@${h.address}`, 'hostname']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `${h.name}\n`);
    }
    assert.ok(world.counters.requests.ssh >= 3);
  });

  it('passes exit codes, stderr, stdin and SetEnv through', async () => {
    const h = hosts[0]!;
    const r = await ssh([...base, `root@${h.address}`, 'frobnicate']);
    assert.equal(r.code, 127);
    assert.match(r.stderr, /bash: frobnicate: command not found/);
    const cat = await ssh([...base, `root@${h.address}`, 'cat > /root/in.txt && cat /root/in.txt'], 'piped data\n');
    assert.equal(cat.stdout, 'piped data\n');
    const env = await ssh([...base, '-o', 'SetEnv=LABVAR=hello', `root@${h.address}`, 'echo "$LABVAR"']);
    assert.equal(env.stdout, 'hello\n');
    const script = await ssh([...base, '-T', `root@${h.address}`], 'hostname; uname -r\n');
    assert.equal(script.stdout, `${h.name}\n6.1.0-25-amd64\n`);
  });

  it('refuses a key that is not the lab key, and a wrong user', async () => {
    const other = generateEd25519('intruder');
    writeFileSync(join(dir, 'other_key'), other.privateKey, { mode: 0o600 });
    const h = hosts[0]!;
    const args = base.map((a) => (a === join(dir, 'id_ed25519') ? join(dir, 'other_key') : a));
    const r = await ssh([...args, `root@${h.address}`, 'hostname']);
    assert.equal(r.code, 255);
    assert.match(r.stderr, /Permission denied \(publickey\)/);
    const user = await ssh([...base, `admin@${h.address}`, 'hostname']);
    assert.equal(user.code, 255);
    assert.match(user.stderr, /Permission denied/);
  });

  it('fails host key verification when a host presents another key', async () => {
    const [a, b] = hosts as [LabHost, LabHost];
    const wrong = join(dir, 'wrong_known_hosts');
    writeFileSync(wrong, knownHostsLine(b.address, b.port, a.hostKey.publicBase64) + '\n');
    const args = base.map((x) => (x === `UserKnownHostsFile=${join(dir, 'known_hosts')}` ? `UserKnownHostsFile=${wrong}` : x));
    const r = await ssh([...args, `root@${b.address}`, 'hostname']);
    assert.equal(r.code, 255);
    assert.match(r.stderr, /HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
  });

  it('reboot returns, drops live sessions, refuses connections, and comes back with a new boot id', async () => {
    const h = hosts[2]!;
    const before = (await ssh([...base, `root@${h.address}`, 'cat /proc/sys/kernel/random/boot_id'])).stdout.trim();
    assert.equal(before, h.bootId);
    // A live session: `cat` waits for stdin that never ends.
    const live = spawn('ssh', [...base, `root@${h.address}`, 'echo ready; cat'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let liveErr = '';
    let liveOut = '';
    live.stderr.on('data', (d: Buffer) => (liveErr += d.toString()));
    live.stdout.on('data', (d: Buffer) => (liveOut += d.toString()));
    const liveExit = new Promise<number | null>((resolve) => live.once('exit', (code) => resolve(code)));
    // The session runs (its command printed) before the reboot: the drop hits a live session.
    await waitFor('the live session', () => liveOut.includes('ready'));
    const r = await ssh([...base, `root@${h.address}`, 'sudo reboot']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await liveExit, 255);
    assert.match(liveErr, /closed by remote host|Connection reset|Broken pipe/);
    await waitFor('the host to go down', () => h.state === 'rebooting');
    assert.equal(await refused(h.address, h.port), true);
    await waitFor('the host to come back', () => h.state === 'up' && fleet.isListening(h.name));
    const after = (await ssh([...base, `root@${h.address}`, 'cat /proc/sys/kernel/random/boot_id'])).stdout.trim();
    assert.match(after, /^[0-9a-f-]{36}$/);
    assert.notEqual(after, before);
  });

  it('keeps a host that never comes back closed', async () => {
    const spec = freshHost({ name: 'local-k8s-worker-3', role: 'worker', address: await fleet.allocateAddress(), port: fleet.port });
    const h = world.addHost(spec);
    await fleet.settled();
    assert.equal(fleet.isListening(h.name), true);
    // A host rebooted at the same time that comes back shows a reboot's whole time has passed.
    const peer = world.addHost(freshHost({ name: 'local-k8s-worker-5', role: 'worker', address: await fleet.allocateAddress(), port: fleet.port }));
    await fleet.settled();
    world.faults.hostsNeverReturn = [h.name];
    world.rebootHost(h.name);
    world.rebootHost(peer.name);
    await waitFor('the host to be down for good', () => h.state === 'down');
    await waitFor('the other rebooted host to come back', () => peer.state === 'up' && fleet.isListening(peer.name));
    assert.equal(h.state, 'down');
    assert.equal(await refused(h.address, h.port), true);
    world.faults = {};
    world.removeHost(h.name);
    world.removeHost(peer.name);
  });

  it('stops listening for a deleted host', async () => {
    const spec = freshHost({ name: 'local-k8s-worker-4', role: 'worker', address: await fleet.allocateAddress(), port: fleet.port });
    const h = world.addHost(spec);
    await fleet.settled();
    assert.equal(await refused(h.address, h.port), false);
    world.removeHost(h.name);
    await fleet.settled();
    assert.equal(await refused(h.address, h.port), true);
  });

  it('puts and gets files over SFTP with modes (OpenSSH sftp and ssh2)', async () => {
    const h = hosts[1]!;
    const local = join(dir, 'join.yaml');
    writeFileSync(local, 'kind: JoinConfiguration\n', { mode: 0o600 });
    const batch = join(dir, 'batch');
    writeFileSync(batch, `put -p ${local} /root/join.yaml\nls -l /root\nget /etc/os-release ${join(dir, 'os-release')}\n`);
    const sftp = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile('sftp', ['-b', batch, ...base.map((a) => (a === '-p' ? '-P' : a)), `root@${h.address}`], (err, stdout, stderr) =>
        resolve({ code: err ? 1 : 0, stdout, stderr }),
      );
    });
    assert.equal(sftp.code, 0, sftp.stderr);
    assert.equal(h.files.get('/root/join.yaml'), 'kind: JoinConfiguration\n');
    assert.equal(h.fileModes?.get('/root/join.yaml'), 0o600);
    assert.match(sftp.stdout, /-rw------- .* join\.yaml/);

    const client = new ssh2.Client();
    await new Promise<void>((resolve, reject) => {
      client.once('ready', () => resolve()).once('error', reject);
      client.connect({
        host: h.address,
        port: h.port,
        username: 'root',
        privateKey: operator.privateKey,
        hostVerifier: (key: Buffer) => key.toString('base64') === h.hostKey.publicBase64,
      });
    });
    try {
      const s = await new Promise<ssh2.SFTPWrapper>((resolve, reject) => client.sftp((err, w) => (err ? reject(err) : resolve(w))));
      await new Promise<void>((resolve, reject) => s.writeFile('/etc/kubernetes/join.yaml', 'secret: 1\n', { mode: 0o600 }, (err) => (err ? reject(err) : resolve())));
      assert.equal(h.fileModes?.get('/etc/kubernetes/join.yaml'), 0o600);
      const back = await new Promise<string>((resolve, reject) => s.readFile('/etc/kubernetes/join.yaml', (err, b) => (err ? reject(err) : resolve(b.toString()))));
      assert.equal(back, 'secret: 1\n');
      const st = await new Promise<ssh2.Stats>((resolve, reject) => s.stat('/etc/kubernetes/join.yaml', (err, x) => (err ? reject(err) : resolve(x))));
      assert.equal(st.mode & 0o777, 0o600);
      assert.equal(st.isFile(), true);
      // Upload to a temporary name, then posix-rename over the target (what careful clients do).
      await new Promise<void>((resolve, reject) => s.writeFile('/etc/kubernetes/.join.tmp', 'secret: 2\n', { mode: 0o600 }, (err) => (err ? reject(err) : resolve())));
      await new Promise<void>((resolve, reject) => s.ext_openssh_rename('/etc/kubernetes/.join.tmp', '/etc/kubernetes/join.yaml', (err) => (err ? reject(err) : resolve())));
      assert.equal(h.files.get('/etc/kubernetes/join.yaml'), 'secret: 2\n');
      assert.equal(h.files.has('/etc/kubernetes/.join.tmp'), false);
      await new Promise<void>((resolve, reject) => s.unlink('/etc/kubernetes/join.yaml', (err) => (err ? reject(err) : resolve())));
      assert.equal(h.files.has('/etc/kubernetes/join.yaml'), false);
      const missing = await new Promise<Error | undefined>((resolve) => s.stat('/nope', (err) => resolve(err ?? undefined)));
      assert.ok(missing);
    } finally {
      client.end();
    }
  });
});
