// Starts and stops a real Prometheus Alertmanager (Debian prometheus-alertmanager 0.25) on loopback for the
// alerting integration tests. Gossip is turned off with an empty --cluster.listen-address, because its default
// binds 0.0.0.0:9094 and tests must stay on 127.0.0.0/8. The server is stopped by its PID only.
//
// As a script: `node <build>/scripts/servers/alertmanager.js start [--dir D]` prints {"url","pid","dir"} and
// leaves the server running; `... stop --dir D` stops it by the PID file in D.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freePort, makeTempDir, readPidFile, requireBinary, runIfMain, sleep, stopPid, writePidFile, type PidRecord } from './common.js';

/** Where Debian installs the binary. */
export const ALERTMANAGER_BIN = '/usr/bin/prometheus-alertmanager';
/** The exact command that installs it (printed when it is missing). */
export const ALERTMANAGER_INSTALL = 'apt-get install -y --no-install-recommends prometheus-alertmanager';

/** A running Alertmanager. */
export interface AlertmanagerServer {
  /** Base URL, e.g. http://127.0.0.1:40123 (no trailing slash). */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Its working directory: config, storage, log and PID file. */
  readonly dir: string;
  /** Stops the server by PID and, unless `keepDir`, deletes its directory. */
  stop(options?: { keepDir?: boolean }): Promise<void>;
}

/** Options of startAlertmanager(). */
export interface StartAlertmanagerOptions {
  /** Working directory; a new temporary one when absent. */
  dir?: string;
  /** Detach the process so it outlives this one (the CLI's `start`). */
  detached?: boolean;
  /** How long to wait for `GET /-/ready`. */
  readyTimeoutMs?: number;
}

const PID_FILE = 'pids.json';

// A receiver that sends nowhere: the tests only look at silences and alert state, never at notifications.
const CONFIG = `route:
  receiver: 'null'
  group_wait: 1s
receivers:
  - name: 'null'
`;

/** Throws MissingPrerequisiteError naming the install command when the Alertmanager binary is missing. */
export function requireAlertmanager(): void {
  requireBinary(ALERTMANAGER_BIN, ALERTMANAGER_INSTALL);
}

/** Starts an Alertmanager on 127.0.0.1 with a free port and waits until it is ready. */
export async function startAlertmanager(options: StartAlertmanagerOptions = {}): Promise<AlertmanagerServer> {
  requireAlertmanager();
  const dir = resolve(options.dir ?? makeTempDir('cc-alertmanager'));
  mkdirSync(dir, { recursive: true });
  const configFile = join(dir, 'alertmanager.yml');
  writeFileSync(configFile, CONFIG);
  // The free port can be taken by someone else between our probe and the server's bind: try a few ports.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const child = spawnLogged(
      ALERTMANAGER_BIN,
      [
        `--config.file=${configFile}`,
        `--storage.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--cluster.listen-address=',
        '--log.level=warn',
      ],
      join(dir, 'alertmanager.log'),
      options.detached ?? false,
    );
    const pid = child.pid!;
    // The config path is unique to this server: stopPid() checks it in /proc/PID/cmdline before signalling.
    const record: PidRecord = { pid, match: configFile, name: 'alertmanager' };
    writePidFile(join(dir, PID_FILE), [record]);
    try {
      await waitReady(`${url}/-/ready`, child, options.readyTimeoutMs ?? 10_000);
    } catch (err) {
      lastError = err;
      await stopPid(record, { graceMs: 5000 });
      continue;
    }
    return {
      url,
      port,
      pid,
      dir,
      async stop(stopOptions = {}) {
        await stopPid(record, { graceMs: 5000 });
        if (!stopOptions.keepDir) rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const log = safeRead(join(dir, 'alertmanager.log')).slice(-2000);
  throw new Error(`alertmanager did not become ready: ${String(lastError)}\n--- ${join(dir, 'alertmanager.log')}:\n${log}`);
}

/** Stops the Alertmanager whose PID file is in `dir` (started by the CLI), then deletes `dir`. */
export async function stopAlertmanagerDir(dir: string): Promise<void> {
  // stopPid() signals a recorded PID only while its command line still names this server's config file.
  for (const record of readPidFile(join(dir, PID_FILE))) await stopPid(record, { graceMs: 5000 });
  rmSync(dir, { recursive: true, force: true });
}

function spawnLogged(bin: string, args: string[], logFile: string, detached: boolean): ChildProcess {
  const fd = openSync(logFile, 'a');
  try {
    // Spawning the binary itself (no shell) makes child.pid the server's PID.
    const child = spawn(bin, args, { stdio: ['ignore', fd, fd], detached });
    // Without a listener a spawn failure would be an uncaught 'error' event; waitReady() reports the exit.
    child.on('error', () => undefined);
    if (detached) child.unref();
    return child;
  } finally {
    closeSync(fd);
  }
}

async function waitReady(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`exited early (${child.exitCode ?? child.signalCode})`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error(`not ready after ${timeoutMs} ms`);
    await sleep(50);
  }
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
  const dirIndex = rest.indexOf('--dir');
  const dir = dirIndex >= 0 ? rest[dirIndex + 1] : undefined;
  if (command === 'start') {
    const server = await startAlertmanager({ dir, detached: true });
    process.stdout.write(JSON.stringify({ url: server.url, pid: server.pid, dir: server.dir }) + '\n');
  } else if (command === 'stop' && dir) {
    await stopAlertmanagerDir(dir);
  } else {
    process.stderr.write('usage: alertmanager.js start [--dir D] | stop --dir D\n');
    process.exitCode = 2;
  }
}

runIfMain(import.meta.url, main);
