// Reporting before a run exists (bad arguments, unknown cookbook, inventory or lock errors) and the option
// and I/O types the CLI shares with the run lifecycle. Kept light: the CLI imports it on every invocation.
import type { Clock } from '../core/clock.js';
import type { Prompter } from '../core/confirm.js';
import { CookbookError, ExitCode, errorToJSON, exitCodeOf, messageOf } from '../core/errors.js';
import type { RunStatus } from '../core/events.js';
import { redactText, redactValue } from '../core/redact.js';

/** Options that apply to every cookbook run. */
export interface GlobalOptions {
  dryRun: boolean;
  yes: boolean;
  json: boolean;
  inventory: string[];
  logDir: string;
  stateDir: string;
  reason?: string;
  taskId?: string;
  verbose: boolean;
  resume: boolean;
  fresh: boolean;
  /** --simulate: run against a twin of the cluster instead (lib/simulate). */
  simulate?: boolean;
  /** --simulate-speed: how much faster than the cluster the twin runs. */
  simulateSpeed?: number;
}

/** Process-level dependencies (injectable for tests). */
export interface RunIO {
  prompter: Prompter;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  clock?: Clock;
  /** Process signals to handle (default SIGINT, SIGTERM). */
  signals?: NodeJS.Signals[];
  /** Aborting it interrupts the run as a first SIGINT would (a simulation handles the signals itself). */
  abort?: AbortSignal;
  /** Sees the run's event bus as soon as it exists (a simulation times every event in cluster time). */
  onEvents?: (events: import('../core/events.js').EventBus) => void;
  /** A run on a twin: no announcement (log file, webhook) leaves this process. */
  simulated?: boolean;
  /** No console lines (the log file still gets everything): a simulation's warm-up run. */
  quiet?: boolean;
}

/** Prints a failure that happened before the run started (bad args, inventory, lock) and returns its code. */
export function reportEarlyError(err: unknown, globals: Pick<GlobalOptions, 'json'>, io: RunIO, base: Record<string, unknown> = {}): number {
  const code = exitCodeOf(err);
  const e = errorToJSON(err);
  if (globals.json) {
    const status: RunStatus = code === ExitCode.aborted ? 'aborted' : code === ExitCode.interrupted ? 'interrupted' : 'failed';
    io.stdout(JSON.stringify(redactValue({ ...base, status, error: e, exitCode: code })) + '\n');
  }
  io.stderr(redactText(`cookbook: error: ${messageOf(err)}${err instanceof CookbookError && err.hint ? `\n  hint: ${err.hint}` : ''}`) + '\n');
  return code;
}

