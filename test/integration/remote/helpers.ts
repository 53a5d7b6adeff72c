// Shared set-up of the SSH layer's integration tests: a Remote client wired to real sshd hosts started by
// scripts/servers/sshd.ts, with an in-memory log and its own gate.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import type { ClientContext } from '../../../lib/core/client.js';
import { systemClock } from '../../../lib/core/clock.js';
import { Gate } from '../../../lib/core/gate.js';
import { MemoryLog } from '../../../lib/core/log.js';
import type { ClusterConfig } from '../../../lib/inventory/schema.js';
import { type Remote, type RemoteOptions, create } from '../../../lib/remote/index.js';
import type { SshdHosts } from '../../../scripts/servers/sshd.js';

export { alive } from '../../helpers/process.js';

/** Options of makeRemote. */
export interface TestRemoteOptions {
  knownHosts?: string;
  identityFile?: string;
  dryRun?: boolean;
  jumpHost?: string;
  sudo?: boolean;
  /** Port for raw-address targets (default: the hosts' shared port). */
  port?: number;
  options?: RemoteOptions;
}

/** A Remote for the test hosts plus what the tests look at. */
export interface TestRemote {
  remote: Remote;
  gate: Gate;
  log: MemoryLog;
  ctx: ClientContext;
}

/** Builds a Remote whose resolver knows the hosts of `set` by name. */
export async function makeRemote(set: SshdHosts, o: TestRemoteOptions = {}): Promise<TestRemote> {
  const byName = new Map(set.hosts.map((h) => [h.name, h]));
  const cluster = {
    name: 'sshd-test',
    source: `${set.dir}/inventory.yaml`,
    ssh: {
      user: 'root',
      port: o.port ?? set.hosts[0]!.port,
      sudo: o.sudo ?? false,
      addresses: 'dns',
      knownHosts: o.knownHosts ?? set.knownHostsPath,
      // An empty string means "no identity file" (agent only).
      ...(o.identityFile === '' ? {} : { identityFile: o.identityFile ?? set.identityFile }),
      ...(o.jumpHost ? { jumpHost: o.jumpHost } : {}),
    },
  } as unknown as ClusterConfig;
  const gate = new Gate({ dryRun: o.dryRun ?? false });
  const log = new MemoryLog();
  const ctx: ClientContext = { cluster, gate, log, signal: new AbortController().signal, clock: systemClock, stateDir: set.dir };
  const remote = await create(ctx, {
    resolveHost: async (name) => {
      const h = byName.get(name);
      if (!h) throw new Error(`no test host ${name}`);
      return { address: h.address, port: h.port };
    },
    options: { agentSocket: null, ...o.options },
  });
  return { remote, gate, log, ctx };
}

/** How many SSH logins a host's sshd accepted so far (one per connection). */
export function logins(set: SshdHosts, name: string): number {
  return (readFileSync(`${set.host(name).dir}/sshd.log`, 'utf8').match(/Accepted publickey/g) ?? []).length;
}

/** Command lines of every process on this machine (the fake hosts' processes included). */
export function processList(): string[] {
  const out: string[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      out.push(readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0').join(' '));
    } catch {
      // ended meanwhile
    }
  }
  return out;
}

/**
 * Polls the process list until `seen` holds for one of its command lines (a remote command is running), and
 * returns that snapshot: a check of "no process shows X" then looks at a list known to hold the command.
 */
export async function processListWhile(seen: (cmdline: string) => boolean, what: string, timeoutMs = 20_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const list = processList();
    if (list.some(seen)) return list;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} to show in the process list`);
    await sleep(10);
  }
}

/** Resolves once `path` exists (polled), or rejects after the timeout naming it. */
export function waitForPath(path: string, timeoutMs = 20_000): Promise<void> {
  return until(() => existsSync(path), path, timeoutMs);
}

/** PIDs of the processes on this machine whose command line is exactly `cmdline` (argv joined by spaces). */
export function pidsOf(cmdline: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ') === cmdline) out.push(Number(e));
    } catch {
      // ended meanwhile
    }
  }
  return out;
}

/** Polls until `condition` holds, or rejects after the timeout naming `what`. */
export async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** Promise-based sleep. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
