// Remote paths a file transfer accepts: one row per path → accepted or an InputError before anything is sent.
// (Transfers themselves run against real sshd in test/integration/remote/sshd.test.ts.)
import assert from 'node:assert/strict';
import { InputError } from '../../lib/core/errors.js';
import { validateRemotePath } from '../../lib/remote/sftp.js';

describe('remote/sftp: validateRemotePath', () => {
  const rows: [string, unknown, boolean][] = [
    ['an absolute file path', '/etc/kubernetes/admin.conf', true],
    ['a path with spaces', '/tmp/a file', true],
    ['relative', 'etc/hosts', false],
    ['home-relative', '~/file', false],
    ['a directory (trailing slash)', '/tmp/', false],
    ['a NUL byte', '/tmp/a\0b', false],
    ['empty', '', false],
    ['not a string', 42, false],
  ];
  for (const [title, path, ok] of rows) {
    it(`${title} → ${ok ? 'accepted' : 'InputError'}`, () => {
      if (ok) return assert.equal(validateRemotePath(path as string), path);
      assert.throws(() => validateRemotePath(path as string), (err: unknown) => err instanceof InputError && /must be an absolute file path/.test(err.message));
    });
  }
});
