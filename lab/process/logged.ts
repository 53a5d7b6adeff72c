// A real process that belongs to a lab host (etcd, HAProxy): tied to the lab process (lab/process/tied.ts: it dies with the lab
// even when that is SIGKILLed), its output appended to a log file, stopped by PID with a SIGKILL after a grace
// period, its exit code kept.
import type { ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { spawnTied as spawnTiedChild } from './tied.js';

/** One spawned process and how it ends. */
export interface TiedProcess {
  child: ChildProcess;
  pid: number;
  /** Set when the lab asked it to stop: an exit that was not asked for is a crash. */
  stopping: boolean;
  exitCode: number | null;
  exited: Promise<void>;
}

/** Spawns `bin args` (stdout and stderr appended to `logFile`) so that it is SIGKILLed when this process dies. */
export function spawnLogged(bin: string, args: string[], o: { logFile: string; cwd?: string; env?: Record<string, string> }): TiedProcess {
  const fd = openSync(o.logFile, 'a', 0o600);
  let child: ChildProcess;
  try {
    child = spawnTiedChild(bin, args, { ...(o.cwd ? { cwd: o.cwd } : {}), env: o.env ?? { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  const proc: TiedProcess = { child, pid: child.pid ?? -1, stopping: false, exitCode: null, exited: Promise.resolve() };
  proc.exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      proc.exitCode = code ?? (signal ? 128 : -1);
      resolve();
    });
    // A process that could not be spawned (ENOENT) may never emit 'exit'.
    child.once('error', () => {
      if (proc.pid < 0) {
        proc.exitCode = -1;
        resolve();
      }
    });
  });
  return proc;
}

/** Signals a tied process by PID and resolves once it exited (SIGKILL after `graceMs`). */
export async function stopTied(p: TiedProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 3000): Promise<void> {
  p.stopping = true;
  if (p.exitCode !== null || p.child.exitCode !== null || p.child.signalCode !== null) return p.exited;
  try {
    process.kill(p.pid, signal);
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }, graceMs);
  await p.exited;
  clearTimeout(timer);
}
