// The per-run journal: a JSON file under <state dir>/journals/<cookbook>/ rewritten atomically on every step
// transition, so a run killed at any point leaves a record of where it was. A later run with the same
// cookbook, cluster and arguments finds an unfinished journal and resumes: steps re-check the world
// (ensure-style) and decisions stored with memo() (a chosen host name, a rollout start time) are reused.
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Change } from './gate.js';
import type { AuditRecord, PlanProblem, RunStatus, StepStatus, Verdict } from './events.js';
import { redactEntry, redactValue, secretsGeneration } from './redact.js';

/**
 * Changes up to this many are each flushed with the whole journal; past it (a deploy of thousands of objects,
 * the evictions of a rolling reboot) each further change is appended to a side file (`<run>.changes.jsonl`,
 * merged back by Journal.read) so that recording N changes costs O(N), not O(N²) rewrites of an ever longer
 * file. Step transitions and memos rewrite the journal without them; the end of the run (or a secret
 * registered after some were written) writes them all inline again and drops the side file.
 */
export const CHANGES_FLUSHED_INLINE = 16;

/** One step as recorded. */
export interface StepRecord {
  name: string;
  status: StepStatus;
  startedAt: string;
  finishedAt?: string;
  durationMs?: number;
  note?: string;
  error?: Record<string, unknown>;
}

/** The journal file's content. */
export interface JournalData {
  version: 1;
  runId: string;
  key: string;
  cookbook: string;
  cluster?: string;
  args: Record<string, unknown>;
  dryRun: boolean;
  status: RunStatus | 'running';
  pid: number;
  host: string;
  startedAt: string;
  finishedAt?: string;
  resumedFrom?: string;
  /** Set when a later run resumed from this one. */
  supersededBy?: string;
  steps: StepRecord[];
  changes: Change[];
  /** Decisions that must survive a resume (never secrets: everything is redacted on write). */
  memo: Record<string, unknown>;
  error?: Record<string, unknown>;
  /** Who started the run and why (the audit trail). */
  operator?: string;
  reason?: string;
  taskId?: string;
  /** Dry-run problems recorded with ctx.planProblem(). */
  problems?: PlanProblem[];
  /** A dry-run's verdict, set when it finished. */
  verdict?: Verdict;
  /** The cookbook's return value (redacted), so a re-run can report a completed run. */
  result?: unknown;
  /** When the end of the run was shown to the operator; missing on a run killed before it could report. */
  reportedAt?: string;
  /** A later invocation that reported this (completed but unreported) run instead of repeating it. */
  reportedBy?: string;
}

/** Stable JSON with sorted keys, for journal keys. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The key that identifies "the same run": cookbook, cluster and arguments. */
export function journalKey(cookbook: string, cluster: string | undefined, args: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJson({ cookbook, cluster: cluster ?? null, args })).digest('hex').slice(0, 32);
}

/** A run's journal, flushed to disk on every change. */
export class Journal {
  readonly path: string;
  readonly data: JournalData;

  /** Serialized, redacted changes (changes are append-only), valid for one array and one secrets generation. */
  private changeCache: { of: Change[] | undefined; generation: number; json: string[] } = { of: undefined, generation: -1, json: [] };
  /** The open side file (kept open: one write per change, not an open and a close). */
  private sideFd: number | undefined;
  /** How many changes the main file holds; the rest are in the side file. */
  private inline = 0;
  /** The secrets generation the side file's lines were redacted with. */
  private sideGeneration = -1;
  /** Serialized, redacted memo entries by key: a memo is replaced by remember(), never edited in place. */
  private memoCache = new Map<string, { of: unknown; generation: number; json: string }>();
  /** The secrets generation each change recorded by addChange was redacted with. */
  private changeGenerations = new WeakMap<Change, number>();
  /** Serialized, redacted finished steps (a step record changes only until it ends). */
  private stepCache = new WeakMap<StepRecord, { generation: number; json: string }>();

  private constructor(path: string, data: JournalData) {
    this.path = path;
    this.data = data;
  }

  /** The side file that holds changes recorded past CHANGES_FLUSHED_INLINE until the next full flush. */
  get changesPath(): string {
    return this.path.replace(/\.json$/, '.changes.jsonl');
  }

  /** Creates the journal of a new run (optionally resuming from an earlier one) and writes it. */
  static create(
    stateDir: string,
    init: { runId: string; cookbook: string; cluster?: string; args: Record<string, unknown>; dryRun: boolean; resumeFrom?: Journal; audit?: Pick<AuditRecord, 'operator' | 'reason' | 'taskId'> },
  ): Journal {
    const dir = journalDir(stateDir, init.cookbook);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const data: JournalData = {
      version: 1,
      runId: init.runId,
      key: journalKey(init.cookbook, init.cluster, init.args),
      cookbook: init.cookbook,
      cluster: init.cluster,
      args: redactValue(init.args),
      dryRun: init.dryRun,
      status: 'running',
      pid: process.pid,
      host: hostname(),
      startedAt: new Date().toISOString(),
      resumedFrom: init.resumeFrom?.data.runId,
      steps: [],
      changes: [],
      memo: init.resumeFrom ? { ...init.resumeFrom.data.memo } : {},
      operator: init.audit?.operator,
      reason: init.audit?.reason,
      taskId: init.audit?.taskId,
    };
    const journal = new Journal(join(dir, `${init.runId}.json`), data);
    journal.flush();
    if (init.resumeFrom) {
      init.resumeFrom.data.supersededBy = init.runId;
      init.resumeFrom.flush();
    }
    return journal;
  }

  /** Reads a journal file. */
  static read(path: string): Journal {
    const journal = new Journal(path, JSON.parse(readFileSync(path, 'utf8')) as JournalData);
    journal.inline = Array.isArray(journal.data.changes) ? journal.data.changes.length : 0;
    journal.mergeSideChanges();
    return journal;
  }

  /** Adds the changes a killed run appended to its side file after its last full flush. */
  private mergeSideChanges(): void {
    let text: string;
    try {
      text = readFileSync(this.changesPath, 'utf8');
    } catch {
      return;
    }
    const changes = (this.data.changes ??= []);
    for (const line of text.split('\n')) {
      let entry: { i: number; change: Change };
      try {
        entry = JSON.parse(line) as { i: number; change: Change };
      } catch {
        continue; // a torn last line of a killed run
      }
      if (typeof entry?.i === 'number' && entry.i === changes.length) changes.push(entry.change);
    }
  }

  /** The newest unfinished, real (not dry-run), not yet resumed journal with this key, if any. */
  static findResumable(stateDir: string, cookbook: string, key: string): Journal | undefined {
    const candidates = scanJournals(stateDir, { cookbook, realOnly: true }).filter(
      (j) => j.data.key === key && !j.data.supersededBy && j.data.status !== 'success' && j.data.status !== 'aborted',
    );
    return candidates.at(-1);
  }

  /** The last step that did not finish (running or failed), for "stopped at" messages. */
  get stoppedAt(): string | undefined {
    const last = [...this.data.steps].reverse().find((s) => s.status === 'running' || s.status === 'failed');
    return last?.name ?? this.data.steps.at(-1)?.name;
  }

  /** Records the start of a step; returns its index. */
  stepStarted(name: string): number {
    this.data.steps.push({ name, status: 'running', startedAt: new Date().toISOString() });
    this.flush();
    return this.data.steps.length - 1;
  }

  /** Records the end of a step. */
  stepEnded(index: number, status: StepStatus, extra: { note?: string; error?: Record<string, unknown> } = {}): StepRecord {
    const step = this.data.steps[index]!;
    step.status = status;
    step.finishedAt = new Date().toISOString();
    step.durationMs = Date.parse(step.finishedAt) - Date.parse(step.startedAt);
    if (extra.note) step.note = extra.note;
    if (extra.error) step.error = redactValue(extra.error);
    this.flush();
    return step;
  }

  /** Records a change (performed or planned). */
  addChange(change: Change): void {
    const redacted = redactValue(change);
    this.changeGenerations.set(redacted, secretsGeneration());
    this.data.changes.push(redacted);
    if (this.data.changes.length <= CHANGES_FLUSHED_INLINE) return this.flush();
    this.sideFd ??= openSync(this.changesPath, 'a', 0o600);
    if (this.sideGeneration < 0) this.sideGeneration = secretsGeneration();
    writeSync(this.sideFd, `${JSON.stringify({ i: this.data.changes.length - 1, change: redacted })}\n`);
  }

  /** Records a dry-run problem (the verdict's input). */
  addProblem(problem: PlanProblem): void {
    (this.data.problems ??= []).push(redactValue(problem));
    this.flush();
  }

  /** Stores a decision for resumes. */
  setMemo(key: string, value: unknown): void {
    this.data.memo[key] = redactValue(value);
    this.flush();
  }

  /** Marks the run finished. */
  finish(status: RunStatus, error?: Record<string, unknown>, extra: { result?: unknown; verdict?: Verdict } = {}): void {
    this.data.status = status;
    this.data.finishedAt = new Date().toISOString();
    if (error) this.data.error = redactValue(error);
    if (extra.result !== undefined) this.data.result = redactValue(extra.result);
    if (extra.verdict) this.data.verdict = redactValue(extra.verdict);
    this.flush(true);
  }

  /** Marks the run's end as shown to the operator (summary or --json printed). */
  reported(by?: string): void {
    this.data.reportedAt = new Date().toISOString();
    if (by) this.data.reportedBy = by;
    this.flush(true);
  }

  /**
   * Writes the journal atomically (temp file + rename), redacted. Changes already in the side file stay there
   * unless `all` (the end of the run) or a secret registered since they were written: then every change is
   * written inline, re-redacted, and the side file goes.
   */
  flush(all = false): void {
    const changes = Array.isArray(this.data.changes) ? this.data.changes : [];
    const stale = this.sideFd !== undefined && this.sideGeneration !== secretsGeneration();
    const consolidate = all || stale || changes.length <= CHANGES_FLUSHED_INLINE;
    const count = consolidate ? changes.length : this.inline;
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, this.serialize(count), { mode: 0o600 });
    renameSync(tmp, this.path);
    this.inline = count;
    if (!consolidate) return;
    // Every change is in the file now; a side file left from earlier would only repeat them.
    if (this.sideFd !== undefined) closeSync(this.sideFd);
    this.sideFd = undefined;
    this.sideGeneration = -1;
    if (changes.length > CHANGES_FLUSHED_INLINE) rmSync(this.changesPath, { force: true });
  }

  /**
   * The journal, with its first `count` changes, as redacted JSON. The bulk of a big run (changes, memos such
   * as a rollout's per-node records, finished steps) is redacted and serialized once per entry and reused
   * until the entry is replaced or the set of registered secrets changes; the small rest every time.
   */
  private serialize(count: number): string {
    const { changes, memo, steps, ...head } = this.data;
    if (!Array.isArray(changes) || !Array.isArray(steps) || !memo || typeof memo !== 'object') return JSON.stringify(redactValue(this.data), null, 1);
    const generation = secretsGeneration();
    const cache = this.changeCache;
    if (cache.of !== changes || cache.generation !== generation || cache.json.length > changes.length) {
      this.changeCache = { of: changes, generation, json: [] };
    }
    const json = this.changeCache.json;
    // A change addChange redacted under today's secrets needs no second pass.
    const gens = this.changeGenerations;
    for (let i = json.length; i < count; i++) json.push(JSON.stringify(gens.get(changes[i]!) === generation ? changes[i] : redactValue(changes[i])));
    const headText = JSON.stringify(redactValue(head), null, 1);
    const list = (items: string[]): string => (items.length ? `[\n  ${items.join(',\n  ')}\n ]` : '[]');
    const stepsText = list(steps.map((st) => this.stepJson(st, generation)));
    const memoText = this.memoJson(memo, generation);
    const changesText = list(count === json.length ? json : json.slice(0, count));
    return `${headText.slice(0, headText.lastIndexOf('}')).trimEnd()},\n "steps": ${stepsText},\n "memo": ${memoText},\n "changes": ${changesText}\n}`;
  }

  /** One step as redacted JSON (cached once it has ended). */
  private stepJson(step: StepRecord, generation: number): string {
    const hit = this.stepCache.get(step);
    if (hit && hit.generation === generation) return hit.json;
    const json = JSON.stringify(redactValue(step)) ?? 'null';
    if (step.status !== 'running') this.stepCache.set(step, { generation, json });
    return json;
  }

  /** The memo object as redacted JSON, each entry serialized once per value it holds. */
  private memoJson(memo: Record<string, unknown>, generation: number): string {
    const next = new Map<string, { of: unknown; generation: number; json: string }>();
    const parts: string[] = [];
    for (const [key, value] of Object.entries(memo)) {
      if (value === undefined) continue;
      let hit = this.memoCache.get(key);
      if (!hit || hit.of !== value || hit.generation !== generation) hit = { of: value, generation, json: JSON.stringify(redactEntry(key, value)) ?? 'null' };
      next.set(key, hit);
      parts.push(`${JSON.stringify(key)}: ${hit.json}`);
    }
    this.memoCache = next;
    return parts.length ? `{\n  ${parts.join(',\n  ')}\n }` : '{}';
  }
}

/** Which journals scanJournals returns (every field optional: all of them). */
export interface JournalFilter {
  /** Only this cookbook's journals (one directory instead of all). */
  cookbook?: string;
  /** Only runs on this cluster. */
  cluster?: string;
  /** Leave out dry-runs. */
  realOnly?: boolean;
  /** Leave out this run (usually the caller's own). */
  excludeRunId?: string;
}

/**
 * The one scan of the journal directories: every readable journal under the state dir that passes the filter,
 * oldest first. Torn temp files and foreign files are skipped: they are not runs.
 */
export function scanJournals(stateDir: string, filter: JournalFilter = {}): Journal[] {
  const root = join(stateDir, 'journals');
  let cookbooks: string[];
  try {
    cookbooks = filter.cookbook !== undefined ? [filter.cookbook] : readdirSync(root);
  } catch {
    return [];
  }
  const out: Journal[] = [];
  for (const c of cookbooks) {
    let files: string[];
    try {
      files = readdirSync(journalDir(stateDir, c)).filter((f) => f.endsWith('.json'));
    } catch {
      continue;
    }
    for (const f of files) {
      let j: Journal;
      try {
        j = Journal.read(join(journalDir(stateDir, c), f));
      } catch {
        continue;
      }
      if (j.data.version !== 1 || typeof j.data.runId !== 'string') continue;
      if (filter.cluster !== undefined && j.data.cluster !== filter.cluster) continue;
      if (filter.realOnly && j.data.dryRun) continue;
      if (filter.excludeRunId !== undefined && j.data.runId === filter.excludeRunId) continue;
      out.push(j);
    }
  }
  return out.sort((a, b) => (a.data.startedAt < b.data.startedAt ? -1 : a.data.startedAt > b.data.startedAt ? 1 : 0));
}

/** Every readable journal under the state dir (all cookbooks), oldest first. */
export function readAllJournals(stateDir: string): Journal[] {
  return scanJournals(stateDir);
}

/** How long a completed run that was never reported counts as "just done" for a re-run with the same arguments. */
export const COMPLETED_RUN_WINDOW_MS = 24 * 3600_000;

/**
 * A successful real run with this key whose end was never reported (the process died between writing
 * "success" and printing its result), if it is still the latest word on its cluster: the newest real run
 * with this key, no other real run on the same cluster started after it finished, and finished within
 * COMPLETED_RUN_WINDOW_MS. A re-run reports it as done instead of repeating it (e.g. adding a second node).
 */
export function findCompletedUnreported(stateDir: string, key: string, now = Date.now()): Journal | undefined {
  const all = readAllJournals(stateDir).filter((j) => !j.data.dryRun);
  const same = all.filter((j) => j.data.key === key);
  const latest = same.at(-1);
  if (!latest || latest.data.status !== 'success' || latest.data.reportedAt || !latest.data.finishedAt) return undefined;
  if (now - Date.parse(latest.data.finishedAt) > COMPLETED_RUN_WINDOW_MS) return undefined;
  const since = all.some((j) => j !== latest && j.data.cluster === latest.data.cluster && j.data.startedAt >= latest.data.finishedAt!);
  return since ? undefined : latest;
}

/** Where a cookbook's journals live. */
export function journalDir(stateDir: string, cookbook: string): string {
  return join(stateDir, 'journals', cookbook);
}
