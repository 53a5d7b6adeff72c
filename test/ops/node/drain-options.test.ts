// The drain option group (lib/ops/node/drain-options.ts): --help and the parser share every default, a
// cookbook offers only some options and fixes the rest. One `it` per row.
import { strict as assert } from 'node:assert';
import type { RawArgs } from '../../../lib/core/cookbook.js';
import { UsageError } from '../../../lib/core/errors.js';
import { DRAIN_DEFAULTS, DRAIN_TIMEOUT, type DrainGroupSpec, type DrainSettings, drainOptionGroup } from '../../../lib/ops/node/drain-options.js';

const drainCookbook: DrainGroupSpec = {
  timeoutOption: 'timeout',
  timeout: { ...DRAIN_TIMEOUT, default: 15 * 60_000 },
  timeoutDescribe: 'Give up after this long',
  offer: ['grace-period', 'delete-emptydir-data', 'force-unmanaged', 'disable-eviction', 'ignore-daemonsets', 'skip-wait-for-delete-timeout', 'retry-interval'],
};
const removeCookbook: DrainGroupSpec = { timeoutOption: 'drain-timeout', timeoutDescribe: 'Deadline for the drain', offer: ['force-unmanaged', 'retry-interval'], fixed: { deleteEmptyDirData: true } };

/** What yargs hands parse(): the group's own defaults filled in, then the command line. */
function yargsLike(spec: DrainGroupSpec, given: RawArgs): RawArgs {
  const defaults = Object.fromEntries(Object.entries(drainOptionGroup(spec).options).map(([k, o]) => [k, o.default]));
  return { ...defaults, ...given };
}

interface Row {
  title: string;
  spec: DrainGroupSpec;
  given: RawArgs;
  /** Expected settings (merged over the defaults), or the UsageError's message. */
  want: Partial<DrainSettings> | RegExp;
}

const rows: Row[] = [
  { title: 'k8s.drain with nothing given: kubectl defaults and its own 15m deadline', spec: drainCookbook, given: {}, want: { timeoutMs: 15 * 60_000 } },
  { title: 'k8s.drain: every knob given', spec: drainCookbook, given: { timeout: '0', 'grace-period': 30, 'delete-emptydir-data': true, 'force-unmanaged': true, 'disable-eviction': true, 'ignore-daemonsets': false, 'skip-wait-for-delete-timeout': 20, 'retry-interval': '200ms' }, want: { timeoutMs: 0, gracePeriodSeconds: 30, deleteEmptyDirData: true, forceUnmanaged: true, disableEviction: true, ignoreDaemonSets: false, skipWaitForDeleteTimeoutSeconds: 20, retryMinMs: 200 } },
  { title: "k8s.drain: grace period -1 keeps each pod's own", spec: drainCookbook, given: { 'grace-period': -1 }, want: { timeoutMs: 15 * 60_000, gracePeriodSeconds: undefined } },
  { title: 'remove-node: the group default deadline and the fixed emptyDir eviction', spec: removeCookbook, given: {}, want: { deleteEmptyDirData: true } },
  { title: 'remove-node: an option it does not offer is ignored (fixed value kept)', spec: removeCookbook, given: { 'disable-eviction': true }, want: { deleteEmptyDirData: true } },
  { title: 'a retry interval below 100ms is refused', spec: removeCookbook, given: { 'retry-interval': '10ms' }, want: /^--retry-interval: 10ms is out of range/ },
  { title: 'a negative deadline is refused under its own name', spec: removeCookbook, given: { 'drain-timeout': '-5m' }, want: /^--drain-timeout: must not be negative/ },
];

describe('drain option group', () => {
  for (const row of rows) {
    it(row.title, () => {
      const parse = (): DrainSettings => drainOptionGroup(row.spec).parse(yargsLike(row.spec, row.given));
      if (row.want instanceof RegExp) {
        const re = row.want;
        return assert.throws(parse, (err: unknown) => err instanceof UsageError && re.test(err.message));
      }
      assert.deepEqual(parse(), { ...DRAIN_DEFAULTS, gracePeriodSeconds: undefined, ...row.want });
    });
  }

  it('--help shows the default the parser uses, for every offered option', () => {
    for (const spec of [drainCookbook, removeCookbook]) {
      const group = drainOptionGroup(spec);
      assert.deepEqual(Object.keys(group.options).sort(), [spec.timeoutOption, ...spec.offer].sort());
      const parsedWithoutYargs = group.parse({});
      assert.deepEqual(group.parse(yargsLike(spec, {})), parsedWithoutYargs, 'the yargs defaults parse to what the parser assumes');
    }
  });
});
