// The end-of-run views: a remote change shows its whole command (redacted), the verdict of a dry-run, and a
// summary that never says PASS over a plan that would fail.
import { strict as assert } from 'node:assert';
import type { JournalData } from '../../lib/core/journal.js';
import { registerSecret } from '../../lib/core/redact.js';
import { buildResult, describeChange, renderSummary, verdictOf } from '../../lib/runner/output.js';

function journal(over: Partial<JournalData> = {}): JournalData {
  return {
    version: 1, runId: 'r1', key: 'k', cookbook: 'k8s.add-node', cluster: 'lab', args: {}, dryRun: false, status: 'success', pid: 1, host: 'h',
    startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:00:01.000Z', steps: [], changes: [], memo: {}, operator: 'alice', reason: 'why', taskId: 'T1', ...over,
  };
}

describe('run output', () => {
  it('a remote command change shows the whole command, redacted, not its first two words', () => {
    const key = 'ab'.repeat(32);
    const upload = { system: 'remote', target: 'ctrl-1', action: 'run kubeadm init', detail: { command: `sudo -n kubeadm init phase upload-certs --upload-certs --certificate-key ${key}` } };
    const text = describeChange(upload);
    assert.match(text, /^run `sudo -n kubeadm init phase upload-certs --upload-certs --certificate-key \[REDACTED\]` on ctrl-1$/);
    assert.ok(!text.includes(key));
    registerSecret('abcdef.0123456789abcdef');
    const del = describeChange({ system: 'remote', target: 'ctrl-1', action: 'run kubeadm token', detail: { command: 'kubeadm token delete abcdef.0123456789abcdef' } });
    assert.ok(!del.includes('0123456789abcdef'), del);
    assert.match(del, /kubeadm token delete/);
    assert.equal(describeChange({ system: 'k8s', target: 'node/w1', action: 'cordon' }), 'cordon node/w1');
    const summary = renderSummary(buildResult(journal({ changes: [{ ...upload, planned: false, at: 'x' }] }), { exitCode: 0, journalPath: 'j', logPath: 'l' }));
    assert.match(summary, /- run `sudo -n kubeadm init phase upload-certs --upload-certs --certificate-key \[REDACTED\]` on ctrl-1/);
    assert.match(summary, /^Run r1 by alice@h, reason: why, task: T1$/m);
  });

  it('the verdict: failures outweigh holds, failed steps count once, a clean plan would succeed', () => {
    assert.deepEqual(verdictOf({ problems: [], steps: [{ name: 's', status: 'planned' }] }), { outcome: 'would-succeed', problems: [] });
    assert.equal(verdictOf({ problems: [{ kind: 'hold', node: 'w1', reason: 'alert' }], steps: [] }).outcome, 'would-hold');
    const v = verdictOf({
      problems: [{ kind: 'hold', node: 'w1', reason: 'alert' }],
      steps: [{ name: 'drain w2', status: 'failed', error: { message: 'pods need an opt-in' } }],
      error: { class: 'Error', message: 'pods need an opt-in', context: {} },
    });
    assert.equal(v.outcome, 'would-fail');
    assert.deepEqual(v.problems, [{ kind: 'hold', node: 'w1', reason: 'alert' }, { kind: 'fail', step: 'drain w2', reason: 'pods need an opt-in' }]);
  });

  it('a dry-run summary never says PASS: it says what the real run would do', () => {
    const verdict = verdictOf({ problems: [{ kind: 'fail', step: 'drain w1', reason: 'PDB allows no disruption' }], steps: [] });
    const text = renderSummary(buildResult(journal({ dryRun: true, status: 'failed', verdict }), { exitCode: 1, journalPath: 'j', logPath: 'l' }));
    assert.match(text, /^WOULD FAIL k8s\.add-node on lab: failed \(dry-run\)/);
    assert.doesNotMatch(text, /PASS/);
    assert.match(text, /would fail at step "drain w1": PDB allows no disruption/);
  });
});
