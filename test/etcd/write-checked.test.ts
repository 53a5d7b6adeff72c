// writeAtomicChecked (the backup's local write): the bytes land under the final name only when their sha256 is
// accepted; a refused checksum leaves neither the file nor a temp file behind.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeAtomicChecked } from '../../lib/etcd/backup.js';

describe('etcd backup: writeAtomicChecked', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cc-write-checked-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the bytes 0600 under the final name and returns their sha256 when accepted', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 7);
    const want = createHash('sha256').update(data).digest('hex');
    let seen = '';
    const got = await writeAtomicChecked(join(dir, 'snap.db'), data, (sum) => void (seen = sum));
    assert.equal(got, want);
    assert.equal(seen, want);
    assert.ok(readFileSync(join(dir, 'snap.db')).equals(data));
    assert.equal(statSync(join(dir, 'snap.db')).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(dir), ['snap.db'], 'no temp file left');
  });

  it('a refused checksum throws the refusal and leaves no file at all', async () => {
    await assert.rejects(
      writeAtomicChecked(join(dir, 'snap.db'), randomBytes(1000), () => {
        throw new Error('sha256 mismatch');
      }),
      /sha256 mismatch/,
    );
    assert.deepEqual(readdirSync(dir), []);
  });
});
