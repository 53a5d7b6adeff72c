// lib/remote: the SSH client of cookbooks. Commands are argument arrays (quoted here, never concatenated),
// every method is declared read or mutate, and a command is a mutation unless the caller marks it read-only:
// in dry-run a mutating command is recorded as planned and never sent. One pooled connection per host,
// host keys verified against known_hosts (or a new VM's console log), secrets only through stdin or a 0600 file.
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import type { ClientContext } from '../core/client.js';
import { CookbookError, InputError, InterruptedError, TimeoutError, messageOf } from '../core/errors.js';
import type { OperationTable, Planned } from '../core/gate.js';
import { registerSecret, redactText } from '../core/redact.js';
import { Deadline, formatMs } from '../core/retry.js';
import { type ResolvedHost, validateResolved, validateTarget } from './address.js';
import { ConnectionPool, type ConnectionSettings, type HostConnection } from './connection.js';
import { hasAnchors, parseConsoleHostKeys } from './console-trust.js';
import { ChannelClosedError, ConsoleTrustError, HostUnreachableError, RemoteTimeoutError, RemoteCommandError, RemoteHostError } from './errors.js';
import { NotStartedError, execCommand } from './exec.js';
import { fanOut } from './fanout.js';
import { fanoutError, fanoutResultOf, hostResultOf } from './host-results.js';
import type { KnownHosts } from './known-hosts.js';
import { commandAction, shellJoin, withSudo } from './quote.js';
import { BOOT_ID_PATH, parseBootId, waitForNewBootId, type RebootWaitResult } from './reboot.js';
import { downloadFile, removeFile, uploadFile, validateRemotePath } from './sftp.js';
import { type ResolvedRemoteOptions, combineSignals, connectionSettings, resolveRemoteOptions } from './settings.js';
import type { CommandResult, FanoutOptions, FanoutResult, HostResult, RebootRequest, RemoteOptions, RunOptions, TrustResult, WaitRebootOptions } from './types.js';

export * from './errors.js';
export * from './types.js';
export { shellQuote, shellJoin, withSudo } from './quote.js';
export { parseKnownHosts, verifyHostKey, fingerprintSha256, KnownHosts } from './known-hosts.js';
export { parseConsoleHostKeys, consoleVouchesFor } from './console-trust.js';
export { planBatches, requiredSuccesses, thresholdReachable, type BatchSize, type SuccessThreshold } from './plan.js';
export { fanOut, type FanOutOptions, type TaskOutcome } from './fanout.js';
export { parseJumpHost, validateTarget, type ResolvedHost } from './address.js';
export type { RebootWaitResult } from './reboot.js';

/** What the Context hands to create(): how a host name becomes an address and port, and optional tunables. */
export interface RemoteDeps {
  /** DNS name + domain, or the server's address in OpenStack; the lab gives 127.x addresses and one port. */
  resolveHost(name: string): Promise<{ address: string; port: number }>;
  options?: RemoteOptions;
}

/** The SSH client of one run. Build it with create(). */
export class Remote {
  /** Every public method, read or mutate (see lib/core/gate.ts); `run`/`runOnHosts` are reads with readOnly. */
  static readonly operations: OperationTable<Remote> = Object.freeze({
    run: 'mutate',
    query: 'read',
    runOnHosts: 'mutate',
    runWithSecretFile: 'mutate',
    upload: 'mutate',
    download: 'read',
    bootId: 'read',
    reboot: 'mutate',
    waitRebootSince: 'read',
    trustFromConsoleLog: 'read',
    connect: 'read',
    resolveHosts: 'read',
    disconnect: 'read',
    close: 'read',
  } as const);

  private readonly pool: ConnectionPool;
  private readonly opts: ResolvedRemoteOptions;

  /** Use create(); the constructor takes already validated settings. */
  constructor(
    private readonly ctx: ClientContext,
    private readonly deps: RemoteDeps,
    settings: ConnectionSettings,
    /** The known_hosts files in use. */
    readonly knownHosts: KnownHosts,
  ) {
    this.pool = new ConnectionPool(settings);
    this.opts = resolveRemoteOptions(deps.options);
  }

  get #sudo(): boolean {
    return this.ctx.cluster.ssh.sudo;
  }

  /** The last address each name resolved to: a cleanup after an interrupt reuses it (the resolver obeys the run's signal). */
  readonly #lastResolved = new Map<string, ResolvedHost>();

  /** Validates a host and finds its address: raw addresses use cluster.ssh.port, names go to the resolver. */
  async #resolve(host: string, cleanup = false): Promise<ResolvedHost> {
    const t = validateTarget(host);
    if (t.kind === 'address') return { host, address: host, port: this.ctx.cluster.ssh.port };
    const known = cleanup ? this.#lastResolved.get(host) : undefined;
    if (known) return known;
    let answer: { address: string; port: number };
    try {
      answer = await this.deps.resolveHost(host);
    } catch (err) {
      if (err instanceof CookbookError) throw err;
      throw new HostUnreachableError(`cannot resolve ${host}: ${messageOf(err)}`, { context: { host }, cause: err, hint: 'check the host name, the cluster domain and that the server exists' });
    }
    const resolved = validateResolved(host, answer);
    this.#lastResolved.set(host, resolved);
    return resolved;
  }

  /** The command as an argv with sudo applied, and as the quoted line that is sent. */
  #prepare(argv: readonly string[], sudo: boolean | undefined): { argv: string[]; command: string } {
    if (!Array.isArray(argv)) throw new InputError('a command must be an argument array', { context: { argv } });
    const full = withSudo(argv, sudo ?? this.#sudo);
    return { argv: full, command: shellJoin(full) };
  }

  /** Connects (or reuses the connection) and runs one command line; retries once if the command was never sent. */
  async #execute(host: string, command: string, opts: RunOptions, mutating: boolean): Promise<CommandResult> {
    const deadlineMs = opts.timeoutMs ?? this.opts.commandTimeoutMs;
    const deadline = new Deadline(deadlineMs, this.ctx.clock);
    // A cleanup (opts.cleanup) must still run after the run was interrupted: only its own deadline and signal apply.
    const signal = opts.cleanup ? opts.signal : combineSignals(this.ctx.signal, opts.signal);
    const target = await this.#resolve(host, opts.cleanup);
    if (opts.stdinSecret && typeof opts.stdin === 'string') registerSecret(opts.stdin);
    this.ctx.log.debug(`ssh ${host}: ${mutating ? 'run' : 'read'} ${command}`, { host, address: target.address, port: target.port, command });
    let result: CommandResult | undefined;
    for (let attempt = 1; !result; attempt++) {
      const conn = await this.pool.get(target, { timeoutMs: Math.min(this.opts.connectTimeoutMs, Math.max(1, deadline.remaining())), signal });
      try {
        result = await execCommand(conn, { command, stdin: opts.stdin, timeoutMs: Math.max(1, deadline.remaining()), deadlineMs, signal, maxOutputBytes: opts.maxOutputBytes, mutating });
      } catch (err) {
        // The pooled connection had died unnoticed: the command was not sent, so one fresh try is safe.
        if (err instanceof NotStartedError && attempt === 1) {
          await this.pool.drop(host, 'dead');
          continue;
        }
        throw err;
      }
    }
    this.ctx.log.debug(`ssh ${host}: exit ${result.exitCode ?? result.signal} in ${formatMs(result.durationMs)}`, { host, exitCode: result.exitCode, signal: result.signal, ms: result.durationMs });
    const ok = opts.okExitCodes ?? [0];
    if (ok !== 'any' && (result.exitCode === null || !ok.includes(result.exitCode))) {
      const tail = result.stderr.trimEnd().split('\n').slice(-10).join('\n');
      const status = result.exitCode === null ? `was killed by signal ${result.signal ?? '?'}` : `exited with status ${result.exitCode}`;
      const err = new RemoteCommandError(`command on ${host} ${status}: ${command}${tail ? `\n${tail}` : ''}`, {
        context: { host, address: target.address, port: target.port, command, exitStatus: result.exitCode, signal: result.signal, stderrTail: tail, durationMs: result.durationMs },
        hint: 'read the command\'s stderr above; fix the cause on the host, then run the cookbook again',
      });
      err.result = result;
      throw err;
    }
    return result;
  }

  /**
   * Runs a command (argument array) on one host. A mutation unless `readOnly`: in dry-run it returns a Planned
   * and sends nothing. A status outside `okExitCodes` throws RemoteCommandError.
   */
  async run(host: string, argv: readonly string[], opts: RunOptions = {}): Promise<CommandResult | Planned> {
    validateTarget(host);
    const { argv: full, command } = this.#prepare(argv, opts.sudo);
    if (opts.readOnly) return this.ctx.gate.read(() => this.#execute(host, command, opts, false));
    return this.ctx.gate.mutate({ system: 'remote', target: host, action: commandAction(full), detail: { command: redactText(command), ...opts.detail } }, () => this.#execute(host, command, opts, true));
  }

  /** Runs a read-only command (it changes nothing, so it also runs in dry-run). */
  async query(host: string, argv: readonly string[], opts: Omit<RunOptions, 'readOnly'> = {}): Promise<CommandResult> {
    return (await this.run(host, argv, { ...opts, readOnly: true })) as CommandResult;
  }

  /**
   * Runs a command on many hosts: concurrency limit, batches with a pause, success threshold (no new host starts
   * once it cannot be met), per-command and overall deadlines. Returns every host's result; throws
   * RemoteBatchError (with `.result`) when fewer hosts than the threshold succeeded. `argv` may depend on the host.
   */
  async runOnHosts(hosts: readonly string[], argv: readonly string[] | ((host: string) => readonly string[]), opts: FanoutOptions = {}): Promise<FanoutResult> {
    for (const h of hosts) validateTarget(h);
    const argvOf = typeof argv === 'function' ? argv : () => argv;
    for (const h of hosts) this.#prepare(argvOf(h), opts.sudo);
    const signal = combineSignals(this.ctx.signal, opts.signal);
    const results = new Map<string, HostResult>();
    const outcome = await fanOut(
      hosts,
      (host, sig) => this.run(host, argvOf(host), { ...opts, signal: sig }),
      {
        concurrency: opts.concurrency,
        batchSize: opts.batchSize,
        batchSleepMs: opts.batchSleepMs,
        successThreshold: opts.successThreshold,
        overallTimeoutMs: opts.overallTimeoutMs,
        signal,
        clock: this.ctx.clock,
        onDone: (o, done, total) => {
          const r = hostResultOf(o);
          results.set(o.host, r);
          opts.onProgress?.(r, { done, total });
        },
      },
    );
    const result = fanoutResultOf(hosts, results, outcome);
    this.ctx.log.debug(`ssh fan-out on ${hosts.length} hosts: ${result.ok.length} ok, ${result.failed.length} failed, ${result.skipped.length} not run, ${result.planned.length} planned`, {
      hosts: hosts.length,
      ms: result.durationMs,
    });
    if (signal?.aborted && !(signal.reason instanceof TimeoutError)) {
      throw new InterruptedError(`interrupted during a fan-out on ${hosts.length} hosts (${result.ok.length} done)`, { context: { ok: result.ok, failed: result.failed, skipped: result.skipped }, cause: signal.reason });
    }
    const failure = fanoutError(result, redactText(shellJoin(withSudo(argvOf(hosts[0] ?? ''), opts.sudo ?? this.#sudo))));
    if (failure) throw failure;
    return result;
  }

  /**
   * Runs a command that reads a secret from a file: uploads `secret` over SFTP as a fresh 0600 file, runs
   * `build(path)`, and always removes the file. The secret never appears on a command line.
   */
  async runWithSecretFile(host: string, secret: string | Buffer, build: (path: string) => readonly string[], opts: RunOptions = {}): Promise<CommandResult | Planned> {
    validateTarget(host);
    if (typeof secret === 'string') registerSecret(secret);
    const path = posix.join(this.opts.secretDir, `.cc-secret-${randomBytes(12).toString('hex')}`);
    validateRemotePath(path);
    const { argv: full, command } = this.#prepare(build(path), opts.sudo);
    if (typeof secret === 'string' && secret.length >= 4 && command.includes(secret)) {
      throw new InputError('the secret would appear on the command line: pass its file path instead', { context: { host } });
    }
    return this.ctx.gate.mutate({ system: 'remote', target: host, action: commandAction(full), detail: { command: redactText(command), secretFile: path, ...opts.detail } }, async () => {
      const target = await this.#resolve(host);
      const conn = await this.pool.get(target, { signal: combineSignals(this.ctx.signal, opts.signal) });
      await uploadFile(conn, path, secret, { mode: 0o600, exclusive: true });
      try {
        return await this.#execute(host, command, opts, true);
      } finally {
        try {
          await removeFile(await this.pool.get(target), path);
        } catch (err) {
          this.ctx.log.warn(`ssh ${host}: could not remove secret file ${path}: ${messageOf(err)}`, { host, path });
        }
      }
    });
  }

  /** Uploads a file over SFTP (temp file + rename, exact mode). `secret` registers the content for redaction. */
  async upload(host: string, path: string, content: string | Buffer, opts: { mode?: number; secret?: boolean } = {}): Promise<{ host: string; path: string; bytes: number } | Planned> {
    validateTarget(host);
    validateRemotePath(path);
    if (opts.secret && typeof content === 'string') registerSecret(content);
    const mode = opts.mode ?? (opts.secret ? 0o600 : 0o644);
    const bytes = typeof content === 'string' ? Buffer.byteLength(content) : content.length;
    return this.ctx.gate.mutate({ system: 'remote', target: host, action: `upload ${path}`, detail: { path, mode: mode.toString(8), bytes } }, async () => {
      const conn = await this.pool.get(await this.#resolve(host), { signal: this.ctx.signal });
      await uploadFile(conn, path, content, { mode });
      this.ctx.log.debug(`ssh ${host}: uploaded ${path}`, { host, path, bytes });
      return { host, path, bytes };
    });
  }

  /** Downloads a file over SFTP (at most `maxBytes`, default 64 MiB). */
  async download(host: string, path: string, opts: { maxBytes?: number } = {}): Promise<Buffer> {
    validateTarget(host);
    validateRemotePath(path);
    return this.ctx.gate.read(async () => downloadFile(await this.pool.get(await this.#resolve(host), { signal: this.ctx.signal }), path, opts.maxBytes));
  }

  /** The host's current boot id (/proc/sys/kernel/random/boot_id). */
  async bootId(host: string, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<string> {
    const r = await this.query(host, ['cat', BOOT_ID_PATH], { sudo: false, ...opts });
    const id = parseBootId(r.stdout);
    if (!id) throw new RemoteHostError(`${host} returned no boot id from ${BOOT_ID_PATH}: ${JSON.stringify(r.stdout.slice(0, 80))}`, { context: { host, address: r.address, port: r.port, command: r.command }, hint: 'the host is not a Linux host with /proc mounted' });
    return id;
  }

  /**
   * Reboots a host: reads its boot id, sends the reboot command (options.rebootCommand) and treats the
   * connection dropping as expected. The pooled connection is dropped: nothing is reused across a reboot.
   * Pass the result's previousBootId to waitRebootSince().
   */
  async reboot(host: string, opts: { command?: readonly string[]; sudo?: boolean; timeoutMs?: number } = {}): Promise<RebootRequest | Planned> {
    validateTarget(host);
    const { argv: full, command } = this.#prepare(opts.command ?? this.opts.rebootCommand, opts.sudo);
    return this.ctx.gate.mutate({ system: 'remote', target: host, action: 'reboot', detail: { command } }, async () => {
      const previousBootId = await this.bootId(host);
      const requestedAt = new Date(this.ctx.clock.now()).toISOString();
      try {
        await this.#execute(host, command, { timeoutMs: opts.timeoutMs ?? 30_000 }, true);
      } catch (err) {
        // A reboot may take the connection down before the command reports its status, or hang it until the
        // host is gone: both mean the request was delivered. waitRebootSince() checks what really happened.
        const killed = err instanceof RemoteCommandError && err.status === null;
        if (!(err instanceof ChannelClosedError || err instanceof RemoteTimeoutError || killed)) throw err;
        this.ctx.log.debug(`ssh ${host}: connection ended during ${full.join(' ')} (expected)`, { host, reason: err.name });
      } finally {
        await this.pool.drop(host, 'rebooting');
      }
      this.ctx.log.info(`ssh ${host}: reboot requested (boot id was ${previousBootId})`, { host, previousBootId });
      return { host, previousBootId, requestedAt };
    });
  }

  /**
   * Waits until the host answers with a boot id other than `previousBootId`, reconnecting for each probe with
   * backoff. Throws RebootNeverWentDownError or RebootNeverCameBackError at the deadline. In dry-run, stops
   * planning (DryRunStop) instead of waiting for a reboot that was only planned.
   */
  async waitRebootSince(host: string, previousBootId: string, opts: WaitRebootOptions): Promise<RebootWaitResult> {
    validateTarget(host);
    if (!parseBootId(previousBootId)) throw new InputError(`invalid previous boot id ${JSON.stringify(previousBootId)}`, { context: { host } });
    const signal = combineSignals(this.ctx.signal, opts.signal);
    const target = await this.#resolve(host);
    return waitForNewBootId(
      async (timeoutMs) => {
        // A fresh connection each time: an old one surviving proves nothing about the host.
        await this.pool.drop(host, 'reboot probe');
        return this.bootId(host, { timeoutMs, signal });
      },
      {
        host,
        previousBootId,
        timeoutMs: opts.timeoutMs,
        probeTimeoutMs: opts.probeTimeoutMs,
        backoff: opts.backoff,
        clock: this.ctx.clock,
        signal,
        gate: this.ctx.gate,
        context: { host, address: target.address, port: target.port },
        onProbe: (p) => this.ctx.log.debug(`ssh ${host}: reboot probe ${p.attempt}: ${p.bootId ?? (p.error ? messageOf(p.error).split('\n')[0] : '?')}`, { host, attempt: p.attempt, ms: p.elapsedMs }),
      },
    );
  }

  /**
   * Trusts the host key of a VM this run just created, from its console log (cloud-init's fingerprint block):
   * connects, accepts the offered key only if the log lists its fingerprint, then records it in known_hosts
   * (replacing an old entry for the same name). Call it again while the VM's sshd is not up yet.
   */
  async trustFromConsoleLog(host: string, consoleOutput: string): Promise<TrustResult> {
    validateTarget(host);
    const keys = parseConsoleHostKeys(consoleOutput);
    const target = await this.#resolve(host);
    if (!hasAnchors(keys)) {
      throw new ConsoleTrustError(`the console log of ${host} holds no SSH host key fingerprints`, {
        context: { host, address: target.address, port: target.port, consoleBytes: consoleOutput.length },
        hint: 'cloud-init prints them late in the first boot: fetch the console log again once the VM finished booting',
      });
    }
    this.pool.setAnchors(host, keys, (blob) => this.knownHosts.trust([host, target.address], target.port, blob));
    try {
      await this.pool.drop(host, 'trust from console');
      const conn = await this.pool.get(target, { signal: this.ctx.signal });
      this.ctx.log.info(`ssh ${host}: trusted host key ${conn.fingerprint} from its console log`, { host, fingerprint: conn.fingerprint });
      return { host, address: target.address, port: target.port, fingerprint: conn.fingerprint, knownHostsPath: this.knownHosts.path };
    } finally {
      this.pool.clearAnchors(host);
    }
  }

  /** Connects to a host (or reuses its connection): proves it is reachable and its key is trusted. */
  async connect(host: string, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<{ host: string; address: string; port: number; fingerprint: string }> {
    const target = await this.#resolve(host);
    const conn: HostConnection = await this.pool.get(target, { timeoutMs: opts.timeoutMs, signal: combineSignals(this.ctx.signal, opts.signal) });
    return { host, address: target.address, port: target.port, fingerprint: conn.fingerprint };
  }

  /** Validates and resolves a host set given as inventory names and/or addresses (duplicates are an error). */
  async resolveHosts(hosts: readonly string[]): Promise<ResolvedHost[]> {
    const seen = new Set<string>();
    for (const h of hosts) {
      validateTarget(h);
      if (seen.has(h)) throw new InputError(`host ${h} is listed twice`, { context: { host: h } });
      seen.add(h);
    }
    return Promise.all(hosts.map((h) => this.#resolve(h)));
  }

  /** Ends a host's pooled connection (the next command connects afresh). */
  async disconnect(host: string): Promise<void> {
    await this.pool.drop(host, 'disconnect');
  }

  /** Ends all connections; the client cannot be used afterwards. */
  async close(): Promise<void> {
    await this.pool.closeAll();
  }
}

/** Builds the SSH client of a run from the cluster's `ssh` settings and a host resolver. */
export async function create(ctx: ClientContext, deps: RemoteDeps): Promise<Remote> {
  const settings = await connectionSettings(ctx, deps.options);
  return new Remote(ctx, deps, settings, settings.knownHosts);
}
