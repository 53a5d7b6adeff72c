// SSH connections: one pooled ssh2 connection per host, reused by every command, re-established when it
// dropped, optionally through a jump host (ProxyJump: a direct-tcpip channel on the bastion's connection).
// Host keys are verified against known_hosts (or a console log's fingerprints for a VM we just created);
// anything else is refused before authentication. Costs: a connection is ~100 ms of CPU (client + server), so
// the client offers only cheap, strong algorithms (curve25519, ed25519, AES-GCM/ChaCha20) and skips the
// useless `none` auth round trip.
import ssh2 from 'ssh2';
import type { Algorithms, AuthMethod, Client as SshClient, ParsedKey, SFTPWrapper } from 'ssh2';
import type { Readable } from 'node:stream';
import { InterruptedError } from '../core/errors.js';
import type { Log } from '../core/log.js';
import { type JumpHostSpec, type ResolvedHost, knownHostsName } from './address.js';
import { type ConsoleHostKeys, consoleVouchesFor } from './console-trust.js';
import { HostKeyMismatchError, HostKeyUnknownError, HostUnreachableError, RemoteAuthError, RemoteHostError, type RemoteErrorContext } from './errors.js';
import { type KnownHosts, fingerprintSha256, keyTypeOfBlob, preferredHostKeyAlgorithms } from './known-hosts.js';

const { Client } = ssh2;

/** Transport algorithms offered, cheapest strong ones first (the server picks the first it also supports). */
export const CLIENT_ALGORITHMS: Omit<Algorithms, 'serverHostKey'> = {
  kex: ['curve25519-sha256', 'curve25519-sha256@libssh.org', 'ecdh-sha2-nistp256', 'ecdh-sha2-nistp384', 'ecdh-sha2-nistp521', 'diffie-hellman-group-exchange-sha256', 'diffie-hellman-group16-sha512', 'diffie-hellman-group14-sha256'],
  cipher: ['aes128-gcm@openssh.com', 'chacha20-poly1305@openssh.com', 'aes256-gcm@openssh.com', 'aes128-ctr', 'aes256-ctr'],
  hmac: ['hmac-sha2-256-etm@openssh.com', 'hmac-sha2-512-etm@openssh.com', 'hmac-sha2-256', 'hmac-sha2-512'],
  compress: ['none'],
};

/** How the client authenticates and verifies, shared by all connections of one Remote. */
export interface ConnectionSettings {
  user: string;
  /** Parsed private key (cluster.ssh.identityFile). */
  identity?: ParsedKey;
  /** ssh-agent socket (SSH_AUTH_SOCK), tried after the key. */
  agent?: string;
  knownHosts: KnownHosts;
  jump?: { spec: JumpHostSpec; target: ResolvedHost; user: string };
  connectTimeoutMs: number;
  keepaliveIntervalMs: number;
  keepaliveCountMax: number;
  /** Session channels open at once on one connection (OpenSSH's MaxSessions defaults to 10). */
  maxChannels: number;
  log: Log;
}

/** One live SSH connection to a host, with a limit on simultaneous channels. */
export class HostConnection {
  private open = true;
  private inUse = 0;
  private waiters: (() => void)[] = [];
  private sftpSession: Promise<SFTPWrapper> | undefined;
  /** SHA256 fingerprint of the host key this connection verified. */
  readonly fingerprint: string;
  /** Why the connection ended, once it did. */
  closeReason: string | undefined;

  constructor(
    readonly target: ResolvedHost,
    readonly client: SshClient,
    fingerprint: string,
    private readonly maxChannels: number,
    private readonly onGone: (conn: HostConnection) => void,
  ) {
    this.fingerprint = fingerprint;
    client.on('error', (err: Error) => {
      this.closeReason = err.message;
    });
    client.on('close', () => this.gone(this.closeReason ?? 'connection closed'));
    client.on('end', () => {
      this.closeReason ??= 'server ended the connection';
    });
  }

  /** True until the connection closed or was ended. */
  get alive(): boolean {
    return this.open;
  }

  /** Error context of this connection. */
  context(command?: string): RemoteErrorContext {
    const ctx: RemoteErrorContext = { host: this.target.host, address: this.target.address, port: this.target.port };
    if (command !== undefined) ctx.command = command;
    return ctx;
  }

  /** Waits for a free channel slot; returns its release function. */
  async acquire(): Promise<() => void> {
    while (this.inUse >= this.maxChannels) await new Promise<void>((resolve) => this.waiters.push(resolve));
    this.inUse++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inUse--;
      this.waiters.shift()?.();
    };
  }

  /** The connection's SFTP session, opened once and kept (it holds one channel slot while the connection lives). */
  sftp(): Promise<SFTPWrapper> {
    this.sftpSession ??= (async () => {
      const release = await this.acquire();
      try {
        return await new Promise<SFTPWrapper>((resolve, reject) => {
          this.client.sftp((err, sftp) => {
            if (err) reject(err);
            else {
              sftp.on('close', () => {
                this.sftpSession = undefined;
                release();
              });
              resolve(sftp);
            }
          });
        });
      } catch (err) {
        release();
        this.sftpSession = undefined;
        throw err;
      }
    })();
    return this.sftpSession;
  }

  /** Ends the connection (idempotent). */
  end(reason = 'closed by client'): void {
    if (!this.open) return;
    this.closeReason ??= reason;
    this.client.end();
    this.gone(reason);
  }

  private gone(reason: string): void {
    if (!this.open) return;
    this.open = false;
    this.closeReason ??= reason;
    // Wake waiters so they fail fast on the dead connection instead of waiting forever.
    for (const w of this.waiters.splice(0)) w();
    this.onGone(this);
  }
}

/** What the host key verifier decided, kept to explain a refused handshake. */
interface Verdict {
  ok: boolean;
  offered?: { type: string; fingerprint: string; blob: Buffer };
  problem?: 'unknown' | 'mismatch' | 'revoked' | 'console-mismatch';
  known?: string[];
}

/** Everything needed to open one connection. */
interface DialOptions {
  target: ResolvedHost;
  /** Names the host is known by in known_hosts (host name and address). */
  names: string[];
  user: string;
  sock?: Readable;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Trust anchors from a console log: when set, they (not known_hosts) decide. */
  anchors?: ConsoleHostKeys;
  /** Called with the verified key blob when anchors accepted it. */
  onTrusted?: (blob: Buffer) => void;
}

/** Opens and authenticates one SSH connection, verifying the host key first. */
export function dial(settings: ConnectionSettings, opts: DialOptions): Promise<{ client: SshClient; fingerprint: string }> {
  const { target, names } = opts;
  const ctx: RemoteErrorContext = { host: target.host, address: target.address, port: target.port };
  const verdict: Verdict = { ok: false };
  const knownTypes = opts.anchors ? [] : settings.knownHosts.knownKeyTypes(names, target.port);

  const hostVerifier = (blob: Buffer): boolean => {
    const type = keyTypeOfBlob(blob);
    verdict.offered = { type, fingerprint: fingerprintSha256(blob), blob };
    if (opts.anchors) {
      verdict.ok = consoleVouchesFor(opts.anchors, blob);
      if (!verdict.ok) {
        verdict.problem = 'console-mismatch';
        verdict.known = opts.anchors.fingerprints.map((f) => `${f.fingerprint} (${f.type})`);
      }
      return verdict.ok;
    }
    const v = settings.knownHosts.verify(names, target.port, blob);
    verdict.ok = v.status === 'ok';
    if (v.status === 'unknown' || v.status === 'revoked') verdict.problem = v.status;
    if (v.status === 'mismatch') {
      verdict.problem = 'mismatch';
      verdict.known = v.known.map((e) => `${e.keyType} ${fingerprintSha256(Buffer.from(e.keyBase64, 'base64'))} (${e.file ?? 'known_hosts'}:${e.line})`);
    }
    return verdict.ok;
  };

  const auth: AuthMethod[] = [];
  if (settings.identity) auth.push({ type: 'publickey', username: opts.user, key: settings.identity } as AuthMethod);
  if (settings.agent) auth.push({ type: 'agent', username: opts.user, agent: settings.agent } as AuthMethod);

  return new Promise((resolve, reject) => {
    const client = new Client();
    let settled = false;
    const settle = (err: Error | undefined): void => {
      if (settled) return;
      settled = true;
      opts.signal?.removeEventListener('abort', onAbort);
      if (err) {
        client.end();
        reject(err);
      } else {
        resolve({ client, fingerprint: verdict.offered?.fingerprint ?? '' });
      }
    };
    const onAbort = (): void => settle(new InterruptedError(`interrupted while connecting to ${target.host}`, { context: ctx, cause: opts.signal?.reason }));
    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    client.once('ready', () => {
      if (verdict.ok && opts.anchors && verdict.offered) opts.onTrusted?.(verdict.offered.blob);
      settle(undefined);
    });
    client.once('close', () => settle(new HostUnreachableError(`connection to ${target.host} (${target.address}:${target.port}) closed during the SSH handshake`, { context: ctx, hint: 'the server dropped the connection: check its sshd log (MaxStartups, AllowUsers, TCP wrappers)' })));
    client.on('error', (err: Error & { level?: string; code?: string }) => {
      if (settled) return;
      if (verdict.offered && !verdict.ok) return settle(hostKeyError(ctx, settings.knownHosts.path, verdict, names));
      if (err.level === 'client-authentication') {
        return settle(
          new RemoteAuthError(`authentication as ${opts.user} on ${target.host} (${target.address}:${target.port}) failed: the server accepted none of our keys`, {
            context: { ...ctx, user: opts.user, methods: auth.map((a) => a.type) },
            cause: err,
            hint: settings.identity || settings.agent
              ? `authorise our public key for ${opts.user} on the host (authorized_keys), or load the right key into ssh-agent`
              : 'no key is configured: set cluster.ssh.identityFile or run an ssh-agent with the key (SSH_AUTH_SOCK)',
          }),
        );
      }
      settle(HostUnreachableError.from(ctx, err, opts.timeoutMs));
    });

    client.connect({
      host: target.address,
      port: target.port,
      username: opts.user,
      sock: opts.sock,
      hostVerifier,
      authHandler: auth,
      algorithms: { ...CLIENT_ALGORITHMS, serverHostKey: preferredHostKeyAlgorithms(knownTypes) } as Algorithms,
      readyTimeout: Math.max(1, opts.timeoutMs),
      keepaliveInterval: settings.keepaliveIntervalMs,
      keepaliveCountMax: settings.keepaliveCountMax,
      tryKeyboard: false,
    });
  });
}

function hostKeyError(ctx: RemoteErrorContext, knownHostsPath: string, verdict: Verdict, names: string[]): RemoteHostError {
  const offered = verdict.offered!;
  const lookup = knownHostsName(ctx.address ?? ctx.host, ctx.port ?? 22);
  const context = { ...ctx, offeredKeyType: offered.type, offeredFingerprint: offered.fingerprint, knownHosts: knownHostsPath, known: verdict.known };
  switch (verdict.problem) {
    case 'unknown':
      return new HostKeyUnknownError(`host key of ${ctx.host} (${lookup}) is not in ${knownHostsPath}: it offered ${offered.type} ${offered.fingerprint}; refusing to connect`, {
        context,
        hint: `verify this fingerprint out of band (for a VM just created: trust it from its OpenStack console log, which cloud-init fills), then add the key for ${names.map((n) => knownHostsName(n, ctx.port ?? 22)).join(', ')} to ${knownHostsPath}`,
      });
    case 'console-mismatch':
      return new HostKeyMismatchError(`host key of ${ctx.host} (${lookup}) is not one its console log lists: it offered ${offered.type} ${offered.fingerprint}, the console lists ${(verdict.known ?? []).join(', ')}; refusing to connect`, {
        context,
        hint: 'something other than the new VM answers on its address, or the console log belongs to another server: check the address and the server before trusting anything',
      });
    case 'revoked':
      return new HostKeyMismatchError(`host key of ${ctx.host} (${lookup}) is marked @revoked in ${knownHostsPath}: it offered ${offered.type} ${offered.fingerprint}; refusing to connect`, {
        context,
        hint: 'the host still uses a revoked key: rotate its host keys before connecting',
      });
    default:
      return new HostKeyMismatchError(`host key of ${ctx.host} (${lookup}) CHANGED: it offered ${offered.type} ${offered.fingerprint} but ${knownHostsPath} has ${(verdict.known ?? []).join(', ')}; refusing to connect`, {
        context,
        hint: `if the VM was rebuilt, remove its old entry (ssh-keygen -R '${lookup}' -f ${knownHostsPath}) and trust the new key from its console log; otherwise treat this as a possible man-in-the-middle`,
      });
  }
}

/** Pooled connections of one Remote: at most one live connection per host (plus one to the jump host). */
export class ConnectionPool {
  private readonly conns = new Map<string, Promise<HostConnection>>();
  private readonly anchors = new Map<string, { keys: ConsoleHostKeys; onTrusted: (blob: Buffer) => void }>();
  private jumpConn: Promise<HostConnection> | undefined;
  private closed = false;

  constructor(private readonly settings: ConnectionSettings) {}

  /** Registers console-log trust anchors for a host: its next connection is verified against them only. */
  setAnchors(host: string, keys: ConsoleHostKeys, onTrusted: (blob: Buffer) => void): void {
    this.anchors.set(host, { keys, onTrusted });
  }

  /** Forgets a host's console-log anchors (after trust was recorded, or on failure). */
  clearAnchors(host: string): void {
    this.anchors.delete(host);
  }

  /** The live connection to a host, connecting (once, shared by concurrent callers) when there is none. */
  async get(target: ResolvedHost, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<HostConnection> {
    if (this.closed) throw new RemoteHostError(`SSH client is closed; cannot connect to ${target.host}`, { context: { host: target.host, address: target.address, port: target.port } });
    const key = target.host;
    const existing = this.conns.get(key);
    if (existing) {
      try {
        const conn = await existing;
        if (conn.alive && conn.target.address === target.address && conn.target.port === target.port) return conn;
        // Dead or moved (a rebuilt VM with a new address): replace it.
        if (this.conns.get(key) === existing) this.conns.delete(key);
        conn.end('replaced');
      } catch {
        if (this.conns.get(key) === existing) this.conns.delete(key);
      }
      return this.get(target, options);
    }
    const pending = this.connect(target, options);
    this.conns.set(key, pending);
    pending.catch(() => {
      if (this.conns.get(key) === pending) this.conns.delete(key);
    });
    return pending;
  }

  /** The live connection to a host if there is one (never connects). */
  async peek(host: string): Promise<HostConnection | undefined> {
    const p = this.conns.get(host);
    if (!p) return undefined;
    try {
      const c = await p;
      return c.alive ? c : undefined;
    } catch {
      return undefined;
    }
  }

  /** Ends and forgets a host's connection (after a reboot it must not be reused). */
  async drop(host: string, reason = 'dropped'): Promise<void> {
    const p = this.conns.get(host);
    this.conns.delete(host);
    if (!p) return;
    try {
      (await p).end(reason);
    } catch {
      // It never connected.
    }
  }

  /** Ends every connection; the pool refuses new ones afterwards. */
  async closeAll(): Promise<void> {
    this.closed = true;
    const all = [...this.conns.values()];
    this.conns.clear();
    if (this.jumpConn) all.push(this.jumpConn);
    this.jumpConn = undefined;
    await Promise.all(all.map((p) => p.then((c) => c.end('client closed')).catch(() => undefined)));
  }

  private async connect(target: ResolvedHost, options: { timeoutMs?: number; signal?: AbortSignal }): Promise<HostConnection> {
    const s = this.settings;
    const timeoutMs = Math.min(options.timeoutMs ?? s.connectTimeoutMs, s.connectTimeoutMs);
    const names = [...new Set([target.host, target.address])];
    const anchor = this.anchors.get(target.host);
    let sock: Readable | undefined;
    if (s.jump) sock = await this.tunnel(target, timeoutMs, options.signal);
    const t0 = Date.now();
    const { client, fingerprint } = await dial(s, {
      target,
      names,
      user: s.user,
      sock,
      timeoutMs,
      signal: options.signal,
      anchors: anchor?.keys,
      onTrusted: anchor?.onTrusted,
    });
    s.log.debug(`ssh: connected to ${target.host}`, { host: target.host, address: target.address, port: target.port, ms: Date.now() - t0, via: s.jump?.spec.host });
    return new HostConnection(target, client, fingerprint, s.maxChannels, (conn) => {
      s.log.debug(`ssh: connection to ${target.host} closed`, { host: target.host, reason: conn.closeReason });
      const current = this.conns.get(target.host);
      if (current) current.then((c) => c === conn && this.conns.get(target.host) === current && this.conns.delete(target.host)).catch(() => undefined);
    });
  }

  /** A direct-tcpip channel from the jump host to the target (ProxyJump). */
  private async tunnel(target: ResolvedHost, timeoutMs: number, signal?: AbortSignal): Promise<Readable> {
    const jump = await this.jumpConnection(timeoutMs, signal);
    const release = await jump.acquire();
    return new Promise<Readable>((resolve, reject) => {
      jump.client.forwardOut('127.0.0.1', 0, target.address, target.port, (err, stream) => {
        if (err) {
          release();
          return reject(
            new HostUnreachableError(`cannot reach ${target.host} (${target.address}:${target.port}) through jump host ${jump.target.host}: ${err.message}`, {
              context: { host: target.host, address: target.address, port: target.port, jumpHost: jump.target.host },
              cause: err,
              hint: 'check that the jump host allows TCP forwarding (AllowTcpForwarding) and can reach the target address',
            }),
          );
        }
        stream.once('close', release);
        resolve(stream);
      });
    });
  }

  private async jumpConnection(timeoutMs: number, signal?: AbortSignal): Promise<HostConnection> {
    const jump = this.settings.jump!;
    if (this.jumpConn) {
      try {
        const c = await this.jumpConn;
        if (c.alive) return c;
      } catch {
        // Reconnect below.
      }
    }
    const pending = (async () => {
      const { client, fingerprint } = await dial(this.settings, { target: jump.target, names: [jump.target.host], user: jump.user, timeoutMs, signal });
      return new HostConnection(jump.target, client, fingerprint, this.settings.maxChannels * 8, () => undefined);
    })();
    this.jumpConn = pending;
    pending.catch(() => {
      if (this.jumpConn === pending) this.jumpConn = undefined;
    });
    return pending;
  }
}
