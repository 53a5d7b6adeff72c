// History read back from journals: outcomes (a run whose process died is KILLED, a dry-run shows its
// verdict), the cluster filter, the limit, and the text table.
import { strict as assert } from 'node:assert';
import { hostname } from 'node:os';
import { Journal } from '../../lib/core/journal.js';
import { readHistory, renderHistory } from '../../lib/runner/history.js';
import { cleanupTempDirs, tempDir } from '../helpers/cli.js';

describe('history', () => {
  after(cleanupTempDirs);

  it('names each outcome, newest first, with who and why; filters by cluster; limits; leaves out its own runs', () => {
    const state = tempDir();
    let t = Date.parse('2026-03-01T10:00:00Z');
    const make = (cookbook: string, cluster: string | undefined, f: (j: Journal) => void): Journal => {
      const j = Journal.create(state, { runId: `r${t}`, cookbook, cluster, args: { hostname: 'w1' }, dryRun: false, audit: { operator: 'alice', reason: 'T-maint', taskId: 'T77' } });
      j.data.startedAt = new Date((t += 60_000)).toISOString();
      f(j);
      j.flush();
      return j;
    };
    make('k8s.drain', 'lab', (j) => j.finish('success'));
    // A journal left "running" by a process that no longer exists on this host: it was killed.
    make('k8s.add-node', 'lab', (j) => {
      j.data.pid = 2 ** 22 + 12345;
    });
    make('k8s.reboot', 'lab', (j) => {
      j.data.dryRun = true;
      j.finish('failed', undefined, { verdict: { outcome: 'would-hold', problems: [{ kind: 'hold', node: 'w2', reason: 'PDB' }] } });
    });
    make('k8s.cordon', 'other', (j) => j.finish('failed', { class: 'KubeNotFoundError', message: 'node w9 not found' }));
    make('history', undefined, (j) => j.finish('success'));
    const all = readHistory(state, { thisHost: hostname() });
    assert.deepEqual(all.map((e) => [e.cookbook, e.outcome]), [
      ['k8s.cordon', 'FAIL'],
      ['k8s.reboot', 'WOULD-HOLD'],
      ['k8s.add-node', 'KILLED'],
      ['k8s.drain', 'PASS'],
    ]);
    assert.deepEqual([all[0]!.operator, all[0]!.reason, all[0]!.taskId, all[0]!.error], ['alice', 'T-maint', 'T77', 'node w9 not found']);
    assert.deepEqual(readHistory(state, { cluster: 'lab', limit: 2, thisHost: hostname() }).map((e) => e.cookbook), ['k8s.reboot', 'k8s.add-node']);
    const text = renderHistory(all).split('\n');
    assert.match(text[0]!, /^STARTED \(UTC\)\s+OUTCOME\s+COOKBOOK\s+CLUSTER\s+BY\s+TOOK\s+TASK\/REASON\s+RUN$/);
    assert.match(text[1]!, /^2026-03-01 10:04:00\s+FAIL\s+k8s\.cordon\s+other\s+alice@\S+\s+\S+\s+T77 T-maint\s+r/);
    assert.match(text[2]!, /^ {4}node w9 not found$/);
    assert.match(text.find((l) => l.includes('k8s.reboot'))!, /WOULD-HOLD \(dry-run\)/);
    assert.equal(renderHistory([]), 'No runs recorded in this state dir.');
  });
});
