// Argument validation helpers for cookbooks' parse(): each turns one raw yargs value into a typed one or
// throws a UsageError naming the option, so every cookbook reports bad input the same way (exit 2).
import type { Options } from 'yargs';
import { UsageError } from './errors.js';
import { validateHostname } from '../inventory/naming.js';
import type { RawArgs } from './cookbook.js';
import { parseDuration } from './retry.js';

/** The --cluster-name option every cluster cookbook takes. */
export const clusterNameOption: Options = Object.freeze({
  type: 'string',
  describe: 'Cluster to act on (a cluster name from the inventory)',
  demandOption: true,
  requiresArg: true,
});

/** A --hostname option (single host). */
export function hostnameOption(describe: string, required = true): Options {
  return { type: 'string', describe, demandOption: required, requiresArg: true };
}

function bad(option: string, message: string, hint = `correct --${option} (the cookbook's --help lists valid values)`): UsageError {
  return new UsageError(`--${option}: ${message}`, { context: { option }, hint });
}

/** A single value option: refused when given more than once (the last one silently winning once turned
 * `--role worker --role control` into a control node). */
function single(raw: RawArgs, option: string): unknown {
  const value = raw[option];
  if (!Array.isArray(value)) return value;
  if (value.length === 1) return value[0];
  throw new UsageError(`--${option}: given ${value.length} times (${value.map((v) => JSON.stringify(v)).join(', ')}); it takes one value`, {
    context: { option, values: value },
    hint: `give --${option} once`,
  });
}

/** A single string option; refused when repeated or empty. */
export function argString(raw: RawArgs, option: string, opts: { required: true }): string;
export function argString(raw: RawArgs, option: string, opts?: { required?: boolean }): string | undefined;
export function argString(raw: RawArgs, option: string, opts: { required?: boolean } = {}): string | undefined {
  const value = single(raw, option);
  if (value === undefined || value === null) {
    if (opts.required) throw bad(option, 'is required');
    return undefined;
  }
  if (typeof value !== 'string' && typeof value !== 'number') throw bad(option, `expected text, got ${typeof value}`);
  const s = String(value);
  if (s.trim().length === 0) throw bad(option, 'must not be empty');
  return s;
}

/**
 * A list option (repeatable and, unless `split: false`, comma-separated). An empty item is refused, not
 * dropped: an unset variable in a timer unit (`--block-on-alert ''`) must not silently mean "no filter".
 */
export function argList(raw: RawArgs, option: string, opts: { split?: boolean } = {}): string[] {
  const value = raw[option];
  if (value === undefined || value === null) return [];
  const given = (Array.isArray(value) ? value : [value]).map(String);
  const items = opts.split === false ? given : given.flatMap((v) => v.split(','));
  if (items.some((s) => s.trim().length === 0)) {
    const shown = given.map((v) => JSON.stringify(v)).join(', ');
    throw bad(option, `empty value in ${shown}: every item must name something`);
  }
  return items.map((s) => s.trim());
}

/** A hostname option, validated as a DNS label. */
export function argHostname(raw: RawArgs, option: string, opts: { required: true }): string;
export function argHostname(raw: RawArgs, option: string, opts?: { required?: boolean }): string | undefined;
export function argHostname(raw: RawArgs, option: string, opts: { required?: boolean } = {}): string | undefined {
  const value = argString(raw, option, opts);
  if (value === undefined) return undefined;
  try {
    return validateHostname(value, option);
  } catch (err) {
    throw bad(option, (err as Error).message);
  }
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Longest duration any option accepts: anything longer is a typo (timers chunk waits past ~24.8 days). */
export const MAX_DURATION_MS = 365 * DAY;

/** The valid values of a duration option, and its default. */
export interface DurationSpec {
  /** Default in milliseconds when the option is not given. */
  default?: number;
  /** Least accepted value in ms (default 0). */
  min?: number;
  /** Greatest accepted value in ms (default and cap: MAX_DURATION_MS). */
  max?: number;
  /** 0 is accepted and means "no limit", even when `min` is above 0. */
  zeroMeansNoLimit?: boolean;
}

/** A duration in the shortest exact form: 90000 -> "1m30s", 604800000 -> "7d". */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0';
  let rest = ms;
  let out = '';
  for (const [unit, size] of [['d', DAY], ['h', HOUR], ['m', MINUTE], ['s', SECOND], ['ms', 1]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out;
}

/** The valid range of a duration spec as --help and errors state it: "1s to 7d; 0: no limit". */
export function describeDurationRange(spec: DurationSpec): string {
  const min = spec.min ?? 0;
  const max = Math.min(spec.max ?? MAX_DURATION_MS, MAX_DURATION_MS);
  return `${formatDuration(min)} to ${formatDuration(max)}${spec.zeroMeansNoLimit && min > 0 ? '; 0: no limit' : spec.zeroMeansNoLimit ? ' (0: no limit)' : ''}`;
}

/** A yargs option for a duration: its describe ends with the valid range, its default shown as a duration. */
export function durationOption(describe: string, spec: DurationSpec = {}): Options {
  return {
    type: 'string',
    requiresArg: true,
    describe: `${describe} [${describeDurationRange(spec)}]`,
    ...(spec.default !== undefined ? { default: formatDuration(spec.default) } : {}),
  };
}

/**
 * A duration option (90, 90s, 5m, 1h30m) in milliseconds, refused outside the spec's range (exit 2).
 * A number as third argument is the old form: the default, with the range 0 to MAX_DURATION_MS.
 */
export function argDuration(raw: RawArgs, option: string, spec?: number | DurationSpec): number | undefined {
  const s: DurationSpec = typeof spec === 'number' ? { default: spec } : (spec ?? {});
  const value = argString(raw, option);
  if (value === undefined) return s.default;
  if (/^\s*-/.test(value)) throw bad(option, `must not be negative, got "${value}" (valid: ${describeDurationRange(s)})`);
  let ms: number;
  try {
    ms = parseDuration(value);
  } catch (err) {
    throw bad(option, (err as Error).message);
  }
  if (ms === 0 && s.zeroMeansNoLimit) return 0;
  const min = s.min ?? 0;
  const max = Math.min(s.max ?? MAX_DURATION_MS, MAX_DURATION_MS);
  if (ms < min || ms > max || !Number.isFinite(ms)) {
    throw new UsageError(`--${option}: ${value} is out of range (valid: ${describeDurationRange(s)})`, {
      context: { option, value, minMs: min, maxMs: max },
      hint: `give --${option} a duration from ${formatDuration(min)} to ${formatDuration(max)}`,
    });
  }
  return ms;
}

/** An integer option within bounds. */
export function argInt(raw: RawArgs, option: string, opts: { min?: number; max?: number; default?: number } = {}): number | undefined {
  const value = single(raw, option);
  if (value === undefined || value === null) return opts.default;
  const n = typeof value === 'number' ? value : Number(String(value));
  if (!Number.isInteger(n)) throw bad(option, `expected a whole number, got ${JSON.stringify(value)}`);
  if (opts.min !== undefined && n < opts.min) throw bad(option, `must be at least ${opts.min}`);
  if (opts.max !== undefined && n > opts.max) throw bad(option, `must be at most ${opts.max}`);
  return n;
}

/** A boolean flag (given twice with the same value is fine; `--x --no-x` is refused). */
export function argFlag(raw: RawArgs, option: string): boolean {
  const value = raw[option];
  const values = Array.isArray(value) ? value : [value];
  const on = values.map((v) => v === true || v === 'true');
  if (new Set(on).size > 1) throw bad(option, 'given both on and off');
  return on[0] ?? false;
}

/** One of a fixed set of values. */
export function argChoice<T extends string>(raw: RawArgs, option: string, choices: readonly T[], def?: T): T | undefined {
  const value = argString(raw, option);
  if (value === undefined) return def;
  if (!choices.includes(value as T)) throw bad(option, `must be one of ${choices.join(', ')}, got "${value}"`);
  return value as T;
}

/** Freezes a parsed arguments object. */
export function frozen<A extends object>(args: A): Readonly<A> {
  return Object.freeze(args);
}

/** --flavor/--image/--network: overrides of a role's VM settings (vm.create, k8s.add-node, k8s.replace-node). */
export const vmOverrideOptions: Record<'flavor' | 'image' | 'network', Options> = Object.freeze({
  flavor: { type: 'string', requiresArg: true, describe: "Flavor (default: the role's)" },
  image: { type: 'string', requiresArg: true, describe: "Image (default: the role's)" },
  network: { type: 'string', requiresArg: true, describe: "Network (default: the role's)" },
});

/** The VM overrides given on the command line. */
export function argVmOverrides(raw: RawArgs): { flavor?: string; image?: string; network?: string } {
  return { flavor: argString(raw, 'flavor'), image: argString(raw, 'image'), network: argString(raw, 'network') };
}

/** The arguments of a cookbook that creates a host of a role (vm.create, k8s.add-node). */
export interface NewHostArgs {
  clusterName: string;
  role: string;
  hostname?: string;
  flavor?: string;
  image?: string;
  network?: string;
}

/** --cluster-name, --role, an optional --hostname and the VM overrides, for a cookbook that creates a host. */
export function newHostOptions(roleDescribe: string, hostnameDescribe: string): Record<string, Options> {
  return {
    'cluster-name': clusterNameOption,
    role: { type: 'string', demandOption: true, requiresArg: true, describe: roleDescribe },
    hostname: { type: 'string', requiresArg: true, describe: hostnameDescribe },
    ...vmOverrideOptions,
  };
}

/** Parses newHostOptions' arguments. */
export function argNewHost(raw: RawArgs): Readonly<NewHostArgs> {
  return frozen({
    clusterName: argString(raw, 'cluster-name', { required: true }),
    role: argString(raw, 'role', { required: true }),
    hostname: argHostname(raw, 'hostname'),
    ...argVmOverrides(raw),
  });
}
