// The error hierarchy shared by every module. Each error carries a context object (what, which host or
// object, the command or request) and an exit code, so the runner can map any failure to DESIGN's codes.

/** Free-form, JSON-serialisable facts about a failure (host, object, command, request id, ...). */
export type ErrorContext = Record<string, unknown>;

/** Options accepted by every CookbookError constructor. */
export interface ErrorOptions {
  context?: ErrorContext;
  cause?: unknown;
  /** What the operator should do about it. */
  hint?: string;
}

/** Exit codes of DESIGN section 3. */
export const ExitCode = Object.freeze({
  success: 0,
  failed: 1,
  usage: 2,
  lockHeld: 3,
  aborted: 4,
  noSuchCookbook: 5,
  interrupted: 130,
} as const);

/** The root of every error this project throws on purpose. */
export class CookbookError extends Error {
  /** Exit code the runner uses when this error ends a run. */
  get exitCode(): number {
    return ExitCode.failed;
  }
  readonly context: ErrorContext;
  readonly hint: string | undefined;

  constructor(message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.context = options.context ?? {};
    this.hint = options.hint;
  }

  /** A JSON view: class, message, context, hint and the cause's message. */
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = { class: this.name, message: this.message, context: this.context };
    if (this.hint) out.hint = this.hint;
    if (this.cause !== undefined) out.cause = describeCause(this.cause);
    return out;
  }
}

function describeCause(cause: unknown): unknown {
  if (cause instanceof CookbookError) return cause.toJSON();
  if (cause instanceof Error) return { class: cause.name, message: cause.message };
  return String(cause);
}

/** Bad command-line usage: unknown or malformed arguments. Nothing was changed. */
export class UsageError extends CookbookError {
  override get exitCode(): number {
    return ExitCode.usage;
  }
}

/** Bad input data: inventory, unknown cluster/role/host, invalid names. Nothing was changed. */
export class InputError extends CookbookError {
  override get exitCode(): number {
    return ExitCode.usage;
  }
}

/** No cookbook has the requested name. */
export class UnknownCookbookError extends CookbookError {
  override get exitCode(): number {
    return ExitCode.noSuchCookbook;
  }
}

/** A cookbook module exists but could not be loaded. */
export class CookbookLoadError extends CookbookError {}

/** The operator refused a confirmation, or none could be asked (no TTY, no --yes). */
export class OperatorAbort extends CookbookError {
  override get exitCode(): number {
    return ExitCode.aborted;
  }
}

/** The run was interrupted by SIGINT/SIGTERM (or its lock was lost) and stopped at a safe point. */
export class InterruptedError extends CookbookError {
  override get exitCode(): number {
    return ExitCode.interrupted;
  }
}

/** Another run holds the lock. */
export class LockHeldError extends CookbookError {
  override get exitCode(): number {
    return ExitCode.lockHeld;
  }
}

/** The lock backend failed (not "held": broken, unreachable, lost). */
export class LockError extends CookbookError {}

/** A deadline passed before a condition was met. */
export class TimeoutError extends CookbookError {}

/** A step's verify found the state still wrong after apply. */
export class VerifyError extends CookbookError {}

/** A client tried to send a mutation outside the mutation gate: always a programming error. */
export class GateViolation extends CookbookError {}

/** Base class for SSH / remote host failures (lib/remote). */
export class RemoteError extends CookbookError {}

/** Base class for Kubernetes API failures (lib/k8s). */
export class KubernetesError extends CookbookError {}

/** Base class for OpenStack API failures (lib/openstack). */
export class OpenStackError extends CookbookError {}

/** Base class for Alertmanager failures (lib/alerting). */
export class AlertingError extends CookbookError {}

/** Base class for etcd failures. */
export class EtcdError extends CookbookError {}

/** Base class for lab failures (lab/). */
export class LabError extends CookbookError {}

/**
 * Thrown in --dry-run when planning cannot go further because it would depend on a change that was only
 * planned (a VM that does not exist yet, a wait for a state nobody created). Steps turn it into "planned".
 */
export class DryRunStop extends CookbookError {}

/** The exit code for any thrown value. */
export function exitCodeOf(err: unknown): number {
  return err instanceof CookbookError ? err.exitCode : ExitCode.failed;
}

/**
 * The exit code of an error that ended a run, given whether the run had already changed something: exit 2
 * promises "bad input, nothing was changed", so a usage/input error raised after a change exits 1 instead.
 */
export function exitCodeAfter(err: unknown, changedSomething: boolean): number {
  const code = exitCodeOf(err);
  return code === ExitCode.usage && changedSomething ? ExitCode.failed : code;
}

/** The message of any thrown value. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** A JSON-able description of any thrown value. */
export function errorToJSON(err: unknown): Record<string, unknown> {
  if (err instanceof CookbookError) return err.toJSON();
  if (err instanceof Error) return { class: err.name, message: err.message, context: {} };
  return { class: 'Error', message: String(err), context: {} };
}
