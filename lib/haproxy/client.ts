// The HAProxy client: one load-balancer host, reached over our SSH layer (argument-array commands, never a
// shell line). The configuration is read with cat and written through stdin (tee) to a candidate file that
// `haproxy -c -f` validates before it is moved into place and HAProxy reloads; the admin socket is spoken to
// through `socat stdio <socket>` with the command on stdin. Mutations go through the Remote client, so the
// gate plans them in dry-run; reads (cat, show stat) run in dry-run too.
import { messageOf } from '../core/errors.js';
import { type OperationTable, type Planned, isPlanned } from '../core/gate.js';
import type { CommandResult, Remote } from '../remote/index.js';
import { RemoteCommandError } from '../remote/errors.js';
import { HaproxyConfigError, HaproxySocketError } from './errors.js';
import { type BackendServer, backendServers, parseServersState, parseShowStat, socketRefusal } from './stat.js';

export * from './errors.js';
export * from './config.js';
export * from './stat.js';

/** The lines of `haproxy -c` output that say what is wrong (at most 8). */
function alertsOf(output: string): string[] {
  return output
    .split('\n')
    .filter((l) => /ALERT|error/i.test(l))
    .map((l) => l.trim())
    .slice(0, 8);
}

/** Where HAProxy keeps its files on an LB host, and which backend is the API servers'. */
export interface HaproxySettings {
  backend: string;
  config: string;
  socket: string;
  sudo: boolean;
}

/** The HAProxy of one load-balancer host. */
export class Haproxy {
  /** Every public method, read or mutate (see lib/core/gate.ts). */
  static readonly operations: OperationTable<Haproxy> = Object.freeze({
    readConfig: 'read',
    checkConfig: 'read',
    isActive: 'read',
    ask: 'read',
    servers: 'read',
    setState: 'mutate',
    shutdownSessions: 'mutate',
    writeConfig: 'mutate',
  } as const);

  constructor(
    private readonly remote: Remote,
    /** The LB host's inventory name. */
    readonly host: string,
    readonly settings: HaproxySettings,
  ) {}

  #context(command: string, extra: Record<string, unknown> = {}): { host: string; command: string; [k: string]: unknown } {
    return { host: this.host, command, backend: this.settings.backend, ...extra };
  }

  /** The configuration file's text. */
  async readConfig(): Promise<string> {
    const r = await this.remote.query(this.host, ['cat', this.settings.config], { sudo: this.settings.sudo, timeoutMs: 15_000 });
    return r.stdout;
  }

  /** `haproxy -c -f <config>`: whether the file on disk would load (a reload of a broken file fails), and HAProxy's alerts. */
  async checkConfig(): Promise<{ ok: boolean; alerts: string[] }> {
    const r = await this.remote.query(this.host, ['haproxy', '-c', '-f', this.settings.config], { sudo: this.settings.sudo, okExitCodes: 'any', timeoutMs: 30_000 });
    return { ok: r.exitCode === 0, alerts: alertsOf(`${r.stdout}\n${r.stderr}`) };
  }

  /** True when the haproxy service runs (systemctl is-active). */
  async isActive(): Promise<boolean> {
    const r = await this.remote.query(this.host, ['systemctl', 'is-active', 'haproxy'], { sudo: this.settings.sudo, okExitCodes: 'any', timeoutMs: 15_000 });
    return r.exitCode === 0 && r.stdout.trim() === 'active';
  }

  /** Sends one read-only admin-socket command (show ...) and returns the answer. */
  async ask(command: string): Promise<string> {
    try {
      const r = await this.remote.query(this.host, this.#socat(), { sudo: this.settings.sudo, stdin: `${command}\n`, timeoutMs: 15_000 });
      return r.stdout;
    } catch (err) {
      throw this.#socketError(command, err);
    }
  }

  /** The API backend's servers as this LB sees them: status, sessions, drain/maintenance. */
  async servers(): Promise<BackendServer[]> {
    const [stat, state] = await Promise.all([this.ask('show stat'), this.ask(`show servers state ${this.settings.backend}`)]);
    try {
      return backendServers(parseShowStat(stat), parseServersState(state), this.settings.backend);
    } catch (err) {
      throw new HaproxySocketError(`HAProxy on ${this.host} answered something we cannot read: ${messageOf(err)}`, {
        context: this.#context('show stat; show servers state'),
        cause: err,
        hint: `check that ${this.settings.socket} is HAProxy's admin socket (stats socket ... level admin) on ${this.host}`,
      });
    }
  }

  /** `set server <backend>/<server> state drain|ready` (a mutation). */
  async setState(server: string, state: 'drain' | 'ready'): Promise<true | Planned> {
    return this.#admin(`set server ${this.settings.backend}/${server} state ${state}`, server);
  }

  /** `shutdown sessions server <backend>/<server>`: ends the connections a drain left open (a mutation). */
  async shutdownSessions(server: string): Promise<true | Planned> {
    return this.#admin(`shutdown sessions server ${this.settings.backend}/${server}`, server);
  }

  /**
   * Replaces the configuration: the text goes through stdin to `<config>.cc-new`, `haproxy -c -f` validates
   * it (a refusal leaves the running file alone and removes the candidate), then it is moved into place and
   * HAProxy reloads (a graceful reload: old connections finish on the old process).
   */
  async writeConfig(text: string, why: string): Promise<true | Planned> {
    const { config, sudo } = this.settings;
    const candidate = `${config}.cc-new`;
    const detail = { why };
    const wrote = await this.remote.run(this.host, ['tee', candidate], { sudo, stdin: text, timeoutMs: 15_000, maxOutputBytes: 1 << 20, detail });
    if (isPlanned(wrote)) {
      // Dry-run: the rest is planned as well, so the mutation list shows every command the real run sends.
      await this.remote.run(this.host, ['haproxy', '-c', '-f', candidate], { sudo, detail });
      await this.remote.run(this.host, ['mv', '-f', candidate, config], { sudo, detail });
      return this.remote.run(this.host, ['systemctl', 'reload', 'haproxy'], { sudo, detail }) as Promise<Planned>;
    }
    const check = (await this.remote.run(this.host, ['haproxy', '-c', '-f', candidate], { sudo, okExitCodes: 'any', timeoutMs: 30_000, detail })) as CommandResult;
    if (check.exitCode !== 0) {
      await this.remote.run(this.host, ['rm', '-f', candidate], { sudo, okExitCodes: 'any', timeoutMs: 15_000 }).catch(() => undefined);
      const alerts = alertsOf(`${check.stdout}\n${check.stderr}`).join('\n');
      throw new HaproxyConfigError(`haproxy -c refused the new configuration for ${this.host} (${why}); ${config} is unchanged${alerts ? `:\n${alerts}` : ''}`, {
        context: this.#context(`haproxy -c -f ${candidate}`, { exitStatus: check.exitCode, path: config }),
        hint: `read HAProxy's messages above; fix ${config} on ${this.host} by hand (the managed block holds one "server <node> <address>:<port>" line per control node), then run the cookbook again`,
      });
    }
    await this.remote.run(this.host, ['mv', '-f', candidate, config], { sudo, timeoutMs: 15_000, detail });
    try {
      await this.remote.run(this.host, ['systemctl', 'reload', 'haproxy'], { sudo, timeoutMs: 60_000, detail });
    } catch (err) {
      if (!(err instanceof RemoteCommandError)) throw err;
      throw new HaproxyConfigError(`systemctl reload haproxy failed on ${this.host} after ${why}: ${messageOf(err)}`, {
        context: this.#context('systemctl reload haproxy', { path: config }),
        cause: err,
        hint: `run systemctl status haproxy and journalctl -u haproxy on ${this.host}; ${config} already holds the new configuration`,
      });
    }
    return true;
  }

  #socat(): string[] {
    return ['socat', 'stdio', this.settings.socket];
  }

  async #admin(command: string, server: string): Promise<true | Planned> {
    let r: CommandResult | Planned;
    try {
      r = await this.remote.run(this.host, this.#socat(), { sudo: this.settings.sudo, stdin: `${command}\n`, timeoutMs: 15_000, detail: { socketCommand: command } });
    } catch (err) {
      throw this.#socketError(command, err);
    }
    if (isPlanned(r)) return r;
    const refusal = socketRefusal(r.stdout);
    if (refusal) {
      throw new HaproxySocketError(`HAProxy on ${this.host} refused "${command}": ${refusal}`, {
        context: this.#context(command, { server, answer: refusal }),
        hint: /No such server/i.test(refusal)
          ? `${server} is not in backend ${this.settings.backend} on ${this.host}: check ${this.settings.config} (cookbook k8s.control-plane.resize --count <current> lists what differs)`
          : `check the admin socket (stats socket ${this.settings.socket} level admin) on ${this.host}`,
      });
    }
    return true;
  }

  #socketError(command: string, err: unknown): Error {
    if (!(err instanceof RemoteCommandError)) return err as Error;
    return new HaproxySocketError(`cannot talk to HAProxy's admin socket ${this.settings.socket} on ${this.host} ("${command}"): ${messageOf(err).split('\n').slice(-1)[0]}`, {
      context: this.#context(command, { socket: this.settings.socket }),
      cause: err,
      hint: `check that haproxy runs on ${this.host} (systemctl status haproxy) and that its global section has "stats socket ${this.settings.socket} mode 660 level admin"`,
    });
  }
}
