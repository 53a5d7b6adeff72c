// `cookbook history`: past runs read back from the journals under the state dir, newest first, with who ran
// them, why, and how they ended. The journals are the record; nothing else is kept.
import { type Journal, readAllJournals } from '../core/journal.js';
import { formatMs } from '../core/retry.js';

/** One past run as history shows it. */
export interface HistoryEntry {
  runId: string;
  cookbook: string;
  cluster?: string;
  dryRun: boolean;
  /** PASS, FAIL, ABORTED, INTERRUPTED, WOULD-SUCCEED/-FAIL/-HOLD, RUNNING, or KILLED (a run that died). */
  outcome: string;
  status: string;
  startedAt: string;
  finishedAt?: string;
  durationMs?: number;
  operator?: string;
  host: string;
  reason?: string;
  taskId?: string;
  args: Record<string, unknown>;
  changes: number;
  error?: string;
  resumedFrom?: string;
  supersededBy?: string;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The outcome word of a journal (a "running" journal whose process is gone on this host was killed). */
export function outcomeOf(j: Journal['data'], thisHost: string): string {
  if (j.dryRun && j.verdict) return j.verdict.outcome.toUpperCase();
  switch (j.status) {
    case 'success':
      return 'PASS';
    case 'failed':
      return 'FAIL';
    case 'running':
      return j.host === thisHost && !pidAlive(j.pid) ? 'KILLED' : 'RUNNING';
    default:
      return j.status.toUpperCase();
  }
}

/** Past runs, newest first, optionally of one cluster; the history cookbook's own runs are left out. */
export function readHistory(stateDir: string, options: { cluster?: string; limit?: number; thisHost: string }): HistoryEntry[] {
  const runs = readAllJournals(stateDir)
    .map((j) => j.data)
    .filter((d) => d.cookbook !== 'history' && (options.cluster === undefined || d.cluster === options.cluster))
    .reverse();
  return runs.slice(0, options.limit ?? runs.length).map((d) => ({
    runId: d.runId,
    cookbook: d.cookbook,
    cluster: d.cluster,
    dryRun: d.dryRun,
    outcome: outcomeOf(d, options.thisHost),
    status: d.status,
    startedAt: d.startedAt,
    finishedAt: d.finishedAt,
    durationMs: d.finishedAt ? Date.parse(d.finishedAt) - Date.parse(d.startedAt) : undefined,
    operator: d.operator,
    host: d.host,
    reason: d.reason,
    taskId: d.taskId,
    args: d.args,
    changes: d.changes.filter((c) => !c.planned).length,
    error: d.error ? String(d.error.message) : undefined,
    resumedFrom: d.resumedFrom,
    supersededBy: d.supersededBy,
  }));
}

/** History as a text table, one run a line (plus its error, if any). */
export function renderHistory(entries: readonly HistoryEntry[]): string {
  if (entries.length === 0) return 'No runs recorded in this state dir.';
  const rows = entries.map((e) => [
    e.startedAt.replace('T', ' ').slice(0, 19),
    e.outcome + (e.dryRun ? ' (dry-run)' : ''),
    e.cookbook,
    e.cluster ?? '-',
    `${e.operator ?? '?'}@${e.host}`,
    e.durationMs !== undefined ? formatMs(e.durationMs) : '-',
    [e.taskId, e.reason].filter(Boolean).join(' ') || '-',
    e.runId,
  ]);
  const head = ['STARTED (UTC)', 'OUTCOME', 'COOKBOOK', 'CLUSTER', 'BY', 'TOOK', 'TASK/REASON', 'RUN'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  const out = [line(head)];
  entries.forEach((e, i) => {
    out.push(line(rows[i]!));
    if (e.error && e.outcome !== 'PASS') out.push(`    ${e.error}`);
  });
  return out.join('\n');
}
