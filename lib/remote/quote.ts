// POSIX shell quoting for argument arrays. sshd always runs a command through the remote user's login shell
// (`$SHELL -c STRING`), so an argv must become one string that this shell splits back into exactly the same
// words. Every word that is not plainly safe is wrapped in single quotes, the only quoting in which no
// character is special; a single quote itself becomes '\'' (close, escaped quote, reopen).
import { InputError } from '../core/errors.js';

// Characters that never need quoting in any POSIX shell word position (no globbing, expansion, splitting).
const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

// Words the shell treats specially in command position even though they look harmless.
const RESERVED = new Set(['!', '{', '}', '[[', ']]', 'case', 'coproc', 'do', 'done', 'elif', 'else', 'esac', 'fi', 'for', 'function', 'if', 'in', 'select', 'then', 'time', 'until', 'while']);

/** Quotes one argument so that a POSIX shell reads it back as exactly this one word. */
export function shellQuote(arg: string): string {
  if (typeof arg !== 'string') throw new InputError(`shell argument must be a string, got ${typeof arg}`, { context: { argument: String(arg) } });
  // A NUL byte cannot be part of any argv entry: the remote exec would silently cut the word there.
  if (arg.includes('\0')) throw new InputError('shell argument contains a NUL byte', { context: { argument: arg.replace(/\0/g, '\\0') } });
  if (SAFE_WORD.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * Joins an argument array into one shell command line. The first word is also quoted when it contains `=` (it
 * would otherwise be a variable assignment) or is a reserved word, so argv[0] is always the program run.
 */
export function shellJoin(argv: readonly string[]): string {
  if (!Array.isArray(argv) || argv.length === 0) throw new InputError('a command must be a non-empty argument array', { context: { argv } });
  return argv
    .map((arg, i) => {
      const q = shellQuote(arg);
      if (i === 0 && q === arg && (arg.includes('=') || RESERVED.has(arg))) return `'${arg}'`;
      return q;
    })
    .join(' ');
}

/** The command with the sudo prefix when asked: `sudo -n --` never prompts (a prompt would hang the channel). */
export function withSudo(argv: readonly string[], sudo: boolean): string[] {
  return sudo ? ['sudo', '-n', '--', ...argv] : [...argv];
}

/** A short name of a command for change records and logs: `run systemctl restart` (at most three words). */
export function commandAction(argv: readonly string[]): string {
  return `run ${argv.slice(0, argv[0] === 'sudo' ? 5 : 2).join(' ')}`.slice(0, 120);
}
