// How the rolling reboot's HTML report reads: its heading, phases and colours, the boot-id column and the hard
// reboot note. The page itself is the rollout engine's (rollout/report.ts).
import { type ChartPhase, type ReportInput as RolloutReportInput, type ReportStyle, renderReport as renderRolloutReport } from '../rollout/report.js';
import type { RebootRecord } from './node.js';

/** The report's legend: preflight and silence are drawn as one. */
const CHART: readonly ChartPhase[] = [
  { phase: 'preflight', label: 'preflight', color: '#9aa5b1' },
  { phase: 'cordon', label: 'cordon', color: '#f2b705' },
  { phase: 'drain', label: 'drain', color: '#f0812e' },
  { phase: 'reboot', label: 'reboot', color: '#d64545' },
  { phase: 'wait-ready', label: 'wait ready', color: '#7b61ff' },
  { phase: 'uncordon', label: 'uncordon', color: '#14a39a' },
  { phase: 'recover', label: 'recover', color: '#3a86ff' },
  { phase: 'planned', label: 'planned', color: '#c3cfe2' },
];

/** The reboot's report style (NodeWork.report). */
export const REBOOT_REPORT: ReportStyle = {
  cookbook: 'k8s.reboot',
  heading: 'Rolling reboot',
  participle: 'rebooted',
  chart: CHART,
  chartPhase: { preflight: 'preflight', silence: 'preflight', cordon: 'cordon', drain: 'drain', reboot: 'reboot', 'wait-ready': 'wait-ready', uncordon: 'uncordon', recover: 'recover' },
  column: {
    header: 'boot id',
    cell: (rec: RebootRecord) => (rec.bootIdBefore ? `${rec.bootIdBefore.slice(0, 8)} → ${(rec.bootIdAfter ?? '?').slice(0, 8)}` : ''),
  },
  notes: (rec: RebootRecord) => (rec.hardReboot ? ['hard reboot through OpenStack'] : []),
};

/** A reboot report's input: the rollout's, its style the reboot's unless given. */
export type ReportInput = Omit<RolloutReportInput, 'style'> & { style?: ReportStyle };

/** Renders a rolling reboot's report page. */
export function renderReport(input: ReportInput): string {
  return renderRolloutReport({ ...input, style: input.style ?? REBOOT_REPORT });
}
