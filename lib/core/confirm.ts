// Confirmations: a prompt on a TTY, yes with --yes, and with neither a refusal (exit 4) before anything
// changes, never a hang.
import { createInterface } from 'node:readline/promises';
import { OperatorAbort } from './errors.js';

/** How questions are answered in this run. */
export interface Prompter {
  /** True when a human can be asked. */
  readonly interactive: boolean;
  /** Asks a yes/no question; resolves true for yes. */
  ask(question: string, defaultYes?: boolean): Promise<boolean>;
}

/** A prompter on the process's stdin/stderr; interactive only when both are TTYs. */
export function ttyPrompter(): Prompter {
  const interactive = Boolean(process.stdin.isTTY && process.stderr.isTTY);
  return {
    interactive,
    async ask(question: string, defaultYes = false): Promise<boolean> {
      if (!interactive) return false;
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      try {
        const suffix = defaultYes ? ' [Y/n] ' : ' [y/N] ';
        const answer = (await rl.question(question + suffix)).trim().toLowerCase();
        if (answer === '') return defaultYes;
        return answer === 'y' || answer === 'yes';
      } finally {
        rl.close();
      }
    },
  };
}

/** A prompter with fixed answers (tests, schedulers). */
export function fixedPrompter(answer: boolean, interactive = true): Prompter {
  return { interactive, ask: async () => answer };
}

/** The outcome of a confirmation, for the event stream. */
export type ConfirmAnswer = 'yes' | 'no' | 'no-tty' | 'assumed-yes';

/** Asks for confirmation: --yes answers yes; no TTY refuses; a "no" refuses. Throws OperatorAbort on refusal. */
export async function confirmOrAbort(prompter: Prompter, yes: boolean, message: string, onAnswer?: (a: ConfirmAnswer) => void): Promise<void> {
  if (yes) {
    onAnswer?.('assumed-yes');
    return;
  }
  if (!prompter.interactive) {
    onAnswer?.('no-tty');
    throw new OperatorAbort(`confirmation needed but no TTY to ask on: ${message}`, {
      context: { question: message },
      hint: 'run it on a terminal, or pass --yes to answer yes',
    });
  }
  const ok = await prompter.ask(`${message} Continue?`);
  onAnswer?.(ok ? 'yes' : 'no');
  if (!ok) throw new OperatorAbort(`aborted by the operator: ${message}`, { context: { question: message } });
}
