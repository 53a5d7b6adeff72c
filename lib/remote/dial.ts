// Opening one SSH connection: the handshake with cheap, strong algorithms, the host key verified against
// known_hosts (or a console log's fingerprints for a VM we just created) before authentication, and every way
// it can fail turned into a typed error that says what to do. Costs: a connection is ~100 ms of CPU (client +
// server), so the client offers only curve25519, ed25519, AES-GCM/ChaCha20 and skips the useless `none` auth
// round trip.
import ssh2 from 'ssh2';
import type { Algorithms, AuthMethod, Client as SshClient } from 'ssh2';
import type { Readable } from 'node:stream';
import { InterruptedError } from '../core/errors.js';
import { type ResolvedHost, knownHostsName } from './address.js';
import type { ConnectionSettings } from './connection.js';
import { type ConsoleHostKeys, consoleVouchesFor } from './console-trust.js';
import { HostKeyMismatchError, HostKeyUnknownError, HostUnreachableError, RemoteAuthError, RemoteHostError, type RemoteErrorContext } from './errors.js';
import { fingerprintSha256, keyTypeOfBlob, preferredHostKeyAlgorithms } from './known-hosts.js';

const { Client } = ssh2;

/** Transport algorithms offered, cheapest strong ones first (the server picks the first it also supports). */
export const CLIENT_ALGORITHMS: Omit<Algorithms, 'serverHostKey'> = {
  kex: ['curve25519-sha256', 'curve25519-sha256@libssh.org', 'ecdh-sha2-nistp256', 'ecdh-sha2-nistp384', 'ecdh-sha2-nistp521', 'diffie-hellman-group-exchange-sha256', 'diffie-hellman-group16-sha512', 'diffie-hellman-group14-sha256'],
  cipher: ['aes128-gcm@openssh.com', 'chacha20-poly1305@openssh.com', 'aes256-gcm@openssh.com', 'aes128-ctr', 'aes256-ctr'],
  hmac: ['hmac-sha2-256-etm@openssh.com', 'hmac-sha2-512-etm@openssh.com', 'hmac-sha2-256', 'hmac-sha2-512'],
  compress: ['none'],
};

/** What the host key verifier decided, kept to explain a refused handshake. */
export interface Verdict {
  ok: boolean;
  offered?: { type: string; fingerprint: string; blob: Buffer };
  problem?: 'unknown' | 'mismatch' | 'revoked' | 'console-mismatch';
  known?: string[];
}

/** Everything needed to open one connection. */
export interface DialOptions {
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

/** The typed error of a refused host key: unknown, changed, revoked, or not the one the console log lists. */
export function hostKeyError(ctx: RemoteErrorContext, knownHostsPath: string, verdict: Verdict, names: string[]): RemoteHostError {
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

