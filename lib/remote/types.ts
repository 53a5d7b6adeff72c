// Public types of the SSH layer: options of the Remote client and its methods, and what they return.
import type { Planned } from '../core/gate.js';
import type { Backoff } from '../core/retry.js';
import type { SkipReason } from './fanout.js';
import type { BatchSize, SuccessThreshold } from './plan.js';

/** What one command produced. */
export interface CommandResult {
  host: string;
  address: string;
  port: number;
  /** The command line as sent (quoted; secrets are never part of it). */
  command: string;
  /** Exit status, or null when the command was killed by a signal. */
  exitCode: number | null;
  /** The signal name (TERM, KILL, ...) when it was killed by one. */
  signal: string | null;
  stdout: string;
  stderr: string;
  durationMs: number;
  /** True when output beyond the limit was dropped. */
  truncated: boolean;
}

/** Tunables of a Remote client (all optional; defaults in brackets). */
export interface RemoteOptions {
  /** TCP connect + SSH handshake + auth [15 s]. */
  connectTimeoutMs?: number;
  /** Default per-command deadline, connecting included [5 min]. */
  commandTimeoutMs?: number;
  /** SSH keepalive interval [15 s] and unanswered keepalives before the connection counts as dead [3]. */
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  /** Commands running at once on one host's connection [8; OpenSSH allows 10 sessions]. */
  maxChannelsPerHost?: number;
  /** The command `reboot()` sends [['reboot']]. */
  rebootCommand?: string[];
  /** ssh-agent socket; null disables the agent [SSH_AUTH_SOCK]. */
  agentSocket?: string | null;
  /** known_hosts files; the first is written on console-log trust [cluster.ssh.knownHosts or ~/.ssh/known_hosts + /etc/ssh/ssh_known_hosts]. */
  knownHostsFiles?: string[];
  /** Remote directory for secret files [/tmp]. */
  secretDir?: string;
}

/** Options of one command. */
export interface RunOptions {
  /** A command that changes nothing: it runs outside the mutation gate, also in dry-run. */
  readOnly?: boolean;
  /** Prefix `sudo -n --` [cluster.ssh.sudo]. */
  sudo?: boolean;
  /** Bytes for the command's stdin (how secrets reach a command: never on its command line). */
  stdin?: string | Buffer;
  /** Registers `stdin` as a secret, so it is masked wherever it would show up. */
  stdinSecret?: boolean;
  /** Deadline for this command, connecting included [options.commandTimeoutMs]. */
  timeoutMs?: number;
  /** Exit statuses that count as success [[0]]; 'any' never fails on the status. */
  okExitCodes?: number[] | 'any';
  signal?: AbortSignal;
  /** A cleanup (e.g. deleting a join token): not cancelled by the run's interrupt, only by timeoutMs and `signal`. */
  cleanup?: boolean;
  /** Limit per output stream in bytes [16 MiB]. */
  maxOutputBytes?: number;
  /** Extra facts for the change record (never secrets). */
  detail?: Record<string, unknown>;
}

/** One host's outcome in a fan-out. */
export interface HostResult {
  host: string;
  /** planned: dry-run, the command was not sent. skipped: never started (threshold, deadline, abort). */
  status: 'ok' | 'failed' | 'skipped' | 'planned';
  address?: string;
  port?: number;
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  durationMs: number;
  batch: number;
  error?: Error;
  skipReason?: SkipReason;
  planned?: Planned;
}

/** Options of a fan-out. */
export interface FanoutOptions extends Omit<RunOptions, 'detail'> {
  /** Hosts at once [25]. */
  concurrency?: number;
  /** Hosts per batch (count or `25%`); batches run one after the other [all hosts in one batch]. */
  batchSize?: BatchSize;
  /** Pause between batches [0]. */
  batchSleepMs?: number;
  /** Hosts that must succeed: fraction, `90%` or { count } [all]; no new host starts once it cannot be met. */
  successThreshold?: SuccessThreshold;
  /** Deadline for the whole fan-out; `timeoutMs` stays the per-command one. */
  overallTimeoutMs?: number;
  /** Called as each host finishes or is skipped. */
  onProgress?: (result: HostResult, progress: { done: number; total: number }) => void;
  detail?: Record<string, unknown>;
}

/** The outcome of a fan-out. */
export interface FanoutResult {
  results: HostResult[];
  ok: string[];
  failed: string[];
  skipped: string[];
  planned: string[];
  required: number;
  thresholdMet: boolean;
  batches: string[][];
  durationMs: number;
}

/** What `reboot()` returns: enough to wait for it. */
export interface RebootRequest {
  host: string;
  /** The boot id read just before the reboot command was sent. */
  previousBootId: string;
  requestedAt: string;
}

/** Options of waitRebootSince. */
export interface WaitRebootOptions {
  timeoutMs: number;
  /** Per-probe limit for connecting and reading the boot id [min(10 s, remaining)]. */
  probeTimeoutMs?: number;
  backoff?: Partial<Backoff>;
  signal?: AbortSignal;
}

/** A host key accepted from a console log and recorded in known_hosts. */
export interface TrustResult {
  host: string;
  address: string;
  port: number;
  fingerprint: string;
  knownHostsPath: string;
}
