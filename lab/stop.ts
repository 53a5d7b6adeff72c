// Stopping a lab daemon: SIGTERM, SIGKILL after a deadline, and a return only once the process has exited
// (kill(pid, 0) answers ESRCH) and its ports are closed; then its state directory goes.
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { LabError } from '../lib/core/errors.js';
import { join } from 'node:path';
import { isLabDaemonOf, isZombie, pidAlive, readDaemonPid } from './running.js';
import { HAPROXY_STATE_DIR, type LabInfo, labStateDir, readLabInfo, removeStateDir } from './state.js';

/** Where stopLab reports what it had to do. */
export interface StopIO {
  stderr(text: string): void;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Resolves when nothing accepts connections on address:port (true) or the deadline passed (false). */
function portClosed(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: address, port });
    sock.setTimeout(1000);
    sock.once('connect', () => {
      sock.destroy();
      resolve(false);
    });
    sock.once('timeout', () => {
      sock.destroy();
      resolve(false);
    });
    sock.once('error', () => resolve(true));
  });
}

/** Every address:port a lab listened on, from its lab.json. */
export function labPorts(info: LabInfo): { address: string; port: number }[] {
  const out = [info.endpoints.kubernetes, info.endpoints.openstack, info.endpoints.admin]
    .filter(Boolean)
    .map((u) => new URL(u))
    .map((u) => ({ address: u.hostname, port: Number(u.port) }));
  for (const h of info.hosts) out.push({ address: h.address, port: h.port });
  // The load balancers' HAProxy frontends.
  if (info.haproxy && 'port' in info.haproxy) for (const name of Object.keys(info.haproxy.pids)) {
    const h = info.hosts.find((x) => x.name === name);
    if (h) out.push({ address: h.address, port: info.haproxy.port });
  }
  return out;
}

/** How a wait for a process to exit ended: gone (ESRCH), exited but not reaped by its parent yet, or alive. */
type ExitWait = 'gone' | 'zombie' | 'alive';

/**
 * Polls `kill(pid, 0)` until the process is gone (ESRCH) or `ms` passed. A zombie has exited already: it is
 * given a short grace for its parent to reap it, then reported as such instead of waiting out the deadline.
 */
async function waitForExit(pid: number, ms: number): Promise<ExitWait> {
  const end = Date.now() + ms;
  let zombieSince: number | undefined;
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') return 'gone';
    }
    if (isZombie(pid)) zombieSince ??= Date.now();
    else zombieSince = undefined;
    if (zombieSince !== undefined && Date.now() - zombieSince > 2000) return 'zombie';
    if (Date.now() > end) return zombieSince !== undefined ? 'zombie' : 'alive';
    await sleep(25);
  }
}

/**
 * Stops a lab by its pid (SIGTERM, SIGKILL after a deadline) and returns only once the process has exited
 * (or throws a LabError naming the pid still alive); then checks its ports are closed and removes its state.
 * The pid comes from lab.json, or from daemon.pid when the daemon already removed lab.json on its way out.
 */
export async function stopLab(clusterName: string, stateDir?: string, io: StopIO = { stderr: (t) => process.stderr.write(t) }): Promise<{ wasRunning: boolean; pid?: number }> {
  const dir = labStateDir(clusterName, stateDir);
  const info = readLabInfo(dir);
  const pid = info?.pid ?? readDaemonPid(dir);
  let wasRunning = false;
  if (pid !== undefined && pidAlive(pid) && isLabDaemonOf(pid, dir)) {
    wasRunning = true;
    process.kill(pid, 'SIGTERM');
    let ended = await waitForExit(pid, 10_000);
    if (ended === 'alive') {
      io.stderr(`lab ${clusterName}: pid ${pid} ignored SIGTERM for 10 s, sending SIGKILL\n`);
      process.kill(pid, 'SIGKILL');
      ended = await waitForExit(pid, 5000);
    }
    if (ended === 'alive') {
      throw new LabError(`lab ${clusterName}: pid ${pid} is still alive after SIGTERM and SIGKILL`, {
        context: { pid, stateDir: dir },
        hint: `look at it with: ps -o pid,stat,cmd -p ${pid}`,
      });
    }
    if (ended === 'zombie') io.stderr(`lab ${clusterName}: pid ${pid} has exited; its parent has not reaped it yet\n`);
  }
  if (info) {
    await stopLeftHaproxy(info, dir, io);
    const open: string[] = [];
    for (const p of labPorts(info)) if (!(await portClosed(p.address, p.port))) open.push(`${p.address}:${p.port}`);
    if (open.length) {
      throw new LabError(`lab ${clusterName}: still listening after stop: ${open.join(', ')}`, { context: { pid: info.pid, open }, hint: 'find the process with: ss -ltnp' });
    }
  }
  const { left } = removeStateDir(dir);
  if (left.length) io.stderr(`lab ${clusterName}: left ${dir} in place: it holds files the lab did not write (${left.join(', ')})\n`);
  return { wasRunning, ...(wasRunning ? { pid } : {}) };
}


/**
 * HAProxy processes lab.json listed that outlived the daemon (they die with it, unless the kernel could not tie
 * them): stopped by PID, only when the PID still runs haproxy on this lab's config (a recycled PID is left alone).
 */
async function stopLeftHaproxy(info: LabInfo, dir: string, io: StopIO): Promise<void> {
  if (!info.haproxy || !('pids' in info.haproxy)) return;
  const marker = join(dir, HAPROXY_STATE_DIR) + '/';
  for (const pid of Object.values(info.haproxy.pids).flat()) {
    if (!pidAlive(pid) || !runsFrom(pid, marker)) continue;
    io.stderr(`lab ${info.clusterName}: haproxy pid ${pid} outlived the lab; stopping it\n`);
    process.kill(pid, 'SIGTERM');
    if ((await waitForExit(pid, 3000)) === 'alive') {
      process.kill(pid, 'SIGKILL');
      await waitForExit(pid, 3000);
    }
  }
}

/** True when the command line of `pid` names a file under `dirPrefix`. */
function runsFrom(pid: number, dirPrefix: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').some((a) => a.startsWith(dirPrefix));
  } catch {
    return false;
  }
}
