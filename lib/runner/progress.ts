// The live progress table on a TTY: progress events of one scope (a rolling reboot's or a node roll's) become
// a small table at the bottom of the terminal, one row per node with its phase and how long it has been in
// it, under a header with done/total, a bar and the ETA. Other lines keep scrolling above it: the table hooks
// the stream's write() to erase itself, let the line through and draw itself again. Off a TTY nothing here is
// used and the events stay plain log lines.
import type { StampedEvent } from '../core/events.js';
import { formatMs } from '../core/retry.js';

type ProgressEvent = Extract<StampedEvent, { type: 'progress' }>;

/** The stream the table draws on (process.stderr, or a fake one in tests). */
export interface TtyStream {
  isTTY?: boolean;
  columns?: number;
  write(chunk: string | Uint8Array, ...rest: unknown[]): boolean;
}

interface Row {
  node: string;
  phase: string;
  since: number;
  message?: string;
}

/** Phases after which a node no longer needs a row of its own. */
const FINAL = new Set(['done', 'skipped']);
/** Phases of a node that is not being worked on right now. */
const IDLE = new Set(['waiting', 'pending']);

/** Scopes of per-node rollouts shown as a table: the rolling reboot's and the node roll's (k8s.roll-nodes). */
export const TABLE_SCOPES: readonly string[] = ['reboot', 'roll'];

/** Options of a LiveProgress. */
export interface LiveProgressOptions {
  /** Progress scope shown as a table (default: TABLE_SCOPES, the first one a run reports). */
  scope?: string;
  /** Most rows shown (the rest are counted). Default 12. */
  maxRows?: number;
  now?: () => number;
  /** Redraw period for the elapsed times (0: only on events). Default 1000 ms. */
  tickMs?: number;
}

/** A table of per-node progress that stays at the bottom of a TTY. */
export class LiveProgress {
  private readonly rows = new Map<string, Row>();
  private done = 0;
  private total = 0;
  private etaMs: number | undefined;
  private drawn = 0;
  private scope: string | undefined;
  private readonly maxRows: number;
  private readonly now: () => number;
  private readonly original: TtyStream['write'];
  private readonly ownWrite: boolean;
  private timer: NodeJS.Timeout | undefined;
  private hooked = false;
  private failed = 0;

  constructor(
    private readonly stream: TtyStream,
    options: LiveProgressOptions = {},
  ) {
    this.scope = options.scope;
    this.maxRows = options.maxRows ?? 12;
    this.now = options.now ?? Date.now;
    this.original = stream.write.bind(stream);
    // process.stderr's write lives on its prototype: stop() deletes our own property rather than pinning a copy.
    this.ownWrite = Object.prototype.hasOwnProperty.call(stream, 'write');
    const tick = options.tickMs ?? 1000;
    if (tick > 0) {
      this.timer = setInterval(() => this.hooked && this.redraw(), tick);
      this.timer.unref?.();
    }
  }

  /** True for the events this table shows (they are then kept off the plain console lines). */
  handles(event: StampedEvent): event is ProgressEvent {
    if (event.type !== 'progress') return false;
    // A run shows one rollout: the first table scope it reports.
    if (this.scope === undefined && TABLE_SCOPES.includes(event.scope)) this.scope = event.scope;
    return event.scope === this.scope;
  }

  /** Takes one progress event and redraws. */
  update(event: ProgressEvent): void {
    this.hook();
    if (event.total !== undefined) this.total = event.total;
    if (event.done !== undefined) this.done = event.done;
    this.etaMs = event.etaMs;
    const previous = this.rows.get(event.target);
    if (event.phase === 'failed' && previous?.phase !== 'failed') this.failed++;
    if (FINAL.has(event.phase)) this.rows.delete(event.target);
    else this.rows.set(event.target, { node: event.target, phase: event.phase, since: previous?.phase === event.phase ? previous.since : this.now(), message: event.message });
    this.redraw();
  }

  /** The table's lines (without colours), as they are drawn. */
  lines(): string[] {
    const width = Math.max(40, (this.stream.columns || 100) - 1);
    const barWidth = 20;
    const filled = this.total ? Math.round((this.done / this.total) * barWidth) : 0;
    const active = [...this.rows.values()].filter((r) => !IDLE.has(r.phase) && r.phase !== 'failed');
    const failed = [...this.rows.values()].filter((r) => r.phase === 'failed');
    const waiting = [...this.rows.values()].filter((r) => IDLE.has(r.phase));
    const header =
      `${this.scope ?? TABLE_SCOPES[0]} [${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}] ${this.done}/${this.total} done` +
      ` · ${active.length} in flight` +
      (waiting.length ? ` · ${waiting.length} waiting` : '') +
      (this.failed ? ` · ${this.failed} failed` : '') +
      (this.etaMs !== undefined ? ` · ETA ${formatMs(this.etaMs)}` : '');
    const nodeW = Math.min(40, Math.max(4, ...[...this.rows.keys()].map((k) => k.length)));
    const row = (r: Row): string => `  ${r.node.padEnd(nodeW)}  ${r.phase.padEnd(10)}  ${formatMs(Math.max(0, this.now() - r.since)).padStart(6)}${r.message ? `  ${r.message}` : ''}`;
    const body = [...active, ...failed, ...waiting].map(row);
    const shown = body.slice(0, this.maxRows);
    if (body.length > shown.length) shown.push(`  … ${body.length - shown.length} more`);
    return [header, ...(body.length ? [`  ${'NODE'.padEnd(nodeW)}  ${'PHASE'.padEnd(10)}  ${'FOR'.padStart(6)}`] : []), ...shown].map((l) => (l.length > width ? `${l.slice(0, width - 1)}…` : l));
  }

  private clear(): void {
    // Up to the first line of the table, then erase to the end of the screen.
    if (this.drawn > 0) this.original(`\x1b[${this.drawn}F\x1b[J`);
    this.drawn = 0;
  }

  private draw(): void {
    const lines = this.lines();
    this.original(lines.join('\n') + '\n');
    this.drawn = lines.length;
  }

  private redraw(): void {
    this.clear();
    this.draw();
  }

  private hook(): void {
    if (this.hooked) return;
    this.hooked = true;
    this.stream.write = (chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
      this.clear();
      const ok = this.original(chunk, ...rest);
      this.draw();
      return ok;
    };
  }

  /** Leaves the last table on screen and gives the stream back. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (!this.hooked) return;
    this.redraw();
    this.drawn = 0;
    if (this.ownWrite) this.stream.write = this.original;
    else delete (this.stream as { write?: unknown }).write;
    this.hooked = false;
  }
}

/** A LiveProgress for the stream when it is a TTY (and NO_PROGRESS is not set), else undefined. */
export function liveProgressFor(stream: TtyStream, options: LiveProgressOptions = {}): LiveProgress | undefined {
  if (!stream.isTTY || process.env.NO_PROGRESS) return undefined;
  return new LiveProgress(stream, options);
}
