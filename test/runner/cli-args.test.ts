// Unit tests of the argument helpers every cookbook's parse() uses (lib/core/args.ts): repeated single-value
// options, empty list items, and duration ranges.
import { strict as assert } from 'node:assert';
import {
  MAX_DURATION_MS,
  argDuration,
  argFlag,
  argInt,
  argList,
  argString,
  describeDurationRange,
  durationOption,
  formatDuration,
} from '../../lib/core/args.js';
import { UsageError } from '../../lib/core/errors.js';
import { cookbookRoots, discover, loadCookbook } from '../../lib/runner/discovery.js';

const DAY = 86_400_000;

function refused(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof UsageError, `expected a UsageError, got ${String(err)}`);
    assert.equal(err.exitCode, 2);
    assert.match(err.message, message);
    assert.ok(err.hint, 'has a hint');
    return true;
  });
}

describe('argument helpers', () => {
  describe('single-value options', () => {
    it('argString refuses an option given twice, naming it and both values', () => {
      refused(() => argString({ role: ['worker', 'control'] }, 'role'), /^--role: given 2 times \("worker", "control"\); it takes one value$/);
    });

    it('argString accepts one value and refuses an empty or blank one', () => {
      assert.equal(argString({ role: 'worker' }, 'role'), 'worker');
      assert.equal(argString({ role: ['worker'] }, 'role'), 'worker');
      refused(() => argString({ role: '' }, 'role'), /--role: must not be empty/);
      refused(() => argString({ role: '  ' }, 'role'), /--role: must not be empty/);
    });

    it('argInt refuses a repeated number', () => {
      refused(() => argInt({ steps: [1, 2] }, 'steps'), /--steps: given 2 times/);
      assert.equal(argInt({ steps: 4 }, 'steps'), 4);
    });

    it('argFlag accepts a repeated flag but refuses on and off together', () => {
      assert.equal(argFlag({ force: [true, true] }, 'force'), true);
      assert.equal(argFlag({ force: false }, 'force'), false);
      assert.equal(argFlag({}, 'force'), false);
      refused(() => argFlag({ force: [true, false] }, 'force'), /--force: given both on and off/);
    });
  });

  describe('lists', () => {
    it('splits repeated and comma-separated values', () => {
      assert.deepEqual(argList({ hostname: ['a,b', 'c'] }, 'hostname'), ['a', 'b', 'c']);
      assert.deepEqual(argList({}, 'hostname'), []);
    });

    for (const value of ['', ' ', ['a', ''], 'a,,b', 'a,']) {
      it(`refuses the empty item in ${JSON.stringify(value)}`, () => {
        refused(() => argList({ 'block-on-alert': value }, 'block-on-alert'), /^--block-on-alert: empty value in /);
      });
    }

    it('split: false keeps commas inside one item (alert matchers)', () => {
      assert.deepEqual(argList({ m: ['a=1,b=2'] }, 'm', { split: false }), ['a=1,b=2']);
      refused(() => argList({ m: [''] }, 'm', { split: false }), /--m: empty value/);
    });
  });

  describe('durations', () => {
    it('the old form (a default) still works and caps absurd values', () => {
      assert.equal(argDuration({}, 'timeout', 5000), 5000);
      assert.equal(argDuration({ timeout: '90s' }, 'timeout', 5000), 90_000);
      assert.equal(argDuration({ timeout: '0' }, 'timeout', 5000), 0);
      refused(() => argDuration({ timeout: '400d' }, 'timeout', 5000), /^--timeout: 400d is out of range \(valid: 0 to 365d\)$/);
    });

    it('refuses values outside the range, naming the option and the range', () => {
      const spec = { default: 600_000, min: 1000, max: 7 * DAY };
      assert.equal(argDuration({ 'drain-timeout': '10m' }, 'drain-timeout', spec), 600_000);
      assert.equal(argDuration({ 'drain-timeout': '7d' }, 'drain-timeout', spec), 7 * DAY);
      refused(() => argDuration({ 'drain-timeout': '8d' }, 'drain-timeout', spec), /--drain-timeout: 8d is out of range \(valid: 1s to 7d\)/);
      refused(() => argDuration({ 'drain-timeout': '0' }, 'drain-timeout', spec), /--drain-timeout: 0 is out of range \(valid: 1s to 7d\)/);
      refused(() => argDuration({ 'drain-timeout': '500ms' }, 'drain-timeout', spec), /out of range/);
    });

    it('0 means "no limit" only where the spec says so', () => {
      const spec = { default: 900_000, min: 1000, zeroMeansNoLimit: true };
      assert.equal(argDuration({ timeout: '0' }, 'timeout', spec), 0);
      assert.equal(argDuration({ timeout: '0s' }, 'timeout', spec), 0);
      refused(() => argDuration({ timeout: '10ms' }, 'timeout', spec), /valid: 1s to 365d; 0: no limit/);
    });

    it('a negative duration gets a message naming the option', () => {
      refused(() => argDuration({ 'drain-timeout': '-5m' }, 'drain-timeout', 600_000), /^--drain-timeout: must not be negative, got "-5m"/);
    });

    it('a max above the global cap is capped', () => {
      refused(() => argDuration({ t: '366d' }, 't', { max: 1000 * DAY }), /valid: 0 to 365d/);
      assert.equal(MAX_DURATION_MS, 365 * DAY);
    });

    it('a malformed duration names the option', () => {
      refused(() => argDuration({ t: 'soon' }, 't', 1000), /^--t: not a duration: "soon"/);
    });

    it('formats durations and ranges for --help', () => {
      assert.equal(formatDuration(90_000), '1m30s');
      assert.equal(formatDuration(7 * DAY), '7d');
      assert.equal(formatDuration(1500), '1s500ms');
      assert.equal(describeDurationRange({ min: 1000, max: DAY, zeroMeansNoLimit: true }), '1s to 1d; 0: no limit');
      const opt = durationOption('Deadline of each drain', { default: 600_000, min: 1000, max: 7 * DAY });
      assert.equal(opt.describe, 'Deadline of each drain [1s to 7d]');
      assert.equal(opt.default, '10m');
      assert.equal(opt.type, 'string');
    });
  });

  it('every duration option of the built-in cookbooks states its valid range in --help', async () => {
    const builtin = discover(cookbookRoots({})).filter((e) => e.origin === 'builtin');
    assert.ok(builtin.length > 5, 'cookbooks found');
    let checked = 0;
    for (const entry of builtin) {
      const { definition, error } = await loadCookbook(entry);
      assert.ok(definition, `${entry.name}: ${String(error)}`);
      for (const [key, opt] of Object.entries(definition.options)) {
        // Durations are strings (90s, 5m); number options such as --skip-wait-for-delete-timeout count seconds.
        if (!/timeout|interval|duration|max-age/.test(key) || opt.type !== 'string') continue;
        checked++;
        assert.match(String(opt.describe), /\[\S+ to \S+(; 0: no limit)?\]$/, `${entry.name} --${key}: ${String(opt.describe)}`);
      }
    }
    assert.ok(checked >= 10, `duration options checked: ${checked}`);
  });
});
