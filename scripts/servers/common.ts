// Shared helpers for the scripts that start real test servers (sshd, etcd, alertmanager, ...): binaries that
// must be installed, loopback addresses and ports, waiting for a port, PID files and stopping by PID only.
// Every server binds to 127.0.0.0/8 and is stopped by the PID we recorded, never by name.
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomInt } from 'node:crypto';

/** Thrown when a server binary is missing; its message carries the exact command that installs it. */
export class MissingPrerequisiteError extends Error {
  constructor(
    readonly binary: string,
    readonly installCommand: string,
  ) {
    super(`${binary} is not installed; install it with: ${installCommand}`);
    this.name = 'MissingPrerequisiteError';
  }
}

/** Throws MissingPrerequisiteError unless `path` exists. */
export function requireBinary(path: string, installCommand: string): void {
  if (!existsSync(path)) throw new MissingPrerequisiteError(path, installCommand);
}

/** A fresh temporary directory (mode 0700) for one set of servers. */
export function makeTempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `${prefix}-`));
}

/**
 * A random /24 block of 127.0.0.0/8 as a prefix `127.A.B.` so that servers of parallel test runs (and of other
 * people's suites in the same machine) rarely meet on the same address. 127.0.0.x is avoided (busy).
 */
export function randomLoopbackPrefix(): string {
  return `127.${randomInt(100, 250)}.${randomInt(1, 250)}.`;
}

/** True when an address is inside 127.0.0.0/8 (the only place test servers may bind). */
export function isLoopback(address: string): boolean {
  return /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(address) && address.split('.').every((p) => Number(p) <= 255);
}

/** Asks the OS for a free TCP port on `address` (bind to port 0, read it, close). */
export async function freePort(address = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen({ host: address, port: 0, exclusive: true }, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** True when nothing listens on address:port yet (we can bind it ourselves). */
export async function portIsFree(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ host: address, port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** Resolves once a TCP connection to address:port succeeds; rejects after `timeoutMs`. */
export async function waitForPort(address: string, port: number, timeoutMs = 10_000, isAlive?: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 5; ; delay = Math.min(100, delay * 2)) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = createConnection({ host: address, port });
      sock.once('connect', () => {
        sock.destroy();
        resolve(true);
      });
      sock.once('error', () => resolve(false));
    });
    if (ok) return;
    if (isAlive && !isAlive()) throw new Error(`server for ${address}:${port} exited before it listened`);
    if (Date.now() > deadline) throw new Error(`nothing listens on ${address}:${port} after ${timeoutMs} ms`);
    await sleep(delay);
  }
}

/** Promise-based sleep. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One process we started, as kept in a PID file: enough to recognise it again before signalling it. */
export interface PidRecord {
  pid: number;
  /** A substring of /proc/PID/cmdline that identifies our process (e.g. its config path). */
  match: string;
  /** Free label (host name, member name). */
  name?: string;
}

/** Writes the PID records of a server set as JSON. */
export function writePidFile(path: string, records: PidRecord[]): void {
  writeFileSync(path, JSON.stringify(records, null, 2) + '\n', { mode: 0o600 });
}

/** Reads PID records written by writePidFile (an empty list when the file does not exist). */
export function readPidFile(path: string): PidRecord[] {
  if (!existsSync(path)) return [];
  return JSON.parse(readFileSync(path, 'utf8')) as PidRecord[];
}

/** The NUL-separated command line of a process, or undefined when it is gone. */
export function cmdlineOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return undefined;
  }
}

/** True while a process exists and is not a zombie. */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The state is the field after the parenthesised command name, which may itself contain spaces.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** The PIDs of all live descendants of `pid` (children first found by walking /proc once). */
export function descendantsOf(pid: number): number[] {
  const children = new Map<number, number[]>();
  let entries: string[] = [];
  try {
    entries = readdirProc();
  } catch {
    return [];
  }
  for (const entry of entries) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ppid = Number(rest[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // The process ended while we walked /proc.
    }
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const p = queue.shift()!;
    for (const c of children.get(p) ?? []) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

function readdirProc(): string[] {
  return readdirSync('/proc').filter((e) => /^\d+$/.test(e));
}

/**
 * Stops one recorded process: only if its command line still contains `match` (so a recycled PID is never
 * signalled), first with `signal`, then SIGKILL after `graceMs`. With `withDescendants`, its children
 * (e.g. sshd's per-connection processes, which survive their listener) are killed too.
 */
export async function stopPid(record: PidRecord, options: { signal?: NodeJS.Signals; graceMs?: number; withDescendants?: boolean } = {}): Promise<void> {
  const { pid, match } = record;
  const cmd = cmdlineOf(pid);
  if (cmd === undefined || !cmd.includes(match) || !isRunning(pid)) return;
  const victims = options.withDescendants ? [pid, ...descendantsOf(pid)] : [pid];
  for (const v of victims) {
    try {
      process.kill(v, options.signal ?? 'SIGTERM');
    } catch {
      // Already gone.
    }
  }
  const deadline = Date.now() + (options.graceMs ?? 2_000);
  while (victims.some(isRunning) && Date.now() < deadline) await sleep(10);
  for (const v of victims.filter(isRunning)) {
    try {
      process.kill(v, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

/** Runs `main` with the arguments when `moduleUrl` is the process's entry point (each server script is also a CLI). */
export function runIfMain(moduleUrl: string, main: (argv: string[]) => Promise<void>): void {
  if (!process.argv[1] || resolve(process.argv[1]) !== fileURLToPath(moduleUrl)) return;
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
