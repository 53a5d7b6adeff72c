// Real etcd behind the lab's hosts of role etcd. Each member is a Debian etcd process on its host's own 127.x
// address (the lab's client and peer ports), configured from the host's /etc/default/etcd, its data dir in the
// lab's state dir. systemctl start/stop/restart, reboots and VM deletion drive the processes; etcdctl on a host
// runs the real etcdctl. Processes start on first use (an etcdctl, a systemctl, or start()), so labs that never
// touch etcd (most tests) pay nothing. Every process is stopped by PID at stop().
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { ETCD_STATE_DIR } from '../state.js';
import type { EtcdBackend, LabHost, World } from '../world.js';
import * as fs from '../ssh/fs.js';
import { type TiedProcess, spawnLogged, stopTied } from '../process/logged.js';
import { realEnv, realEtcdctl } from './tls.js';
import { APISERVER_MANIFEST, DEFAULT_DATA_DIR, ETCD_DEFAULTS, manifestEtcdServers, memberConfig, parseEnvFile, renderApiserverManifest, renderEnvFile } from './config.js';

/** The etcd server binary (Debian etcd-server). */
export const ETCD_BIN = '/usr/bin/etcd';
/** The etcdctl binary (Debian etcd-client). */
export const ETCDCTL_BIN = '/usr/bin/etcdctl';
/** What to install for real etcd in the lab. */
export const ETCD_PACKAGES_HINT = 'install Debian etcd: apt-get install -y --no-install-recommends etcd-server etcd-client';

/** Why the lab cannot run real etcd here (missing binaries), or undefined when it can. */
export function etcdMissing(): string | undefined {
  const missing = [ETCD_BIN, ETCDCTL_BIN].filter((b) => !existsSync(b));
  return missing.length ? `the lab runs real etcd for hosts of role etcd, but ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} missing: ${ETCD_PACKAGES_HINT}` : undefined;
}

/** A running member: its process (`stopping` set when we stop it: an exit not asked for marks the unit failed). */
interface Member extends TiedProcess {
  realDataDir: string;
}

/** Options of the lab's etcd. */
export interface LabEtcdOptions {
  stateDir: string;
  clientPort: number;
  peerPort: number;
  log: (message: string) => void;
}

/** The real etcd members of one lab. */
export class LabEtcd implements EtcdBackend {
  private readonly members = new Map<string, Member>();
  private started = false;
  private starting: Promise<void> | undefined;
  private stopped = false;
  private healthCache: { at: number; value: Promise<{ ok: boolean; reason?: string }> } | undefined;
  private readonly dir: string;
  private readonly onUnit = (h: LabHost, c: { active: boolean; restart: boolean }): void => {
    if (!this.started) return;
    void this.queue(h.name, async () => {
      if (!c.active) return this.kill(h.name);
      if (c.restart) await this.kill(h.name);
      await this.spawnMember(h);
    });
  };
  private readonly onDown = (h: LabHost): void => void this.queue(h.name, () => this.kill(h.name, 'SIGKILL'));
  private readonly onUp = (h: LabHost): void => {
    if (this.started && h.role === 'etcd' && h.services.get('etcd')) void this.queue(h.name, () => this.spawnMember(h));
  };
  private readonly onRemoved = (h: LabHost): void =>
    void this.queue(h.name, async () => {
      await this.kill(h.name, 'SIGKILL');
      rmSync(join(this.dir, h.name), { recursive: true, force: true });
    });
  private readonly queues = new Map<string, Promise<void>>();
  /** A client certificate for probing https endpoints (a member's own), once a TLS member started. */
  private probeTls: { cert: Buffer; key: Buffer } | undefined;

  constructor(
    readonly world: World,
    readonly options: LabEtcdOptions,
  ) {
    this.dir = join(options.stateDir, ETCD_STATE_DIR);
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    world.on('etcd-unit', this.onUnit);
    world.on('host-down', this.onDown);
    world.on('host-up', this.onUp);
    world.on('host-removed', this.onRemoved);
  }

  /** http://ADDRESS:CLIENTPORT of a host. */
  clientUrl(address: string): string {
    return `http://${address}:${this.options.clientPort}`;
  }

  /**
   * Writes what provisioning wrote on the lab's initial members (/etc/default/etcd, state new) and on its
   * control hosts (the apiserver manifest listing every member); returns the members' client URLs.
   */
  provisionInitial(hosts: LabHost[]): string[] {
    const members = hosts.filter((h) => h.role === 'etcd');
    const initialCluster = members.map((h) => `${h.name}=http://${h.address}:${this.options.peerPort}`).join(',');
    for (const h of members) {
      const cfg = memberConfig({ name: h.name, address: h.address, clientPort: this.options.clientPort, peerPort: this.options.peerPort, initialCluster, state: 'new', token: `${this.world.clusterName}-etcd` });
      fs.writeFile(h, ETCD_DEFAULTS, renderEnvFile(cfg));
      fs.mkdir(h, cfg.ETCD_DATA_DIR!, true);
    }
    const endpoints = members.map((h) => this.clientUrl(h.address));
    for (const h of hosts) if (h.kubelet.controlPlane) fs.writeFile(h, APISERVER_MANIFEST, renderApiserverManifest(h.name, h.address, endpoints, this.world.apiserverPort), { mode: 0o600 });
    return endpoints;
  }

  /** Starts every member whose unit is active (once); resolves when the cluster answers or every start failed. */
  start(): Promise<void> {
    this.starting ??= (async () => {
      this.started = true;
      const hosts = [...this.world.hosts.values()].filter((h) => h.role === 'etcd' && h.state === 'up' && h.services.get('etcd'));
      await Promise.all(hosts.map((h) => this.queue(h.name, () => this.spawnMember(h))));
      const deadline = Date.now() + 15_000;
      while (hosts.length && Date.now() < deadline && !this.stopped) {
        this.healthCache = undefined;
        if ((await this.health()).ok) return;
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    return this.starting;
  }

  /** Runs the real etcdctl for a host; endpoints default to the host's own member, as on a real member. */
  async etcdctl(host: LabHost, args: string[], env: Map<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
    await this.start();
    const cfg = parseEnvFile(fs.readFile(host, ETCD_DEFAULTS) ?? '');
    const childEnv: Record<string, string> = { PATH: '/usr/bin:/bin', ETCDCTL_API: '3' };
    for (const [k, v] of env) if (k.startsWith('ETCDCTL_')) childEnv[k] = v;
    const hasFlag = args.some((a) => a === '--endpoints' || a.startsWith('--endpoints='));
    if (!hasFlag && !childEnv.ETCDCTL_ENDPOINTS) childEnv.ETCDCTL_ENDPOINTS = cfg.get('ETCD_ADVERTISE_CLIENT_URLS') ?? `http://${host.address}:${this.options.clientPort}`;
    // Only the lab's own addresses: a default of 127.0.0.1:2379 must never reach a real etcd on this machine.
    const endpoints = hasFlag ? flagValue(args, '--endpoints') ?? '' : childEnv.ETCDCTL_ENDPOINTS!;
    const labAddresses = new Set([...this.world.hosts.values()].map((h) => h.address));
    for (const e of endpoints.split(',').filter(Boolean)) {
      const hostPart = /^(?:https?:\/\/)?([^:/]+)/.exec(e)?.[1] ?? '';
      if (!labAddresses.has(hostPart)) return { code: 1, stdout: '', stderr: `{"level":"warn","msg":"retrying of unary invoker failed","error":"rpc error: code = DeadlineExceeded desc = context deadline exceeded"}\nError: context deadline exceeded (lab: ${e} is not a lab host)\n` };
    }
    // Snapshot files live on the host (in memory): hand etcdctl a real temporary file and copy it back.
    const tmp = join(this.dir, `.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`);
    // So do TLS files (--cacert/--cert/--key): real copies for the call, removed after it.
    const tls = realEtcdctl(host, args, childEnv, `${tmp}-tls`);
    if (tls.problem) {
      rmSync(`${tmp}-tls`, { recursive: true, force: true });
      return { code: 1, stdout: '', stderr: `${tls.problem}\n` };
    }
    Object.assign(childEnv, tls.env);
    const real = [...tls.args];
    const pos = real.findIndex((a, i) => a === 'snapshot' && ['save', 'status', 'restore'].includes(real[i + 1] ?? ''));
    let saveTo: string | undefined;
    let original = '';
    try {
      if (pos >= 0) {
        const verb = real[pos + 1]!;
        const fileIdx = real.findIndex((a, i) => i > pos + 1 && !a.startsWith('-') && !real[i - 1]!.match(/^--(data-dir|name|initial-cluster|initial-cluster-token|initial-advertise-peer-urls|endpoints|write-out|w)$/) && real[i - 1] !== '-w');
        if (verb === 'restore') return { code: 1, stdout: '', stderr: 'lab: snapshot restore on a lab host is not supported; restore on the operator host (etcd.restore-check)\n' };
        if (fileIdx < 0) return { code: 1, stdout: '', stderr: `Error: snapshot ${verb} expects one argument\n` };
        const path = fs.normalizePath(real[fileIdx]!, '/root');
        if (verb === 'save') {
          const problem = fs.writeProblem(host, path);
          if (problem) return { code: 1, stdout: '', stderr: `Error: could not open ${real[fileIdx]}.part (open ${real[fileIdx]}.part: ${problem.toLowerCase()})\n` };
          saveTo = path;
        } else {
          const bytes = fs.readBytes(host, path);
          if (!bytes) return { code: 1, stdout: '', stderr: `Error: stat ${real[fileIdx]}: no such file or directory\n` };
          writeFileSync(tmp, bytes);
        }
        original = real[fileIdx]!;
        real[fileIdx] = tmp;
      }
      const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(ETCDCTL_BIN, real, { env: childEnv, cwd: this.dir, maxBuffer: 64 * 1024 * 1024, timeout: 120_000, encoding: 'utf8' }, (err, stdout, stderr) => {
          const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
          const back = (t: string): string => (original ? t.split(tmp).join(original) : t);
          resolve({ code, stdout: back(stdout), stderr: back(stderr) });
        });
      });
      if (saveTo && r.code === 0) {
        fs.writeBytes(host, saveTo, readFileSync(tmp), { mode: 0o600 });
      }
      return r;
    } finally {
      rmSync(tmp, { force: true });
      rmSync(`${tmp}.part`, { force: true });
      rmSync(`${tmp}-tls`, { recursive: true, force: true });
    }
  }

  /**
   * The apiserver's etcd check: ok when one of the endpoints the control hosts' manifests list answers
   * /health true (cached 250 ms; /readyz is polled). Before etcd was first used, the members are as provisioned.
   */
  health(): Promise<{ ok: boolean; reason?: string }> {
    if (!this.started) return Promise.resolve({ ok: true });
    const now = Date.now();
    if (this.healthCache && now - this.healthCache.at < 250) return this.healthCache.value;
    const value = (async () => {
      const endpoints = new Set<string>();
      for (const h of this.world.hosts.values()) if (h.kubelet.controlPlane) for (const e of manifestEtcdServers(fs.readFile(h, APISERVER_MANIFEST) ?? '')) endpoints.add(e);
      if (endpoints.size === 0) for (const h of this.world.hosts.values()) if (h.role === 'etcd') endpoints.add(this.clientUrl(h.address));
      // No external member anywhere (a lab up --etcd 0): the lab's own store stands in for stacked etcd.
      if (endpoints.size === 0) return { ok: true };
      const answers = await Promise.all([...endpoints].map((e) => probeHealth(e, this.probeTls)));
      if (answers.some((a) => a)) return { ok: true };
      return { ok: false, reason: `no etcd endpoint of ${[...endpoints].join(',')} is healthy` };
    })();
    this.healthCache = { at: now, value };
    return value;
  }

  /** PIDs of the running members, by host. */
  pids(): Record<string, number> {
    return Object.fromEntries([...this.members].map(([h, m]) => [h, m.pid]));
  }

  /** Stops every member by PID, one at a time (each stop inside a quorum is quick), and unsubscribes. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.world.off('etcd-unit', this.onUnit);
    this.world.off('host-down', this.onDown);
    this.world.off('host-up', this.onUp);
    this.world.off('host-removed', this.onRemoved);
    await Promise.all([...this.queues.values()]);
    for (const name of [...this.members.keys()]) await this.kill(name);
  }

  private queue(host: string, op: () => Promise<void>): Promise<void> {
    const next = (this.queues.get(host) ?? Promise.resolve()).then(op).catch((err: unknown) => this.options.log(`etcd ${host}: ${(err as Error).message}`));
    this.queues.set(host, next);
    return next;
  }

  private async spawnMember(host: LabHost): Promise<void> {
    if (this.stopped || this.members.has(host.name) || host.state !== 'up' || this.world.hosts.get(host.name) !== host) return;
    const cfg = parseEnvFile(fs.readFile(host, ETCD_DEFAULTS) ?? '');
    const problem = this.configProblem(host, cfg);
    if (problem) {
      this.options.log(`etcd ${host.name}: not started: ${problem}`);
      host.services.set('etcd', false);
      return;
    }
    const dataDir = cfg.get('ETCD_DATA_DIR') ?? DEFAULT_DATA_DIR;
    const realDataDir = join(this.dir, host.name, dataDir.replace(/[^A-Za-z0-9._-]+/g, '_'));
    // The host's view decides: a data dir removed on the host (rm -rf) starts empty, as a new member must.
    if (!fs.isDir(host, dataDir)) rmSync(realDataDir, { recursive: true, force: true });
    fs.mkdir(host, dataDir, true);
    mkdirSync(realDataDir, { recursive: true, mode: 0o700 });
    const env: Record<string, string> = { PATH: '/usr/bin:/bin', ETCD_HEARTBEAT_INTERVAL: '50', ETCD_ELECTION_TIMEOUT: '500', ETCD_LOG_LEVEL: 'warn', ETCD_LOGGER: 'zap' };
    for (const [k, v] of cfg) if (k.startsWith('ETCD_') && !['ETCD_DATA_DIR', 'ETCD_WAL_DIR', 'ETCD_LOG_OUTPUTS'].includes(k)) env[k] = v;
    const tls = realEnv(host, env, join(this.dir, host.name, 'tls'));
    if (tls.problem) {
      this.options.log(`etcd ${host.name}: not started: ${tls.problem}`);
      host.services.set('etcd', false);
      return;
    }
    Object.assign(env, tls.env);
    // The health probe of https endpoints presents a member's own certificate (it is the lab's apiserver).
    if (env.ETCD_CERT_FILE && env.ETCD_KEY_FILE) this.probeTls = { cert: readFileSync(env.ETCD_CERT_FILE), key: readFileSync(env.ETCD_KEY_FILE) };
    // The data dir on the command line makes the PID's cmdline name this member (lab down checks it); tied, so
    // a SIGKILLed lab takes its members with it.
    const member: Member = { ...spawnLogged(ETCD_BIN, ['--data-dir', realDataDir], { logFile: join(this.dir, `${host.name}.log`), env }), realDataDir };
    member.child.on('error', (err) => this.options.log(`etcd ${host.name}: ${err.message}`));
    this.members.set(host.name, member);
    this.healthCache = undefined;
    void member.exited.then(() => {
      if (this.members.get(host.name) === member) this.members.delete(host.name);
      // A removed member exits by itself; systemd would show the unit failed.
      if (!member.stopping && this.world.hosts.get(host.name) === host && host.state === 'up') host.services.set('etcd', false);
    });
  }

  private configProblem(host: LabHost, cfg: Map<string, string>): string | undefined {
    if (!cfg.get('ETCD_LISTEN_CLIENT_URLS') || !cfg.get('ETCD_LISTEN_PEER_URLS')) return `${ETCD_DEFAULTS} sets no ETCD_LISTEN_CLIENT_URLS/ETCD_LISTEN_PEER_URLS (the lab runs etcd only on the host's own address)`;
    for (const k of ['ETCD_LISTEN_CLIENT_URLS', 'ETCD_ADVERTISE_CLIENT_URLS', 'ETCD_LISTEN_PEER_URLS', 'ETCD_INITIAL_ADVERTISE_PEER_URLS']) {
      for (const u of (cfg.get(k) ?? '').split(',').filter(Boolean)) {
        const m = /^https?:\/\/([^:/]+):(\d+)$/.exec(u);
        if (!m || m[1] !== host.address) return `${k}=${u} is not on the host's address ${host.address}`;
      }
    }
    return undefined;
  }

  private async kill(name: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const m = this.members.get(name);
    if (!m) return;
    this.members.delete(name);
    this.healthCache = undefined;
    await stopTied(m, signal, 5000);
  }
}

/** The value of `--flag=v` or `--flag v` in an argument list. */
function flagValue(args: string[], flag: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === flag) return args[i + 1];
    if (args[i]!.startsWith(flag + '=')) return args[i]!.slice(flag.length + 1);
  }
  return undefined;
}

/** GET <endpoint>/health: true when etcd reports itself healthy (a leader, no alarm) within 1 s. */
function probeHealth(endpoint: string, tls?: { cert: Buffer; key: Buffer }): Promise<boolean> {
  return new Promise((resolve) => {
    const onResponse = (res: import('node:http').IncomingMessage): void => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(res.statusCode === 200 && /"health":\s*"true"/.test(body)));
    };
    // The lab's own probe of its own members: the CA is not checked, the client certificate is a member's.
    const req = endpoint.startsWith('https:') ? httpsRequest(`${endpoint}/health`, { timeout: 1000, rejectUnauthorized: false, ...(tls ?? {}) }, onResponse) : request(`${endpoint}/health`, { timeout: 1000 }, onResponse);
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}
