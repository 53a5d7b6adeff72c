// k8s.upgrade's one HTML report (--report FILE.html) of every node's phases across every minor of the run:
// the rollout engine's page (rollout/report.ts) with one row per node and minor, control nodes included (their
// kubeadm upgrade apply|node, cordon, drain, packages, kubelet, uncordon), workers as the rollout engine timed
// them. Rows live in the journal (memo), so a resumed run's report still shows what the earlier runs did.
import type { Context } from '../../core/context.js';
import type { ChartPhase, ReportStyle } from '../rollout/report.js';
import { writeReport } from '../rollout/report.js';
import type { RolloutResult } from '../rollout/result.js';
import { type NodeRecord, RolloutState } from '../rollout/state.js';
import { compareVersions } from './versions.js';
import { UPGRADE_REPORT } from './work.js';

/** One node's part in one minor step. */
export interface UpgradeRow extends NodeRecord {
  node: string;
  /** The exact version of the step (1.30.14). */
  version: string;
  kind: 'first-control' | 'control' | 'worker';
}

/** The memo key of the report's rows (a journal copies it into the runs that continue it). */
const ROWS_KEY = 'upgrade:report-rows';
/** The rollout engine's records of the workers (the work is named `upgrade`). */
const WORKER_PREFIX = 'upgrade:node:';

const CHART: readonly ChartPhase[] = [{ phase: 'kubeadm', label: 'kubeadm upgrade apply|node', color: '#0f766e' }, ...UPGRADE_REPORT.chart];

/** The style of the whole upgrade's page: the workers' phases plus the control nodes' kubeadm. */
export const UPGRADE_FULL_REPORT: ReportStyle = {
  ...UPGRADE_REPORT,
  heading: 'Kubernetes upgrade',
  chart: CHART,
  chartPhase: { ...UPGRADE_REPORT.chartPhase, kubeadm: 'kubeadm' },
  column: { header: 'step', cell: (rec: NodeRecord) => `${(rec as UpgradeRow).version ?? ''} ${(rec as UpgradeRow).kind === 'worker' ? 'worker' : (rec as UpgradeRow).kind === 'first-control' ? 'kubeadm upgrade apply' : 'kubeadm upgrade node'}` },
};

/** The row key of a node in a minor step (also its label on the page). */
export const rowKey = (node: string, version: string): string => `${node} (1.${version.split('.')[1]})`;

function rows(ctx: Context): Record<string, UpgradeRow> {
  return { ...(ctx.recall<Record<string, UpgradeRow>>(ROWS_KEY) ?? {}) };
}

/**
 * The timer of a control node's phases, kept in the journal at every phase: a run killed midway leaves its
 * phases, and the run that continues adds its own to them (as the rollout engine does for workers).
 */
export function controlRow(ctx: Context, node: string, version: string, kind: 'first-control' | 'control'): { enter(phase: string): void; done(skipped: boolean): void; fail(err: unknown): void } {
  const key = rowKey(node, version);
  const earlier = rows(ctx)[key];
  const continued = earlier && earlier.phase !== 'done' ? structuredClone(earlier) : undefined;
  // The span a kill interrupted ends where it is known to have been: at its start.
  const open = continued?.phases.at(-1);
  if (open && open.end === undefined) open.end = open.start;
  const rec: UpgradeRow = continued ? { ...continued, runId: ctx.runId, failedPhase: undefined, error: undefined } : { node, version, kind, phase: 'pending', phases: [], runId: ctx.runId };
  const close = (): void => {
    const last = rec.phases.at(-1);
    if (last && last.end === undefined) last.end = ctx.clock.now();
  };
  const save = (): void => {
    if (ctx.dryRun) return;
    ctx.remember(ROWS_KEY, { ...rows(ctx), [key]: rec });
  };
  return {
    enter(phase) {
      close();
      const now = ctx.clock.now();
      rec.startedAt ??= now;
      rec.phase = phase;
      rec.phases.push({ phase, start: now });
      save();
    },
    done(skipped) {
      close();
      // Done by an earlier run: that run's timings stay.
      if (skipped && earlier?.phase === 'done') return;
      rec.phase = 'done';
      rec.finishedAt = skipped && rec.phases.length ? (rec.phases.at(-1)!.end ?? ctx.clock.now()) : ctx.clock.now();
      save();
    },
    fail(err) {
      close();
      rec.failedPhase = rec.phase;
      rec.phase = 'failed';
      rec.error = (err as Error)?.message?.split('\n')[0] ?? String(err);
      rec.finishedAt = ctx.clock.now();
      save();
    },
  };
}

/** Copies the rollout engine's records of a minor's workers (the next minor's rollout reuses their keys). */
export function keepWorkerRows(ctx: Context, version: string, rolloutId: string): void {
  if (ctx.dryRun) return;
  const out = rows(ctx);
  for (const [k, v] of Object.entries(ctx.memos())) {
    const rec = v as NodeRecord;
    if (!k.startsWith(WORKER_PREFIX) || rec.rollout !== rolloutId) continue;
    const node = k.slice(WORKER_PREFIX.length);
    // A resumed run finds the node done (no phases of its own): the earlier run's timings stay.
    const kept = out[rowKey(node, version)];
    if (kept?.phase === 'done' && kept.phases.length && !rec.phases.length) continue;
    out[rowKey(node, version)] = { ...rec, node, version, kind: 'worker' };
  }
  ctx.remember(ROWS_KEY, out);
}

/** What the page says beyond the rows. */
export interface UpgradeReportFacts {
  /** Every node of every minor step, in the upgrade's order: [node, version, kind]. */
  order: [string, string, UpgradeRow['kind']][];
  maxUnavailable: number;
  predictedMs?: number;
  error?: string;
}

/** Writes the upgrade's page (every node of every minor, control nodes first in each); returns its path. */
export function writeUpgradeReport(ctx: Context, path: string, facts: UpgradeReportFacts): string {
  const kept = rows(ctx);
  const nodes: Record<string, NodeRecord> = {};
  // Minors an earlier run of this upgrade finished (a resumed run no longer has them to do) come first.
  const planned = new Set(facts.order.map(([node, version]) => rowKey(node, version)));
  const rank = { 'first-control': 0, control: 1, worker: 2 } as const;
  const earlier = Object.entries(kept)
    .filter(([k]) => !planned.has(k))
    .sort(([, a], [, b]) => compareVersions(a.version, b.version) || rank[a.kind] - rank[b.kind] || (a.startedAt ?? 0) - (b.startedAt ?? 0) || a.node.localeCompare(b.node, 'en', { numeric: true }));
  for (const [k, rec] of earlier) nodes[k] = rec;
  for (const [node, version, kind] of facts.order) nodes[rowKey(node, version)] = kept[rowKey(node, version)] ?? { node, version, kind, phase: 'pending', phases: [], runId: '' } as UpgradeRow;
  const order = Object.keys(nodes);
  const done = order.filter((n) => nodes[n]!.phase === 'done');
  const failed = order.filter((n) => nodes[n]!.phase === 'failed');
  const started = Math.min(...Object.values(nodes).map((r) => r.startedAt ?? Number.POSITIVE_INFINITY), ctx.clock.now());
  const perNode: Record<string, number> = {};
  for (const n of done) {
    const ms = RolloutState.cycleMs(nodes[n]!);
    if (ms !== undefined) perNode[n] = ms;
  }
  const cycles = Object.values(perNode).sort((a, b) => a - b);
  const result: RolloutResult = {
    cluster: ctx.cluster.name,
    dryRun: ctx.dryRun,
    rollout: { id: ctx.resumedFrom ?? ctx.runId, startedAt: new Date(started).toISOString(), continued: !!ctx.resumedFrom, complete: done.length === order.length },
    targets: order,
    done,
    rebootedThisRun: done.filter((n) => nodes[n]!.runId === ctx.runId),
    started: order.filter((n) => nodes[n]!.phase !== 'pending'),
    remaining: order.filter((n) => nodes[n]!.phase !== 'done'),
    skipped: [],
    failed: failed.map((n) => ({ node: n, phase: nodes[n]!.failedPhase ?? '?', error: nodes[n]!.error ?? facts.error ?? '', leftCordoned: !!nodes[n]!.leftCordoned })),
    leftCordoned: order.filter((n) => nodes[n]!.leftCordoned),
    silencesLeft: [],
    cycleMs: { median: cycles.length ? cycles[Math.floor(cycles.length / 2)] : undefined, perNode },
    plan: ctx.dryRun ? { order, batches: order.map((n) => [n]), predictedMs: facts.predictedMs ?? 0, stuck: [] } : undefined,
    limits: { maxUnavailable: facts.maxUnavailable, roleLimits: {} },
  };
  const rollout = { id: result.rollout.id, startedAt: started, selectionKey: 'upgrade', targets: order, marks: {}, cordonedBefore: [], notReadyBefore: [], skipped: [], runs: [...new Set([ctx.resumedFrom, ctx.runId].filter((r): r is string => !!r))] };
  return writeReport(path, { result, rollout, nodes, generatedAt: ctx.clock.now(), audit: ctx.audit, style: UPGRADE_FULL_REPORT });
}
