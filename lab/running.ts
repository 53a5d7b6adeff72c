// Finding running labs without loading the lab itself (inventory loading uses this, so it stays light: fs and
// paths only). A lab is running when its state directory holds a lab.json whose pid is a live lab daemon.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { defaultStateDir } from '../lib/core/paths.js';
import type { LabInfo } from './state.js';

/** File name of a lab's description (with its endpoints and pid) in its state directory. */
export const LAB_JSON = 'lab.json';
/** File name of the daemon's pid, written at spawn and kept until `lab down` saw the process exit. */
export const DAEMON_PID = 'daemon.pid';

/** True when a process with this pid exists and is not a zombie (a zombie has exited and holds no ports). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid);
}

/** True when `pid` has exited but its parent has not reaped it yet. */
export function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] === 'Z';
  } catch {
    return false;
  }
}

/** True when `pid` is a lab daemon (so a recycled pid is never signalled). */
export function isLabDaemon(pid: number): boolean {
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return cmd.some((a) => a.endsWith('/daemon.js')) && cmd.includes('--options');
  } catch {
    return pidAlive(pid);
  }
}

/**
 * True when `pid` is the lab daemon of state directory `dir` (its --options name that directory), so a stale
 * pid file whose pid now belongs to another lab's daemon never gets that lab stopped.
 */
export function isLabDaemonOf(pid: number, dir: string): boolean {
  let cmd: string[];
  try {
    cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    // No /proc: fall back to "alive" (the same answer isLabDaemon gives there).
    return pidAlive(pid);
  }
  const i = cmd.indexOf('--options');
  if (i < 0 || !cmd.some((a) => a.endsWith('/daemon.js'))) return false;
  try {
    return (JSON.parse(cmd[i + 1] ?? '') as { stateDir?: string }).stateDir === dir;
  } catch {
    return false;
  }
}

/** lab.json of a state directory, or undefined when there is none (or it is unreadable). */
export function readLabInfo(dir: string): LabInfo | undefined {
  try {
    const info = JSON.parse(readFileSync(join(dir, LAB_JSON), 'utf8')) as LabInfo;
    return typeof info.pid === 'number' && info.endpoints ? info : undefined;
  } catch {
    return undefined;
  }
}

/** The pid in a state directory's daemon.pid, if any. */
export function readDaemonPid(dir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dir, DAEMON_PID), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Where labs started without --state-dir live: <XDG state>/cluster-cookbooks/labs. */
export function labsRoot(): string {
  return join(defaultStateDir(), 'labs');
}

/** The lab.json of the lab running in `dir`, or undefined when none runs there. */
export function runningLabIn(dir: string): LabInfo | undefined {
  const info = readLabInfo(dir);
  return info && pidAlive(info.pid) && isLabDaemon(info.pid) ? info : undefined;
}

/** Every lab running in the default location, by cluster name. */
export function listRunningLabs(root: string = labsRoot()): LabInfo[] {
  let names: string[];
  try {
    names = readdirSync(root).sort();
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const info = runningLabIn(join(root, name));
    return info ? [info] : [];
  });
}

/**
 * The state directory of the running lab started with `cookbook lab up --cluster-name NAME` (it holds the lab's
 * inventory.yaml, so it serves as an --inventory directory), or undefined when no such lab runs.
 */
export function findLabInventoryDir(clusterName: string): string | undefined {
  // The name becomes a path: only the DNS labels `lab up` accepts.
  if (!/^[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?$/.test(clusterName)) return undefined;
  const dir = join(labsRoot(), clusterName);
  const info = runningLabIn(dir);
  return info && info.clusterName === clusterName ? dir : undefined;
}
