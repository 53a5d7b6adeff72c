// `cookbook history`, the pure parts: the outcome word of a journal, and the table. One row per case.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import type { Journal } from '../../lib/core/journal.js';
import { type HistoryEntry, outcomeOf, renderHistory } from '../../lib/runner/history.js';

type Data = Journal['data'];
const journal = (extra: Partial<Data>): Data => ({ dryRun: false, status: 'success', host: 'cumin1', pid: process.pid, ...extra }) as Data;
const deadPid = (): number => spawnSync(process.execPath, ['-e', '0']).pid!;

describe('runner history: outcomeOf', () => {
  const rows: [string, () => Data, string][] = [
    ['success', () => journal({}), 'PASS'],
    ['failed', () => journal({ status: 'failed' }), 'FAIL'],
    ['aborted', () => journal({ status: 'aborted' }), 'ABORTED'],
    ['interrupted', () => journal({ status: 'interrupted' }), 'INTERRUPTED'],
    ['a dry-run says its verdict', () => journal({ dryRun: true, verdict: { outcome: 'would-hold', problems: [] } }), 'WOULD-HOLD'],
    ['running, alive here', () => journal({ status: 'running' as never }), 'RUNNING'],
    ['running, its process gone here', () => journal({ status: 'running' as never, pid: deadPid() }), 'KILLED'],
    ['running on another host: not second-guessed', () => journal({ status: 'running' as never, host: 'other', pid: deadPid() }), 'RUNNING'],
  ];
  for (const [title, data, want] of rows) it(`${title} → ${want}`, () => assert.equal(outcomeOf(data(), 'cumin1'), want));
});

describe('runner history: renderHistory', () => {
  const entry = (extra: Partial<HistoryEntry>): HistoryEntry => ({
    runId: 'r1',
    cookbook: 'k8s.drain',
    cluster: 'tb',
    dryRun: false,
    outcome: 'PASS',
    status: 'success',
    startedAt: '2026-11-30T10:00:00.000Z',
    durationMs: 65_000,
    operator: 'ops',
    host: 'cumin1',
    args: {},
    changes: 2,
    ...extra,
  });
  const rows: [string, HistoryEntry[], string[]][] = [
    ['no runs', [], ['No runs recorded in this state dir.']],
    [
      'one run, with task and reason',
      [entry({ taskId: 'T123', reason: 'kernel' })],
      ['STARTED (UTC)        OUTCOME  COOKBOOK   CLUSTER  BY          TOOK   TASK/REASON  RUN', '2026-11-30 10:00:00  PASS     k8s.drain  tb       ops@cumin1  1m05s  T123 kernel  r1'],
    ],
    [
      'a failed dry-run shows its error, a still running one has no duration',
      [entry({ outcome: 'WOULD-FAIL', dryRun: true, error: 'PDB blocks', runId: 'r2' }), entry({ outcome: 'RUNNING', durationMs: undefined, cluster: undefined, operator: undefined, runId: 'r3' })],
      [
        'STARTED (UTC)        OUTCOME               COOKBOOK   CLUSTER  BY          TOOK   TASK/REASON  RUN',
        '2026-11-30 10:00:00  WOULD-FAIL (dry-run)  k8s.drain  tb       ops@cumin1  1m05s  -            r2',
        '    PDB blocks',
        '2026-11-30 10:00:00  RUNNING               k8s.drain  -        ?@cumin1    -      -            r3',
      ],
    ],
    ['a passed run does not repeat an old error', [entry({ error: 'retried fine' })], ['STARTED (UTC)        OUTCOME  COOKBOOK   CLUSTER  BY          TOOK   TASK/REASON  RUN', '2026-11-30 10:00:00  PASS     k8s.drain  tb       ops@cumin1  1m05s  -            r1']],
  ];
  for (const [title, entries, lines] of rows) it(title, () => assert.deepEqual(renderHistory(entries).split('\n'), lines));
});
