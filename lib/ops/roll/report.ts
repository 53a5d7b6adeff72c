// How a roll's HTML report reads (--report FILE.html): the rollout engine's page (rollout/report.ts) with the
// roll's phases (a new node's VM and join, or both as one add when its VM was not built with others; an old
// node's removal) and a column saying which nodes are new.
import type { ChartPhase, ReportStyle } from '../rollout/report.js';
import { writeReport } from '../rollout/report.js';
import type { RolloutResult } from '../rollout/result.js';
import type { NodeRecord, RolloutState } from '../rollout/state.js';
import type { AuditRecord } from '../../core/events.js';
import type { StoredRoll } from './execute.js';

/** A roll's node record: whether the node is one the roll adds or one it removes. */
export interface RollRecord extends NodeRecord {
  kind?: 'new' | 'old';
}

const CHART: readonly ChartPhase[] = [
  { phase: 'vm', label: 'create VM', color: '#3a86ff' },
  { phase: 'join', label: 'join, Ready', color: '#14a39a' },
  { phase: 'add', label: 'create VM, join, Ready', color: '#7b61ff' },
  { phase: 'remove', label: 'drain, remove', color: '#f0812e' },
  { phase: 'planned', label: 'planned', color: '#c3cfe2' },
];

/** The roll's report style. */
export const ROLL_REPORT: ReportStyle = {
  cookbook: 'k8s.roll-nodes',
  heading: 'Node roll',
  participle: 'done',
  chart: CHART,
  chartPhase: { vm: 'vm', join: 'join', add: 'add', remove: 'remove' },
  column: { header: 'part', cell: (rec: RollRecord) => (rec.kind === 'new' ? 'added' : rec.kind === 'old' ? 'removed' : '') },
};

/** What the report needs beyond the state. */
export interface RollReportFacts {
  cluster: string;
  dryRun: boolean;
  plan: StoredRoll;
  skipped: { node: string; reason: string }[];
  error?: string;
  audit?: AuditRecord;
}

/** Writes the roll's report page; returns its absolute path. */
export function writeRollReport(path: string, state: RolloutState, facts: RollReportFacts): string {
  const { plan } = facts;
  const adds = plan.waves.flatMap((w) => w.adds);
  const order = plan.waves.flatMap((w) => [...w.adds, ...w.removes]);
  const nodes: Record<string, RollRecord> = {};
  for (const n of order) nodes[n] = { ...state.node(n), kind: adds.includes(n) ? 'new' : 'old' };
  const done = order.filter((n) => nodes[n]!.phase === 'done');
  const failed = order.filter((n) => nodes[n]!.phase === 'failed');
  const result: RolloutResult = {
    cluster: facts.cluster,
    dryRun: facts.dryRun,
    rollout: { id: state.rollout.id, startedAt: new Date(state.rollout.startedAt).toISOString(), continued: state.rollout.runs.length > 1, complete: done.length === order.length },
    targets: order,
    done,
    rebootedThisRun: done,
    started: order.filter((n) => nodes[n]!.phase !== 'pending'),
    remaining: order.filter((n) => nodes[n]!.phase !== 'done'),
    skipped: facts.skipped,
    failed: failed.map((n) => ({ node: n, phase: nodes[n]!.failedPhase ?? '?', error: nodes[n]!.error ?? facts.error ?? '', leftCordoned: false })),
    leftCordoned: [],
    silencesLeft: [],
    cycleMs: { perNode: {} },
    plan: facts.dryRun ? { order, batches: plan.waves.map((w) => [...w.adds, ...w.removes]), predictedMs: plan.etaMs, stuck: [] } : undefined,
    limits: { maxUnavailable: plan.capacity - plan.floor, roleLimits: {} },
  };
  return writeReport(path, { result, rollout: state.rollout, nodes, generatedAt: Date.now(), audit: facts.audit, style: ROLL_REPORT });
}
