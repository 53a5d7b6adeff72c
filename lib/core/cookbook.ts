// The cookbook definition: what a file under cookbooks/ exports as its default. Kept free of heavy imports
// (type-only imports below) so that `cookbook list` and `--help` stay fast.
import type { Options } from 'yargs';
import type { Context } from './context.js';
import type { ClusterConfig } from '../inventory/schema.js';

/** Raw arguments as yargs parsed them (kebab-case and camelCase keys). */
export type RawArgs = Record<string, unknown>;

/** Which lock a run takes: the cluster's (default), none, or a named scope. */
export type LockScope = 'cluster' | 'none' | { scope: string };

/** A cookbook. `A` is the typed, frozen arguments object produced by `parse`. */
export interface CookbookDefinition<A extends object = Record<string, unknown>> {
  /** One line for `cookbook list`. */
  summary: string;
  /** Longer text for --help. */
  description?: string;
  /** Cookbook-specific options (yargs option definitions: type, describe, default, choices, demandOption). */
  options: Record<string, Options>;
  /** Example invocations for --help: [command line, what it does]. At least one. */
  examples: [string, string][];
  /** Validates raw arguments into the typed, frozen object the cookbook runs with; throws UsageError/InputError. */
  parse(raw: RawArgs): A;
  /**
   * Checks the arguments against the cluster's inventory entry (role exists, host belongs to it) before the lock
   * is taken, so bad input is refused without touching the cluster at all. Throw InputError.
   */
  validate?(cluster: ClusterConfig, args: A): void;
  /** The cluster this run acts on (default: the `clusterName` argument). */
  cluster?(args: A): string | undefined;
  /** Lock scope (default 'cluster'). */
  lock?: LockScope;
  /** Does the work; its return value (JSON-able) appears as `result` in the --json output. */
  run(ctx: Context, args: A): Promise<unknown>;
  /** Undoes what a failed run did, where the cookbook knows how. */
  rollback?(ctx: Context, args: A, error: unknown): Promise<void>;
}

/** Declares a cookbook (freezes the definition). */
export function defineCookbook<A extends object>(definition: CookbookDefinition<A>): CookbookDefinition<A> {
  return Object.freeze(definition);
}
