// Real OpenSSH sshd instances as fake hosts for the SSH layer's integration tests and the fan-out benchmark.
// Each host gets its own directory, ed25519 host key, loopback address, hostname and boot_id (a UTS + mount
// namespace per sshd), and a shim bin dir first on PATH: these hosts are this machine logged in as root, so
// `reboot`, `systemctl`, `apt-get`, `shutdown` and `kubeadm` only log their call (reboot simulates one by
// restarting that host's sshd with a new boot_id). See ../shared/notes/real-servers.md for the traps.
//
// CLI: node <build>/scripts/servers/sshd.js start [--count N] [--dir D] [--port P] [--prefix 127.A.B.]
//      node <build>/scripts/servers/sshd.js stop --dir D
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { randomUUID } from 'node:crypto';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type PidRecord,
  freePort,
  isLoopback,
  isRunning,
  makeTempDir,
  portIsFree,
  randomLoopbackPrefix,
  readPidFile,
  requireBinary,
  sleep,
  stopPid,
  waitForPort,
  writePidFile,
  runIfMain,
} from './common.js';

/** Where Debian installs sshd. */
export const SSHD = '/usr/sbin/sshd';
/** The exact command that installs sshd when it is missing. */
export const SSHD_INSTALL = 'apt-get install -y --no-install-recommends openssh-server';

/** Commands shimmed on every host: they log their call to `<host dir>/calls.log` and change nothing. */
export const SHIMMED_COMMANDS = ['reboot', 'shutdown', 'systemctl', 'apt-get', 'kubeadm', 'poweroff', 'halt', 'rm', 'sudo'] as const;

/** What the reboot shim does: restart with a new boot_id, do nothing (never goes down), or stay down. */
export type RebootMode = 'normal' | 'ignore' | 'never-return';

/** Options of startSshdHosts. */
export interface SshdHostsOptions {
  /** How many hosts. */
  count: number;
  /** Parent directory (default: a new temp dir). */
  dir?: string;
  /** Shared port of every host (default: a free one). */
  port?: number;
  /** Address prefix `127.A.B.`; host i (from 1) listens on prefix + i (default: a random block). */
  prefix?: string;
  /** Host names (default h1..hN); each must be a DNS label. */
  names?: string[];
  /** Names of hosts that allow TCP forwarding (jump hosts); all others refuse it. */
  allowTcpForwarding?: string[];
  /** How long a simulated reboot keeps the host down (ms, default 300). */
  rebootDownMs?: number;
  /** Leave the servers running when this process exits (the CLI); otherwise they are killed on exit. */
  detach?: boolean;
}

/** One running fake host. */
export interface SshdHost {
  name: string;
  address: string;
  port: number;
  dir: string;
  /** PID of the current sshd listener (changes after a simulated reboot). */
  pid: number;
  /** `ssh-ed25519 AAAA...` of its host key. */
  hostKeyPub: string;
  /** File the shims log their calls to (one line per call, tab-separated argv). */
  callsLog: string;
  /** The file bind-mounted over /proc/sys/kernel/random/boot_id for this host. */
  bootIdFile: string;
}

/** A running set of fake hosts. */
export interface SshdHosts {
  dir: string;
  hosts: SshdHost[];
  /** known_hosts with `[address]:port ssh-ed25519 ...` for every host. */
  knownHostsPath: string;
  /** Private key authorised on every host. */
  identityFile: string;
  /** The host of that name (throws for an unknown name). */
  host(name: string): SshdHost;
  /** The calls the shims of a host recorded, each as its argv (command name first). */
  calls(name: string): string[][];
  /** Sets what the reboot shim of a host does. */
  setRebootMode(name: string, mode: RebootMode, downMs?: number): void;
  /** The host's current boot_id. */
  bootId(name: string): string;
  /** Kills a host's sshd and every session of it at once (a crash); it stays down until start(). */
  kill(name: string): Promise<void>;
  /** Starts a stopped host's sshd again (optionally with a new boot_id). */
  start(name: string, options?: { newBootId?: boolean }): Promise<void>;
  /** Stops every sshd (and its sessions) by PID and removes the directory unless `keepDir`. */
  stop(options?: { keepDir?: boolean }): Promise<void>;
}

interface HostState {
  name: string;
  address: string;
  port: number;
  dir: string;
  hostKeyPub: string;
}

interface SetState {
  dir: string;
  port: number;
  knownHostsPath: string;
  identityFile: string;
  hosts: HostState[];
}

const thisFile = fileURLToPath(import.meta.url);

/**
 * Generates an ed25519 key pair with OpenSSH's ssh-keygen (private key at `path`, public at `path.pub`) and
 * returns the public line. Not ssh2's generator: it drops a leading zero byte of the public key (1 key in 256),
 * which sshd then refuses to load ("error in libcrypto").
 */
export async function sshKeygen(path: string, comment: string): Promise<string> {
  rmSync(path, { force: true });
  rmSync(`${path}.pub`, { force: true });
  await promisify(execFile)('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path]);
  return readFileSync(`${path}.pub`, 'utf8').trim();
}

/** Throws with the exact install command when sshd is missing. */
export function requireSshd(): void {
  requireBinary(SSHD, SSHD_INSTALL);
}

function sq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function sshdConfig(h: HostState, forwarding: boolean): string {
  const d = h.dir;
  return [
    `# Fake host ${h.name}: this machine as root, so PATH starts with harmless shims.`,
    `Port ${h.port}`,
    `ListenAddress ${h.address}`,
    `HostKey ${d}/ssh_host_ed25519_key`,
    `PidFile ${d}/sshd.pid`,
    `AuthorizedKeysFile ${d}/authorized_keys`,
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'StrictModes no',
    'MaxStartups 100:30:200',
    'PermitRootLogin prohibit-password',
    `AllowTcpForwarding ${forwarding ? 'yes' : 'no'}`,
    // A jump host logs its forwardings (DEBUG1 names each direct-tcpip target), so tests can see the hop.
    `LogLevel ${forwarding ? 'DEBUG1' : 'INFO'}`,
    'X11Forwarding no',
    'PrintMotd no',
    'PrintLastLog no',
    'UseDNS no',
    // HOME too: root's real ~/.bashrc (which bash sources for ssh commands) would put its own PATH first.
    `SetEnv PATH=${d}/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=${d}`,
    'Subsystem sftp internal-sftp',
    '',
  ].join('\n');
}

// The shell line that (re)starts one host: `exec` keeps the PID from sh through unshare to sshd, so the PID we
// spawn is the listener's PID; the UTS and mount namespaces give the host its own hostname and boot_id.
function startScript(h: HostState): string {
  const inner = `hostname ${h.name} && mount --bind ${h.dir}/boot_id /proc/sys/kernel/random/boot_id && exec ${SSHD} -D -e -f ${h.dir}/sshd_config`;
  return `#!/bin/sh\nexec unshare --uts --mount --propagation private sh -c ${sq(inner)} 2>>${sq(h.dir + '/sshd.log')}\n`;
}

function shimScript(h: HostState, command: string): string {
  const log = `${h.dir}/calls.log`;
  const record = [
    '#!/bin/sh',
    `# Test shim for ${command} on fake host ${h.name}: records the call and changes nothing on this machine.`,
    `{ printf '%s' ${sq(command)}; for a in "$@"; do printf '\\t%s' "$a"; done; printf '\\n'; } >> ${sq(log)}`,
  ];
  if (command === 'sudo') {
    // Already root: drop sudo's own options up to `--` and run the command, so `sudo -n -- cmd` works.
    record.push('while [ $# -gt 0 ]; do case "$1" in --) shift; break;; -*) shift;; *) break;; esac; done', 'exec "$@"', '');
    return record.join('\n');
  }
  if (command === 'reboot') {
    // Detached (setsid -f) so the restart outlives this session, which the "power off" kills.
    record.push(
      `mode=$(cat ${sq(h.dir + '/reboot-mode')} 2>/dev/null || echo normal)`,
      '[ "$mode" = ignore ] && exit 0',
      `setsid -f ${sq(process.execPath)} ${sq(thisFile)} _reboot ${sq(h.dir)} </dev/null >>${sq(h.dir + '/reboot.log')} 2>&1`,
    );
  }
  record.push('exit 0', '');
  return record.join('\n');
}

async function writeHostFiles(h: HostState, clientPub: string, forwarding: boolean, rebootDownMs: number): Promise<void> {
  mkdirSync(join(h.dir, 'bin'), { recursive: true });
  const pub = await sshKeygen(join(h.dir, 'ssh_host_ed25519_key'), `root@${h.name}`);
  h.hostKeyPub = pub.split(' ').slice(0, 2).join(' ');
  writeFileSync(join(h.dir, 'authorized_keys'), clientPub + '\n', { mode: 0o600 });
  writeFileSync(join(h.dir, 'sshd_config'), sshdConfig(h, forwarding));
  writeFileSync(join(h.dir, 'boot_id'), randomUUID() + '\n');
  writeFileSync(join(h.dir, 'calls.log'), '');
  writeFileSync(join(h.dir, 'reboot-mode'), 'normal\n');
  writeFileSync(join(h.dir, 'reboot-down-ms'), `${rebootDownMs}\n`);
  writeFileSync(join(h.dir, 'start.sh'), startScript(h), { mode: 0o755 });
  for (const c of SHIMMED_COMMANDS) writeFileSync(join(h.dir, 'bin', c), shimScript(h, c), { mode: 0o755 });
}

/** Spawns a host's sshd detached (it may outlive this process when started by the CLI) and waits for its port. */
async function launch(h: HostState): Promise<number> {
  rmSync(join(h.dir, 'stopped'), { force: true });
  const log = openSync(join(h.dir, 'sshd.log'), 'a');
  const child = spawn('/bin/sh', [join(h.dir, 'start.sh')], { detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start sshd for ${h.name}`);
  try {
    await waitForPort(h.address, h.port, 10_000, () => isRunning(pid));
  } catch (err) {
    const tail = readFileSync(join(h.dir, 'sshd.log'), 'utf8').split('\n').slice(-5).join('\n');
    throw new Error(`sshd of ${h.name} (${h.address}:${h.port}) did not start: ${(err as Error).message}\n${tail}`);
  }
  return pid;
}

function currentPid(h: { dir: string }): number | undefined {
  try {
    const pid = Number(readFileSync(join(h.dir, 'sshd.pid'), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Kills a host's listener and all its sessions (by the PIDs it wrote; only if they still run its config). */
async function killHost(h: { dir: string; name: string }, extraPids: number[] = []): Promise<void> {
  const pids = new Set<number>(extraPids);
  const fromFile = currentPid(h);
  if (fromFile !== undefined) pids.add(fromFile);
  for (const pid of pids) {
    await stopPid({ pid, match: h.dir, name: h.name }, { signal: 'SIGKILL', graceMs: 1_000, withDescendants: true });
  }
  rmSync(join(h.dir, 'sshd.pid'), { force: true });
}

async function stopHost(h: { dir: string; name: string }, spawned: number[]): Promise<void> {
  // The flag stops a simulated reboot that is sleeping in its "down" phase from starting sshd again.
  writeFileSync(join(h.dir, 'stopped'), '');
  const restartPid = Number(readFileSafe(join(h.dir, 'restart.pid')));
  if (restartPid > 0) await stopPid({ pid: restartPid, match: h.dir }, { signal: 'SIGKILL' });
  const pids = new Set<number>(spawned);
  const fromFile = currentPid(h);
  if (fromFile !== undefined) pids.add(fromFile);
  for (const pid of pids) await stopPid({ pid, match: h.dir, name: h.name }, { signal: 'SIGTERM', graceMs: 1_000, withDescendants: true });
}

function readFileSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}

/** Starts `count` sshd hosts on loopback and returns their facts plus control functions. */
export async function startSshdHosts(options: SshdHostsOptions): Promise<SshdHosts> {
  requireSshd();
  const count = options.count;
  if (!Number.isInteger(count) || count < 1 || count > 250) throw new RangeError('count must be 1..250');
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const dir = resolve(options.dir ?? makeTempDir('sshd-hosts'));
  mkdirSync(dir, { recursive: true });
  const names = options.names ?? Array.from({ length: count }, (_, i) => `h${i + 1}`);
  if (names.length !== count) throw new RangeError('names must have count entries');
  for (const n of names) if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(n)) throw new RangeError(`invalid host name ${n}`);
  const forwarding = new Set(options.allowTcpForwarding ?? []);

  // One port for all hosts (each has its own address); retry a few blocks/ports if something already listens.
  let prefix = options.prefix ?? randomLoopbackPrefix();
  let port = options.port ?? 0;
  for (let attempt = 0; ; attempt++) {
    if (!isLoopback(`${prefix}1`)) throw new RangeError(`prefix ${prefix} is not in 127.0.0.0/8`);
    if (!options.port) port = await freePort(`${prefix}1`);
    const free = await Promise.all(names.map((_, i) => portIsFree(`${prefix}${i + 1}`, port)));
    if (free.every(Boolean)) break;
    if (attempt >= 5 || (options.port && options.prefix)) throw new Error(`port ${port} is taken on some address of ${prefix}0/24`);
    if (!options.prefix) prefix = randomLoopbackPrefix();
  }

  const identityFile = join(dir, 'client_ed25519');
  const clientPub = await sshKeygen(identityFile, 'cluster-cookbooks-test');
  const rebootDownMs = options.rebootDownMs ?? 300;

  const hosts: HostState[] = names.map((name, i) => ({ name, address: `${prefix}${i + 1}`, port, dir: join(dir, name), hostKeyPub: '' }));
  for (let i = 0; i < hosts.length; i += 10) await Promise.all(hosts.slice(i, i + 10).map((h) => writeHostFiles(h, clientPub, forwarding.has(h.name), rebootDownMs)));
  const knownHostsPath = join(dir, 'known_hosts');
  writeFileSync(knownHostsPath, hosts.map((h) => `[${h.address}]:${h.port} ${h.hostKeyPub}\n`).join(''));
  const state: SetState = { dir, port, knownHostsPath, identityFile, hosts };
  writeFileSync(join(dir, 'state.json'), JSON.stringify(state, null, 2) + '\n');

  const spawned = new Map<string, number[]>();
  const records = (): PidRecord[] =>
    hosts.flatMap((h) => [...new Set([...(spawned.get(h.name) ?? []), currentPid(h)])].filter((p): p is number => p !== undefined).map((pid) => ({ pid, match: h.dir, name: h.name })));
  const started = async (h: HostState): Promise<void> => {
    const pid = await launch(h);
    spawned.set(h.name, [...(spawned.get(h.name) ?? []), pid]);
    writePidFile(join(dir, 'pids.json'), records());
  };
  // Cleanup if this process dies with servers still running (tests that crash before their after hook).
  const onExit = (): void => {
    for (const r of records()) {
      try {
        if (isRunning(r.pid)) process.kill(r.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  };

  if (!options.detach) process.on('exit', onExit);
  try {
    // Started in groups: 50 sshd execs at once mostly measure the scheduler, not the hosts.
    for (let i = 0; i < hosts.length; i += 10) await Promise.all(hosts.slice(i, i + 10).map(started));
  } catch (err) {
    for (const h of hosts) await stopHost(h, spawned.get(h.name) ?? []);
    throw err;
  }

  const byName = new Map(hosts.map((h) => [h.name, h]));
  const get = (name: string): HostState => {
    const h = byName.get(name);
    if (!h) throw new Error(`no fake host ${name}`);
    return h;
  };
  const view = (h: HostState): SshdHost => ({
    name: h.name,
    address: h.address,
    port: h.port,
    dir: h.dir,
    get pid() {
      return currentPid(h) ?? spawned.get(h.name)?.at(-1) ?? 0;
    },
    hostKeyPub: h.hostKeyPub,
    callsLog: join(h.dir, 'calls.log'),
    bootIdFile: join(h.dir, 'boot_id'),
  });
  let stopped = false;
  return {
    dir,
    hosts: hosts.map(view),
    knownHostsPath,
    identityFile,
    host: (name) => view(get(name)),
    calls(name) {
      return readFileSync(join(get(name).dir, 'calls.log'), 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => l.split('\t'));
    },
    setRebootMode(name, mode, downMs) {
      const h = get(name);
      writeFileSync(join(h.dir, 'reboot-mode'), mode + '\n');
      if (downMs !== undefined) writeFileSync(join(h.dir, 'reboot-down-ms'), `${downMs}\n`);
    },
    bootId: (name) => readFileSync(join(get(name).dir, 'boot_id'), 'utf8').trim(),
    async kill(name) {
      const h = get(name);
      await killHost(h, spawned.get(h.name) ?? []);
    },
    async start(name, opts = {}) {
      const h = get(name);
      if (opts.newBootId) writeFileSync(join(h.dir, 'boot_id'), randomUUID() + '\n');
      await started(h);
    },
    async stop(opts = {}) {
      if (stopped) return;
      stopped = true;
      process.off('exit', onExit);
      await Promise.all(hosts.map((h) => stopHost(h, spawned.get(h.name) ?? [])));
      rmSync(join(dir, 'pids.json'), { force: true });
      if (!opts.keepDir && !options.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Stops a host set started by another process (the CLI), from its directory's state and PID files. */
export async function stopSshdHostsInDir(dir: string): Promise<number> {
  const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as SetState;
  const recorded = readPidFile(join(dir, 'pids.json'));
  await Promise.all(state.hosts.map((h) => stopHost(h, recorded.filter((r) => r.name === h.name).map((r) => r.pid))));
  rmSync(join(dir, 'pids.json'), { force: true });
  return state.hosts.length;
}

/**
 * The reboot shim's worker (runs detached, outside the session): "power off" kills the listener and every
 * session at once, then, unless the host is set to never return, a new boot_id and a start after the down time.
 */
async function simulateReboot(hostDir: string): Promise<void> {
  const dir = resolve(hostDir);
  writeFileSync(join(dir, 'restart.pid'), `${process.pid}\n`);
  const state = JSON.parse(readFileSync(join(dir, '..', 'state.json'), 'utf8')) as SetState;
  const h = state.hosts.find((x) => x.dir === dir);
  if (!h) throw new Error(`${dir} is not a fake host`);
  // Let the reboot command's own session finish first, as `reboot` returns before the machine goes down.
  await sleep(100);
  await killHost(h);
  const mode = readFileSafe(join(dir, 'reboot-mode'));
  if (mode === 'never-return') return;
  writeFileSync(join(dir, 'boot_id'), randomUUID() + '\n');
  await sleep(Number(readFileSafe(join(dir, 'reboot-down-ms')) || 300));
  if (existsSync(join(dir, 'stopped'))) return;
  await launch(h);
  rmSync(join(dir, 'restart.pid'), { force: true });
}

function argValue(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}

async function main(argv: string[]): Promise<void> {
  const [cmd, ...args] = argv;
  if (cmd === 'start') {
    const count = Number(argValue(args, '--count') ?? '3');
    const dir = argValue(args, '--dir') ?? makeTempDir('sshd-hosts');
    const port = argValue(args, '--port');
    const set = await startSshdHosts({ detach: true, count, dir, port: port ? Number(port) : undefined, prefix: argValue(args, '--prefix') });
    process.stdout.write(
      JSON.stringify({ dir: set.dir, knownHostsPath: set.knownHostsPath, identityFile: set.identityFile, hosts: set.hosts.map((h) => ({ name: h.name, address: h.address, port: h.port, pid: h.pid })) }, null, 2) + '\n',
    );
  } else if (cmd === 'stop') {
    const dir = argValue(args, '--dir');
    if (!dir) throw new Error('usage: sshd.js stop --dir DIR');
    const n = await stopSshdHostsInDir(dir);
    process.stdout.write(`stopped ${n} hosts in ${dir}\n`);
  } else if (cmd === '_reboot') {
    await simulateReboot(args[0]!);
  } else {
    process.stderr.write('usage: sshd.js start [--count N] [--dir D] [--port P] [--prefix 127.A.B.] | stop --dir D\n');
    process.exitCode = 2;
  }
}

runIfMain(import.meta.url, main);
