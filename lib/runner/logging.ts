// The run's two log views through winston: human lines on the console (stderr, colours only on a TTY) and a
// JSON-lines file per run, both redacted. Kept cheap for runs that change thousands of objects (a component
// deploy): one logger per run whose transports only print a line built before it reaches winston (no per-line
// format chain: timestamp, colour and redaction are done once, here), the console line built only when its level
// is shown, and past the first CHANGES_ONE_BY_ONE changes the changes, and the progress events between them (a
// drain's per-pod evicting/gone), are logged in batches: one file line and one console block per second or per
// CHANGES_PER_BATCH events (every change is in the journal one by one anyway). A 60-node reboot's ~25,000 drain
// progress events, logged one by one, each flushing a batch of one change, cost ~180 us apiece.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import winston from 'winston';
import type { EventBus, StampedEvent } from '../core/events.js';
import type { Change } from '../core/gate.js';
import { redactText, redactValue } from '../core/redact.js';
import { liveProgressFor } from './progress.js';

/** Changes logged one line each at the start of a run (what a run of a few changes shows, as always). */
export const CHANGES_ONE_BY_ONE = 16;
/** Past those, one batch line at most every second or per this many events. */
export const CHANGES_PER_BATCH = 500;
const BATCH_MS = 1000;

/** Options for the two log views. */
export interface LoggingOptions {
  logDir: string;
  runId: string;
  cookbook: string;
  verbose: boolean;
  /** Console lines off entirely (e.g. --json with --quiet); the file still gets everything. */
  console?: boolean;
}

/** What the views need from the output module (passed in: output.ts re-exports this module). */
export interface EventText {
  renderEvent(e: StampedEvent): string | undefined;
  levelOf(e: StampedEvent): string;
  describeChange(c: Change): string;
}

// winston's npm levels and colorize colours, applied here once per line instead of by a format chain.
const LEVEL_RANK: Record<string, number> = winston.config.npm.levels;
const LEVEL_COLOUR: Record<string, number> = { error: 31, warn: 33, info: 32, http: 32, verbose: 36, debug: 34, silly: 35 };
const MESSAGE = Symbol.for('message');

/** HH:mm:ss in local time (the console's timestamp). */
function clockTime(d = new Date()): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

/** The line a record carries for a transport (built before logging), as winston's MESSAGE; none: skipped there. */
function printOnly(field: 'fileLine' | 'consoleLine'): winston.Logform.Format {
  return winston.format((info) => {
    const line = info[field];
    if (typeof line !== 'string') return false;
    (info as unknown as Record<symbol, string>)[MESSAGE] = line;
    return info;
  })();
}

/** One console line for a batch of changes: consecutive changes with the same verb are counted, first and last named. */
export function batchText(changes: readonly Change[], describe: (c: Change) => string): string {
  const groups: Change[][] = [];
  for (const c of changes) {
    const g = groups.at(-1);
    if (g && g[0]!.action === c.action && g[0]!.planned === c.planned) g.push(c);
    else groups.push([c]);
  }
  return groups
    .map((g) => {
      const verb = g[0]!.planned ? 'would' : 'did';
      if (g.length === 1) return `  ${verb} ${describe(g[0]!)}`;
      return `  ${verb} ${g[0]!.action} ×${g.length}: ${g[0]!.target} … ${g.at(-1)!.target}`;
    })
    .join('\n');
}

/** Attaches the console and file views to the bus; returns the file path and a close() that flushes. */
export function attachLogViews(events: EventBus, options: LoggingOptions, text: EventText): { file: string; close(): Promise<void> } {
  mkdirSync(options.logDir, { recursive: true, mode: 0o700 });
  const file = join(options.logDir, `${options.runId}-${options.cookbook}.jsonl`);
  const color = Boolean(process.stderr.isTTY) && !process.env.NO_COLOR;
  // On a TTY the rolling reboot's progress is a live table instead of one line per event (the file keeps all).
  const live = options.console !== false ? liveProgressFor(process.stderr) : undefined;
  const consoleLevel = options.verbose ? 'debug' : 'info';
  const transports: winston.transport[] = [
    new winston.transports.File({ filename: file, level: 'debug', options: { flags: 'a', mode: 0o600, highWaterMark: 1 << 20 }, format: printOnly('fileLine') }),
  ];
  if (options.console !== false) {
    transports.push(new winston.transports.Console({ level: consoleLevel, stderrLevels: Object.keys(LEVEL_RANK), format: printOnly('consoleLine') }));
  }
  // No logger-wide format (winston's default would serialise every record to JSON once more).
  const logger = winston.createLogger({ levels: winston.config.npm.levels, level: 'debug', format: winston.format((info) => info)(), transports });
  const shows = (level: string): boolean => options.console !== false && (LEVEL_RANK[level] ?? 0) <= LEVEL_RANK[consoleLevel]!;
  const consoleLine = (level: string, message: string): string => {
    const shown = color ? `\x1b[${LEVEL_COLOUR[level] ?? 39}m${level}\x1b[39m`.padEnd(15) : level.padEnd(5);
    return `${clockTime()} ${shown} ${redactText(message)}`;
  };

  type Batched = Extract<StampedEvent, { type: 'change' | 'progress' }>;
  let changes = 0;
  let batch: Batched[] = [];
  // The console lines of the batch's progress events (those the live table does not show), built as they come.
  let progressLines: string[] = [];
  let batchTimer: NodeJS.Timeout | undefined;
  const flushBatch = (): void => {
    if (batchTimer) clearTimeout(batchTimer);
    batchTimer = undefined;
    if (batch.length === 0) return;
    const done = batch;
    const lines = progressLines;
    batch = [];
    progressLines = [];
    const changed = done.filter((e): e is Extract<Batched, { type: 'change' }> => e.type === 'change').map((e) => e.change);
    const progress = done.filter((e) => e.type === 'progress').map(({ type: _t, ...rest }) => rest);
    const record = { type: 'batch', at: done[0]!.at, until: done.at(-1)!.at, count: changed.length, changes: changed, ...(progress.length ? { progress } : {}) };
    const shown = [...(changed.length ? [batchText(changed, text.describeChange)] : []), ...lines];
    logger.log({ level: 'info', message: 'batch', fileLine: JSON.stringify(redactValue(record)), consoleLine: shown.length && shows('info') ? consoleLine('info', shown.join('\n')) : undefined });
  };
  const addToBatch = (event: Batched): void => {
    batch.push(event);
    if (batch.length >= CHANGES_PER_BATCH || Date.parse(event.at) - Date.parse(batch[0]!.at) >= BATCH_MS) flushBatch();
    else batchTimer ??= setTimeout(flushBatch, BATCH_MS).unref();
  };

  const off = events.on((event) => {
    if (event.type === 'output') return;
    if (event.type === 'change' && ++changes > CHANGES_ONE_BY_ONE) return addToBatch(event);
    if (event.type === 'progress' && changes > CHANGES_ONE_BY_ONE) {
      if (live?.handles(event)) live.update(event);
      else if (shows(text.levelOf(event))) progressLines.push(text.renderEvent(event) ?? event.type);
      return addToBatch(event);
    }
    // Whatever follows a batch is logged after it (a step's end after its changes).
    flushBatch();
    const level = text.levelOf(event);
    const fileLine = JSON.stringify(redactValue(event));
    const fileOnly = live?.handles(event) ?? false;
    if (fileOnly) live!.update(event as Extract<StampedEvent, { type: 'progress' }>);
    let line: string | undefined;
    if (!fileOnly && shows(level)) {
      const fields = event.type === 'log' && event.fields && Object.keys(event.fields).length ? ` ${JSON.stringify(redactValue(event.fields))}` : '';
      line = consoleLine(level, (text.renderEvent(event) ?? event.type) + fields);
    }
    logger.log({ level, message: event.type, fileLine, consoleLine: line });
  });
  return {
    file,
    close: () =>
      new Promise<void>((resolve) => {
        flushBatch();
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
