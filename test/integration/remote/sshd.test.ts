// The SSH layer against real OpenSSH sshd hosts on loopback (scripts/servers/sshd.ts): commands, connection
// reuse, host key refusals, auth failure, drops, deadlines, 50 hosts, batches and thresholds, secrets through
// stdin and SFTP, a jump host, simulated reboots, trust from a console log, and dry-run sending nothing.
// The hosts are this machine as root: only harmless or shimmed commands are run.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { DryRunStop, GateViolation, InputError } from '../../../lib/core/errors.js';
import { isPlanned } from '../../../lib/core/gate.js';
import { REDACTED, clearSecrets } from '../../../lib/core/redact.js';
import {
  ChannelClosedError,
  HostKeyMismatchError,
  HostKeyUnknownError,
  HostUnreachableError,
  RebootNeverCameBackError,
  RebootNeverWentDownError,
  Remote,
  RemoteAuthError,
  RemoteBatchError,
  RemoteCommandError,
  RemoteTimeoutError,
  fingerprintSha256,
  type CommandResult,
  type HostResult,
} from '../../../lib/remote/index.js';
import { ConnectionPool, type ConnectionSettings } from '../../../lib/remote/connection.js';
import { execCommand } from '../../../lib/remote/exec.js';
import { KnownHosts } from '../../../lib/remote/known-hosts.js';
import { descendantsOf } from '../../../scripts/servers/common.js';
import { type SshdHosts, requireSshd, sshKeygen, startSshdHosts } from '../../../scripts/servers/sshd.js';
import { refused } from '../../helpers/net.js';
import { type TestRemote, alive, logins, makeRemote, pidsOf, processListWhile, until, waitForPath } from './helpers.js';

const NAMES = [...Array.from({ length: 50 }, (_, i) => `h${i + 1}`), 'jump'];

describe('remote against real sshd hosts', function () {
  this.timeout(60_000);
  let set: SshdHosts;
  let knownHosts: string;
  let t: TestRemote;
  let wrongKeyFingerprint: string;

  before(async () => {
    requireSshd();
    set = await startSshdHosts({ count: NAMES.length, names: NAMES, allowTcpForwarding: ['jump'], rebootDownMs: 300 });
    // The suite's known_hosts: h4 has a wrong key recorded, h5 and h10 are missing.
    const wrong = ssh2.utils.generateKeyPairSync('ed25519').public.split(' ').slice(0, 2).join(' ');
    wrongKeyFingerprint = fingerprintSha256(Buffer.from(wrong.split(' ')[1]!, 'base64'));
    knownHosts = join(set.dir, 'known_hosts.suite');
    writeFileSync(
      knownHosts,
      set.hosts
        .filter((h) => h.name !== 'h5' && h.name !== 'h10')
        .map((h) => `[${h.address}]:${h.port} ${h.name === 'h4' ? wrong : h.hostKeyPub}\n`)
        .join(''),
    );
    t = await makeRemote(set, { knownHosts });
  });

  after(async () => {
    await t?.remote.close();
    // KEEP_SSHD_DIR=1 keeps the hosts' directories (logs, shim calls) for a look after a failure.
    await set?.stop({ keepDir: process.env.KEEP_SSHD_DIR === '1' });
  });

  describe('commands', () => {
    it('runs an argument array and returns stdout, stderr and the exit status', async () => {
      const r = await t.remote.query('h1', ['sh', '-c', 'hostname; echo "$1" >&2', 'sh', "it's $HOME `x`"]);
      assert.equal(r.stdout, 'h1\n');
      assert.equal(r.stderr, "it's $HOME `x`\n");
      assert.equal(r.exitCode, 0);
      assert.equal(r.address, set.host('h1').address);
      assert.ok(r.durationMs >= 0);
    });

    it('throws RemoteCommandError with host, command, status and the stderr tail', async () => {
      const err = await t.remote.query('h1', ['sh', '-c', 'echo first >&2; echo last words >&2; exit 7']).catch((e: unknown) => e);
      assert.ok(err instanceof RemoteCommandError, String(err));
      assert.equal(err.status, 7);
      assert.match(err.message, /command on h1 exited with status 7/);
      assert.match(err.message, /last words/);
      assert.equal(err.context.host, 'h1');
      assert.equal(err.context.address, set.host('h1').address);
      assert.equal(err.context.port, set.host('h1').port);
      assert.match(String(err.context.command), /^sh -c /);
      assert.ok(err.hint);
      assert.equal(err.result?.exitCode, 7);
      // Accepted statuses do not throw.
      const ok = (await t.remote.query('h1', ['sh', '-c', 'exit 3'], { okExitCodes: [0, 3] })) as CommandResult;
      assert.equal(ok.exitCode, 3);
    });

    it('accepts raw addresses and prefixes sudo -n -- when the cluster says so', async () => {
      const r = await t.remote.query(set.host('h2').address, ['hostname']);
      assert.equal(r.stdout.trim(), 'h2');
      const s = await makeRemote(set, { knownHosts, sudo: true });
      try {
        const before = set.calls('h2').length;
        const r2 = (await s.remote.run('h2', ['hostname'])) as CommandResult;
        assert.equal(r2.command, 'sudo -n -- hostname');
        assert.equal(r2.stdout.trim(), 'h2');
        assert.deepEqual(set.calls('h2').slice(before), [['sudo', '-n', '--', 'hostname']]);
      } finally {
        await s.remote.close();
      }
    });

    it('refuses invalid hosts before connecting', async () => {
      await assert.rejects(t.remote.query('-oProxyCommand=id', ['true']), InputError);
      await assert.rejects(t.remote.query('h1; id', ['true']), InputError);
      await assert.rejects(t.remote.query('h1', []), InputError);
    });

    it('reuses one connection for many commands, also concurrent ones beyond the channel limit', async () => {
      const before = logins(set, 'h3');
      for (let i = 0; i < 10; i++) assert.equal((await t.remote.query('h3', ['echo', String(i)])).stdout, `${i}\n`);
      const many = await Promise.all(Array.from({ length: 24 }, (_, i) => t.remote.query('h3', ['sh', '-c', 'sleep 0.1; echo $1', 'sh', String(i)])));
      assert.deepEqual(many.map((r) => r.stdout.trim()), Array.from({ length: 24 }, (_, i) => String(i)));
      assert.equal(logins(set, 'h3') - before, 1, 'one SSH login for 34 commands');
    });

    it('re-establishes a connection that dropped', async () => {
      await t.remote.query('h3', ['true']);
      const before = logins(set, 'h3');
      // Kill the per-connection sshd processes (not the listener): the client's connection drops. Whether the
      // client has noticed yet or not, the next command must reconnect.
      const killed = descendantsOf(set.host('h3').pid);
      assert.ok(killed.length > 0, 'a per-connection sshd process to kill');
      for (const pid of killed) process.kill(pid, 'SIGKILL');
      await until(() => !killed.some(alive), 'the killed sshd processes to be gone');
      assert.equal((await t.remote.query('h3', ['hostname'])).stdout, 'h3\n');
      assert.equal(logins(set, 'h3') - before, 1);
    });

    it('reports a host that closes mid-command as ChannelClosedError', async () => {
      const running = t.remote.query('h6', ['sleep', '5.2718']).catch((e: unknown) => e);
      await until(() => pidsOf('sleep 5.2718').length > 0, 'the command to run on h6');
      await set.kill('h6');
      const err = await running;
      assert.ok(err instanceof ChannelClosedError, String(err));
      assert.match(err.message, /may or may not have completed/);
      assert.equal(err.context.host, 'h6');
      await set.start('h6');
      assert.equal((await t.remote.query('h6', ['hostname'])).stdout, 'h6\n', 'reconnects once the host is back');
    });

    it('stops waiting for a command that exceeds its deadline and closes its channel', async () => {
      const err = await t.remote.query('h7', ['sleep', '30.3142'], { timeoutMs: 500 }).catch((e: unknown) => e);
      // Proof that it stopped waiting rather than seeing the command end: the command still runs.
      const still = pidsOf('sleep 30.3142');
      for (const pid of still) process.kill(pid, 'SIGKILL');
      assert.ok(err instanceof RemoteTimeoutError, String(err));
      assert.equal(still.length, 1, 'the command was still running when the wait ended');
      assert.match(err.message, /did not finish within 500ms; its channel was closed/);
      assert.equal(err.context.host, 'h7');
      assert.match(err.hint!, /may still be running/);
      assert.equal((await t.remote.query('h7', ['hostname'])).stdout, 'h7\n', 'the connection stays usable');
    });
  });

  describe('refusals', () => {
    it('refuses a changed host key for that host only', async () => {
      const res = await t.remote.runOnHosts(['h1', 'h4', 'h2'], ['hostname'], { readOnly: true, successThreshold: { count: 2 } });
      assert.deepEqual(res.ok, ['h1', 'h2']);
      assert.deepEqual(res.failed, ['h4']);
      const err = res.results[1]!.error;
      assert.ok(err instanceof HostKeyMismatchError, String(err));
      assert.match(err.message, /host key of h4 .* CHANGED/);
      assert.ok(err.message.includes(fingerprintSha256(Buffer.from(set.host('h4').hostKeyPub.split(' ')[1]!, 'base64'))), 'names the offered fingerprint');
      assert.ok(err.message.includes(wrongKeyFingerprint), 'names the recorded fingerprint');
      assert.match(err.hint!, /ssh-keygen -R/);
      assert.equal(set.calls('h4').length, 0);
    });

    it('refuses an unknown host and leaves known_hosts alone', async () => {
      const before = readFileSync(knownHosts, 'utf8');
      const err = await t.remote.query('h5', ['hostname']).catch((e: unknown) => e);
      assert.ok(err instanceof HostKeyUnknownError, String(err));
      assert.match(err.message, /host key of h5 .* is not in /);
      assert.match(err.message, /SHA256:/);
      assert.match(err.hint!, /console log/);
      assert.equal(readFileSync(knownHosts, 'utf8'), before);
      assert.equal(logins(set, 'h5'), 0, 'never authenticated');
    });

    it('reports an unauthorised key as RemoteAuthError', async () => {
      const other = join(set.dir, 'stranger_ed25519');
      await sshKeygen(other, 'stranger');
      const s = await makeRemote(set, { knownHosts, identityFile: other });
      try {
        const err = await s.remote.query('h1', ['true']).catch((e: unknown) => e);
        assert.ok(err instanceof RemoteAuthError, String(err));
        assert.match(err.message, /authentication as root on h1 .* failed/);
        assert.match(err.hint!, /authorized_keys/);
      } finally {
        await s.remote.close();
      }
    });

    it('authenticates through ssh-agent when no identity file is configured', async () => {
      const sock = join(set.dir, 'agent.sock');
      const agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
      try {
        // The socket file appears at bind(), before the agent listens: wait until it answers (ssh-add -l exits
        // 1 for "no identities", 2 when it cannot reach the agent).
        const agentEnv = { ...process.env, SSH_AUTH_SOCK: sock };
        await until(() => existsSync(sock) && spawnSync('ssh-add', ['-l'], { env: agentEnv, stdio: 'ignore' }).status === 1, 'ssh-agent to answer');
        execFileSync('ssh-add', ['-q', set.identityFile], { env: agentEnv, stdio: 'ignore' });
        const s = await makeRemote(set, { knownHosts, identityFile: '', options: { agentSocket: sock } });
        try {
          assert.equal((await s.remote.query('h1', ['hostname'])).stdout, 'h1\n');
        } finally {
          await s.remote.close();
        }
        const none = await makeRemote(set, { knownHosts, identityFile: '', options: { agentSocket: null } });
        const err = await none.remote.query('h1', ['true']).catch((e: unknown) => e);
        await none.remote.close();
        assert.ok(err instanceof RemoteAuthError);
        assert.match(err.hint!, /set cluster.ssh.identityFile or run an ssh-agent/);
      } finally {
        agent.kill('SIGTERM');
      }
    });

    it('reports a closed port as HostUnreachableError', async () => {
      const address = set.host('h50').address.replace(/\.\d+$/, '.251');
      const err = await t.remote.query(address, ['true']).catch((e: unknown) => e);
      assert.ok(err instanceof HostUnreachableError, String(err));
      assert.match(err.message, /connection refused/);
      assert.equal(err.context.address, address);
    });
  });

  describe('fan-out', () => {
    it('runs on 50 hosts at once within the concurrency limit', async () => {
      const hosts = NAMES.slice(0, 50);
      const progress: number[] = [];
      const t0 = Date.now();
      const res = await t.remote.runOnHosts(hosts, ['sh', '-c', 'sleep 0.3; hostname'], {
        readOnly: true,
        concurrency: 10,
        successThreshold: '90%',
        onProgress: (_r, p) => progress.push(p.done),
      });
      const took = Date.now() - t0;
      // h4 (changed key), h5 and h10 (unknown) fail; everything else answers with its own name.
      assert.deepEqual(res.failed, ['h4', 'h5', 'h10']);
      assert.equal(res.ok.length, 47);
      for (const r of res.results.filter((x) => x.status === 'ok')) assert.equal(r.stdout, `${r.host}\n`);
      assert.deepEqual(progress, Array.from({ length: 50 }, (_, i) => i + 1));
      assert.ok(took >= 1_300, `with 10 at a time, 47 x 0.3 s take at least 1.3 s (took ${took} ms)`);
    });

    it('runs batches with a pause and stops once the threshold cannot be met', async () => {
      const hosts = ['h11', 'h12', 'h13', 'h14', 'h15', 'h16', 'h17', 'h18', 'h19', 'h20'];
      const done: { host: string; at: number; batch: number }[] = [];
      const t0 = Date.now();
      const argv = (h: string): string[] => ['sh', '-c', h === 'h12' || h === 'h14' ? 'exit 1' : 'hostname'];
      // 9 of 10 must succeed; the second failure (h14, batch 2) makes that impossible: batch 3+ never start.
      const err = await t.remote
        .runOnHosts(hosts, argv, { readOnly: true, batchSize: 3, batchSleepMs: 300, successThreshold: 0.9, onProgress: (r) => done.push({ host: r.host, at: Date.now() - t0, batch: r.batch }) })
        .catch((e: unknown) => e);
      assert.ok(err instanceof RemoteBatchError, String(err));
      assert.deepEqual(err.failedHosts, ['h12', 'h14']);
      assert.match(err.message, /succeeded on 4 of 10 hosts, 9 needed \(2 failed, 4 not run\)/);
      assert.match(err.message, /h12: command on h12 exited with status 1/);
      const result = err.result!;
      assert.deepEqual(result.skipped, ['h17', 'h18', 'h19', 'h20']);
      assert.ok(result.results.filter((r) => r.status === 'skipped').every((r) => r.skipReason === 'threshold'));
      const batch2 = done.filter((d) => d.batch === 1 && d.host !== 'h14');
      assert.ok(batch2.every((d) => d.at >= 300), 'batch 2 ran after the pause');

      // With 80% needed, the same failures still let every batch run.
      const ok = await t.remote.runOnHosts(hosts, argv, { readOnly: true, batchSize: '30%', batchSleepMs: 50, successThreshold: '80%' });
      assert.equal(ok.batches.length, 4);
      assert.equal(ok.ok.length, 8);
      assert.deepEqual(ok.failed, ['h12', 'h14']);
      assert.equal(ok.results[1]!.exitCode, 1);
    });

    it('enforces the overall deadline: running commands time out, the rest never start', async () => {
      const hosts = ['h21', 'h22', 'h23', 'h24', 'h25', 'h26'];
      const err = await t.remote.runOnHosts(hosts, ['sleep', '30.2718'], { readOnly: true, concurrency: 2, overallTimeoutMs: 800 }).catch((e: unknown) => e);
      // The deadline ended the wait, not the commands: both that started still run.
      const still = pidsOf('sleep 30.2718');
      for (const pid of still) process.kill(pid, 'SIGKILL');
      assert.equal(still.length, 2, 'the two started commands were still running when the deadline ended the wait');
      assert.ok(err instanceof RemoteBatchError);
      const r = err.result!;
      assert.equal(r.failed.length, 2);
      assert.ok(r.results.filter((x) => x.status === 'failed').every((x) => x.error instanceof RemoteTimeoutError));
      assert.equal(r.skipped.length, 4);
      assert.ok(r.results.filter((x) => x.status === 'skipped').every((x: HostResult) => x.skipReason === 'deadline'));
    });
  });

  describe('secrets and files', () => {
    const SECRET = 'kubeadm-join-secret-5b1f0c9e7a';

    afterEach(() => clearSecrets());

    it('sends a secret through stdin, never the command line, and redacts it in errors and logs', async () => {
      const h = set.host('h26');
      const out = join(h.dir, 'received');
      const release = join(h.dir, 'release-stdin');
      // The command holds until the test has looked at the process list (no guess at how long it runs).
      const script = 'cat > "$1"; while [ ! -e "$2" ]; do sleep 0.02; done; kubeadm token create --print-join-command';
      const running = t.remote.run('h26', ['sh', '-c', script, 'sh', out, release], { stdin: SECRET, stdinSecret: true });
      const during = await processListWhile((c) => c.includes(release), 'the remote command on h26');
      writeFileSync(release, '');
      await running;
      assert.equal(readFileSync(out, 'utf8'), SECRET);
      assert.ok(!during.some((c) => c.includes(SECRET)), 'the secret is in no process command line');
      assert.ok(set.calls('h26').some((c) => c[0] === 'kubeadm'));
      assert.ok(!readFileSync(h.callsLog, 'utf8').includes(SECRET));

      const err = await t.remote.run('h26', ['sh', '-c', 'cat >&2; exit 2'], { stdin: SECRET, stdinSecret: true }).catch((e: unknown) => e);
      assert.ok(err instanceof RemoteCommandError);
      assert.ok(!err.message.includes(SECRET), 'stderr echo of the secret is redacted');
      assert.ok(err.message.includes(REDACTED));
      assert.ok(!JSON.stringify(err.toJSON()).includes(SECRET));
      assert.ok(!JSON.stringify(t.log.lines).includes(SECRET), 'no secret in the debug log');
    });

    it('runs a command on a 0600 secret file sent over SFTP and always removes it', async () => {
      const h = set.host('h27');
      const modeOut = join(h.dir, 'mode');
      const copyOut = join(h.dir, 'copy');
      const release = join(h.dir, 'release-file');
      let path = '';
      const running = t.remote.runWithSecretFile('h27', SECRET, (p) => {
        path = p;
        return ['sh', '-c', 'stat -c %a "$1" > "$2"; cat "$1" > "$3"; kubeadm join --config "$1"; while [ ! -e "$4" ]; do sleep 0.02; done', 'sh', p, modeOut, copyOut, release];
      });
      // Looked at while the command runs (it holds until released), after the file was read.
      await waitForPath(copyOut);
      const during = await processListWhile((c) => c.includes(release), 'the remote command on h27');
      writeFileSync(release, '');
      await running;
      assert.match(path, /^\/tmp\/\.cc-secret-[0-9a-f]{24}$/);
      assert.equal(readFileSync(modeOut, 'utf8').trim(), '600');
      assert.equal(readFileSync(copyOut, 'utf8'), SECRET);
      assert.ok(!existsSync(path), 'the secret file is removed');
      assert.ok(!during.some((c) => c.includes(SECRET)));
      assert.deepEqual(set.calls('h27').at(-1), ['kubeadm', 'join', '--config', path]);

      // Removed also when the command fails.
      let failedPath = '';
      await assert.rejects(t.remote.runWithSecretFile('h27', SECRET, (p) => ((failedPath = p), ['sh', '-c', 'exit 4'])), RemoteCommandError);
      assert.ok(failedPath && !existsSync(failedPath));
      // A builder that puts the secret itself on the command line is refused.
      await assert.rejects(t.remote.runWithSecretFile('h27', SECRET, () => ['echo', SECRET]), InputError);
      assert.ok(!JSON.stringify(t.log.lines).includes(SECRET));
    });

    it('uploads with an exact mode (replacing atomically) and downloads', async () => {
      const h = set.host('h28');
      const path = join(h.dir, 'uploaded.conf');
      writeFileSync(path, 'old content\n');
      const res = await t.remote.upload('h28', path, 'line 1\nline 2\n', { mode: 0o640 });
      assert.ok(!isPlanned(res));
      assert.equal(readFileSync(path, 'utf8'), 'line 1\nline 2\n');
      assert.equal(statSync(path).mode & 0o777, 0o640);
      const big = Buffer.alloc(300_000, 7);
      await t.remote.upload('h28', path, big);
      assert.equal(statSync(path).mode & 0o777, 0o644);
      assert.deepEqual(await t.remote.download('h28', path), big);
      await assert.rejects(t.remote.download('h28', path, { maxBytes: 1000 }), /more than the 1000 allowed/);
      await assert.rejects(t.remote.download('h28', join(h.dir, 'missing')), /no such file/);
      await assert.rejects(t.remote.upload('h28', 'relative/path', 'x'), InputError);
    });
  });

  describe('jump host', () => {
    it('reaches hosts through a ProxyJump-style bastion', async () => {
      const jump = set.host('jump');
      const s = await makeRemote(set, { knownHosts, jumpHost: `root@${jump.address}:${jump.port}` });
      try {
        const jumpLogins = logins(set, 'jump');
        const res = await s.remote.runOnHosts(['h29', 'h30', 'h31'], ['hostname'], { readOnly: true });
        assert.deepEqual(res.results.map((r) => r.stdout), ['h29\n', 'h30\n', 'h31\n']);
        assert.equal(logins(set, 'jump') - jumpLogins, 1, 'one connection to the bastion carries all hosts');
        const jumpLog = readFileSync(join(jump.dir, 'sshd.log'), 'utf8');
        for (const n of ['h29', 'h30', 'h31']) assert.ok(jumpLog.includes(`target ${set.host(n).address} port ${set.host(n).port}`), `bastion forwarded to ${n}`);
        // Host keys are still verified end to end: a changed key behind the bastion is refused.
        await assert.rejects(s.remote.query('h4', ['true']), HostKeyMismatchError);
      } finally {
        await s.remote.close();
      }
      // A host without forwarding cannot be a bastion: the target is unreachable through it.
      const h1 = set.host('h1');
      const bad = await makeRemote(set, { knownHosts, jumpHost: `root@${h1.address}:${h1.port}` });
      try {
        const err = await bad.remote.query('h2', ['true']).catch((e: unknown) => e);
        assert.ok(err instanceof HostUnreachableError, String(err));
        assert.match(err.message, /through jump host/);
      } finally {
        await bad.remote.close();
      }
    });
  });

  describe('reboot', () => {
    it('reboots, sees the connection drop, and confirms a new boot id', async () => {
      const before = await t.remote.bootId('h32');
      assert.equal(before, set.bootId('h32'));
      const req = await t.remote.reboot('h32');
      assert.ok(!isPlanned(req));
      assert.equal(req.previousBootId, before);
      assert.deepEqual(set.calls('h32').at(-1), ['reboot']);
      const loginsBefore = logins(set, 'h32');
      const done = await t.remote.waitRebootSince('h32', req.previousBootId, { timeoutMs: 15_000 });
      assert.notEqual(done.bootId, before);
      assert.equal(done.bootId, set.bootId('h32'));
      assert.equal((await t.remote.query('h32', ['hostname'])).stdout, 'h32\n');
      assert.ok(logins(set, 'h32') > loginsBefore, 'the old connection was not reused');
    });

    it('reports a reboot that never happens as RebootNeverWentDownError', async () => {
      set.setRebootMode('h33', 'ignore');
      const req = await t.remote.reboot('h33');
      assert.ok(!isPlanned(req));
      const err = await t.remote.waitRebootSince('h33', req.previousBootId, { timeoutMs: 1_500 }).catch((e: unknown) => e);
      assert.ok(err instanceof RebootNeverWentDownError, String(err));
      assert.match(err.message, /h33 did not reboot within 1\.5s/);
      assert.equal(err.context.host, 'h33');
      assert.equal(err.context.previousBootId, req.previousBootId);
      assert.ok((err.context.elapsedMs as number) >= 1_500);
    });

    it('reports a host that never returns as RebootNeverCameBackError', async () => {
      set.setRebootMode('h34', 'never-return');
      const req = await t.remote.reboot('h34');
      assert.ok(!isPlanned(req));
      // Down first (the shim powers off in the background), so the wait can only end as "never came back".
      const h34 = set.host('h34');
      await until(() => refused(h34.address, h34.port), 'h34 to go down');
      const err = await t.remote.waitRebootSince('h34', req.previousBootId, { timeoutMs: 1_000 }).catch((e: unknown) => e);
      assert.ok(err instanceof RebootNeverCameBackError, String(err));
      assert.match(err.message, /h34 has been unreachable since/);
      assert.equal(err.context.address, set.host('h34').address);
      assert.ok(err.cause instanceof HostUnreachableError);
      await set.start('h34');
    });
  });

  describe('trust from a console log', () => {
    function consoleLogFor(pub: string, name: string): string {
      const fp = fingerprintSha256(Buffer.from(pub.split(' ')[1]!, 'base64'));
      return [
        `[   31.337] cloud-init[812]: Cloud-init v. 22.4.2 running 'modules:config'`,
        `ec2: #############################################################`,
        `ec2: -----BEGIN SSH HOST KEY FINGERPRINTS-----`,
        `ec2: 256 ${fp} root@${name} (ED25519)`,
        `ec2: -----END SSH HOST KEY FINGERPRINTS-----`,
        `ec2: #############################################################`,
        `-----BEGIN SSH HOST KEY KEYS-----`,
        `${pub} root@${name}`,
        `-----END SSH HOST KEY KEYS-----`,
      ].join('\r\n');
    }

    it('refuses a key the console log does not list, and accepts and records one it lists', async () => {
      const h10 = set.host('h10');
      const stranger = ssh2.utils.generateKeyPairSync('ed25519').public.split(' ').slice(0, 2).join(' ');
      const before = readFileSync(knownHosts, 'utf8');
      const err = await t.remote.trustFromConsoleLog('h10', consoleLogFor(stranger, 'h10')).catch((e: unknown) => e);
      assert.ok(err instanceof HostKeyMismatchError, String(err));
      assert.match(err.message, /not one its console log lists/);
      assert.equal(readFileSync(knownHosts, 'utf8'), before, 'nothing recorded');
      await assert.rejects(t.remote.query('h10', ['true']), HostKeyUnknownError, 'still unknown afterwards');
      await assert.rejects(t.remote.trustFromConsoleLog('h10', 'login: '), /holds no SSH host key fingerprints/);

      const ok = await t.remote.trustFromConsoleLog('h10', consoleLogFor(h10.hostKeyPub, 'h10'));
      assert.equal(ok.fingerprint, fingerprintSha256(Buffer.from(h10.hostKeyPub.split(' ')[1]!, 'base64')));
      assert.equal(new KnownHosts([knownHosts]).verify([h10.address], h10.port, Buffer.from(h10.hostKeyPub.split(' ')[1]!, 'base64')).status, 'ok');
      assert.equal((await t.remote.query('h10', ['hostname'])).stdout, 'h10\n');
      // A fresh client (new process) trusts it from known_hosts now.
      const s = await makeRemote(set, { knownHosts });
      try {
        assert.equal((await s.remote.query('h10', ['hostname'])).stdout, 'h10\n');
      } finally {
        await s.remote.close();
      }
    });

    it('replaces a stale key of a rebuilt VM once its console log vouches for the new one', async () => {
      const s = await makeRemote(set, { knownHosts });
      try {
        await assert.rejects(s.remote.query('h4', ['true']), HostKeyMismatchError);
        const h4 = set.host('h4');
        await s.remote.trustFromConsoleLog('h4', consoleLogFor(h4.hostKeyPub, 'h4'));
        assert.equal((await s.remote.query('h4', ['hostname'])).stdout, 'h4\n');
        assert.ok(!readFileSync(knownHosts, 'utf8').includes(wrongKeyFingerprint.slice(7)), 'stale line gone');
      } finally {
        await s.remote.close();
      }
    });
  });

  describe('dry-run', () => {
    it('sends no mutation for any mutating method and returns Planned', async () => {
      const d = await makeRemote(set, { knownHosts, dryRun: true });
      const hosts = ['h35', 'h36', 'h37'];
      const callsBefore = hosts.map((h) => set.calls(h).length);
      const bootBefore = set.bootId('h35');
      const probes: Record<string, () => Promise<unknown>> = {
        run: () => d.remote.run('h35', ['systemctl', 'restart', 'kubelet']),
        runOnHosts: () => d.remote.runOnHosts(hosts, ['apt-get', 'install', '-y', 'x']),
        runWithSecretFile: () => d.remote.runWithSecretFile('h35', 'dry-run-secret-xyz', (p) => ['kubeadm', 'join', '--config', p]),
        upload: () => d.remote.upload('h35', join(set.host('h35').dir, 'planned.txt'), 'x'),
        reboot: () => d.remote.reboot('h35'),
      };
      const mutating = Object.entries(Remote.operations)
        .filter(([, kind]) => kind === 'mutate')
        .map(([name]) => name)
        .sort();
      assert.deepEqual(mutating, Object.keys(probes).sort(), 'every mutating method is exercised here');
      for (const [name, call] of Object.entries(probes)) {
        const out = await call();
        if (name === 'runOnHosts') {
          const r = out as { planned: string[]; results: HostResult[] };
          assert.deepEqual(r.planned, hosts);
          assert.ok(r.results.every((x) => isPlanned(x.planned)));
        } else {
          assert.ok(isPlanned(out), `${name} returned Planned`);
        }
      }
      assert.deepEqual(hosts.map((h) => set.calls(h).length), callsBefore, 'no shim was called');
      assert.ok(!existsSync(join(set.host('h35').dir, 'planned.txt')));
      assert.equal(set.bootId('h35'), bootBefore);
      assert.ok(d.gate.changes.length >= 7 && d.gate.changes.every((c) => c.planned && c.system === 'remote'));
      // Reads still run; a wait for a planned reboot stops planning instead of waiting.
      assert.equal((await d.remote.query('h35', ['hostname'])).stdout, 'h35\n');
      const id = await d.remote.bootId('h35');
      await assert.rejects(d.remote.waitRebootSince('h35', id, { timeoutMs: 10_000 }), DryRunStop);
      await d.remote.close();
    });

    it('lists every public method in the operations table', () => {
      const methods = Object.getOwnPropertyNames(Remote.prototype).filter((m) => m !== 'constructor');
      assert.deepEqual(methods.sort(), Object.keys(Remote.operations).sort());
    });

    it('the exec transport refuses a mutating command outside the gate', async () => {
      const h = set.host('h38');
      const settings: ConnectionSettings = {
        user: 'root',
        identity: ssh2.utils.parseKey(readFileSync(set.identityFile)) as ssh2.ParsedKey,
        knownHosts: new KnownHosts([knownHosts]),
        connectTimeoutMs: 5_000,
        keepaliveIntervalMs: 0,
        keepaliveCountMax: 3,
        maxChannels: 4,
        log: t.log,
      };
      const pool = new ConnectionPool(settings);
      try {
        const conn = await pool.get({ host: 'h38', address: h.address, port: h.port });
        const before = set.calls('h38').length;
        await assert.rejects(execCommand(conn, { command: 'systemctl restart kubelet', timeoutMs: 5_000, mutating: true }), GateViolation);
        assert.equal(set.calls('h38').length, before);
        assert.equal((await execCommand(conn, { command: 'hostname', timeoutMs: 5_000, mutating: false })).stdout, 'h38\n');
      } finally {
        await pool.closeAll();
      }
    });
  });
});
