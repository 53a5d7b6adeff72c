// Confirmations: a prompt on a TTY, yes with --yes, and with neither a refusal (exit 4) before anything
// changes, never a hang. A confirmation can show what will happen (detail lines) and can require typing a
// word (a production cluster's name) instead of just "y", so that a tired operator cannot wave it through.
import { createInterface } from 'node:readline/promises';
import { OperatorAbort } from './errors.js';

/** How questions are answered in this run. */
export interface Prompter {
  /** True when a human can be asked. */
  readonly interactive: boolean;
  /** Asks a yes/no question; resolves true for yes (rejects with OperatorAbort when the operator breaks off). */
  ask(question: string, defaultYes?: boolean): Promise<boolean>;
  /** Asks for a line of text (e.g. the cluster's name); resolves what was typed, trimmed. */
  askText?(question: string): Promise<string>;
}

/** A prompter on the process's stdin/stderr; interactive only when both are TTYs. */
export function ttyPrompter(): Prompter {
  const interactive = Boolean(process.stdin.isTTY && process.stderr.isTTY);
  // Ctrl-C on the prompt (raw mode: it is a key, not a signal) or Ctrl-D means "get me out": the run is
  // aborted (exit 4) instead of hanging, and never read as an answer (a "no" to "resume?" would start afresh).
  const line = async (question: string): Promise<string> => {
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    const stop = new AbortController();
    rl.on('SIGINT', () => stop.abort('Ctrl-C'));
    rl.on('close', () => stop.abort('end of input'));
    try {
      return (await rl.question(question, { signal: stop.signal })).trim();
    } catch (err) {
      if (!stop.signal.aborted) throw err;
      process.stderr.write('\n');
      throw new OperatorAbort(`aborted by the operator (${String(stop.signal.reason)} at the prompt)`, { context: { question } });
    } finally {
      rl.close();
    }
  };
  return {
    interactive,
    async ask(question: string, defaultYes = false): Promise<boolean> {
      if (!interactive) return false;
      const answer = (await line(question + (defaultYes ? ' [Y/n] ' : ' [y/N] '))).toLowerCase();
      if (answer === '') return defaultYes;
      return answer === 'y' || answer === 'yes';
    },
    async askText(question: string): Promise<string> {
      if (!interactive) return '';
      return line(question);
    },
  };
}

/** A prompter with fixed answers (tests, schedulers): a typed-word question gets the word when `answer` is true. */
export function fixedPrompter(answer: boolean, interactive = true): Prompter {
  return { interactive, ask: async () => answer, askText: async (q: string) => (answer ? (/"([^"]+)"/.exec(q)?.[1] ?? '') : '') };
}

/** The outcome of a confirmation, for the event stream. */
export type ConfirmAnswer = 'yes' | 'no' | 'no-tty' | 'assumed-yes';

/** What a confirmation shows and requires beyond its one-line message. */
export interface ConfirmOptions {
  /** Lines describing what will happen, shown before the question. */
  details?: readonly string[];
  /** A word the operator must type to go on (a production cluster's name) instead of answering y. */
  typeToConfirm?: string;
  /** Where the details and notes are written (default: stderr). */
  write?: (text: string) => void;
}

/**
 * Asks for confirmation: --yes answers yes; no TTY refuses; a "no" (or a wrong word) refuses. Throws
 * OperatorAbort on refusal.
 */
export async function confirmOrAbort(prompter: Prompter, yes: boolean, message: string, onAnswer?: (a: ConfirmAnswer) => void, options: ConfirmOptions = {}): Promise<void> {
  if (yes) {
    onAnswer?.('assumed-yes');
    return;
  }
  if (!prompter.interactive) {
    onAnswer?.('no-tty');
    throw new OperatorAbort(`confirmation needed but no TTY to ask on: ${message}`, {
      context: { question: message, ...(options.details?.length ? { details: options.details } : {}), ...(options.typeToConfirm ? { mustType: options.typeToConfirm } : {}) },
      hint: 'run it on a terminal to answer the question, or pass --yes to answer yes (after checking the plan with --dry-run)',
    });
  }
  const write = options.write ?? ((t: string) => process.stderr.write(t));
  if (options.details?.length) write(`${message}\n${options.details.map((d) => `  - ${d}`).join('\n')}\n`);
  let ok: boolean;
  if (options.typeToConfirm !== undefined) {
    if (!prompter.askText) {
      onAnswer?.('no');
      throw new OperatorAbort(`confirmation needs a typed answer this prompter cannot ask: ${message}`, { context: { question: message }, hint: 'pass --yes to answer yes' });
    }
    const typed = await prompter.askText(`${options.details?.length ? '' : `${message} `}Type the cluster name "${options.typeToConfirm}" to continue: `);
    ok = typed === options.typeToConfirm;
    if (!ok && typed !== '') write(`"${typed}" is not "${options.typeToConfirm}"\n`);
  } else {
    ok = await prompter.ask(`${options.details?.length ? '' : `${message} `}Continue?`);
  }
  onAnswer?.(ok ? 'yes' : 'no');
  if (!ok) throw new OperatorAbort(`aborted by the operator: ${message}`, { context: { question: message } });
}
