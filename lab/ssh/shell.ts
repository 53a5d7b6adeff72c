// A parser for the subset of POSIX shell that cookbooks send to hosts: words with '…', "…", $'…' and
// backslash quoting, $VAR / ${VAR} / $? / $(…) / `…` expansions, pipelines, `&&`, `||`, `;`, newlines, `!`,
// redirections (<, >, >>, 2>, 2>&1, &>), `VAR=value` prefixes and if/then/elif/else/fi. It is pure: it turns
// text into a syntax tree; lab/ssh/interpreter.ts runs the tree against a lab host's in-memory state.

/** A piece of a word; quoted pieces are not field-split. */
export type WordPart =
  | { kind: 'lit'; text: string; quoted: boolean }
  | { kind: 'var'; name: string; quoted: boolean }
  | { kind: 'cmd'; source: string; quoted: boolean };

/** One shell word before expansion. */
export interface Word {
  parts: WordPart[];
}

/** A redirection of a simple command. */
export interface Redirect {
  /** File descriptor redirected (0, 1, 2); `&>` is fd 1 with `both`. */
  fd: number;
  op: '<' | '>' | '>>' | '>&';
  /** File name, or for `>&` the fd number as a word. */
  target: Word;
  /** `&>`: stdout and stderr to the same file. */
  both?: boolean;
}

/** `NAME=value words… redirects…`. */
export interface SimpleCommand {
  type: 'simple';
  assignments: { name: string; value: Word }[];
  words: Word[];
  redirects: Redirect[];
}

/** `if list; then list; [elif list; then list;]… [else list;] fi`. */
export interface IfCommand {
  type: 'if';
  branches: { condition: List; body: List }[];
  otherwise?: List;
  redirects: Redirect[];
}

/** A command of a pipeline. */
export type Command = SimpleCommand | IfCommand;

/** `[!] cmd | cmd | …`. */
export interface Pipeline {
  negate: boolean;
  commands: Command[];
}

/** `pipeline && pipeline || pipeline …`, evaluated left to right. */
export interface AndOr {
  first: Pipeline;
  rest: { op: '&&' | '||'; pipeline: Pipeline }[];
}

/** A sequence of and-or lists separated by `;` or newlines. */
export interface List {
  items: AndOr[];
}

/** A syntax error, with bash's wording where it has one. */
export class ShellSyntaxError extends Error {}

type Token = { type: 'word'; word: Word; raw: string } | { type: 'op'; op: string };

const OPERATORS = ['&&', '||', ';;', '>>', '<<', '&>', '>&', '|', ';', '&', '(', ')', '<', '>', '\n'];
const RESERVED = new Set(['if', 'then', 'elif', 'else', 'fi', 'while', 'until', 'for', 'do', 'done', 'case', 'esac', '{', '}']);

/** Finds the index just past the `)` that closes a `$(` starting before `start`. */
function matchParen(src: string, start: number): number {
  let depth = 1;
  let i = start;
  while (i < src.length) {
    const c = src[i]!;
    if (c === '\\') {
      i += 2;
      continue;
    }
    if (c === "'") {
      const end = src.indexOf("'", i + 1);
      if (end < 0) break;
      i = end + 1;
      continue;
    }
    if (c === '"') {
      i++;
      while (i < src.length && src[i] !== '"') i += src[i] === '\\' ? 2 : 1;
      i++;
      continue;
    }
    if (c === '(') depth++;
    if (c === ')') {
      depth--;
      if (depth === 0) return i + 1;
    }
    i++;
  }
  throw new ShellSyntaxError("unexpected EOF while looking for matching `)'");
}

const ANSI_ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', e: '\x1b', E: '\x1b', f: '\f', v: '\v', '0': '\0' };

/** Splits shell text into word and operator tokens. */
export function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let parts: WordPart[] | undefined;
  let raw = '';
  const lit = (text: string, quoted: boolean): void => {
    parts ??= [];
    const last = parts.at(-1);
    if (last && last.kind === 'lit' && last.quoted === quoted) last.text += text;
    else parts.push({ kind: 'lit', text, quoted });
  };
  const flush = (): void => {
    if (parts) tokens.push({ type: 'word', word: { parts }, raw });
    parts = undefined;
    raw = '';
  };
  // A `$…` expansion at src[i] === '$'; returns the index after it.
  const dollar = (quoted: boolean): void => {
    const next = src[i + 1];
    if (next === '(') {
      if (src[i + 2] === '(') throw new ShellSyntaxError('arithmetic expansion $((…)) is not supported by the lab shell');
      const end = matchParen(src, i + 2);
      parts ??= [];
      parts.push({ kind: 'cmd', source: src.slice(i + 2, end - 1), quoted });
      raw += src.slice(i, end);
      i = end;
      return;
    }
    if (next === '{') {
      const end = src.indexOf('}', i + 2);
      if (end < 0) throw new ShellSyntaxError("unexpected EOF while looking for matching `}'");
      const name = src.slice(i + 2, end);
      if (!/^([A-Za-z_][A-Za-z0-9_]*|[0-9?$#@*])$/.test(name)) throw new ShellSyntaxError(`\${${name}}: bad substitution`);
      parts ??= [];
      parts.push({ kind: 'var', name, quoted });
      raw += src.slice(i, end + 1);
      i = end + 1;
      return;
    }
    const m = /^([A-Za-z_][A-Za-z0-9_]*|[0-9?$#@*])/.exec(src.slice(i + 1));
    if (m) {
      parts ??= [];
      parts.push({ kind: 'var', name: m[1]!, quoted });
      raw += '$' + m[1];
      i += 1 + m[1]!.length;
      return;
    }
    lit('$', quoted);
    raw += '$';
    i++;
  };
  while (i < src.length) {
    const c = src[i]!;
    if (c === ' ' || c === '\t') {
      flush();
      i++;
      continue;
    }
    if (c === '#' && !parts) {
      while (i < src.length && src[i] !== '\n') i++;
      continue;
    }
    if (c === '\\') {
      if (src[i + 1] === '\n') {
        i += 2;
        continue;
      }
      if (i + 1 < src.length) lit(src[i + 1]!, true);
      raw += src.slice(i, i + 2);
      i += 2;
      continue;
    }
    if (c === "'") {
      const end = src.indexOf("'", i + 1);
      if (end < 0) throw new ShellSyntaxError("unexpected EOF while looking for matching `''");
      lit(src.slice(i + 1, end), true);
      raw += src.slice(i, end + 1);
      i = end + 1;
      continue;
    }
    if (c === '$' && src[i + 1] === "'") {
      let j = i + 2;
      let text = '';
      while (j < src.length && src[j] !== "'") {
        if (src[j] === '\\' && j + 1 < src.length) {
          const e = src[j + 1]!;
          if (e === 'x' && /^[0-9a-fA-F]{1,2}/.test(src.slice(j + 2))) {
            const hex = /^[0-9a-fA-F]{1,2}/.exec(src.slice(j + 2))![0];
            text += String.fromCharCode(parseInt(hex, 16));
            j += 2 + hex.length;
            continue;
          }
          text += ANSI_ESCAPES[e] ?? '\\' + e;
          j += 2;
          continue;
        }
        text += src[j];
        j++;
      }
      if (j >= src.length) throw new ShellSyntaxError("unexpected EOF while looking for matching `''");
      lit(text, true);
      raw += src.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    if (c === '"') {
      parts ??= [];
      // An empty "" still makes a (possibly empty) word.
      lit('', true);
      raw += '"';
      i++;
      while (i < src.length && src[i] !== '"') {
        const d = src[i]!;
        if (d === '\\' && i + 1 < src.length && '$`"\\\n'.includes(src[i + 1]!)) {
          if (src[i + 1] !== '\n') lit(src[i + 1]!, true);
          raw += src.slice(i, i + 2);
          i += 2;
        } else if (d === '$') {
          dollar(true);
        } else if (d === '`') {
          const end = src.indexOf('`', i + 1);
          if (end < 0) throw new ShellSyntaxError('unexpected EOF while looking for matching ``\'');
          parts.push({ kind: 'cmd', source: src.slice(i + 1, end), quoted: true });
          raw += src.slice(i, end + 1);
          i = end + 1;
        } else {
          lit(d, true);
          raw += d;
          i++;
        }
      }
      if (i >= src.length) throw new ShellSyntaxError('unexpected EOF while looking for matching `"\'');
      raw += '"';
      i++;
      continue;
    }
    if (c === '$') {
      dollar(false);
      continue;
    }
    if (c === '`') {
      const end = src.indexOf('`', i + 1);
      if (end < 0) throw new ShellSyntaxError('unexpected EOF while looking for matching ``\'');
      parts ??= [];
      parts.push({ kind: 'cmd', source: src.slice(i + 1, end), quoted: false });
      raw += src.slice(i, end + 1);
      i = end + 1;
      continue;
    }
    // `2>` / `2>>` / `2>&1`: a word of only digits directly before a redirection is its fd.
    if ((c === '>' || c === '<') && parts && /^\d+$/.test(raw) && parts.every((p) => p.kind === 'lit' && !p.quoted)) {
      const fd = raw;
      parts = undefined;
      raw = '';
      const op = src.startsWith('>>', i) ? '>>' : src.startsWith('>&', i) ? '>&' : c;
      tokens.push({ type: 'op', op: `${fd}${op}` });
      i += op.length;
      continue;
    }
    const op = OPERATORS.find((o) => src.startsWith(o, i));
    if (op) {
      flush();
      tokens.push({ type: 'op', op });
      i += op.length;
      continue;
    }
    lit(c, false);
    raw += c;
    i++;
  }
  flush();
  return tokens;
}

/** Parses shell text into a list. Throws ShellSyntaxError. */
export function parse(src: string): List {
  const p = new Parser(tokenize(src));
  const list = p.list(new Set());
  if (!p.atEnd()) throw new ShellSyntaxError(`syntax error near unexpected token \`${p.describe()}'`);
  return list;
}

/** The literal text of a word when it has no expansions (used for reserved words and assignments). */
export function literalOf(word: Word): string | undefined {
  let out = '';
  for (const part of word.parts) {
    if (part.kind !== 'lit') return undefined;
    out += part.text;
  }
  return out;
}

function isPlainWord(tok: Token | undefined, text: string): boolean {
  return tok?.type === 'word' && tok.word.parts.length === 1 && tok.word.parts[0]!.kind === 'lit' && !tok.word.parts[0]!.quoted && tok.raw === text;
}

class Parser {
  private pos = 0;
  constructor(private readonly tokens: Token[]) {}

  atEnd(): boolean {
    return this.pos >= this.tokens.length;
  }

  describe(): string {
    const t = this.tokens[this.pos];
    if (!t) return 'newline';
    return t.type === 'op' ? (t.op === '\n' ? 'newline' : t.op) : t.raw;
  }

  private peek(): Token | undefined {
    return this.tokens[this.pos];
  }

  private isOp(op: string): boolean {
    const t = this.peek();
    return t?.type === 'op' && t.op === op;
  }

  private skipNewlines(): void {
    while (this.isOp('\n')) this.pos++;
  }

  /** A list, stopping before any reserved word in `stops` at command position. */
  list(stops: Set<string>): List {
    const items: AndOr[] = [];
    for (;;) {
      while (this.isOp('\n') || this.isOp(';')) {
        if (this.isOp(';') && items.length === 0) throw new ShellSyntaxError("syntax error near unexpected token `;'");
        this.pos++;
      }
      const t = this.peek();
      if (!t) break;
      if (t.type === 'word' && [...stops].some((s) => isPlainWord(t, s))) break;
      if (t.type === 'op' && t.op === ')') break;
      items.push(this.andOr(stops));
      if (this.isOp('&')) throw new ShellSyntaxError('background jobs (&) are not supported by the lab shell');
      if (!this.isOp(';') && !this.isOp('\n')) break;
    }
    return { items };
  }

  private andOr(stops: Set<string>): AndOr {
    const first = this.pipeline(stops);
    const rest: AndOr['rest'] = [];
    while (this.isOp('&&') || this.isOp('||')) {
      const op = (this.tokens[this.pos++] as { op: '&&' | '||' }).op;
      this.skipNewlines();
      rest.push({ op, pipeline: this.pipeline(stops) });
    }
    return { first, rest };
  }

  private pipeline(stops: Set<string>): Pipeline {
    let negate = false;
    if (isPlainWord(this.peek(), '!')) {
      negate = true;
      this.pos++;
    }
    const commands: Command[] = [this.command(stops)];
    while (this.isOp('|')) {
      this.pos++;
      this.skipNewlines();
      commands.push(this.command(stops));
    }
    return { negate, commands };
  }

  private command(stops: Set<string>): Command {
    const t = this.peek();
    if (!t) throw new ShellSyntaxError('syntax error: unexpected end of file');
    if (t.type === 'word' && isPlainWord(t, 'if')) return this.ifCommand();
    if (t.type === 'word' && RESERVED.has(t.raw) && isPlainWord(t, t.raw)) {
      if ([...stops].includes(t.raw) || ['then', 'elif', 'else', 'fi', 'do', 'done', 'esac', '}'].includes(t.raw)) {
        throw new ShellSyntaxError(`syntax error near unexpected token \`${t.raw}'`);
      }
      throw new ShellSyntaxError(`\`${t.raw}' compound commands are not supported by the lab shell`);
    }
    return this.simple();
  }

  private expectWord(text: string): void {
    if (!isPlainWord(this.peek(), text)) {
      throw new ShellSyntaxError(this.atEnd() ? 'syntax error: unexpected end of file' : `syntax error near unexpected token \`${this.describe()}'`);
    }
    this.pos++;
  }

  private ifCommand(): IfCommand {
    this.expectWord('if');
    const branches: IfCommand['branches'] = [];
    let otherwise: List | undefined;
    const condStops = new Set(['then']);
    const bodyStops = new Set(['elif', 'else', 'fi']);
    let condition = this.list(condStops);
    for (;;) {
      this.expectWord('then');
      const body = this.list(bodyStops);
      branches.push({ condition, body });
      if (isPlainWord(this.peek(), 'elif')) {
        this.pos++;
        condition = this.list(condStops);
        continue;
      }
      if (isPlainWord(this.peek(), 'else')) {
        this.pos++;
        otherwise = this.list(new Set(['fi']));
      }
      this.expectWord('fi');
      break;
    }
    const redirects: Redirect[] = [];
    while (this.redirect(redirects)) {
      /* collect trailing redirections */
    }
    return { type: 'if', branches, otherwise, redirects };
  }

  /** Consumes one redirection into `out`; false when the next token is not one. */
  private redirect(out: Redirect[]): boolean {
    const t = this.peek();
    if (t?.type !== 'op') return false;
    const m = /^(\d*)(>>|>&|<<|&>|>|<)$/.exec(t.op);
    if (!m) return false;
    if (m[2] === '<<') throw new ShellSyntaxError('here-documents (<<) are not supported by the lab shell');
    this.pos++;
    const target = this.peek();
    if (target?.type !== 'word') throw new ShellSyntaxError(`syntax error near unexpected token \`${this.describe()}'`);
    this.pos++;
    if (m[2] === '&>') {
      out.push({ fd: 1, op: '>', target: target.word, both: true });
      return true;
    }
    const op = m[2] as Redirect['op'];
    const fd = m[1] ? Number(m[1]) : op === '<' ? 0 : 1;
    out.push({ fd, op, target: target.word });
    return true;
  }

  private simple(): SimpleCommand {
    const cmd: SimpleCommand = { type: 'simple', assignments: [], words: [], redirects: [] };
    for (;;) {
      const t = this.peek();
      if (!t) break;
      if (t.type === 'op') {
        if (this.redirect(cmd.redirects)) continue;
        if (t.op === '(' || t.op === ')') {
          if (cmd.words.length === 0 && cmd.assignments.length === 0 && t.op === '(') throw new ShellSyntaxError('subshells ( … ) are not supported by the lab shell');
          throw new ShellSyntaxError(`syntax error near unexpected token \`${t.op}'`);
        }
        break;
      }
      const first = t.word.parts[0];
      if (cmd.words.length === 0 && first?.kind === 'lit' && !first.quoted) {
        const m = /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(first.text);
        if (m) {
          const rest: WordPart[] = [{ ...first, text: first.text.slice(m[0].length) }, ...t.word.parts.slice(1)];
          cmd.assignments.push({ name: m[1]!, value: { parts: rest } });
          this.pos++;
          continue;
        }
      }
      cmd.words.push(t.word);
      this.pos++;
    }
    if (cmd.words.length === 0 && cmd.assignments.length === 0 && cmd.redirects.length === 0) {
      throw new ShellSyntaxError(`syntax error near unexpected token \`${this.describe()}'`);
    }
    return cmd;
  }
}

/** Quotes one argument for a POSIX shell (for messages and for commands the lab builds). */
export function quoteArg(arg: string): string {
  if (arg !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}
