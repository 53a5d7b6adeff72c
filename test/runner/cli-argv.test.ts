// Command-line checks yargs does not make, and the old cookbook names: one table of argv → result (or the
// usage error, exit 2, naming the option) per function, one `it` per row.
import { strict as assert } from 'node:assert';
import type { Options } from 'yargs';
import { UnknownCookbookError, UsageError } from '../../lib/core/errors.js';
import { OLD_NAMES, checkGivenValues, checkNumbers, hasDottedHost, joinDashValues, translateOldName } from '../../lib/runner/cli-argv.js';

const options: Record<string, Options> = {
  'drain-timeout': { type: 'string', default: '15m' },
  role: { type: 'string', alias: 'r' },
  hostname: { type: 'string', array: true },
  limit: { type: 'number' },
  yes: { type: 'boolean', default: false },
  verbose: { type: 'boolean', count: true },
};

describe('runner cli-argv: joinDashValues', () => {
  const rows: [string, string[], string[]][] = [
    ['a negative duration joins its option', ['--drain-timeout', '-5m'], ['--drain-timeout=-5m']],
    ['a negative fraction too', ['--limit', '-.5'], ['--limit=-.5']],
    ['an alias', ['-r', '-1'], ['-r=-1']],
    ['a flag after a value option is left alone', ['--role', '--yes'], ['--role', '--yes']],
    ['booleans never take a value', ['--yes', '-1'], ['--yes', '-1']],
    ['count options neither', ['--verbose', '-1'], ['--verbose', '-1']],
    ['an unknown option neither', ['--other', '-1'], ['--other', '-1']],
    ['an inline value stays', ['--drain-timeout=-5m', 'x'], ['--drain-timeout=-5m', 'x']],
    ['after -- nothing is touched', ['--', '--limit', '-1'], ['--', '--limit', '-1']],
    ['the last option without a value', ['--limit'], ['--limit']],
  ];
  for (const [title, args, want] of rows) it(`${title}: ${args.join(' ')} → ${want.join(' ')}`, () => assert.deepEqual(joinDashValues(args, options), want));
});

describe('runner cli-argv: checkGivenValues', () => {
  const rows: [string, Record<string, unknown>, RegExp | undefined][] = [
    ['one value each', { role: 'worker', hostname: ['a', 'b'], yes: true }, undefined],
    ['defaults are not checked', { 'drain-timeout': '15m', yes: false }, undefined],
    ['an array option given twice', { hostname: ['a', 'a'] }, undefined],
    ['a single-value option given twice, naming both values', { role: ['worker', 'control'] }, /^--role: given 2 times \("worker", "control"\); it takes one value$/],
    ['a boolean on and off', { yes: [true, false] }, /^--yes: given both on and off$/],
    ['a boolean given twice on', { yes: [true, true] }, undefined],
    ['an empty value', { role: '' }, /^--role: empty value/],
    ['a blank item in an array', { hostname: ['a', ' '] }, /^--hostname: empty value/],
  ];
  for (const [title, argv, want] of rows) {
    it(`${title} → ${want ? 'UsageError' : 'ok'}`, () => {
      if (!want) return assert.doesNotThrow(() => checkGivenValues(argv, options, 'k8s.drain'));
      assert.throws(() => checkGivenValues(argv, options, 'k8s.drain'), (err: unknown) => err instanceof UsageError && err.exitCode === 2 && want.test(err.message) && /cookbook k8s\.drain --help/.test(String(err.hint)));
    });
  }
});

describe('runner cli-argv: checkNumbers', () => {
  const rows: [string, Record<string, unknown>, string[], RegExp | undefined][] = [
    ['a number', { limit: 5 }, ['--limit', '5'], undefined],
    ['not given', {}, [], undefined],
    ['not a number, as given', { limit: Number.NaN }, ['--limit', 'abc'], /^--limit: expected a number, got "abc"$/],
    ['the = form', { limit: Number.NaN }, ['--limit=12x'], /got "12x"/],
    ['the bad one of two', { limit: [3, Number.NaN] }, ['--limit', '3', '--limit', 'z'], /got "z"/],
  ];
  for (const [title, argv, args, want] of rows) {
    it(`${title} → ${want ? 'UsageError' : 'ok'}`, () => {
      if (!want) return assert.doesNotThrow(() => checkNumbers(argv, options, args));
      assert.throws(() => checkNumbers(argv, options, args), (err: unknown) => err instanceof UsageError && want.test(err.message));
    });
  }
});

describe('runner cli-argv: hasDottedHost', () => {
  const rows: [string, Record<string, unknown>, string[], boolean][] = [
    ['a short name', { hostname: 'tb-k8s-worker-1' }, ['hostname'], false],
    ['an FQDN', { hostname: 'tb-k8s-worker-1.tools.eqiad1.wikimedia.cloud' }, ['hostname'], true],
    ['an FQDN in a list', { hostname: ['a', 'b.example.org'] }, ['hostname'], true],
    ['a *-hostname option', { 'control-hostname': 'c.example.org' }, ['control-hostname'], true],
    ['an option that names no host', { 'drain-timeout': '1.5h' }, ['drain-timeout'], false],
    ['a trailing dot only', { hostname: 'a.' }, ['hostname'], false],
  ];
  for (const [title, argv, keys, want] of rows) it(`${title} → ${want}`, () => assert.equal(hasDottedHost(argv, keys), want));
});

describe('runner cli-argv: translateOldName', () => {
  const known = ['k8s.add-node', 'k8s.remove-node', 'k8s.drain', 'k8s.reboot'];
  const rows: [string, string, string[], { command: string; args: string[]; note: RegExp } | undefined | typeof UnknownCookbookError][] = [
    ['a new name is not translated', 'k8s.drain', ['--hostname', 'a'], undefined],
    ['an old name without renamed flags', 'wmcs.toolforge.add_k8s_node', ['--role', 'worker'], { command: 'k8s.add-node', args: ['--role', 'worker'], note: /is now k8s\.add-node; run it as: cookbook k8s\.add-node --role worker\n$/ }],
    ['a renamed flag', 'wmcs.toolforge.k8s.worker.drain', ['--hostname-to-drain', 'w1'], { command: 'k8s.drain', args: ['--hostname', 'w1'], note: /cookbook k8s\.drain --hostname w1/ }],
    ['a renamed flag with =', 'wmcs.toolforge.remove_k8s_node', ['--hostname-to-remove=w2', '--yes'], { command: 'k8s.remove-node', args: ['--hostname=w2', '--yes'], note: /--hostname=w2 --yes/ }],
    ['a value needing quotes in the note', 'wmcs.toolforge.k8s.reboot', ['--reason', "it's time"], { command: 'k8s.reboot', args: ['--reason', "it's time"], note: /--reason 'it'\\''s time'/ }],
    ['an old name whose cookbook is not here yet', 'wmcs.toolforge.k8s.kubeadm_certs_renew', [], UnknownCookbookError],
  ];
  for (const [title, command, args, want] of rows) {
    it(title, () => {
      if (typeof want === 'function') {
        return assert.throws(() => translateOldName(command, args, known), (err: unknown) => err instanceof UnknownCookbookError && err.exitCode === 5 && /is now k8s\.certs\.renew, which is not available yet/.test(err.message));
      }
      const got = translateOldName(command, args, known);
      if (!want) return assert.equal(got, undefined);
      assert.equal(got?.command, want.command);
      assert.deepEqual(got?.args, want.args);
      assert.match(String(got?.note), want.note);
    });
  }
  it('every old name maps to a dotted new name', () => {
    for (const [old, to] of Object.entries(OLD_NAMES)) assert.match(to.name, /^[a-z0-9-]+(\.[a-z0-9-]+)+$/, old);
  });
});
