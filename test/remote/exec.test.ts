// One command on a connection, against a lab SSH host (lab/ssh, no cluster): one row per command → exit
// status, output, truncation, or the typed error (deadline, interruption, a mutation outside the gate).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { GateViolation, InterruptedError } from '../../lib/core/errors.js';
import { Gate } from '../../lib/core/gate.js';
import { nullLog } from '../../lib/core/log.js';
import { ConnectionPool, type HostConnection } from '../../lib/remote/connection.js';
import { RemoteTimeoutError } from '../../lib/remote/errors.js';
import { type ExecRequest, execCommand } from '../../lib/remote/exec.js';
import { KnownHosts } from '../../lib/remote/known-hosts.js';
import { generateEd25519, knownHostsLine } from '../../lab/ssh/keys.js';
import { freshHost, provisionInitial } from '../../lab/ssh/host.js';
import { SshFleet } from '../../lab/ssh/server.js';
import { testWorld } from '../lab/ssh/helpers.js';

/** A signal that aborts (as an operator's Ctrl-C would) after `ms`. */
function abortSoon(ms: number): AbortSignal {
  const c = new AbortController();
  setTimeout(() => c.abort(new Error('SIGINT')), ms).unref();
  return c.signal;
}

describe('remote/exec: one command (lab SSH host)', function () {
  this.timeout(30_000);
  let dir: string;
  let fleet: SshFleet;
  let pool: ConnectionPool;
  let conn: HostConnection;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cc-exec-'));
    const operator = generateEd25519('operator@test');
    const world = testWorld(50);
    fleet = await SshFleet.start(world, { authorizedKey: operator.publicBase64 });
    const spec = freshHost({ name: 'local-k8s-worker-1', role: 'worker', address: await fleet.allocateAddress(), port: fleet.port });
    provisionInitial(spec, world);
    const host = world.addHost(spec);
    await fleet.settled();
    writeFileSync(join(dir, 'known_hosts'), `${knownHostsLine(host.address, host.port, host.hostKey.publicBase64)}\n`);
    const identity = ssh2.utils.parseKey(operator.privateKey);
    pool = new ConnectionPool({
      user: 'root',
      identity: Array.isArray(identity) ? identity[0] : (identity as never),
      knownHosts: new KnownHosts([join(dir, 'known_hosts')]),
      connectTimeoutMs: 5000,
      keepaliveIntervalMs: 15_000,
      keepaliveCountMax: 3,
      maxChannels: 4,
      log: nullLog,
    });
    conn = await pool.get({ host: host.name, address: host.address, port: host.port });
  });
  after(async () => {
    await pool?.closeAll();
    await fleet?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  type Want = { exitCode: number; stdout?: string; stderr?: RegExp; truncated?: boolean } | { error: new (...a: never[]) => Error; message: RegExp };
  // Requests are built when their row runs (a signal must start then). Lab time runs 50 times faster: sleep 600 is 12 s.
  const rows: [string, () => Partial<ExecRequest> & { command: string }, Want][] = [
    ['a command that succeeds', () => ({ command: 'echo hello' }), { exitCode: 0, stdout: 'hello\n' }],
    ['a failing command: its status, not an error', () => ({ command: 'false' }), { exitCode: 1, stdout: '' }],
    ['an unknown command: 127 and the shell saying so', () => ({ command: 'no-such-tool --x' }), { exitCode: 127, stderr: /no-such-tool/ }],
    ['stdin reaches the command', () => ({ command: 'cat', stdin: 'from stdin\n' }), { exitCode: 0, stdout: 'from stdin\n' }],
    ['output beyond the limit is dropped and said so', () => ({ command: 'echo 0123456789', maxOutputBytes: 4 }), { exitCode: 0, stdout: '0123', truncated: true }],
    ['past its deadline: RemoteTimeoutError, channel closed', () => ({ command: 'sleep 600', timeoutMs: 300 }), { error: RemoteTimeoutError, message: /did not finish within 300ms; its channel was closed .*: sleep 600$/ }],
    ['interrupted while it runs: InterruptedError', () => ({ command: 'sleep 600', signal: abortSoon(200) }), { error: InterruptedError, message: /interrupted while running a command on local-k8s-worker-1/ }],
    ['a mutating command outside the gate: refused before sending', () => ({ command: 'touch /tmp/x', mutating: true }), { error: GateViolation, message: /touch \/tmp\/x/ }],
  ];
  for (const [title, req, want] of rows) {
    it(`${title} → ${'error' in want ? want.error.name : `exit ${want.exitCode}`}`, async () => {
      const request = req();
      const started = Date.now();
      const got = await execCommand(conn, { timeoutMs: 10_000, mutating: false, ...request }).catch((e: unknown) => e);
      assert.ok(Date.now() - started < 5000, 'never waits for the command past its deadline or signal');
      if ('error' in want) {
        assert.ok(got instanceof want.error, String(got));
        return assert.match((got as Error).message, want.message);
      }
      const r = got as Awaited<ReturnType<typeof execCommand>>;
      assert.equal(r.exitCode, want.exitCode, r.stderr);
      if (want.stdout !== undefined) assert.equal(r.stdout, want.stdout);
      if (want.stderr) assert.match(r.stderr, want.stderr);
      assert.equal(r.truncated, want.truncated ?? false);
      assert.equal(r.command, request.command);
      assert.equal(r.host, 'local-k8s-worker-1');
    });
  }

  it('a mutating command inside the gate is sent', async () => {
    const r = await new Gate({ dryRun: false }).mutate({ system: 'remote', target: 'local-k8s-worker-1', action: 'run touch' }, () => execCommand(conn, { command: 'touch /tmp/made-by-test', timeoutMs: 10_000, mutating: true }));
    assert.equal((r as { exitCode: number }).exitCode, 0);
    const check = await execCommand(conn, { command: 'ls /tmp/made-by-test', timeoutMs: 10_000, mutating: false });
    assert.equal(check.exitCode, 0, 'the file exists on the host');
  });
});
