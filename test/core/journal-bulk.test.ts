// Big runs (a deploy of thousands of objects): recording N changes must not rewrite the journal N times, yet
// a run killed between full flushes still leaves every change on disk (the side file Journal.read merges), and
// caching the redacted changes must not let a secret registered later through.
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import { CHANGES_FLUSHED_INLINE, Journal } from '../../lib/core/journal.js';
import { REDACTED, clearSecrets, registerSecret } from '../../lib/core/redact.js';
import { cleanupTempDirs, tempDir } from '../helpers/cli.js';

const change = (i: number, target = `obj-${i}`) => ({ system: 'k8s', target, action: 'server-side apply', planned: false, at: new Date(0).toISOString() });

describe('journal: many changes', () => {
  after(cleanupTempDirs);
  afterEach(clearSecrets);

  it('changes past the inline limit reach disk without a rewrite each, and a read (after a kill) sees them all', () => {
    const j = Journal.create(tempDir(), { runId: 'bulk1', cookbook: 'component.deploy', cluster: 'lab', args: {}, dryRun: false });
    const n = CHANGES_FLUSHED_INLINE + 50;
    for (let i = 0; i < n; i++) j.addChange(change(i));
    // The main file stopped growing at the limit: the rest went to the side file.
    const onDisk = JSON.parse(readFileSync(j.path, 'utf8')) as { changes: unknown[] };
    assert.equal(onDisk.changes.length, CHANGES_FLUSHED_INLINE);
    assert.ok(existsSync(j.changesPath));
    // No flush since (as if killed): the reader still gets every change, in order.
    const read = Journal.read(j.path);
    assert.deepEqual(read.data.changes.map((c) => c.target), Array.from({ length: n }, (_, i) => `obj-${i}`));
    // A full flush writes them all inline and drops the side file.
    j.finish('success');
    assert.equal((JSON.parse(readFileSync(j.path, 'utf8')) as { changes: unknown[] }).changes.length, n);
    assert.ok(!existsSync(j.changesPath));
  });

  it('a secret registered after its change was recorded is masked in the next flush', () => {
    const j = Journal.create(tempDir(), { runId: 'bulk2', cookbook: 'component.deploy', cluster: 'lab', args: {}, dryRun: false });
    j.addChange(change(0, 'secret/hush-s3cr3t-value'));
    j.flush();
    assert.match(readFileSync(j.path, 'utf8'), /hush-s3cr3t-value/);
    registerSecret('hush-s3cr3t-value');
    j.flush();
    const text = readFileSync(j.path, 'utf8');
    assert.ok(!text.includes('hush-s3cr3t-value') && text.includes(REDACTED), text);
  });
});
