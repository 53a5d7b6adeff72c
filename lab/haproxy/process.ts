// Real HAProxy behind the lab's load balancer hosts. Each host that runs the haproxy unit has a Debian haproxy
// process on its own 127.x address, configured from the host's /etc/haproxy/haproxy.cfg (translated by
// lab/haproxy/config.ts). systemctl start/stop/restart/reload, reboots and VM deletion drive the processes; a
// reload works as the model's unit does: validate, dump `show servers state` into the server-state file, start
// the new process with -sf (and -x when the socket exposes its listeners, so no connection is refused), and the
// old one finishes its sessions. Stops and reboots dump the state too (admin states outlive a restart). Every process is spawned tied to the lab process and stopped by PID at stop().
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { HAPROXY_STATE_DIR } from '../state.js';
import type { LabHost, World } from '../world.js';
import * as fs from '../ssh/fs.js';
import { HAPROXY_CFG, type RealConfig, mappedPath, realConfig } from './config.js';
import { type TiedProcess, spawnLogged, stopTied } from '../process/logged.js';

/** The haproxy binary (Debian haproxy). */
export const HAPROXY_BIN = '/usr/sbin/haproxy';
/** What to install for real HAProxy in the lab. */
export const HAPROXY_PACKAGES_HINT = 'install Debian haproxy: apt-get install -y --no-install-recommends haproxy';

/** Why the lab cannot run real HAProxy here (the binary is missing), or undefined when it can. */
export function haproxyMissing(bin = HAPROXY_BIN): string | undefined {
  return existsSync(bin) ? undefined : `the lab runs real HAProxy on hosts of role loadbalancer, but ${bin} is missing: ${HAPROXY_PACKAGES_HINT}`;
}

/** What a systemctl verb or a config check ended with, as the host's command prints it. */
export interface UnitResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of the lab's HAProxy. */
export interface LabHaproxyOptions {
  stateDir: string;
  /** The haproxy binary (default Debian's). */
  bin?: string;
  log: (message: string) => void;
  /** Called when the set of PIDs changed (lab.json lists them). */
  onChange?: () => void;
}

interface HostProcs {
  current?: { proc: TiedProcess; config: RealConfig };
  /** Old processes of earlier reloads, finishing their sessions. */
  old: Set<TiedProcess>;
}

/** What systemctl prints when the unit's start or reload command failed. */
const JOB_FAILED = 'Job for haproxy.service failed because the control process exited with error code.\nSee "systemctl status haproxy.service" and "journalctl -xeu haproxy.service" for details.\n';

/** The real HAProxy processes of one lab. */
export class LabHaproxy {
  private readonly hosts = new Map<string, HostProcs>();
  private readonly queues = new Map<string, Promise<unknown>>();
  private stopped = false;
  private readonly dir: string;
  private readonly onDown = (h: LabHost): void =>
    void this.queue(h.name, async () => {
      await this.saveState(h);
      await this.killAll(h.name, 'SIGKILL');
    });
  private readonly onUp = (h: LabHost): void => {
    if (this.isLb(h) && h.services.get('haproxy')) void this.queue(h.name, () => this.startUnit(h));
  };
  private readonly onRemoved = (h: LabHost): void =>
    void this.queue(h.name, async () => {
      await this.killAll(h.name, 'SIGKILL');
      rmSync(this.hostDir(h), { recursive: true, force: true });
    });

  constructor(
    readonly world: World,
    readonly options: LabHaproxyOptions,
  ) {
    this.dir = join(options.stateDir, HAPROXY_STATE_DIR);
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    world.on('host-down', this.onDown);
    world.on('host-up', this.onUp);
    world.on('host-removed', this.onRemoved);
  }

  /** The real directory of a host's files (config, sockets, state, log). */
  hostDir(host: LabHost): string {
    return join(this.dir, host.name);
  }

  /** Starts haproxy on every up host whose unit is active; resolves when each answered or failed. */
  async start(): Promise<void> {
    const hosts = [...this.world.hosts.values()].filter((h) => this.isLb(h) && h.state === 'up' && h.services.get('haproxy'));
    await Promise.all(hosts.map((h) => this.queue(h.name, () => this.startUnit(h))));
  }

  /** `systemctl VERB haproxy` on a host: acts on the real process; the exit code and output systemctl gives. */
  control(host: LabHost, verb: 'start' | 'stop' | 'restart' | 'reload' | 'try-restart'): Promise<UnitResult> {
    return this.queue(host.name, async (): Promise<UnitResult> => {
      const ok = { code: 0, stdout: '', stderr: '' };
      const procs = this.procs(host.name);
      if (verb === 'stop') {
        host.services.set('haproxy', false);
        await this.saveState(host);
        await this.killAll(host.name);
        return ok;
      }
      if (verb === 'try-restart' && !procs.current) return ok;
      if (verb === 'reload') {
        if (!procs.current) return { code: 1, stdout: '', stderr: 'haproxy.service is not active, cannot reload.\n' };
        const r = await this.reload(host);
        return r ? { code: 1, stdout: '', stderr: JOB_FAILED + `(lab) haproxy: ${r}\n` } : ok;
      }
      if (verb === 'start' && procs.current) return ok;
      if (verb !== 'start') {
        await this.saveState(host);
        await this.killAll(host.name);
      }
      const problem = await this.startUnit(host);
      return problem ? { code: 1, stdout: '', stderr: JOB_FAILED + `(lab) haproxy: ${problem}\n` } : ok;
    });
  }

  /** The unit was started or stopped by something other than systemctl (a package install): follow it. */
  unitChanged(host: LabHost, c: { active: boolean; restart: boolean }): void {
    void this.control(host, c.active ? (c.restart ? 'restart' : 'start') : 'stop');
  }

  /** `haproxy -c -f PATH` on a host: the real check of the host's file, output in the host's terms. */
  async check(host: LabHost, hostPath: string, quiet: boolean): Promise<UnitResult> {
    const text = fs.readFile(host, hostPath);
    if (text === undefined) return { code: 1, stdout: '', stderr: `[NOTICE]   (1) : haproxy version is 2.6.12-1+deb12u1\n[ALERT]    (1) : Cannot open configuration file/directory ${hostPath} : No such file or directory\n` };
    const real = this.translate(host, text);
    if (typeof real === 'string') return { code: 1, stdout: '', stderr: `[ALERT]    (1) : config : parsing [${hostPath}:${real}]\n[ALERT]    (1) : Fatal errors found in configuration.\n` };
    const r = await this.runCheck(host, real, `check-${process.pid}-${Date.now()}.cfg`, hostPath);
    return { code: r.code, stdout: quiet ? '' : r.stdout, stderr: r.stderr };
  }

  /** The real path of a unix socket the host's running haproxy listens on at `hostPath` (for socat). */
  socketPath(host: LabHost, hostPath: string): string | undefined {
    const cur = this.hosts.get(host.name)?.current;
    // /run is /var/run on the host: the config may name either.
    const declared = cur?.config.sockets.find((s) => fs.normalizePath(s) === fs.normalizePath(hostPath));
    return declared ? socketOf(cur!.proc, cur!.config, declared) : undefined;
  }

  /** PIDs of the running haproxy processes (the current one first), by host. */
  pids(): Record<string, number[]> {
    const out: Record<string, number[]> = {};
    for (const [name, p] of this.hosts) {
      const list = [...(p.current ? [p.current.proc.pid] : []), ...[...p.old].map((o) => o.pid)];
      if (list.length) out[name] = list;
    }
    return out;
  }

  /** Stops every process by PID and unsubscribes. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.world.off('host-down', this.onDown);
    this.world.off('host-up', this.onUp);
    this.world.off('host-removed', this.onRemoved);
    await Promise.all([...this.queues.values()]);
    await Promise.all([...this.hosts.keys()].map((name) => this.killAll(name)));
  }

  private isLb(h: LabHost): boolean {
    return h.packages.has('haproxy');
  }

  private procs(name: string): HostProcs {
    let p = this.hosts.get(name);
    if (!p) this.hosts.set(name, (p = { old: new Set() }));
    return p;
  }

  private queue<T>(host: string, op: () => Promise<T>): Promise<T> {
    const next = (this.queues.get(host) ?? Promise.resolve()).then(op);
    this.queues.set(
      host,
      next.catch((err: unknown) => this.options.log(`haproxy ${host}: ${(err as Error).message}`)),
    );
    return next;
  }

  private translate(host: LabHost, text: string): RealConfig | string {
    const byName = (name: string): string | undefined => {
      for (const h of this.world.hosts.values()) if (name === h.name || name.startsWith(h.name + '.')) return h.address;
      return undefined;
    };
    return realConfig(text, { hostDir: this.hostDir(host), address: host.address, resolve: byName });
  }

  /** Writes the real config and runs `haproxy -c` on it; its messages name the host's paths, not the lab's. */
  private async runCheck(host: LabHost, real: RealConfig, fileName: string, hostPath: string): Promise<UnitResult & { file: string }> {
    mkdirSync(this.hostDir(host), { recursive: true, mode: 0o700 });
    const file = join(this.hostDir(host), fileName);
    writeFileSync(file, real.text, { mode: 0o600 });
    const r = await run(this.options.bin ?? HAPROXY_BIN, ['-c', '-f', file]);
    if (fileName.startsWith('check-')) rmSync(file, { force: true });
    const pairs = [[file, hostPath], ...real.paths, ...[...real.socketNames].flatMap(([h, n]) => [[`unix@${n}`, h], [n, h]])];
    const back = (t: string): string => pairs.reduce((acc, [from, to]) => acc.split(from!).join(to!), t);
    return { code: r.code, stdout: back(r.stdout), stderr: back(r.stderr), file };
  }

  /** Validates and translates the host's config into haproxy.cfg in the host's directory; a reason when it cannot run. */
  private async prepare(host: LabHost): Promise<{ real: RealConfig; file: string } | string> {
    const text = fs.readFile(host, HAPROXY_CFG);
    if (text === undefined) return `${HAPROXY_CFG} does not exist`;
    const real = this.translate(host, text);
    if (typeof real === 'string') return `${HAPROXY_CFG} ${real}`;
    const r = await this.runCheck(host, real, 'haproxy.cfg', HAPROXY_CFG);
    if (r.code !== 0) return `configuration check failed: ${lastAlerts(r.stdout + r.stderr)}`;
    return { real, file: r.file };
  }

  /** Starts the unit's process when it is not running; a reason when it could not. */
  private async startUnit(host: LabHost): Promise<string | undefined> {
    const procs = this.procs(host.name);
    if (this.stopped || procs.current || host.state !== 'up' || this.world.hosts.get(host.name) !== host) return undefined;
    const prepared = await this.prepare(host);
    const problem = typeof prepared === 'string' ? prepared : await this.launch(host, prepared.real, prepared.file, []);
    host.services.set('haproxy', problem === undefined);
    if (problem) this.options.log(`haproxy ${host.name}: not started: ${problem}`);
    return problem;
  }

  /** A real reload; a reason when it failed (the old process keeps running then). */
  private async reload(host: LabHost): Promise<string | undefined> {
    const procs = this.procs(host.name);
    const prepared = await this.prepare(host);
    if (typeof prepared === 'string') return prepared;
    const cur = procs.current!;
    await this.saveState(host, prepared.real.stateFile && prepared.real.paths.get(prepared.real.stateFile));
    const oldSocket = cur.config.sockets[0] && socketOf(cur.proc, cur.config, cur.config.sockets[0]);
    // -x takes the socket name relative to the shared working directory (the absolute path may be too long).
    const seamless = oldSocket && /\bexpose-fd\s+listeners\b/.test(cur.config.text) ? ['-x', cur.config.socketNames.get(cur.config.sockets[0]!)!] : [];
    const olds = [cur.proc, ...procs.old];
    // -sf makes them exit once the new one runs: expected exits, not crashes.
    for (const p of olds) p.stopping = true;
    const problem = await this.launch(host, prepared.real, prepared.file, seamless, olds.map((p) => p.pid));
    if (problem) {
      cur.proc.stopping = false;
      return problem;
    }
    for (const p of olds) procs.old.add(p);
    return undefined;
  }

  /**
   * Dumps `show servers state` of the running process into the server-state file (the new config's on a reload):
   * admin states (drain, maint, weights) survive a reload, a restart or a reboot only through that file, which
   * the model's unit writes on reload and stop.
   */
  private async saveState(host: LabHost, file?: string): Promise<void> {
    const cur = this.hosts.get(host.name)?.current;
    if (!cur) return;
    const target = file ?? (cur.config.stateFile && cur.config.paths.get(cur.config.stateFile));
    const socket = cur.config.sockets[0] && socketOf(cur.proc, cur.config, cur.config.sockets[0]);
    if (!target || !socket) return;
    const state = await adminCommand(socket, 'show servers state').catch((err: unknown) => this.options.log(`haproxy ${host.name}: state not saved: ${(err as Error).message}`));
    if (state) writeFileSync(target, state, { mode: 0o600 });
  }

  /** Spawns haproxy with the real config and waits until it answers (its admin socket or its first bind). */
  private async launch(host: LabHost, real: RealConfig, file: string, extra: string[], softStop: number[] = []): Promise<string | undefined> {
    const procs = this.procs(host.name);
    const args = ['-db', '-f', file, ...extra, ...(softStop.length ? ['-sf', ...softStop.map(String)] : [])];
    const proc = spawnLogged(this.options.bin ?? HAPROXY_BIN, args, { logFile: mappedPath(this.hostDir(host), '/var/log/haproxy.log'), cwd: this.hostDir(host) });
    const socket = real.sockets[0] && socketOf(proc, real, real.sockets[0]);
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (proc.exitCode !== null) return `haproxy exited with code ${proc.exitCode} at start (see ${mappedPath(this.hostDir(host), '/var/log/haproxy.log')})`;
      if (socket ? new RegExp(`^Pid: ${proc.pid}$`, 'm').test(await adminCommand(socket, 'show info').catch(() => '')) : real.binds[0] ? await accepts(real.binds[0]) : true) break;
      if (Date.now() > deadline) {
        await stopTied(proc, 'SIGKILL');
        return 'haproxy did not answer within 10 s';
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    const replaced = procs.current;
    procs.current = { proc, config: real };
    if (replaced) procs.old.add(replaced.proc);
    void proc.exited.then(() => {
      procs.old.delete(proc);
      if (procs.current?.proc === proc) procs.current = undefined;
      // Died without being asked: systemd would show the unit failed.
      if (!proc.stopping && this.world.hosts.get(host.name) === host && host.state === 'up') {
        host.services.set('haproxy', false);
        this.options.log(`haproxy ${host.name}: pid ${proc.pid} exited (code ${proc.exitCode})`);
      }
      this.options.onChange?.();
    });
    this.options.onChange?.();
    return undefined;
  }

  private async killAll(name: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const p = this.hosts.get(name);
    if (!p) return;
    const all = [...(p.current ? [p.current.proc] : []), ...p.old];
    p.current = undefined;
    p.old.clear();
    await Promise.all(all.map((x) => stopTied(x, signal)));
    if (all.length) this.options.onChange?.();
  }
}

/** The path that reaches a process's admin socket: through /proc/PID/cwd, short whatever the state directory. */
function socketOf(proc: TiedProcess, config: RealConfig, hostPath: string): string | undefined {
  const name = config.socketNames.get(hostPath);
  return name ? `/proc/${proc.pid}/cwd/${name}` : undefined;
}

/** Sends one command line to an HAProxy admin socket and returns the whole answer (the socket closes after it). */
export function adminCommand(socketPath: string, command: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(socketPath);
    let out = '';
    sock.setEncoding('utf8');
    sock.setTimeout(timeoutMs, () => sock.destroy(new Error(`${socketPath}: no answer to "${command}" within ${timeoutMs} ms`)));
    sock.on('data', (d: string) => (out += d));
    sock.once('connect', () => sock.end(command.endsWith('\n') ? command : command + '\n'));
    sock.once('close', (hadError) => (hadError ? undefined : resolve(out)));
    sock.once('error', reject);
  });
}

function accepts(b: { address: string; port: number }): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: b.address, port: b.port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function run(bin: string, args: string[]): Promise<UnitResult> {
  return new Promise((resolve) => {
    execFile(bin, args, { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, timeout: 20_000, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** The ALERT lines of haproxy's output (what a failed check says), or its last line. */
function lastAlerts(text: string): string {
  const alerts = text.split('\n').filter((l) => l.includes('[ALERT]'));
  return (alerts.length ? alerts : text.trim().split('\n').slice(-1)).join('; ').replace(/\s+/g, ' ').trim();
}
