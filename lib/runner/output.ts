// Two views of the run's event stream: human lines on the console (stderr, colours only on a TTY) and a
// JSON-lines log file per run, both through winston and both redacted. Also the end-of-run summary and the
// --json result object.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import winston from 'winston';
import type { EventBus, RunStatus, StampedEvent } from '../core/events.js';
import type { Change } from '../core/gate.js';
import type { JournalData } from '../core/journal.js';
import { redactText, redactValue } from '../core/redact.js';
import { formatMs } from '../core/retry.js';
import { liveProgressFor } from './progress.js';

const STEP_MARK: Record<string, string> = { done: '✓', skipped: '=', planned: '~', failed: '✗', running: '▶' };

/** Renders one event as a human line (undefined = not shown on the console). */
export function renderEvent(e: StampedEvent): string | undefined {
  switch (e.type) {
    case 'run.start':
      return `START ${e.cookbook}${e.cluster ? ` on ${e.cluster}` : ''} (run ${e.runId})${e.dryRun ? ' [dry-run: nothing will be changed]' : ''}${
        e.resumedFrom ? ` resuming run ${e.resumedFrom}` : ''
      }`;
    case 'run.end':
      return `END ${e.status === 'success' ? 'PASS' : 'FAIL'} (${e.status}) in ${formatMs(e.durationMs)}${e.error ? `: ${String(e.error.message)}` : ''}`;
    case 'step.start':
      return `${STEP_MARK.running} ${e.name}`;
    case 'step.end':
      return `${STEP_MARK[e.status] ?? '?'} ${e.name} ${e.status} (${formatMs(e.durationMs)})${e.note ? ` - ${e.note}` : ''}${
        e.error ? `: ${String(e.error.message)}` : ''
      }`;
    case 'change':
      return `  ${e.change.planned ? 'would' : 'did'} ${e.change.action} ${e.change.target}`;
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

function levelOf(e: StampedEvent): string {
  if (e.type === 'log') return e.level;
  if (e.type === 'step.end' && e.status === 'failed') return 'error';
  if (e.type === 'run.end' && e.status !== 'success') return 'error';
  if (e.type === 'step.start') return 'debug';
  return 'info';
}

/** Options for the two log views. */
export interface LoggingOptions {
  logDir: string;
  runId: string;
  cookbook: string;
  verbose: boolean;
  /** Console lines off entirely (e.g. --json with --quiet); the file still gets everything. */
  console?: boolean;
}

/** Attaches the console and file views to the bus; returns the file path and a close() that flushes. */
export function attachLogging(events: EventBus, options: LoggingOptions): { file: string; close(): Promise<void> } {
  mkdirSync(options.logDir, { recursive: true, mode: 0o700 });
  const file = join(options.logDir, `${options.runId}-${options.cookbook}.jsonl`);
  const color = Boolean(process.stderr.isTTY) && !process.env.NO_COLOR;
  // On a TTY the rolling reboot's progress is a live table instead of one line per event (the file keeps all).
  const live = options.console !== false ? liveProgressFor(process.stderr) : undefined;
  const consoleFormat = winston.format.combine(
    winston.format((info) => (info.fileOnly ? false : info))(),
    winston.format.timestamp({ format: 'HH:mm:ss' }),
    ...(color ? [winston.format.colorize({ level: true })] : []),
    winston.format.printf((info) => `${String(info.timestamp)} ${String(info.level).padEnd(color ? 15 : 5)} ${String(info.message)}`),
  );
  const transports: winston.transport[] = [
    new winston.transports.File({
      filename: file,
      level: 'debug',
      options: { flags: 'a', mode: 0o600 },
      format: winston.format.printf((info) => JSON.stringify(redactValue(info.event))),
    }),
  ];
  if (options.console !== false) {
    transports.push(
      new winston.transports.Console({
        level: options.verbose ? 'debug' : 'info',
        stderrLevels: ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'],
        format: consoleFormat,
      }),
    );
  }
  const logger = winston.createLogger({ levels: winston.config.npm.levels, transports });
  const off = events.on((event) => {
    if (event.type === 'output') return;
    const text = renderEvent(event);
    const fields = event.type === 'log' && event.fields && Object.keys(event.fields).length ? ` ${JSON.stringify(redactValue(event.fields))}` : '';
    const fileOnly = live?.handles(event) ?? false;
    if (fileOnly) live!.update(event as Extract<StampedEvent, { type: 'progress' }>);
    logger.log({ level: levelOf(event), message: redactText((text ?? event.type) + fields), event, fileOnly });
  });
  return {
    file,
    close: () =>
      new Promise<void>((resolve) => {
        off();
        live?.stop();
        const fileTransport = transports[0]!;
        let done = false;
        const finish = (): void => {
          if (!done) {
            done = true;
            resolve();
          }
        };
        fileTransport.once('finish', finish);
        setTimeout(finish, 2000).unref();
        logger.end();
      }),
  };
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
  steps: { name: string; status: string; durationMs: number; note?: string }[];
  changes: Omit<Change, 'at'>[];
  result?: unknown;
  rollback?: 'done' | 'failed' | 'none';
  error?: Record<string, unknown>;
  journal: string;
  log: string;
  exitCode: number;
}

/** Builds the result object from the journal. */
export function buildResult(journal: JournalData, extra: { result?: unknown; rollback?: RunResult['rollback']; exitCode: number; journalPath: string; logPath: string }): RunResult {
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
    steps: journal.steps.map((s) => ({ name: s.name, status: s.status, durationMs: s.durationMs ?? 0, ...(s.note ? { note: s.note } : {}) })),
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
  const verdict = r.status === 'success' ? 'PASS' : 'FAIL';
  const counts = new Map<string, number>();
  for (const s of r.steps) counts.set(s.status, (counts.get(s.status) ?? 0) + 1);
  const countText = [...counts].map(([k, v]) => `${v} ${k}`).join(', ') || 'no steps';
  lines.push(`${verdict} ${r.cookbook}${r.cluster ? ` on ${r.cluster}` : ''}: ${r.status}${r.dryRun ? ' (dry-run)' : ''} in ${formatMs(r.durationMs)}; steps: ${countText}`);
  for (const s of r.steps) lines.push(`  ${STEP_MARK[s.status] ?? '?'} ${s.name} (${s.status}, ${formatMs(s.durationMs)})${s.note ? ` - ${s.note}` : ''}`);
  if (r.changes.length) {
    lines.push(r.dryRun ? 'Planned changes:' : 'Changes:');
    for (const c of r.changes) lines.push(`  - ${c.action} ${c.target}`);
  } else {
    lines.push(r.dryRun ? 'Planned changes: none' : 'Changes: none');
  }
  if (r.rollback && r.rollback !== 'none') lines.push(`Rollback: ${r.rollback}`);
  if (r.error) {
    lines.push(`Error (${String(r.error.class)}): ${String(r.error.message)}`);
    if (r.error.hint) lines.push(`Hint: ${String(r.error.hint)}`);
  }
  lines.push(`Journal: ${r.journal}`);
  lines.push(`Log: ${r.log}`);
  return redactText(lines.join('\n'));
}
