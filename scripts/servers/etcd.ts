// Starts and stops a real etcd cluster (Debian etcd 3.4) on 127.0.0.1 for the etcd lock and etcd cookbook
// integration tests. Each member gets two free ports (client, peer) and its own data dir; members are stopped
// one at a time by PID (stopping all at once makes the survivors wait for a quorum and takes ~8 s), and a
// stopped member can be started again from its data dir to test failover.
//
// As a script: `node <build>/scripts/servers/etcd.js start [--dir D] [--size N]` prints
// {"endpoints","dir","members"} and leaves the cluster running; `... stop --dir D` stops it by its PID file.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  freePort,
  isRunning,
  makeTempDir,
  readPidFile,
  requireBinary,
  sleep,
  stopPid,
  writePidFile,
  type PidRecord,
  runIfMain,
} from './common.js';

/** The etcd server binary (Debian etcd-server). */
export const ETCD_BIN = '/usr/bin/etcd';
/** The etcdctl binary (Debian etcd-client). */
export const ETCDCTL_BIN = '/usr/bin/etcdctl';
/** The exact command that installs both. */
export const ETCD_INSTALL = 'apt-get install -y --no-install-recommends etcd-server etcd-client';

/** One member of a test cluster. */
export interface EtcdMember {
  readonly name: string;
  /** http://127.0.0.1:PORT */
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly dataDir: string;
  /** PID of the running process, undefined while stopped. */
  readonly pid: number | undefined;
  readonly running: boolean;
}

/** A running test cluster. */
export interface EtcdCluster {
  /** Working directory: data dirs, logs and the PID file. */
  readonly dir: string;
  readonly members: readonly EtcdMember[];
  /** Client URLs of all members (running or not), as a client would be configured. */
  readonly endpoints: string[];
  /** Stops one member by PID (its data dir stays, so it can be started again). */
  stopMember(name: string): Promise<void>;
  /** Starts a stopped member again from its data dir and waits until it is healthy. */
  startMember(name: string): Promise<void>;
  /** Runs etcdctl (API v3) against the running members; resolves with stdout, rejects on a non-zero exit. */
  etcdctl(args: string[]): Promise<string>;
  /** Stops every member, one at a time, and deletes the directory unless `keepDir`. */
  stop(options?: { keepDir?: boolean }): Promise<void>;
}

/** Options of startEtcdCluster(). */
export interface StartEtcdOptions {
  /** Number of members (default 3). */
  size?: number;
  /** Working directory; a new temporary one when absent. */
  dir?: string;
  /** Detach the processes so they outlive this one (the CLI's `start`). */
  detached?: boolean;
  /** How long to wait for every member's /health. */
  readyTimeoutMs?: number;
}

const PID_FILE = 'pids.json';

/** Throws MissingPrerequisiteError with the install command when etcd or etcdctl is missing. */
export function requireEtcd(): void {
  requireBinary(ETCD_BIN, ETCD_INSTALL);
  requireBinary(ETCDCTL_BIN, ETCD_INSTALL);
}

interface MemberState {
  name: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  logFile: string;
  child: ChildProcess | undefined;
  record: PidRecord | undefined;
}

/** Starts an etcd cluster of `size` members on 127.0.0.1 and waits until every member reports healthy. */
export async function startEtcdCluster(options: StartEtcdOptions = {}): Promise<EtcdCluster> {
  requireEtcd();
  const size = options.size ?? 3;
  const dir = resolve(options.dir ?? makeTempDir('cc-etcd'));
  mkdirSync(dir, { recursive: true });
  const ports = await distinctFreePorts(size * 2);
  const token = `cc-${randomBytes(6).toString('hex')}`;
  const members: MemberState[] = Array.from({ length: size }, (_, i) => ({
    name: `m${i + 1}`,
    clientUrl: `http://127.0.0.1:${ports[2 * i]}`,
    peerUrl: `http://127.0.0.1:${ports[2 * i + 1]}`,
    dataDir: join(dir, `m${i + 1}.data`),
    logFile: join(dir, `m${i + 1}.log`),
    child: undefined,
    record: undefined,
  }));
  const initialCluster = members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
  const readyTimeoutMs = options.readyTimeoutMs ?? 20_000;

  const launch = (m: MemberState): void => {
    const args = [
      '--name', m.name,
      '--data-dir', m.dataDir,
      '--listen-client-urls', m.clientUrl,
      '--advertise-client-urls', m.clientUrl,
      '--listen-peer-urls', m.peerUrl,
      '--initial-advertise-peer-urls', m.peerUrl,
      // Ignored by etcd once the data dir exists, so a restarted member rejoins with the same flags.
      '--initial-cluster', initialCluster,
      '--initial-cluster-state', 'new',
      '--initial-cluster-token', token,
      '--heartbeat-interval', '50',
      '--election-timeout', '500',
      '--log-level', 'warn',
      '--logger', 'zap',
    ];
    const fd = openSync(m.logFile, 'a');
    try {
      // Spawning the binary itself (no shell) makes child.pid the member's PID.
      m.child = spawn(ETCD_BIN, args, { stdio: ['ignore', fd, fd], detached: options.detached ?? false });
    } finally {
      closeSync(fd);
    }
    m.child.on('error', () => undefined);
    if (options.detached) m.child.unref();
    // The data dir path is unique to this member: stopPid() checks it in /proc/PID/cmdline before signalling.
    m.record = { pid: m.child.pid!, match: m.dataDir, name: m.name };
    writePidFile(join(dir, PID_FILE), members.flatMap((x) => (x.record ? [x.record] : [])));
  };

  const stopOne = async (m: MemberState): Promise<void> => {
    if (m.record) await stopPid(m.record, { graceMs: 10_000 });
    m.child = undefined;
    m.record = undefined;
    writePidFile(join(dir, PID_FILE), members.flatMap((x) => (x.record ? [x.record] : [])));
  };

  const stopAll = async (): Promise<void> => {
    // One at a time: each stop of a member still in a quorum is quick.
    for (const m of members) await stopOne(m);
  };

  for (const m of members) launch(m);
  try {
    await Promise.all(members.map((m) => waitHealthy(m, readyTimeoutMs)));
  } catch (err) {
    const logs = members.map((m) => `--- ${m.logFile}:\n${safeRead(m.logFile).slice(-1500)}`).join('\n');
    await stopAll();
    throw new Error(`etcd cluster did not become healthy: ${err instanceof Error ? err.message : String(err)}\n${logs}`);
  }

  const find = (name: string): MemberState => {
    const m = members.find((x) => x.name === name);
    if (!m) throw new Error(`no etcd member ${name} (have ${members.map((x) => x.name).join(', ')})`);
    return m;
  };

  const view = (m: MemberState): EtcdMember => ({
    name: m.name,
    clientUrl: m.clientUrl,
    peerUrl: m.peerUrl,
    dataDir: m.dataDir,
    get pid() {
      return m.record?.pid;
    },
    get running() {
      return m.record !== undefined && isRunning(m.record.pid);
    },
  });

  return {
    dir,
    members: members.map(view),
    endpoints: members.map((m) => m.clientUrl),
    async stopMember(name) {
      await stopOne(find(name));
    },
    async startMember(name) {
      const m = find(name);
      if (m.record && isRunning(m.record.pid)) return;
      launch(m);
      await waitHealthy(m, readyTimeoutMs);
    },
    etcdctl(args) {
      const running = members.filter((m) => m.record && isRunning(m.record.pid)).map((m) => m.clientUrl);
      return runEtcdctl([`--endpoints=${running.join(',')}`, ...args]);
    },
    async stop(stopOptions = {}) {
      await stopAll();
      if (!stopOptions.keepDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Stops the cluster whose PID file is in `dir` (started by the CLI), one member at a time, then deletes `dir`. */
export async function stopEtcdDir(dir: string): Promise<void> {
  for (const record of readPidFile(join(dir, PID_FILE))) await stopPid(record, { graceMs: 10_000 });
  rmSync(dir, { recursive: true, force: true });
}

/** Runs etcdctl with API v3; resolves with stdout, rejects with its stderr on failure. */
export function runEtcdctl(args: string[]): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile(ETCDCTL_BIN, args, { env: { ...process.env, ETCDCTL_API: '3' }, timeout: 15_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`etcdctl ${args.join(' ')} failed: ${stderr.trim() || err.message}`));
      else resolvePromise(stdout);
    });
  });
}

async function waitHealthy(m: MemberState, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const child = m.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) throw new Error(`member ${m.name} exited early`);
    try {
      // /health is true only once the member sees a leader, i.e. the cluster has a quorum.
      const res = await fetch(`${m.clientUrl}/health`, { signal: AbortSignal.timeout(1000) });
      const body = (await res.json()) as { health?: string };
      if (res.ok && body.health === 'true') return;
    } catch {
      // not listening yet, or no leader yet
    }
    if (Date.now() > until) throw new Error(`member ${m.name} not healthy after ${timeoutMs} ms`);
    await sleep(50);
  }
}

async function distinctFreePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort('127.0.0.1'));
  return [...ports];
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  const flag = (name: string): string | undefined => {
    const i = rest.indexOf(name);
    return i >= 0 ? rest[i + 1] : undefined;
  };
  const dir = flag('--dir');
  if (command === 'start') {
    const size = flag('--size');
    const cluster = await startEtcdCluster({ dir, size: size ? Number(size) : undefined, detached: true });
    const members = cluster.members.map((m) => ({ name: m.name, clientUrl: m.clientUrl, peerUrl: m.peerUrl, pid: m.pid }));
    process.stdout.write(JSON.stringify({ endpoints: cluster.endpoints, dir: cluster.dir, members }) + '\n');
  } else if (command === 'stop' && dir) {
    await stopEtcdDir(dir);
  } else {
    process.stderr.write('usage: etcd.js start [--dir D] [--size N] | stop --dir D\n');
    process.exitCode = 2;
  }
}

runIfMain(import.meta.url, main);
