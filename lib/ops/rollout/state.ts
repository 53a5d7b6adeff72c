// The rollout's memory, kept in the run journal (ctx.remember): when it began, a mark of every target at that
// moment (the reboot's boot id), which nodes an admin had cordoned or that were down, and each node's phase
// with timestamps. A resumed run (the runner copies the memo) or a later run of the same selection (after a
// window closed, or a failure with other arguments) continues the same rollout: nodes whose work was done by
// other means since it began are done, the node in flight is finished, and nothing is done twice. The memo
// keys carry the work's name (`reboot:rollout`, `reboot:node:HOST`), so two kinds of rollout never mix.
import { createHash } from 'node:crypto';
import type { Context } from '../../core/context.js';
import { type Journal, canonicalJson, scanJournals } from '../../core/journal.js';
import type { WorkloadRef } from '../../k8s/index.js';

/**
 * A node's phase: the engine's `pending` (not started), `preflight`, `done` and `failed` (final), and in between
 * the phases of the rollout's work (NodeWork.phases).
 */
export type NodePhase = string;

/** One timed phase of a node (for the report and the measured durations). */
export interface PhaseSpan {
  phase: NodePhase;
  start: number;
  end?: number;
}

/** What the journal keeps per node. */
export interface NodeRecord {
  phase: NodePhase;
  phases: PhaseSpan[];
  /** The rollout this record belongs to (a journal copied from an older rollout may still hold its records). */
  rollout?: string;
  /** The run that last worked on the node. */
  runId: string;
  silenceId?: string;
  /** Workloads whose pods the drain evicts (recorded before the drain; waited for after the uncordon). */
  owners?: WorkloadRef[];
  /**
   * How many owners a done node had: its `owners` list is dropped once it is done (nothing reads it any more,
   * and every journal write rewrites every record: 60 nodes of ~170 workloads each made the journal grow by
   * thousands of refs and each write cost more; the drain-per-pod calibration only needs the count).
   */
  ownersCount?: number;
  /** The cordon is ours (we uncordon it), as opposed to an admin's. */
  cordonOurs?: boolean;
  failedPhase?: NodePhase;
  error?: string;
  /** We cordoned it and could not uncordon it, or an interruption stopped it while cordoned (named in the report). */
  leftCordoned?: boolean;
  /** The phase an interruption (SIGINT/SIGTERM) stopped it in. */
  interruptedPhase?: NodePhase;
  startedAt?: number;
  finishedAt?: number;
}

/** The rollout as a whole. */
export interface RolloutRecord {
  /** The run that began it. */
  id: string;
  startedAt: number;
  /** Identity of the selection: later runs with the same selection continue this rollout. */
  selectionKey: string;
  /** Nodes to work on, fixed when the rollout began. */
  targets: string[];
  /** The work's mark of every target when the rollout began (NodeWork.mark: the boot id in its Node status). */
  marks: Record<string, string | null>;
  /** Nodes cordoned by someone else when the rollout began: they stay cordoned. */
  cordonedBefore: string[];
  /** Nodes that were NotReady when the rollout began (left out; they count as unavailable). */
  notReadyBefore: string[];
  /** Selected nodes left out, with why (not needed, NotReady, ...). */
  skipped: { node: string; reason: string }[];
  /** Every run that worked on it. */
  runs: string[];
  complete?: boolean;
  completedAt?: number;
}

const rolloutKey = (work: string): string => `${work}:rollout`;
const nodePrefix = (work: string): string => `${work}:node:`;

/** A stable key for a selection (cluster + what was selected + --only-if-needed). */
export function selectionKey(cluster: string, selection: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJson({ cluster, ...selection })).digest('hex').slice(0, 24);
}

/** The rollout this run continues, if any: from its own (resumed) journal, else the newest unfinished one with the same selection. */
export function findRollout(ctx: Context, work: string, key: string, maxAgeMs: number): { rollout: RolloutRecord; nodes: Record<string, NodeRecord>; from: string } | undefined {
  const own = upgradeRecord(ctx.recall<RolloutRecord>(rolloutKey(work)));
  const fresh = (r: RolloutRecord | undefined): r is RolloutRecord => !!r && !r.complete && r.selectionKey === key && ctx.clock.now() - r.startedAt <= maxAgeMs;
  if (fresh(own)) return { rollout: own, nodes: nodesFromMemo(ctx.memos(), work, own.id), from: ctx.resumedFrom ?? ctx.runId };
  const newest = earlierJournals(ctx, work)
    .filter((j) => (j.data.memo[rolloutKey(work)] as RolloutRecord).selectionKey === key)
    .sort((a, b) => (a.data.startedAt < b.data.startedAt ? 1 : -1))[0];
  // --fresh on the newest run means: start over.
  if (!newest || newest.data.supersededBy?.startsWith('fresh:')) return undefined;
  const rollout = upgradeRecord(newest.data.memo[rolloutKey(work)] as RolloutRecord)!;
  return fresh(rollout) ? { rollout, nodes: nodesFromMemo(newest.data.memo, work, rollout.id), from: newest.data.runId } : undefined;
}

/** A rollout journaled by a version before the engine (its marks were called `bootIds`) reads as today's. */
function upgradeRecord(r: (RolloutRecord & { bootIds?: Record<string, string | null> }) | undefined): RolloutRecord | undefined {
  if (r && !r.marks && r.bootIds) r.marks = r.bootIds;
  return r;
}

/** The journals of earlier real (not dry-run) rollouts of this work on this cluster by this cookbook. */
function earlierJournals(ctx: Context, work: string): Journal[] {
  return scanJournals(ctx.stateDir, { cookbook: ctx.cookbook, cluster: ctx.cluster.name, realOnly: true, excludeRunId: ctx.runId }).filter((j) => j.data.memo[rolloutKey(work)]);
}

/**
 * The time a node took in earlier rollouts of this cluster (median of the newest `sample` finished nodes),
 * so the first estimate of a rollout is calibrated on this cluster instead of a guess; undefined without any.
 */
export function earlierNodeMs(ctx: Context, work: string, sample = 20): { perNodeMs: number; nodes: number } | undefined {
  // Journals copy the records of the runs they continue: one entry per rollout and node.
  const seen = new Map<string, { ms: number; at: number }>();
  for (const j of earlierJournals(ctx, work)) {
    for (const [k, v] of Object.entries(j.data.memo)) {
      if (!k.startsWith(nodePrefix(work))) continue;
      const rec = v as NodeRecord;
      const ms = RolloutState.totalMs(rec);
      if (ms !== undefined && !rec.error) seen.set(`${rec.rollout}/${k}`, { ms, at: rec.finishedAt ?? 0 });
    }
  }
  const newest = [...seen.values()].sort((a, b) => b.at - a.at).slice(0, sample).map((e) => e.ms).sort((a, b) => a - b);
  if (newest.length === 0) return undefined;
  const mid = Math.floor(newest.length / 2);
  return { perNodeMs: newest.length % 2 ? newest[mid]! : (newest[mid - 1]! + newest[mid]!) / 2, nodes: newest.length };
}

function nodesFromMemo(memo: Record<string, unknown>, work: string, rolloutId: string): Record<string, NodeRecord> {
  const out: Record<string, NodeRecord> = {};
  for (const [k, v] of Object.entries(memo)) {
    const rec = v as NodeRecord;
    if (k.startsWith(nodePrefix(work)) && rec.rollout === rolloutId) out[k.slice(nodePrefix(work).length)] = rec;
  }
  return out;
}

/**
 * The rollout state of one run: reads and writes go through the journal, so a kill loses nothing. `R` is the
 * record with the work's own facts (the reboot's boot ids).
 */
export class RolloutState<R extends NodeRecord = NodeRecord> {
  readonly rollout: RolloutRecord;
  private readonly nodes: Map<string, R>;

  constructor(
    private readonly ctx: Context,
    /** The work's name (NodeWork.name): the prefix of its memo keys. */
    readonly work: string,
    rollout: RolloutRecord,
    nodes: Record<string, R> = {},
  ) {
    this.rollout = rollout;
    this.nodes = new Map(Object.entries(nodes));
    if (!this.rollout.runs.includes(ctx.runId)) this.rollout.runs.push(ctx.runId);
    // Copy everything into this run's journal: the next run finds it here.
    this.saveRollout();
    for (const [name, rec] of this.nodes) this.persist(name, rec);
  }

  /** Writes the rollout record (not in dry-run: a plan must not begin a rollout). */
  saveRollout(): void {
    if (!this.ctx.dryRun) this.ctx.remember(rolloutKey(this.work), this.rollout);
  }

  private persist(name: string, rec: R): void {
    if (!this.ctx.dryRun) this.ctx.remember(`${nodePrefix(this.work)}${name}`, rec);
  }

  /** A node's record (pending when it has none). */
  node(name: string): R {
    return this.nodes.get(name) ?? ({ phase: 'pending', phases: [], runId: this.ctx.runId, rollout: this.rollout.id } as NodeRecord as R);
  }

  /** Every node with a record. */
  records(): Map<string, R> {
    return new Map(this.nodes);
  }

  /**
   * Updates a node's record; journals it unless `persist` is false (then the next journaled update carries
   * it). Every journal write rewrites the whole file, so only what a resumed run needs is written at once.
   */
  update(name: string, patch: Partial<R>, persist = true): R {
    const rec: R = { ...this.node(name), ...patch, runId: this.ctx.runId, rollout: this.rollout.id };
    this.nodes.set(name, rec);
    if (persist) this.persist(name, rec);
    return rec;
  }

  /** Moves a node into a phase (closes the open span, opens the next), with other facts in the same update. */
  enter(name: string, phase: NodePhase, now: number, patch: Partial<R> = {}, persist = true): R {
    const rec = this.node(name);
    const phases = rec.phases.map((p) => ({ ...p }));
    const open = phases.at(-1);
    if (open && open.end === undefined) {
      if (open.phase === phase) return Object.keys(patch).length ? this.update(name, patch, persist) : rec;
      open.end = now;
    }
    if (phase !== 'done' && phase !== 'failed') phases.push({ phase, start: now });
    const move: Partial<NodeRecord> = { phase, phases, startedAt: rec.startedAt ?? now, ...(phase === 'done' || phase === 'failed' ? { finishedAt: now } : {}) };
    return this.update(name, { ...patch, ...move } as Partial<R>, persist);
  }

  /** Marks the rollout finished: the next run with this selection begins a new one. */
  complete(now: number): void {
    this.rollout.complete = true;
    this.rollout.completedAt = now;
    this.saveRollout();
  }

  /** Cordon to uncordon of a finished node (the cycle the bench measures), if known. */
  static cycleMs(rec: NodeRecord): number | undefined {
    const start = rec.phases.find((p) => p.phase === 'cordon')?.start;
    const end = rec.phases.find((p) => p.phase === 'uncordon')?.end;
    return start !== undefined && end !== undefined ? end - start : undefined;
  }

  /** Time a finished node spent in its phases (what the next node is expected to take); gaps between runs do not count. */
  static totalMs(rec: NodeRecord): number | undefined {
    if (rec.phase !== 'done' || rec.phases.length === 0) return undefined;
    return rec.phases.reduce((acc, p) => acc + ((p.end ?? p.start) - p.start), 0);
  }
}
