// Processes that die with the lab. The lab's real daemons (etcd, HAProxy) must not outlive a lab process that
// was SIGKILLed (no handler runs then, so stop-by-PID cannot). The kernel can do it for us: a child started
// through util-linux `setpriv --pdeathsig SIGKILL` gets SIGKILL when its parent dies, and setpriv execs the
// command, so the PID, /proc/PID/cmdline and exit status are the command's own (callers keep stopping by PID).
// The death signal follows the thread that forked; Node forks from its main thread, whose end is the process's.
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

/** util-linux's setpriv (Debian: essential package util-linux). */
export const SETPRIV_BIN = '/usr/bin/setpriv';

/** True when children can be tied to the lab's life here (Linux with util-linux's setpriv). */
export function canTie(): boolean {
  return process.platform === 'linux' && existsSync(SETPRIV_BIN);
}

/** The argv that runs `command args` so that it gets SIGKILL when this process dies (unchanged when it cannot). */
export function tiedArgv(command: string, args: readonly string[]): [string, string[]] {
  return canTie() ? [SETPRIV_BIN, ['--pdeathsig', 'SIGKILL', '--', command, ...args]] : [command, [...args]];
}

/**
 * spawn() for a lab daemon that must not survive the lab: same PID and cmdline as the command itself, killed by
 * the kernel when this process dies, SIGKILL included. Without setpriv it is a plain spawn (stop it by PID).
 */
export function spawnTied(command: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  const [cmd, argv] = tiedArgv(command, args);
  return spawn(cmd, argv, options);
}
