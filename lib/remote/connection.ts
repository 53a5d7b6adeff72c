// SSH connections: one pooled ssh2 connection per host, reused by every command, re-established when it
// dropped, optionally through a jump host (ProxyJump: a direct-tcpip channel on the bastion's connection).
// Opening one connection (handshake, host key verification, authentication) is dial.ts.
import type { Client as SshClient, ParsedKey, SFTPWrapper } from 'ssh2';
import type { Readable } from 'node:stream';
import type { Log } from '../core/log.js';
import type { JumpHostSpec, ResolvedHost } from './address.js';
import type { ConsoleHostKeys } from './console-trust.js';
import { dial } from './dial.js';
import { HostUnreachableError, RemoteHostError, type RemoteErrorContext } from './errors.js';
import type { KnownHosts } from './known-hosts.js';

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
