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

  it('step and memo flushes past the limit leave the side file alone; a later secret consolidates it', () => {
    const j = Journal.create(tempDir(), { runId: 'bulk3', cookbook: 'k8s.reboot', cluster: 'lab', args: {}, dryRun: false });
    const n = CHANGES_FLUSHED_INLINE + 20;
    for (let i = 0; i < n; i++) j.addChange(change(i, `pod/evict-${i}-zq9`));
    j.stepEnded(j.stepStarted('drain w1'), 'done');
    j.setMemo('rollout:node:w1', { phase: 'drained', evicted: ['evict-1-zq9'] });
    // The rewrite for the step and the memo kept the main file's changes at the limit: the rest stay on the side.
    const onDisk = JSON.parse(readFileSync(j.path, 'utf8')) as { changes: unknown[]; steps: { name: string; status: string }[]; memo: Record<string, unknown> };
    assert.equal(onDisk.changes.length, CHANGES_FLUSHED_INLINE);
    assert.deepEqual(onDisk.steps.map((s) => [s.name, s.status]), [['drain w1', 'done']]);
    assert.deepEqual(onDisk.memo['rollout:node:w1'], { phase: 'drained', evicted: ['evict-1-zq9'] });
    assert.equal(Journal.read(j.path).data.changes.length, n);
    // A memo replaced is written anew (the cache is per value, not per key).
    j.setMemo('rollout:node:w1', { phase: 'rebooted' });
    assert.deepEqual((JSON.parse(readFileSync(j.path, 'utf8')) as { memo: Record<string, unknown> }).memo['rollout:node:w1'], { phase: 'rebooted' });
    // A secret registered now is in side-file lines and in a stored memo: the next flush rewrites both.
    j.setMemo('names', ['evict-3-zq9']);
    registerSecret('evict-3-zq9');
    j.flush();
    assert.ok(!existsSync(j.changesPath), 'the side file, written before the secret was known, is gone');
    const text = readFileSync(j.path, 'utf8');
    assert.ok(!text.includes('evict-3-zq9') && text.includes(REDACTED), text);
    assert.equal((JSON.parse(text) as { changes: unknown[] }).changes.length, n);
    // Later changes go to a new side file again, and a read still sees every one, in order.
    j.addChange(change(n, 'pod/late'));
    assert.ok(existsSync(j.changesPath));
    assert.deepEqual(Journal.read(j.path).data.changes.map((c) => c.target).slice(-2), ['pod/evict-' + (n - 1) + '-zq9', 'pod/late']);
  });
});
