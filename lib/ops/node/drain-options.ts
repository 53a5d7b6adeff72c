// The drain options, declared once: every cookbook that drains (k8s.drain, k8s.remove-node, k8s.replace-node,
// k8s.reboot) builds its yargs entries AND its parser from the same group, so a default is written in one place
// and --help always shows the value the parser uses. Light on purpose (args only, types from the k8s layer):
// `cookbook list` loads every cookbook.
import type { Options } from 'yargs';
import { type DurationSpec, argDuration, argFlag, argInt, durationOption } from '../../core/args.js';
import type { RawArgs } from '../../core/cookbook.js';
import type { DrainOptions } from '../../k8s/index.js';

/** The drain settings a cookbook hands to drainStep (kubectl drain's knobs). */
export type DrainSettings = Pick<
  DrainOptions,
  'timeoutMs' | 'gracePeriodSeconds' | 'deleteEmptyDirData' | 'forceUnmanaged' | 'disableEviction' | 'ignoreDaemonSets' | 'skipWaitForDeleteTimeoutSeconds' | 'retryMinMs'
>;

const SETTINGS: readonly (keyof DrainSettings)[] = ['timeoutMs', 'gracePeriodSeconds', 'deleteEmptyDirData', 'forceUnmanaged', 'disableEviction', 'ignoreDaemonSets', 'skipWaitForDeleteTimeoutSeconds', 'retryMinMs'];

/** The drain settings out of a cookbook's arguments (which hold them flat, beside its own). */
export function drainSettingsOf(args: DrainSettings): DrainSettings {
  return Object.fromEntries(SETTINGS.map((k) => [k, args[k]])) as unknown as DrainSettings;
}

/** Option names of the group, as the command line spells them (the timeout's name is the cookbook's choice). */
export type DrainOptionName = 'grace-period' | 'delete-emptydir-data' | 'force-unmanaged' | 'disable-eviction' | 'ignore-daemonsets' | 'skip-wait-for-delete-timeout' | 'retry-interval';

/** Defaults of every drain setting, declared once (kubectl's, except a drain that ends by itself). */
export const DRAIN_DEFAULTS: Readonly<Omit<DrainSettings, 'gracePeriodSeconds'>> = Object.freeze({
  timeoutMs: 10 * 60_000,
  deleteEmptyDirData: false,
  forceUnmanaged: false,
  disableEviction: false,
  ignoreDaemonSets: true,
  skipWaitForDeleteTimeoutSeconds: 0,
  retryMinMs: 5000,
});

/** Valid range of the drain's deadline: 0 waits without limit, as kubectl does by default. */
export const DRAIN_TIMEOUT: DurationSpec = Object.freeze({ default: DRAIN_DEFAULTS.timeoutMs, min: 1000, zeroMeansNoLimit: true });
/** Valid range of the least time between two eviction attempts of a pod a PDB refused. */
export const RETRY_INTERVAL: DurationSpec = Object.freeze({ default: DRAIN_DEFAULTS.retryMinMs, min: 100, max: 10 * 60_000 });

/** How a cookbook offers the drain group. */
export interface DrainGroupSpec {
  /** The timeout option's name (k8s.drain: `timeout`, node cookbooks: `drain-timeout`). */
  timeoutOption: 'timeout' | 'drain-timeout';
  /** Its range and default (default: DRAIN_TIMEOUT). */
  timeout?: DurationSpec;
  /** Its --help text (the valid range is appended). */
  timeoutDescribe: string;
  /** The options the cookbook offers besides the timeout; the others take `fixed` or DRAIN_DEFAULTS. */
  offer: readonly DrainOptionName[];
  /** Values of settings the cookbook does not offer, or defaults of offered ones that differ from DRAIN_DEFAULTS. */
  fixed?: Partial<DrainSettings>;
}

/** The yargs entries and the parser of one cookbook's drain options, built from one declaration. */
export interface DrainGroup {
  options: Record<string, Options>;
  parse(raw: RawArgs): DrainSettings;
}

/** Builds a cookbook's drain option group (see DrainGroupSpec): --help and the parser share every default. */
export function drainOptionGroup(spec: DrainGroupSpec): DrainGroup {
  const timeout = spec.timeout ?? DRAIN_TIMEOUT;
  const base = { ...DRAIN_DEFAULTS, ...spec.fixed };
  const offered = new Set(spec.offer);
  const table: Record<DrainOptionName, Options> = {
    'grace-period': { type: 'number', default: base.gracePeriodSeconds ?? -1, describe: "Seconds each pod gets to terminate; -1 uses the pod's own" },
    'delete-emptydir-data': {
      type: 'boolean',
      default: base.deleteEmptyDirData,
      describe: base.deleteEmptyDirData
        ? 'Evict pods with emptyDir volumes, deleting their emptyDir data (default); --no-delete-emptydir-data refuses them'
        : 'Evict pods with emptyDir volumes (their data is lost)',
    },
    'force-unmanaged': { type: 'boolean', default: base.forceUnmanaged, describe: 'Evict pods that no controller will recreate' },
    'disable-eviction': { type: 'boolean', default: base.disableEviction, describe: 'Delete pods instead of evicting them (bypasses PodDisruptionBudgets)' },
    'ignore-daemonsets': { type: 'boolean', default: base.ignoreDaemonSets, describe: 'Leave DaemonSet pods alone (--no-ignore-daemonsets refuses nodes that have them)' },
    'skip-wait-for-delete-timeout': { type: 'number', default: base.skipWaitForDeleteTimeoutSeconds, describe: 'Skip pods terminating for longer than this many seconds (0: off)' },
    'retry-interval': durationOption('Least time between two eviction attempts of a pod a PDB refused', { ...RETRY_INTERVAL, default: base.retryMinMs }),
  };
  const options: Record<string, Options> = { [spec.timeoutOption]: durationOption(spec.timeoutDescribe, timeout) };
  for (const name of spec.offer) options[name] = table[name];
  // A boolean the cookbook offers: yargs gives its default; a raw object without it (tests, `schedule`) too.
  const flag = (raw: RawArgs, name: DrainOptionName, def: boolean): boolean => (!offered.has(name) ? def : raw[name] === undefined ? def : argFlag(raw, name));
  return {
    options,
    parse(raw) {
      const grace = offered.has('grace-period') ? argInt(raw, 'grace-period', { min: -1, default: base.gracePeriodSeconds ?? -1 }) : base.gracePeriodSeconds;
      return {
        timeoutMs: argDuration(raw, spec.timeoutOption, timeout)!,
        gracePeriodSeconds: grace === undefined || grace < 0 ? undefined : grace,
        deleteEmptyDirData: flag(raw, 'delete-emptydir-data', base.deleteEmptyDirData),
        forceUnmanaged: flag(raw, 'force-unmanaged', base.forceUnmanaged),
        disableEviction: flag(raw, 'disable-eviction', base.disableEviction),
        ignoreDaemonSets: flag(raw, 'ignore-daemonsets', base.ignoreDaemonSets),
        skipWaitForDeleteTimeoutSeconds: offered.has('skip-wait-for-delete-timeout')
          ? argInt(raw, 'skip-wait-for-delete-timeout', { min: 0, default: base.skipWaitForDeleteTimeoutSeconds })!
          : base.skipWaitForDeleteTimeoutSeconds,
        retryMinMs: offered.has('retry-interval') ? argDuration(raw, 'retry-interval', { ...RETRY_INTERVAL, default: base.retryMinMs })! : base.retryMinMs,
      };
    },
  };
}
