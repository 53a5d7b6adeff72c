// Alertmanager label matchers: the API's JSON shape, a parser for the operator strings people type
// (`alertname=NodeDown`, `instance=~"tools-k8s-worker-1(:.*)?"`, `severity!=info`, `job!~"node|blackbox"`),
// the filter text the v2 API accepts, and a local evaluator with Alertmanager's semantics (regexes anchored,
// a missing label is the empty string).
import { InputError } from '../core/errors.js';

/** One matcher as the v2 API sends and receives it. */
export interface Matcher {
  name: string;
  value: string;
  isRegex: boolean;
  /** false for `!=` and `!~`. */
  isEqual: boolean;
}

/** The four operators. */
export type MatchOperator = '=' | '!=' | '=~' | '!~';

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** The operator of a matcher. */
export function operatorOf(m: Matcher): MatchOperator {
  if (m.isRegex) return m.isEqual ? '=~' : '!~';
  return m.isEqual ? '=' : '!=';
}

/** Builds a validated matcher from its parts; throws InputError for a bad label name or regex. */
export function matcher(name: string, op: MatchOperator, value: string): Matcher {
  if (!LABEL_NAME.test(name)) {
    throw new InputError(`invalid label name "${name}" in matcher`, {
      context: { matcher: `${name}${op}${value}` },
      hint: 'label names are letters, digits and "_", not starting with a digit',
    });
  }
  const m: Matcher = { name, value, isRegex: op === '=~' || op === '!~', isEqual: op === '=' || op === '=~' };
  if (m.isRegex) compileAnchored(m);
  return m;
}

/**
 * Parses one operator string: `name=value`, `name!=value`, `name=~regex`, `name!~regex`; the value may be
 * double-quoted (with \" and \\ escapes), which is needed when it contains a comma or spaces.
 */
export function parseMatcher(text: string): Matcher {
  const trimmed = text.trim();
  const m = /^([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(.*)$/s.exec(trimmed);
  if (!m) {
    throw new InputError(`cannot parse matcher "${text}"`, {
      context: { matcher: text },
      hint: 'write name=value, name!=value, name=~"regex" or name!~"regex"',
    });
  }
  const [, name, op, rawValue] = m as unknown as [string, string, MatchOperator, string];
  return matcher(name, op, unquote(rawValue.trim(), text));
}

/** Parses a list: `{a="b", c=~"d"}`, `a=b,c!=d` or an array of single matcher strings. */
export function parseMatchers(input: string | readonly string[]): Matcher[] {
  const parts = typeof input === 'string' ? splitList(input) : input.flatMap((s) => splitList(s));
  if (parts.length === 0) throw new InputError('no matchers given', { hint: 'give at least one matcher, e.g. alertname=NodeDown' });
  return parts.map(parseMatcher);
}

/** The matcher as Alertmanager's filter syntax: `name=~"value"` (value always quoted). */
export function formatMatcher(m: Matcher): string {
  return `${m.name}${operatorOf(m)}${quote(m.value)}`;
}

/** Escapes every regex metacharacter so that `text` matches itself only. */
export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** How a host is identified in alert labels. */
export interface HostMatchOptions {
  /**
   * `instance` (default): Prometheus' instance label, `host` or `host:port` (the port of any exporter);
   * `host`: a plain `host` label set by relabelling.
   */
  by?: 'instance' | 'host';
  /** Also match the FQDN `<host>.<domain>` (instance labels often carry it). */
  domain?: string;
}

const HOST = /^(?=.{1,253}$)[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?)*$/;

/** Matchers selecting the alerts of one host: `instance=~"<host>(:\d+)?"` or `host="<host>"`. */
export function hostMatchers(host: string, options: HostMatchOptions = {}): Matcher[] {
  if (!HOST.test(host)) {
    throw new InputError(`invalid host name "${host}" for a silence`, { context: { host }, hint: 'give a host name or FQDN' });
  }
  const names = options.domain ? [host, `${host}.${options.domain}`] : [host];
  if ((options.by ?? 'instance') === 'host') {
    return [names.length === 1 ? matcher('host', '=', host) : matcher('host', '=~', names.map(escapeRegex).join('|'))];
  }
  const alternatives = names.map(escapeRegex);
  const hostPart = alternatives.length === 1 ? alternatives[0]! : `(${alternatives.join('|')})`;
  return [matcher('instance', '=~', `${hostPart}(:\\d+)?`)];
}

/** True when every matcher matches the label set (Alertmanager semantics: anchored regexes, missing = ""). */
export function matchesLabels(matchers: readonly Matcher[], labels: Readonly<Record<string, string>>): boolean {
  return matchers.every((m) => {
    const actual = labels[m.name] ?? '';
    const hit = m.isRegex ? compileAnchored(m).test(actual) : actual === m.value;
    return hit === m.isEqual;
  });
}

/** True when two matcher lists are the same set (order ignored). */
export function sameMatchers(a: readonly Matcher[], b: readonly Matcher[]): boolean {
  const key = (list: readonly Matcher[]): string => list.map(formatMatcher).sort().join('\n');
  return key(a) === key(b);
}

function compileAnchored(m: Matcher): RegExp {
  try {
    // Alertmanager anchors regex matchers at both ends; Go RE2 and JS agree on the common subset used here.
    return new RegExp(`^(?:${m.value})$`);
  } catch (err) {
    throw new InputError(`invalid regular expression in matcher ${m.name}${operatorOf(m)}"${m.value}"`, {
      context: { matcher: m.name, value: m.value },
      cause: err,
      hint: 'fix the regex (it is anchored at both ends, like Alertmanager does)',
    });
  }
}

function quote(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

function unquote(raw: string, text: string): string {
  if (!raw.startsWith('"')) return raw;
  let out = '';
  for (let i = 1; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === '\\' && i + 1 < raw.length) {
      const next = raw[++i]!;
      out += next === 'n' ? '\n' : next;
    } else if (c === '"') {
      if (i !== raw.length - 1) break;
      return out;
    } else {
      out += c;
    }
  }
  throw new InputError(`unterminated or malformed quoted value in matcher "${text}"`, {
    context: { matcher: text },
    hint: 'close the double quote at the end of the value; escape inner quotes as \\"',
  });
}

/** Splits on commas outside double quotes, dropping surrounding braces and empty parts. */
function splitList(text: string): string[] {
  let body = text.trim();
  if (body.startsWith('{') && body.endsWith('}')) body = body.slice(1, -1);
  const parts: string[] = [];
  let current = '';
  let inQuote = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (inQuote && c === '\\' && i + 1 < body.length) {
      current += c + body[++i]!;
      continue;
    }
    if (c === '"') inQuote = !inQuote;
    if (c === ',' && !inQuote) {
      parts.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  parts.push(current);
  return parts.map((p) => p.trim()).filter((p) => p.length > 0);
}
