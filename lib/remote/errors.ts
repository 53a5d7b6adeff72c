// Errors of the SSH layer. Each names the host, its address and port and (where there is one) the command in
// its context, and carries a hint telling the operator what to do. Messages never contain secrets: command
// lines and stderr are redacted before they become part of an error.
import { RemoteError, type ErrorOptions } from '../core/errors.js';
import { redactText, redactValue } from '../core/redact.js';
import type { CommandResult, FanoutResult } from './types.js';

export { RemoteError };

/** The facts every remote error carries. */
export interface RemoteErrorContext {
  host: string;
  address?: string;
  port?: number;
  /** The command line as sent (quoted, redacted). */
  command?: string;
  [key: string]: unknown;
}

/** Options of the remote error constructors. */
export interface RemoteErrorOptions extends Omit<ErrorOptions, 'context'> {
  context: RemoteErrorContext;
}

function where(ctx: RemoteErrorContext): string {
  if (ctx.address && ctx.address !== ctx.host) return `${ctx.host} (${ctx.address}:${ctx.port ?? 22})`;
  return ctx.port && ctx.port !== 22 ? `${ctx.host}:${ctx.port}` : ctx.host;
}

/** Base of errors about one host: builds the context and redacts the command. */
export class RemoteHostError extends RemoteError {
  declare readonly context: RemoteErrorContext;
  constructor(message: string, options: RemoteErrorOptions) {
    // Every string of the context (command, stderr tail, paths) passes redaction: errors end up in logs.
    const context = redactValue({ ...options.context });
    super(redactText(message), { ...options, context });
  }
  /** The host this error is about. */
  get host(): string {
    return this.context.host;
  }
}

/** The TCP connection or SSH handshake could not be made: refused, timed out, no route, unknown name. */
export class HostUnreachableError extends RemoteHostError {
  /** Builds it from a socket or handshake error. */
  static from(ctx: RemoteErrorContext, cause: unknown, timeoutMs?: number): HostUnreachableError {
    const code = (cause as { code?: string })?.code;
    const level = (cause as { level?: string })?.level;
    const reason =
      code === 'ECONNREFUSED'
        ? 'connection refused'
        : level === 'client-timeout' || code === 'ETIMEDOUT'
          ? `no SSH handshake within ${timeoutMs ?? '?'} ms`
          : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
            ? 'name does not resolve'
            : (cause as Error)?.message ?? String(cause);
    return new HostUnreachableError(`cannot reach ${where(ctx)} over SSH: ${reason}`, {
      context: { ...ctx, reason: code ?? level ?? 'error' },
      cause,
      hint: 'check that the host is up, that sshd listens on that address and port, and that no firewall or security group blocks it',
    });
  }
}

/** The server refused every authentication method we offered. */
export class RemoteAuthError extends RemoteHostError {}

/** The host offered a key that no known_hosts entry has for it: refused, never trusted on first use. */
export class HostKeyUnknownError extends RemoteHostError {}

/** The host offered a key different from the one(s) recorded for it (or a revoked key). */
export class HostKeyMismatchError extends RemoteHostError {}

/** The console log of a new VM holds no host key fingerprints we can use. */
export class ConsoleTrustError extends RemoteHostError {}

/** A command ran and exited with a status that was not accepted. */
export class RemoteCommandError extends RemoteHostError {
  /** The full result (stdout, stderr, exit status) for callers that inspect it; never logged as a whole. */
  result?: CommandResult;
  /** The remote exit status (null when killed by a signal). */
  get status(): number | null {
    return (this.context.exitStatus as number | null | undefined) ?? null;
  }
}

/** A command did not finish within its deadline; its channel was closed (the remote process was sent KILL). */
export class RemoteTimeoutError extends RemoteHostError {}

/** The connection closed while a command was running: it may or may not have completed. */
export class ChannelClosedError extends RemoteHostError {}

/** A reboot was requested but the host kept answering with its old boot id until the deadline. */
export class RebootNeverWentDownError extends RemoteHostError {}

/** A rebooting host went down and was still unreachable (or without a new boot id) at the deadline. */
export class RebootNeverCameBackError extends RemoteHostError {}

/** One host's outcome inside a RemoteBatchError. */
export interface BatchFailure {
  host: string;
  status: 'failed' | 'skipped';
  error: string;
  errorClass: string;
}

/** A fan-out missed its success threshold: lists which hosts failed or were not run, and why. */
export class RemoteBatchError extends RemoteError {
  readonly failures: readonly BatchFailure[];
  /** Every host's result, for callers that continue with the hosts that succeeded. */
  result?: FanoutResult;
  constructor(message: string, failures: BatchFailure[], options: { context?: Record<string, unknown>; hint?: string } = {}) {
    const lines = failures.slice(0, 20).map((f) => `  ${f.host}: ${f.status === 'skipped' ? 'not run: ' : ''}${f.error.split('\n')[0]}`);
    if (failures.length > 20) lines.push(`  ... and ${failures.length - 20} more`);
    super(redactText(`${message}\n${lines.join('\n')}`), {
      context: { ...options.context, failures: failures.map((f) => ({ ...f, error: redactText(f.error) })) },
      hint: options.hint ?? 'look at each failed host\'s error; rerun on the failed hosts only once they are fixed',
    });
    this.failures = failures;
  }
  /** Names of the hosts that failed (not counting those never run). */
  get failedHosts(): string[] {
    return this.failures.filter((f) => f.status === 'failed').map((f) => f.host);
  }
}
