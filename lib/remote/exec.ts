// Running one command line on one connection: a session channel per command, stdin written then closed (so
// a command reading stdin never hangs), output collected up to a limit, a deadline after which the remote
// process is sent KILL and the channel closed, and the difference between "exited", "killed by a signal" and
// "the connection died under it" (which may or may not have run the command).
import type { ClientChannel } from 'ssh2';
import { TimeoutError } from '../core/errors.js';
import { InterruptedError } from '../core/errors.js';
import { assertMayMutate } from '../core/gate.js';
import { formatMs } from '../core/retry.js';
import type { HostConnection } from './connection.js';
import { ChannelClosedError, RemoteHostError, RemoteTimeoutError } from './errors.js';
import type { CommandResult } from './types.js';

export type { CommandResult };

/** One command to execute. */
export interface ExecRequest {
  command: string;
  /** Bytes for the command's stdin (secrets go here, never into the command line). */
  stdin?: string | Buffer;
  timeoutMs: number;
  /** The caller's whole deadline, for messages (timeoutMs is what is left of it after connecting). */
  deadlineMs?: number;
  signal?: AbortSignal;
  /** Limit per stream; more is dropped (default 16 MiB). */
  maxOutputBytes?: number;
  /** A mutating command: the transport insists on a mutation permit before sending it. */
  mutating: boolean;
}

/** The connection died before the channel opened: the command was not sent, so a retry is safe. */
export class NotStartedError extends RemoteHostError {}

class Collector {
  private chunks: Buffer[] = [];
  private size = 0;
  truncated = false;
  constructor(private readonly limit: number) {}
  push(chunk: Buffer): void {
    if (this.size >= this.limit) {
      this.truncated = true;
      return;
    }
    const room = this.limit - this.size;
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    if (part.length < chunk.length) this.truncated = true;
    this.chunks.push(part);
    this.size += part.length;
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

/** The server refused to open a session channel (MaxSessions reached): nothing was sent. */
class SessionRefused extends Error {}

/**
 * Runs one command line on a connection and resolves with its result whatever the exit status. A refused
 * session channel is retried a few times: sshd frees a finished session only after reaping its child, so a
 * new session opened right after another one closed can still count against MaxSessions.
 */
export async function execCommand(conn: HostConnection, req: ExecRequest): Promise<CommandResult> {
  const ctx = conn.context(req.command);
  for (let attempt = 1; ; attempt++) {
    if (req.signal?.aborted) throw abortError(req.signal, ctx, 0);
    try {
      return await execOnce(conn, req);
    } catch (err) {
      if (!(err instanceof SessionRefused)) throw err;
      if (attempt >= 6) {
        throw new RemoteHostError(`could not open a session on ${conn.target.host}: ${err.message}`, {
          context: ctx,
          cause: err,
          hint: 'the server refused new sessions (MaxSessions): lower maxChannelsPerHost or the number of concurrent commands per host',
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 10 * 2 ** attempt));
    }
  }
}

async function execOnce(conn: HostConnection, req: ExecRequest): Promise<CommandResult> {
  const ctx = conn.context(req.command);
  const release = await conn.acquire();
  try {
    if (!conn.alive) throw new NotStartedError(`connection to ${conn.target.host} closed before the command was sent`, { context: ctx });
    if (req.mutating) assertMayMutate(`ssh ${conn.target.host}: ${req.command}`);
    const started = Date.now();
    // Listeners must be attached inside ssh2's callback, synchronously: the exit status can arrive in the same
    // TCP read as the exec confirmation and would be emitted before any later (awaited) code runs.
    return await new Promise<CommandResult>((resolve, reject) => {
      try {
        conn.client.exec(req.command, (err, ch) => {
          if (err) {
            reject(conn.alive ? new SessionRefused(err.message) : new NotStartedError(`connection to ${conn.target.host} closed before the command was sent`, { context: ctx, cause: err }));
          } else collect(conn, ch, req, started).then(resolve, reject);
        });
      } catch (err) {
        // ssh2 throws synchronously on a connection that is no longer usable ("Not connected").
        reject(new NotStartedError(`connection to ${conn.target.host} is not usable: ${(err as Error).message}`, { context: ctx, cause: err }));
      }
    });
  } finally {
    release();
  }
}

function abortError(signal: AbortSignal, ctx: ReturnType<HostConnection['context']>, elapsed: number): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof TimeoutError) {
    return new RemoteTimeoutError(`${reason.message} while running a command on ${ctx.host} (after ${formatMs(elapsed)}); its channel was closed`, {
      context: { ...ctx, elapsedMs: elapsed },
      cause: reason,
      hint: 'the command may still be running on the host or have half-completed: check the host before retrying',
    });
  }
  return new InterruptedError(`interrupted while running a command on ${ctx.host}`, { context: ctx, cause: reason });
}

function collect(conn: HostConnection, channel: ClientChannel, req: ExecRequest, started: number): Promise<CommandResult> {
  const ctx = conn.context(req.command);
  const limit = req.maxOutputBytes ?? 16 * 1024 * 1024;
  const out = new Collector(limit);
  const err = new Collector(limit);
  let exitCode: number | null = null;
  let exitSignal: string | null = null;
  let exited = false;

  return new Promise<CommandResult>((resolve, reject) => {
    let settled = false;
    const finish = (error?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.signal?.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else
        resolve({
          host: conn.target.host,
          address: conn.target.address,
          port: conn.target.port,
          command: req.command,
          exitCode,
          signal: exitSignal,
          stdout: out.text(),
          stderr: err.text(),
          durationMs: Date.now() - started,
          truncated: out.truncated || err.truncated,
        });
    };
    const kill = (): void => {
      // Closing the channel alone leaves a command without a pty running. OpenSSH delivers a `signal` request
      // to its process group, but only for sessions under privilege separation (not root logins; sshd logs
      // "session signalling requires privilege separation"), so this is best effort and the error says so.
      // ssh2's channel.signal() only sends while our side is writable, and we closed stdin at the start, so
      // the request goes through its protocol object directly.
      const raw = channel as unknown as { outgoing?: { id: number; state: string }; _client?: { _protocol?: { signal(id: number, name: string): void } } };
      try {
        if (raw.outgoing?.state === 'open') raw._client?._protocol?.signal(raw.outgoing.id, 'KILL');
      } catch {
        // Connection already gone.
      }
      channel.close();
    };
    const timer = setTimeout(() => {
      kill();
      finish(
        new RemoteTimeoutError(`command on ${conn.target.host} did not finish within ${formatMs(req.deadlineMs ?? req.timeoutMs)}; its channel was closed (KILL requested): ${req.command}`, {
          context: { ...ctx, timeoutMs: req.deadlineMs ?? req.timeoutMs, elapsedMs: Date.now() - started },
          hint: 'the command may still be running on the host (sshd delivers KILL only to non-root sessions) or have half-completed: look at the host before retrying, and raise the deadline if the work is legitimately slow',
        }),
      );
    }, Math.max(1, req.timeoutMs));
    const onAbort = (): void => {
      kill();
      finish(abortError(req.signal!, ctx, Date.now() - started));
    };
    req.signal?.addEventListener('abort', onAbort, { once: true });
    if (req.signal?.aborted) onAbort();

    channel.on('data', (d: Buffer) => out.push(d));
    channel.stderr.on('data', (d: Buffer) => err.push(d));
    channel.on('exit', (code: number | null, sig?: string) => {
      exited = true;
      exitCode = typeof code === 'number' ? code : null;
      exitSignal = sig ?? null;
    });
    channel.on('close', () => {
      if (exited) return finish();
      const why = conn.alive ? 'the server closed the channel' : `the connection dropped (${conn.closeReason ?? 'closed'})`;
      finish(
        new ChannelClosedError(`${why} while a command ran on ${conn.target.host} (after ${formatMs(Date.now() - started)}); it may or may not have completed: ${req.command}`, {
          context: { ...ctx, elapsedMs: Date.now() - started, reason: conn.closeReason },
          hint: 'check on the host whether the command took effect before running it again',
        }),
      );
    });
    channel.on('error', () => {
      // Followed by 'close', which decides.
    });
    if (req.stdin !== undefined && req.stdin.length > 0) channel.end(req.stdin);
    else channel.end();
  });
}
