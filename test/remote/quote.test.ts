// Quoting is checked against real shells: every argv is joined by shellJoin and handed to `sh -c` (and bash)
// through spawnSync's argument array, and the words the shell sees must be exactly the originals.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { InputError } from '../../lib/core/errors.js';
import { commandAction, shellJoin, shellQuote, withSudo } from '../../lib/remote/quote.js';

const SHELLS = ['/bin/sh', '/bin/bash', '/bin/dash'].filter((s) => existsSync(s));

/** The words `shell` sees after splitting shellJoin(['printf', '%s\0', ...args]). */
function roundTrip(shell: string, args: string[]): string[] {
  const line = shellJoin(['printf', '%s\\0', ...args]);
  const r = spawnSync(shell, ['-c', line], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin', HOME: '/nonexistent' } });
  assert.equal(r.status, 0, `${shell} failed on ${line}: ${r.stderr}`);
  const words = r.stdout.split('\0');
  words.pop();
  return words;
}

const tricky = [
  '',
  ' ',
  'plain',
  'two words',
  "it's",
  "''",
  "'",
  '"double"',
  '$HOME',
  '${HOME}',
  '$(id -u)',
  '`id -u`',
  '\\',
  '\\n',
  'a\nb',
  'tab\there',
  '*',
  '?',
  '[a-z]*',
  '~',
  '~root',
  '!',
  '!!',
  '#comment',
  'a;b',
  'a&&b',
  'a|b',
  '>out',
  '<in',
  '(sub)',
  '{a,b}',
  '-n',
  '--',
  '-e',
  'x=1',
  '%s',
  'ünïcødé ✓',
  "mixed 'single' and \"double\" $and `back`",
  '\x01\x7f',
  "end with quote'",
];

describe('remote/quote', () => {
  it('leaves safe words alone and single-quotes the rest', () => {
    assert.equal(shellQuote('abc-DEF_1.2/x:y,z@h%+='), 'abc-DEF_1.2/x:y,z@h%+=');
    assert.equal(shellQuote(''), "''");
    assert.equal(shellQuote('a b'), "'a b'");
    assert.equal(shellQuote("it's"), "'it'\\''s'");
    assert.equal(shellQuote('$x'), "'$x'");
  });

  for (const shell of SHELLS) {
    it(`round-trips tricky arguments through ${shell}`, () => {
      assert.deepEqual(roundTrip(shell, tricky), tricky);
    });
  }

  it('round-trips 300 random arguments of every byte but NUL', () => {
    let seed = 42;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const alphabet = Array.from({ length: 127 }, (_, i) => String.fromCharCode(i + 1)).join('') + 'éß✓\u00a0';
    const args = Array.from({ length: 300 }, () => Array.from({ length: rand(12) }, () => alphabet[rand(alphabet.length)]).join(''));
    for (const shell of SHELLS) assert.deepEqual(roundTrip(shell, args), args, shell);
  });

  it('never lets the first word become an assignment or a reserved word', () => {
    assert.equal(shellJoin(['A=b', 'x']), "'A=b' x");
    assert.equal(shellJoin(['if', 'x']), "'if' x");
    assert.equal(shellJoin(['x', 'A=b', 'if']), 'x A=b if');
    const r = spawnSync('/bin/sh', ['-c', shellJoin(['A=1', 'true'])], { encoding: 'utf8' });
    assert.notEqual(r.status, 0, 'A=1 must be run as a command (and fail), not taken as an assignment');
  });

  it('rejects NUL bytes, empty commands and non-strings', () => {
    assert.throws(() => shellQuote('a\0b'), InputError);
    assert.throws(() => shellJoin([]), InputError);
    assert.throws(() => shellJoin(['ls', 3 as unknown as string]), InputError);
  });

  it('prefixes sudo -n -- only when asked', () => {
    assert.deepEqual(withSudo(['systemctl', 'restart', 'kubelet'], true), ['sudo', '-n', '--', 'systemctl', 'restart', 'kubelet']);
    assert.deepEqual(withSudo(['true'], false), ['true']);
    assert.equal(shellJoin(withSudo(['echo', 'a b'], true)), "sudo -n -- echo 'a b'");
  });

  it('names commands briefly for change records', () => {
    assert.equal(commandAction(['kubeadm', 'join', '--token', 'x']), 'run kubeadm join');
    assert.equal(commandAction(['sudo', '-n', '--', 'systemctl', 'restart', 'kubelet']), 'run sudo -n -- systemctl restart');
  });
});
