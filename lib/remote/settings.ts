// How a Remote is configured: the defaults of every tunable, the cluster's `ssh` settings turned into
// connection settings (identity key, agent, known_hosts files, jump host), with a bad setting refused as input
// before anything connects.
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import ssh2 from 'ssh2';
import type { ParsedKey } from 'ssh2';
import type { ClientContext } from '../core/client.js';
import { InputError, messageOf } from '../core/errors.js';
import { expandPath } from '../core/paths.js';
import { parseJumpHost } from './address.js';
import type { ConnectionSettings } from './connection.js';
import { KnownHosts } from './known-hosts.js';
import type { RemoteOptions } from './types.js';

/** The tunables of a Remote once defaults are applied. */
export type ResolvedRemoteOptions = Required<Omit<RemoteOptions, 'agentSocket' | 'knownHostsFiles'>>;

/** Defaults of the tunables (see RemoteOptions for what each means). */
export const REMOTE_DEFAULTS: Readonly<ResolvedRemoteOptions> = Object.freeze({
  connectTimeoutMs: 15_000,
  commandTimeoutMs: 300_000,
  keepaliveIntervalMs: 15_000,
  keepaliveCountMax: 3,
  maxChannelsPerHost: 8,
  rebootCommand: ['reboot'],
  secretDir: '/tmp',
});

/** The options with every unset tunable at its default. */
export function resolveRemoteOptions(o: RemoteOptions = {}): ResolvedRemoteOptions {
  const out = { ...REMOTE_DEFAULTS } as ResolvedRemoteOptions;
  for (const key of Object.keys(REMOTE_DEFAULTS) as (keyof ResolvedRemoteOptions)[]) {
    if (o[key] !== undefined) (out as Record<string, unknown>)[key] = o[key];
  }
  return out;
}

/** The known_hosts files to use: the options', else the inventory's (relative to it), else OpenSSH's two. */
export function knownHostsFilesOf(knownHostsSetting: string | undefined, options: RemoteOptions, base: string, home = homedir()): string[] {
  if (options.knownHostsFiles) return options.knownHostsFiles;
  if (knownHostsSetting) return [expandPath(knownHostsSetting, base)];
  return [join(home, '.ssh', 'known_hosts'), '/etc/ssh/ssh_known_hosts'];
}

/** The agent socket to use: none when the options say null, else theirs, else SSH_AUTH_SOCK (an empty one counts as unset). */
export function agentSocketOf(options: RemoteOptions, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (options.agentSocket === null) return undefined;
  return (options.agentSocket ?? env.SSH_AUTH_SOCK ?? undefined) || undefined;
}

/** One signal that aborts when any of them does (undefined when none is given). */
export function combineSignals(...signals: (AbortSignal | undefined)[]): AbortSignal | undefined {
  const real = signals.filter((s): s is AbortSignal => s !== undefined);
  if (real.length <= 1) return real[0];
  return AbortSignal.any(real);
}

/** Loads the private key; an encrypted key without an agent is a configuration error. */
export async function loadIdentity(path: string, hasAgent: boolean): Promise<ParsedKey | undefined> {
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (err) {
    throw new InputError(`cannot read SSH identity file ${path}: ${messageOf(err)}`, { context: { identityFile: path }, cause: err, hint: 'fix cluster.ssh.identityFile in the inventory' });
  }
  const parsed = ssh2.utils.parseKey(data);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (key instanceof Error || !key) {
    if (hasAgent) return undefined;
    throw new InputError(`cannot use SSH identity file ${path}: ${key instanceof Error ? key.message : 'no key found'}`, {
      context: { identityFile: path },
      hint: 'an encrypted key must be loaded into ssh-agent (ssh-add) and SSH_AUTH_SOCK set',
    });
  }
  if (!key.isPrivateKey()) {
    throw new InputError(`${path} holds a public key, not a private key`, { context: { identityFile: path }, hint: 'point cluster.ssh.identityFile at the private key (the file without .pub)' });
  }
  return key;
}

/** The connection settings of a run's Remote, from the cluster's `ssh` settings (paths relative to the inventory file). */
export async function connectionSettings(ctx: ClientContext, options: RemoteOptions = {}): Promise<ConnectionSettings> {
  const ssh = ctx.cluster.ssh;
  const o = resolveRemoteOptions(options);
  const base = ctx.cluster.source ? dirname(ctx.cluster.source) : process.cwd();
  const agent = agentSocketOf(options);
  const identity = ssh.identityFile ? await loadIdentity(expandPath(ssh.identityFile, base), agent !== undefined) : undefined;
  let jump: ConnectionSettings['jump'];
  if (ssh.jumpHost) {
    const spec = parseJumpHost(ssh.jumpHost);
    jump = { spec, target: { host: spec.host, address: spec.host, port: spec.port ?? 22 }, user: spec.user ?? ssh.user };
  }
  return {
    user: ssh.user,
    identity,
    agent,
    knownHosts: new KnownHosts(knownHostsFilesOf(ssh.knownHosts, options, base)),
    jump,
    connectTimeoutMs: o.connectTimeoutMs,
    keepaliveIntervalMs: o.keepaliveIntervalMs,
    keepaliveCountMax: o.keepaliveCountMax,
    maxChannels: o.maxChannelsPerHost,
    log: ctx.log,
  };
}
