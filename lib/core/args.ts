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

function bad(option: string, message: string): UsageError {
  return new UsageError(`--${option}: ${message}`, { context: { option } });
}

/** A single string option (the last one wins when repeated). */
export function argString(raw: RawArgs, option: string, opts: { required: true }): string;
export function argString(raw: RawArgs, option: string, opts?: { required?: boolean }): string | undefined;
export function argString(raw: RawArgs, option: string, opts: { required?: boolean } = {}): string | undefined {
  let value = raw[option];
  if (Array.isArray(value)) value = value.at(-1);
  if (value === undefined || value === null) {
    if (opts.required) throw bad(option, 'is required');
    return undefined;
  }
  if (typeof value !== 'string' && typeof value !== 'number') throw bad(option, `expected text, got ${typeof value}`);
  const s = String(value);
  if (s.length === 0) throw bad(option, 'must not be empty');
  return s;
}

/** A list option (repeatable and/or comma-separated). */
export function argList(raw: RawArgs, option: string): string[] {
  const value = raw[option];
  if (value === undefined || value === null) return [];
  const items = (Array.isArray(value) ? value : [value]).flatMap((v) => String(v).split(','));
  return items.map((s) => s.trim()).filter((s) => s.length > 0);
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

/** A duration option (90, 90s, 5m, 1h30m) in milliseconds. */
export function argDuration(raw: RawArgs, option: string, defaultMs?: number): number | undefined {
  const value = argString(raw, option);
  if (value === undefined) return defaultMs;
  try {
    return parseDuration(value);
  } catch (err) {
    throw bad(option, (err as Error).message);
  }
}

/** An integer option within bounds. */
export function argInt(raw: RawArgs, option: string, opts: { min?: number; max?: number; default?: number } = {}): number | undefined {
  const value = raw[option];
  if (value === undefined || value === null) return opts.default;
  const n = typeof value === 'number' ? value : Number(String(value));
  if (!Number.isInteger(n)) throw bad(option, `expected a whole number, got ${JSON.stringify(value)}`);
  if (opts.min !== undefined && n < opts.min) throw bad(option, `must be at least ${opts.min}`);
  if (opts.max !== undefined && n > opts.max) throw bad(option, `must be at most ${opts.max}`);
  return n;
}

/** A boolean flag. */
export function argFlag(raw: RawArgs, option: string): boolean {
  return raw[option] === true || raw[option] === 'true';
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
