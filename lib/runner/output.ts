// How the run's events read: human lines (the console and file views themselves are lib/runner/logging.ts,
// through winston), the dry-run verdict, the end-of-run summary and the --json result object.
import type { EventBus, PlanProblem, RunStatus, StampedEvent, Verdict } from '../core/events.js';
import type { Change } from '../core/gate.js';
import type { JournalData } from '../core/journal.js';
import { redactText, redactValue } from '../core/redact.js';
import { formatMs } from '../core/retry.js';
import { type LoggingOptions, attachLogViews } from './logging.js';

export type { LoggingOptions } from './logging.js';

const STEP_MARK: Record<string, string> = { done: '✓', skipped: '=', planned: '~', failed: '✗', running: '▶' };
const OUTCOME_WORDS: Record<Verdict['outcome'], string> = { 'would-succeed': 'WOULD SUCCEED', 'would-fail': 'WOULD FAIL', 'would-hold': 'WOULD HOLD' };

/** Renders one event as a human line (undefined = not shown on the console). */
export function renderEvent(e: StampedEvent): string | undefined {
  switch (e.type) {
    case 'run.start':
      return `START ${e.cookbook}${e.cluster ? ` on ${e.cluster}` : ''} (run ${e.runId}) by ${e.operator}@${e.host}${e.reason ? ` reason: ${e.reason}` : ''}${
        e.taskId ? ` task: ${e.taskId}` : ''
      }${e.dryRun ? ' [dry-run: nothing will be changed]' : ''}${e.resumedFrom ? ` resuming run ${e.resumedFrom}` : ''}`;
    case 'run.end':
      return `END ${e.verdict ? OUTCOME_WORDS[e.verdict] : e.status === 'success' ? 'PASS' : 'FAIL'} (${e.status}${e.verdict ? ', dry-run' : ''}) in ${formatMs(e.durationMs)}${e.error ? `: ${String(e.error.message)}` : ''}`;
    case 'step.start':
      return `${STEP_MARK.running} ${e.name}`;
    case 'step.end':
      return `${STEP_MARK[e.status] ?? '?'} ${e.name} ${e.status} (${formatMs(e.durationMs)})${e.note ? ` - ${e.note}` : ''}${
        e.error ? `: ${String(e.error.message)}` : ''
      }`;
    case 'change':
      return `  ${e.change.planned ? 'would' : 'did'} ${describeChange(e.change)}`;
    case 'plan.problem':
      return `dry-run: ${describeProblem(e.problem)}`;
    case 'log':
      return e.message;
    case 'progress': {
      const count = e.total ? ` [${e.done ?? 0}/${e.total}]` : '';
      const eta = e.etaMs !== undefined ? ` ETA ${formatMs(e.etaMs)}` : '';
      return `${e.scope}${count} ${e.target}: ${e.phase}${e.message ? ` - ${e.message}` : ''}${eta}`;
    }
    case 'confirm':
      return `confirmation "${e.message}": ${e.answer}`;
    case 'output':
      return undefined;
  }
}

/** A change as one line: a remote command shows its whole (redacted) command line, not just its first words. */
export function describeChange(c: Pick<Change, 'action' | 'target' | 'detail'> & Partial<Change>): string {
  const command = c.detail?.command;
  if (typeof command === 'string' && command.trim() && c.action.startsWith('run ')) return `run \`${redactText(command)}\` on ${c.target}`;
  return `${c.action} ${c.target}`;
}

/** A dry-run problem as one line. */
export function describeProblem(p: PlanProblem): string {
  const where = [p.step ? `step "${p.step}"` : '', p.node ? `node ${p.node}` : ''].filter(Boolean).join(', ');
  return `${p.kind === 'hold' ? 'would hold' : 'would fail'}${where ? ` at ${where}` : ''}: ${p.reason}`;
}

/**
 * The verdict of a dry-run: every problem a cookbook recorded, every step that failed while planning and the
 * error that ended planning, if any. A failure outweighs a hold.
 */
export function verdictOf(input: { problems: readonly PlanProblem[]; steps: readonly { name: string; status: string; error?: Record<string, unknown> }[]; error?: Record<string, unknown> }): Verdict {
  const problems: PlanProblem[] = [...input.problems];
  const named = new Set(problems.filter((p) => p.kind === 'fail' && p.step).map((p) => p.step));
  for (const s of input.steps) {
    if (s.status === 'failed' && !named.has(s.name)) {
      problems.push({ kind: 'fail', step: s.name, reason: String(s.error?.message ?? 'the step failed') });
      named.add(s.name);
    }
  }
  const errStep = input.error?.context && typeof input.error.context === 'object' ? (input.error.context as Record<string, unknown>).step : undefined;
  // The error that ended planning is usually a failed step's own error: name it once.
  const stepErrors = new Set(input.steps.filter((s) => s.status === 'failed').map((s) => String(s.error?.message)));
  if (input.error && !(typeof errStep === 'string' && named.has(errStep)) && !stepErrors.has(String(input.error.message))) {
    problems.push({ kind: 'fail', ...(typeof errStep === 'string' ? { step: errStep } : {}), reason: String(input.error.message) });
  }
  const outcome = problems.some((p) => p.kind === 'fail') ? 'would-fail' : problems.length ? 'would-hold' : 'would-succeed';
  return { outcome, problems };
}

function levelOf(e: StampedEvent): string {
  if (e.type === 'log') return e.level;
  if (e.type === 'plan.problem') return 'warn';
  if (e.type === 'step.end' && e.status === 'failed') return 'error';
  if (e.type === 'run.end' && e.status !== 'success') return 'error';
  if (e.type === 'step.start') return 'debug';
  return 'info';
}

/** Attaches the console and file views (lib/runner/logging.ts) to the bus; returns the file path and a close() that flushes. */
export function attachLogging(events: EventBus, options: LoggingOptions): { file: string; close(): Promise<void> } {
  return attachLogViews(events, options, { renderEvent, levelOf, describeChange });
}

/** The --json result object. */
export interface RunResult {
  cookbook: string;
  cluster?: string;
  runId: string;
  args: Record<string, unknown>;
  status: RunStatus;
  dryRun: boolean;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  resumedFrom?: string;
  /** The audit trail: who ran it, where, and why. */
  operator?: string;
  host: string;
  reason?: string;
  taskId?: string;
  /** Dry-runs only: what the real run would do. */
  verdict?: Verdict;
  /** Set when this invocation found the same run already completed (never reported) and did not repeat it. */
  alreadyDone?: { runId: string; finishedAt?: string };
  steps: { name: string; status: string; durationMs: number; note?: string; error?: { class: string; message: string } }[];
  changes: Omit<Change, 'at'>[];
  result?: unknown;
  rollback?: 'done' | 'failed' | 'none';
  error?: Record<string, unknown>;
  journal: string;
  log: string;
  exitCode: number;
}

/** Builds the result object from the journal. */
export function buildResult(
  journal: JournalData,
  extra: { result?: unknown; rollback?: RunResult['rollback']; exitCode: number; journalPath: string; logPath: string; alreadyDone?: RunResult['alreadyDone'] },
): RunResult {
  const finishedAt = journal.finishedAt ?? new Date().toISOString();
  return redactValue({
    cookbook: journal.cookbook,
    cluster: journal.cluster,
    runId: journal.runId,
    args: journal.args,
    status: journal.status === 'running' ? 'failed' : journal.status,
    dryRun: journal.dryRun,
    startedAt: journal.startedAt,
    finishedAt,
    durationMs: Date.parse(finishedAt) - Date.parse(journal.startedAt),
    resumedFrom: journal.resumedFrom,
    operator: journal.operator,
    host: journal.host,
    reason: journal.reason,
    taskId: journal.taskId,
    verdict: journal.verdict,
    alreadyDone: extra.alreadyDone,
    steps: journal.steps.map((s) => ({
      name: s.name,
      status: s.status,
      durationMs: s.durationMs ?? 0,
      ...(s.note ? { note: s.note } : {}),
      ...(s.error ? { error: { class: String(s.error.class), message: String(s.error.message) } } : {}),
    })),
    changes: journal.changes.map(({ at: _at, ...c }) => c),
    result: extra.result,
    rollback: extra.rollback,
    error: journal.error,
    journal: extra.journalPath,
    log: extra.logPath,
    exitCode: extra.exitCode,
  });
}

/** The human summary printed on stdout at the end of a run. */
export function renderSummary(r: RunResult): string {
  const lines: string[] = [];
  // A dry-run never says PASS: it says what the real run would do.
  const head = r.dryRun && r.verdict ? OUTCOME_WORDS[r.verdict.outcome] : r.status === 'success' ? (r.alreadyDone ? 'DONE' : 'PASS') : 'FAIL';
  const counts = new Map<string, number>();
  for (const s of r.steps) counts.set(s.status, (counts.get(s.status) ?? 0) + 1);
  const countText = [...counts].map(([k, v]) => `${v} ${k}`).join(', ') || 'no steps';
  lines.push(`${head} ${r.cookbook}${r.cluster ? ` on ${r.cluster}` : ''}: ${r.status}${r.dryRun ? ' (dry-run)' : ''} in ${formatMs(r.durationMs)}; steps: ${countText}`);
  if (r.alreadyDone) {
    lines.push(`Already done: run ${r.alreadyDone.runId} completed${r.alreadyDone.finishedAt ? ` at ${r.alreadyDone.finishedAt}` : ''} but was never reported; nothing was run again.`);
    lines.push('Pass --fresh to run it again.');
  }
  const audit = [`by ${r.operator ?? 'unknown'}@${r.host}`, r.reason ? `reason: ${r.reason}` : '', r.taskId ? `task: ${r.taskId}` : ''].filter(Boolean).join(', ');
  lines.push(`Run ${r.runId} ${audit}`);
  for (const s of r.steps) {
    lines.push(`  ${STEP_MARK[s.status] ?? '?'} ${s.name} (${s.status}, ${formatMs(s.durationMs)})${s.note ? ` - ${s.note}` : ''}${s.error ? `: ${s.error.message}` : ''}`);
  }
  if (r.changes.length) {
    lines.push(r.dryRun ? 'Planned changes:' : 'Changes:');
    for (const c of r.changes) lines.push(`  - ${describeChange(c)}`);
  } else {
    lines.push(r.dryRun ? 'Planned changes: none' : 'Changes: none');
  }
  if (r.verdict) {
    if (r.verdict.problems.length) {
      lines.push(r.verdict.outcome === 'would-fail' ? 'The real run would fail:' : 'The real run would be held:');
      for (const p of r.verdict.problems) lines.push(`  - ${describeProblem(p)}`);
    } else {
      lines.push('The real run would succeed: no step would fail or hold.');
    }
  }
  if (r.rollback && r.rollback !== 'none') lines.push(`Rollback: ${r.rollback}`);
  if (r.error) {
    const ctx = r.error.context as Record<string, unknown> | undefined;
    // A plain Error from a step carries no context: the last failed step is where it happened.
    const stepName = typeof ctx?.step === 'string' ? ctx.step : r.steps.filter((s) => s.status === 'failed').at(-1)?.name;
    const step = stepName ? ` at step "${stepName}"` : '';
    lines.push(`Error${step} (${String(r.error.class)}): ${String(r.error.message)}`);
    if (r.error.hint) lines.push(`Hint: ${String(r.error.hint)}`);
  }
  lines.push(`Journal: ${r.journal}`);
  lines.push(`Log: ${r.log}`);
  return redactText(lines.join('\n'));
}
