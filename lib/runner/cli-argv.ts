// Command-line checks yargs does not make: values that start with "-" (yargs reads `--drain-timeout -5m` as
// the flags -5 and -m), single-value options given twice, empty values, and the old (Python) cookbook names
// and flags, translated to the new ones.
import type { Options } from 'yargs';
import { UnknownCookbookError, UsageError } from '../core/errors.js';
import { redactText } from '../core/redact.js';

/** Names of the options that take a value (not booleans), with their aliases. */
function valueOptionNames(options: Record<string, Options>): Set<string> {
  const names = new Set<string>();
  for (const [key, opt] of Object.entries(options)) {
    if (opt.type === 'boolean' || opt.count) continue;
    names.add(key);
    for (const a of [opt.alias ?? []].flat()) names.add(String(a));
  }
  return names;
}

/**
 * Joins a value option and a following value that starts with "-" and a digit (`--drain-timeout -5m` ->
 * `--drain-timeout=-5m`), so the option's own check names it instead of yargs reporting unknown flags.
 */
export function joinDashValues(args: readonly string[], options: Record<string, Options>): string[] {
  const names = valueOptionNames(options);
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      out.push(...args.slice(i));
      break;
    }
    const m = /^--?([^=]+)$/.exec(a);
    const next = args[i + 1];
    if (m && names.has(m[1]!) && next !== undefined && /^-\.?\d/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else {
      out.push(a);
    }
  }
  return out;
}

/**
 * Refuses what yargs lets through: a single-value option given more than once (the last one would win: once
 * `--role worker --role control` added a control node), a boolean given both on and off, and empty values
 * (an unset variable in a timer unit must not silently mean "no filter").
 */
export function checkGivenValues(argv: Record<string, unknown>, options: Record<string, Options>, cookbook?: string): void {
  const hint = cookbook ? `see: cookbook ${cookbook} --help` : 'see: cookbook --help';
  for (const [key, opt] of Object.entries(options)) {
    const value = argv[key];
    if (value === undefined || value === opt.default) continue;
    const values = Array.isArray(value) ? value : [value];
    if (opt.type === 'boolean') {
      if (new Set(values.map(Boolean)).size > 1) throw new UsageError(`--${key}: given both on and off`, { context: { option: key }, hint });
      continue;
    }
    if (!opt.array && values.length > 1) {
      throw new UsageError(`--${key}: given ${values.length} times (${values.map((v) => JSON.stringify(v)).join(', ')}); it takes one value`, {
        context: { option: key, values },
        hint: `give --${key} once (${hint})`,
      });
    }
    if (values.some((v) => typeof v === 'string' && v.trim() === '')) {
      throw new UsageError(`--${key}: empty value: give a value or leave the option out`, { context: { option: key }, hint });
    }
  }
}

/**
 * Refuses a number option whose value is not a number. yargs turns `--limit abc` into NaN, which would reach
 * the cookbook as "got null"; this names the option and the value as given.
 */
export function checkNumbers(argv: Record<string, unknown>, options: Record<string, Options>, args: readonly string[], cookbook?: string): void {
  for (const [key, opt] of Object.entries(options)) {
    if (opt.type !== 'number') continue;
    const values = ([] as unknown[]).concat(argv[key] ?? []);
    if (!values.some((v) => typeof v === 'number' && Number.isNaN(v))) continue;
    const given = givenValues(args, key);
    const bad = given.find((v) => Number.isNaN(Number(v)) || v.trim() === '') ?? given[0] ?? '';
    throw new UsageError(`--${key}: expected a number, got ${JSON.stringify(bad)}`, {
      context: { option: key, value: bad },
      hint: cookbook ? `see: cookbook ${cookbook} --help` : 'see: cookbook --help',
    });
  }
}

/** The values given for `--key` in argv (`--key V` and `--key=V` forms). */
function givenValues(args: readonly string[], key: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === `--${key}` && i + 1 < args.length) out.push(args[++i]!);
    else if (a.startsWith(`--${key}=`)) out.push(a.slice(key.length + 3));
  }
  return out;
}

/** True when a host-name option (hostname, *-hostname) has a value with a dot: an FQDN to shorten. */
export function hasDottedHost(argv: Record<string, unknown>, keys: readonly string[]): boolean {
  const dotted = (v: unknown): boolean => (Array.isArray(v) ? v.some(dotted) : typeof v === 'string' && /[a-z0-9]\.[a-z0-9]/i.test(v));
  return keys.some((k) => (k === 'hostname' || k.endsWith('-hostname')) && dotted(argv[k]));
}

/** An old cookbook name: the new cookbook and the renamed flags. */
export interface OldName {
  name: string;
  flags?: Readonly<Record<string, string>>;
}

/** The Python cookbooks' names and flags, and what replaced them. */
export const OLD_NAMES: Readonly<Record<string, OldName>> = Object.freeze({
  'wmcs.toolforge.add_k8s_node': { name: 'k8s.add-node' },
  'wmcs.toolforge.remove_k8s_node': { name: 'k8s.remove-node', flags: { 'hostname-to-remove': 'hostname' } },
  'wmcs.toolforge.k8s.worker.drain': { name: 'k8s.drain', flags: { 'hostname-to-drain': 'hostname' } },
  'wmcs.toolforge.k8s.reboot': { name: 'k8s.reboot', flags: { 'hostname-list': 'hostname' } },
  'wmcs.toolforge.component.deploy': { name: 'component.deploy' },
  'wmcs.toolforge.k8s.kubeadm_certs_renew': { name: 'k8s.certs.renew' },
});

function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * Translates an old cookbook name and its flags to the new ones. Returns undefined for a name that is not
 * old; throws UnknownCookbookError (exit 5) when the new cookbook does not exist yet.
 */
export function translateOldName(command: string, args: readonly string[], known: readonly string[]): { command: string; args: string[]; note: string } | undefined {
  const old = OLD_NAMES[command];
  if (!old) return undefined;
  if (!known.includes(old.name)) {
    throw new UnknownCookbookError(`${command} is now ${old.name}, which is not available yet`, {
      context: { cookbook: command, replacement: old.name },
      hint: 'cookbook list shows the cookbooks available in this version',
    });
  }
  const renamed = args.map((a) => {
    const m = /^--([^=]+)(=.*)?$/.exec(a);
    const to = m && old.flags?.[m[1]!];
    return to ? `--${to}${m[2] ?? ''}` : a;
  });
  const line = ['cookbook', old.name, ...renamed].map(quote).join(' ');
  return { command: old.name, args: renamed, note: redactText(`cookbook: ${command} is now ${old.name}; run it as: ${line}\n`) };
}
