// Snapshot files: 0600, gzip when large (or named .gz), read back the same either way; anything that is not a
// format-1 snapshot is refused as bad input (exit 2) naming what is wrong.
import { strict as assert } from 'node:assert';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'mocha';
import { ExitCode, InputError } from '../../lib/core/errors.js';
import { GZIP_ABOVE_BYTES, checkSnapshot, readSnapshotFile, writeSnapshotFile } from '../../lib/twin/file.js';
import { modelSnapshot } from '../../lab/twin/model.js';
import { tempDir } from '../helpers/cli.js';

describe('twin: snapshot files', () => {
  // Made when the suite starts, not when the file loads: another suite's cleanup must not remove it first.
  let dir: string;
  before(() => {
    dir = tempDir('cc-twin-file-');
  });

  it('writes a small snapshot as plain JSON, mode 0600, and reads it back', () => {
    const s = modelSnapshot({ nodes: 5, namespaces: 3, policies: 4, pods: 20 });
    const file = join(dir, 'small.json');
    const w = writeSnapshotFile(file, s);
    assert.equal(w.gzip, false);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(readFileSync(file, 'utf8')[0], '{');
    assert.deepEqual(readSnapshotFile(file), s);
  });

  it('gzips a large snapshot and reads it back the same', () => {
    const s = modelSnapshot({ nodes: 20, namespaces: 3000, policies: 3000, pods: 6000 });
    assert.ok(JSON.stringify(s).length > GZIP_ABOVE_BYTES, 'the model is large enough to need gzip');
    const file = join(dir, 'large.json');
    const w = writeSnapshotFile(file, s);
    assert.equal(w.gzip, true);
    const raw = readFileSync(file);
    assert.deepEqual([raw[0], raw[1]], [0x1f, 0x8b]);
    assert.ok(w.bytes < JSON.stringify(s).length / 4);
    assert.deepEqual(readSnapshotFile(file), s);
  });

  const good = modelSnapshot({ nodes: 4, namespaces: 1, policies: 1, pods: 8 });
  for (const [what, value, message] of [
    ['not an object', 42, /not an object/],
    ['another format', { ...good, format: 2 }, /format 2/],
    ['no cluster prefix', { ...good, cluster: { ...good.cluster, prefix: '' } }, /no cluster name, prefix or roles/],
    ['no pods list', { ...good, pods: undefined }, /no pods list/],
  ] as [string, unknown, RegExp][]) {
    it(`refuses a file with ${what} as bad input`, () => {
      assert.throws(
        () => checkSnapshot(value, 'x.json'),
        (err: unknown) => err instanceof InputError && err.exitCode === ExitCode.usage && message.test(err.message) && !!err.hint,
      );
    });
  }
});
