// lib/core/args.ts as one table: a raw yargs value in, a typed value or a UsageError (exit 2, naming the
// option, with a hint) out. One `it` per row.
import { strict as assert } from 'node:assert';
import { argChoice, argDuration, argFlag, argHostname, argInt, argList, argString, argVmOverrides, describeDurationRange, formatDuration } from '../../lib/core/args.js';
import type { RawArgs } from '../../lib/core/cookbook.js';
import { UsageError } from '../../lib/core/errors.js';

interface Row {
  title: string;
  call: (raw: RawArgs) => unknown;
  raw: RawArgs;
  want?: unknown;
  /** The UsageError's message must match this. */
  error?: RegExp;
}

const rows: Row[] = [
  { title: 'argString: a value', call: (r) => argString(r, 'x'), raw: { x: 'a' }, want: 'a' },
  { title: 'argString: a number becomes text', call: (r) => argString(r, 'x'), raw: { x: 7 }, want: '7' },
  { title: 'argString: absent and optional is undefined', call: (r) => argString(r, 'x'), raw: {}, want: undefined },
  { title: 'argString: absent and required is refused', call: (r) => argString(r, 'x', { required: true }), raw: {}, error: /^--x: is required/ },
  { title: 'argString: blank is refused', call: (r) => argString(r, 'x'), raw: { x: '  ' }, error: /^--x: must not be empty/ },
  { title: 'argString: given twice is refused', call: (r) => argString(r, 'role'), raw: { role: ['worker', 'control'] }, error: /^--role: given 2 times/ },
  { title: 'argString: given once in an array is that value', call: (r) => argString(r, 'x'), raw: { x: ['a'] }, want: 'a' },
  { title: 'argList: comma-separated and repeated items', call: (r) => argList(r, 'h'), raw: { h: ['a,b', 'c'] }, want: ['a', 'b', 'c'] },
  { title: 'argList: split: false keeps commas', call: (r) => argList(r, 'm', { split: false }), raw: { m: ['a=1,b=2'] }, want: ['a=1,b=2'] },
  { title: 'argList: an empty item is refused, not dropped', call: (r) => argList(r, 'm', { split: false }), raw: { m: [''] }, error: /^--m: empty value/ },
  { title: 'argFlag: absent is false', call: (r) => argFlag(r, 'f'), raw: {}, want: false },
  { title: "argFlag: 'true' is true", call: (r) => argFlag(r, 'f'), raw: { f: 'true' }, want: true },
  { title: 'argFlag: on and off at once is refused', call: (r) => argFlag(r, 'f'), raw: { f: [true, false] }, error: /^--f: given both on and off/ },
  { title: 'argInt: the default when absent', call: (r) => argInt(r, 'n', { default: 3 }), raw: {}, want: 3 },
  { title: 'argInt: text of a whole number', call: (r) => argInt(r, 'n'), raw: { n: '12' }, want: 12 },
  { title: 'argInt: a fraction is refused', call: (r) => argInt(r, 'n'), raw: { n: 1.5 }, error: /^--n: expected a whole number/ },
  { title: 'argInt: below the minimum is refused', call: (r) => argInt(r, 'n', { min: 0 }), raw: { n: -1 }, error: /^--n: must be at least 0/ },
  { title: 'argChoice: a listed value', call: (r) => argChoice(r, 'c', ['a', 'b']), raw: { c: 'b' }, want: 'b' },
  { title: 'argChoice: an unlisted value names the choices', call: (r) => argChoice(r, 'c', ['a', 'b']), raw: { c: 'z' }, error: /^--c: must be one of a, b, got "z"/ },
  { title: 'argHostname: a DNS label', call: (r) => argHostname(r, 'hostname'), raw: { hostname: 'tools-k8s-worker-1' }, want: 'tools-k8s-worker-1' },
  { title: 'argHostname: shell metacharacters are refused', call: (r) => argHostname(r, 'hostname'), raw: { hostname: 'a;rm -rf' }, error: /^--hostname: invalid hostname/ },
  { title: 'argDuration: units', call: (r) => argDuration(r, 't'), raw: { t: '1h30m' }, want: 5_400_000 },
  { title: 'argDuration: a bare number is seconds', call: (r) => argDuration(r, 't'), raw: { t: '90' }, want: 90_000 },
  { title: 'argDuration: the default when absent', call: (r) => argDuration(r, 't', { default: 5000 }), raw: {}, want: 5000 },
  { title: 'argDuration: 0 means no limit where declared', call: (r) => argDuration(r, 't', { min: 1000, zeroMeansNoLimit: true }), raw: { t: '0' }, want: 0 },
  { title: 'argDuration: below the range is refused with the range', call: (r) => argDuration(r, 't', { min: 1000 }), raw: { t: '500ms' }, error: /^--t: 500ms is out of range \(valid: 1s to 365d\)/ },
  { title: 'argDuration: negative is refused', call: (r) => argDuration(r, 't'), raw: { t: '-5m' }, error: /^--t: must not be negative/ },
  { title: 'argVmOverrides: only what was given', call: (r) => argVmOverrides(r), raw: { image: 'debian-13' }, want: { flavor: undefined, image: 'debian-13', network: undefined } },
  { title: 'formatDuration: the shortest exact form', call: () => [formatDuration(90_000), formatDuration(604_800_000), formatDuration(1500), formatDuration(0)], raw: {}, want: ['1m30s', '7d', '1s500ms', '0'] },
  { title: 'describeDurationRange: with "no limit"', call: () => describeDurationRange({ min: 1000, max: 86_400_000, zeroMeansNoLimit: true }), raw: {}, want: '1s to 1d; 0: no limit' },
];

describe('argument helpers (lib/core/args.ts)', () => {
  for (const row of rows) {
    it(row.title, () => {
      if (!row.error) return assert.deepEqual(row.call(row.raw), row.want);
      assert.throws(
        () => row.call(row.raw),
        (err: unknown) => err instanceof UsageError && err.exitCode === 2 && row.error!.test(err.message) && typeof err.hint === 'string' && err.hint.length > 0,
      );
    });
  }
});
