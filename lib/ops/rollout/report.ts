// The HTML report of a rollout (--report FILE.html): one self-contained page (inline CSS and SVG, no
// script, no external asset) with a timeline chart, one bar per node split into its coloured phases, and a
// summary table. Written well-formed (every element closed, attributes quoted, text escaped), so it also
// parses as XML. Pure rendering: renderReport() returns the text, writeReport() writes it atomically.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { AuditRecord } from '../../core/events.js';
import { formatMs } from '../../core/retry.js';
import type { RolloutResult } from './result.js';
import type { Simulation } from './simulate.js';
import { type NodeRecord, type RolloutRecord, RolloutState } from './state.js';
import { naturalCompare } from './units.js';

/** How the report draws one phase. */
export interface ChartPhase {
  phase: string;
  label: string;
  color: string;
}

/** What the report says about the work (NodeWork.report): names, the phases' colours, its own column. */
export interface ReportStyle {
  /** The cookbook named in the title and footer. */
  cookbook: string;
  /** The page's heading, before "of CLUSTER": "Rolling reboot". */
  heading: string;
  /** A done node's status: "rebooted" ("rebooted elsewhere" when done by other means). */
  participle: string;
  /** The legend, in order (with a `planned` entry for dry-runs); `chartPhase` maps each node phase to an entry. */
  chart: readonly ChartPhase[];
  chartPhase: Readonly<Record<string, string>>;
  /** The work's own column of the node table (the reboot's boot ids). */
  column?: { header: string; cell(rec: NodeRecord): string };
  /** The work's own notes on a node (a hard reboot). */
  notes?(rec: NodeRecord): string[];
}

/** What the report is drawn from. */
export interface ReportInput {
  result: RolloutResult;
  rollout: RolloutRecord;
  /** The record of every target (pending ones too). */
  nodes: Record<string, NodeRecord>;
  generatedAt: number;
  /** In dry-run: the planned schedule, drawn instead of measured phases. */
  simulation?: Simulation;
  window?: string;
  /** Who ran it, where, why (--reason, --task-id) and with which arguments (secrets already redacted). */
  audit?: AuditRecord;
  style: ReportStyle;
}

/** Escapes text for HTML/XML content and attribute values. */
export function esc(text: string | number): string {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A segment of a node's bar. */
interface Segment {
  phase: string;
  start: number;
  end: number;
}

function segmentsOf(style: ReportStyle, rec: NodeRecord, now: number): Segment[] {
  const out: Segment[] = [];
  for (const span of rec.phases) {
    const phase = style.chartPhase[span.phase];
    if (!phase) continue;
    const end = span.end ?? (rec.phase === 'failed' ? (rec.finishedAt ?? now) : now);
    const last = out.at(-1);
    // preflight and silence are one colour: merge them so the bar does not show a seam.
    if (last && last.phase === phase && Math.abs(last.end - span.start) < 1) last.end = end;
    else out.push({ phase, start: span.start, end });
  }
  return out;
}

function statusOf(style: ReportStyle, name: string, rec: NodeRecord, result: RolloutResult): { text: string; cls: string } {
  if (result.dryRun && result.plan?.order.includes(name)) return { text: 'planned', cls: 'planned' };
  if (rec.phase === 'done') return rec.phases.length ? { text: style.participle, cls: 'ok' } : { text: `${style.participle} elsewhere`, cls: 'ok' };
  if (rec.phase === 'failed') return { text: `failed in ${rec.failedPhase ?? '?'}`, cls: 'bad' };
  if (rec.phase === 'pending') return { text: 'not started', cls: 'idle' };
  return { text: `stopped in ${rec.phase}`, cls: 'warn' };
}

function verdict(input: ReportInput): { text: string; cls: string } {
  const r = input.result;
  if (r.dryRun) return { text: 'Plan (dry-run)', cls: 'planned' };
  if (r.failed.length) return { text: 'Stopped: failure', cls: 'bad' };
  if (r.stoppedBy === 'window') return { text: 'Paused: window closed', cls: 'warn' };
  if (r.rollout.complete) return { text: 'Complete', cls: 'ok' };
  return { text: 'In progress', cls: 'warn' };
}

function tickStep(spanMs: number): number {
  const steps = [1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000, 7_200_000];
  return steps.find((s) => spanMs / s <= 10) ?? 14_400_000;
}

function clock(ms: number): string {
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}` : `${m}:${String(sec).padStart(2, '0')}`;
}

function timeline(input: ReportInput, order: string[]): string {
  const now = input.generatedAt;
  const rows = order.map((name) => {
    const rec = input.nodes[name] ?? { phase: 'pending' as const, phases: [], runId: '' };
    let segs: Segment[];
    if (input.simulation) {
      const span = input.simulation.spans[name];
      segs = span ? [{ phase: 'planned', start: span.start, end: span.end }] : [];
    } else {
      segs = segmentsOf(input.style, rec, now);
    }
    return { name, rec, segs };
  });
  const all = rows.flatMap((r) => r.segs);
  const t0 = all.length ? Math.min(...all.map((s) => s.start)) : 0;
  const t1 = all.length ? Math.max(...all.map((s) => s.end)) : 1;
  const span = Math.max(1000, t1 - t0);
  const labelW = 230;
  const chartW = 860;
  const rowH = 24;
  const top = 30;
  const height = top + rows.length * rowH + 16;
  const x = (t: number): number => labelW + ((t - t0) / span) * chartW;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" class="timeline" role="img" aria-label="Timeline of every node's phases" viewBox="0 0 ${labelW + chartW + 20} ${height}" width="${labelW + chartW + 20}" height="${height}">`);
  const step = tickStep(span);
  for (let t = 0; t <= span + 1; t += step) {
    const xx = x(t0 + t).toFixed(1);
    parts.push(`<line class="grid" x1="${xx}" y1="${top - 6}" x2="${xx}" y2="${height - 12}" />`);
    parts.push(`<text class="tick" x="${xx}" y="${top - 12}" text-anchor="middle">+${esc(clock(t))}</text>`);
  }
  rows.forEach((row, i) => {
    const y = top + i * rowH;
    const st = statusOf(input.style, row.name, row.rec, input.result);
    parts.push(`<g class="bar ${st.cls}" data-node="${esc(row.name)}" data-status="${esc(st.text)}">`);
    parts.push(`<text class="label" x="${labelW - 10}" y="${y + 16}" text-anchor="end">${esc(row.name)}</text>`);
    parts.push(`<rect class="track" x="${labelW}" y="${y + 4}" width="${chartW}" height="${rowH - 8}" rx="3" />`);
    for (const s of row.segs) {
      const w = Math.max(1.5, x(s.end) - x(s.start));
      parts.push(
        `<rect class="seg seg-${esc(s.phase)}" data-phase="${esc(s.phase)}" x="${x(s.start).toFixed(1)}" y="${y + 4}" width="${w.toFixed(1)}" height="${rowH - 8}"><title>${esc(`${row.name}: ${s.phase} ${formatMs(s.end - s.start)}`)}</title></rect>`,
      );
    }
    if (row.rec.phase === 'failed' && row.segs.length) parts.push(`<text class="mark" x="${(x(row.segs.at(-1)!.end) + 6).toFixed(1)}" y="${y + 16}">✗ ${esc(row.rec.failedPhase ?? '')}</text>`);
    if (!row.segs.length) parts.push(`<text class="idle-text" x="${labelW + 8}" y="${y + 16}">${esc(st.text)}</text>`);
    parts.push('</g>');
  });
  parts.push('</svg>');
  return parts.join('\n');
}

function phaseTotals(style: ReportStyle, rec: NodeRecord, now: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of segmentsOf(style, rec, rec.finishedAt ?? now)) out[s.phase] = (out[s.phase] ?? 0) + (s.end - s.start);
  return out;
}

/** Renders the whole page. */
export function renderReport(input: ReportInput): string {
  const r = input.result;
  const style = input.style;
  const v = verdict(input);
  const order = [...r.targets].sort((a, b) => {
    const sa = input.nodes[a]?.startedAt ?? Number.POSITIVE_INFINITY;
    const sb = input.nodes[b]?.startedAt ?? Number.POSITIVE_INFINITY;
    if (input.simulation) return input.simulation.order.indexOf(a) - input.simulation.order.indexOf(b);
    return sa - sb || naturalCompare(a, b);
  });
  const tablePhases = style.chart.filter((p) => p.phase !== 'planned' && p.phase !== 'preflight');
  const cards: [string, string][] = [
    ['Nodes done', `${r.done.length} / ${r.targets.length}`],
    ['Failed', String(r.failed.length)],
    ['Not started', String(r.remaining.filter((n) => (input.nodes[n]?.phase ?? 'pending') === 'pending').length)],
    ['Median cycle (cordon → uncordon)', r.cycleMs.median !== undefined ? formatMs(r.cycleMs.median) : '–'],
    ['Max unavailable', String(r.limits.maxUnavailable)],
    [r.dryRun ? 'Predicted duration' : 'Rollout began', r.dryRun ? formatMs(r.plan?.predictedMs ?? 0) : new Date(input.rollout.startedAt).toISOString().replace('T', ' ').slice(0, 19) + ' UTC'],
  ];
  const rows = order.map((name) => {
    const rec = input.nodes[name] ?? { phase: 'pending' as const, phases: [], runId: '' };
    const st = statusOf(style, name, rec, r);
    const totals = phaseTotals(style, rec, input.generatedAt);
    const cycle = RolloutState.cycleMs(rec);
    const notes = [
      input.rollout.cordonedBefore.includes(name) ? 'cordoned before the rollout: stays cordoned' : '',
      ...(style.notes?.(rec) ?? []),
      rec.leftCordoned ? 'left cordoned' : '',
      rec.error ?? '',
    ].filter(Boolean);
    return [
      '<tr>',
      `<td class="node">${esc(name)}</td>`,
      `<td><span class="pill ${st.cls}">${esc(st.text)}</span></td>`,
      ...tablePhases.map((p) => `<td class="num">${totals[p.phase] !== undefined ? esc(formatMs(totals[p.phase]!)) : ''}</td>`),
      `<td class="num">${cycle !== undefined ? esc(formatMs(cycle)) : ''}</td>`,
      ...(style.column ? [`<td class="mono">${esc(style.column.cell(rec))}</td>`] : []),
      `<td class="notes">${esc(notes.join('; '))}</td>`,
      '</tr>',
    ].join('');
  });
  const skipped = r.skipped.map((s) => `<li><span class="node">${esc(s.node)}</span>: ${esc(s.reason)}</li>`);
  const failed = r.failed.map((f) => `<li><span class="node">${esc(f.node)}</span> in ${esc(f.phase)}: ${esc(f.error)}${f.leftCordoned ? ' <strong>(left cordoned)</strong>' : ''}</li>`);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8" />
<meta name="viewport" content="width=device-width, initial-scale=1" />
<title>${esc(`${style.cookbook} ${r.cluster} — rollout ${input.rollout.id}`)}</title>
<style>
:root { --fg: #1d2433; --muted: #5f6b7a; --line: #e3e8ef; --bg: #f7f9fc; }
* { box-sizing: border-box; }
body { margin: 0; padding: 28px 36px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 28px 0 10px; }
.sub { color: var(--muted); margin: 0 0 18px; }
.pill { display: inline-block; padding: 1px 9px; border-radius: 999px; font-size: 12px; font-weight: 600; }
.pill.ok { background: #dcf5e7; color: #11643a; } .pill.bad { background: #fde2e2; color: #9b1c1c; }
.pill.warn { background: #fff1cc; color: #7a5200; } .pill.idle { background: #eceff3; color: #4a5565; }
.pill.planned { background: #e3ebf9; color: #23427a; }
.verdict { font-size: 13px; vertical-align: middle; margin-left: 10px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 10px 16px; min-width: 150px; }
.card .k { color: var(--muted); font-size: 12px; } .card .v { font-size: 20px; font-weight: 650; }
.panel { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 14px; overflow-x: auto; }
.legend { display: flex; flex-wrap: wrap; gap: 14px; margin: 0 0 8px; color: var(--muted); font-size: 12px; }
.legend span::before { content: ""; display: inline-block; width: 12px; height: 12px; border-radius: 3px; margin-right: 5px; vertical-align: -2px; background: var(--c); }
svg.timeline { font: 12px system-ui, sans-serif; }
svg .grid { stroke: var(--line); } svg .tick { fill: var(--muted); font-size: 11px; }
svg .label { fill: var(--fg); font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; }
svg .track { fill: #f1f4f8; } svg .idle-text { fill: var(--muted); font-style: italic; }
svg .mark { fill: #b42318; font-weight: 700; } svg .bar.bad .label { fill: #b42318; }
${style.chart.map((p) => `svg .seg-${p.phase} { fill: ${p.color}; }`).join('\n')}
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { border-bottom: 1px solid var(--line); padding: 6px 10px; text-align: left; white-space: nowrap; }
th { font-size: 12px; color: var(--muted); font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; } td.mono, td.node, .node { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
td.notes { white-space: normal; color: var(--muted); }
footer { color: var(--muted); font-size: 12px; margin-top: 24px; }
dl.audit { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 0 0 16px; font-size: 13px; }
dl.audit dt { color: var(--muted); } dl.audit dd { margin: 0; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
</style>
</head>
<body>
<h1>${esc(style.heading)} of ${esc(r.cluster)} <span class="pill ${v.cls} verdict">${esc(v.text)}</span></h1>
<p class="sub">Rollout ${esc(input.rollout.id)} · ${esc(r.targets.length)} node(s) · max ${esc(r.limits.maxUnavailable)} unavailable at once${input.window ? ` · window ${esc(input.window)}` : ''}${r.stoppedBy === 'window' && r.nextWindow ? ` · continues in the window opening ${esc(r.nextWindow)}` : ''}</p>
${auditBlock(input.audit)}<div class="cards">
${cards.map(([k, val]) => `<div class="card"><div class="k">${esc(k)}</div><div class="v">${esc(val)}</div></div>`).join('\n')}
</div>
<h2>Timeline</h2>
<div class="panel">
<div class="legend">${style.chart.filter((p) => (input.simulation ? p.phase === 'planned' : p.phase !== 'planned')).map((p) => `<span style="--c: ${p.color}">${esc(p.label)}</span>`).join('')}</div>
${timeline(input, order)}
</div>
<h2>Nodes</h2>
<div class="panel">
<table>
<thead><tr><th>node</th><th>status</th>${tablePhases.map((p) => `<th>${esc(p.label)}</th>`).join('')}<th>cycle</th>${style.column ? `<th>${esc(style.column.header)}</th>` : ''}<th>notes</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table>
</div>
${failed.length ? `<h2>Failures</h2>\n<ul class="failed">${failed.join('')}</ul>` : ''}
${skipped.length ? `<h2>Skipped</h2>\n<ul class="skipped">${skipped.join('')}</ul>` : ''}
<footer>Generated ${esc(new Date(input.generatedAt).toISOString())} by cluster-cookbooks ${esc(style.cookbook)} · runs ${esc(input.rollout.runs.join(', '))}</footer>
</body>
</html>
`;
}

/** The audit trail of the run as one definition list: operator, host, reason, task id, run id and arguments. */
function auditBlock(audit: AuditRecord | undefined): string {
  if (!audit) return '';
  const args = Object.entries(audit.args)
    .filter(([, v]) => v !== undefined && v !== false)
    .map(([k, v]) => `${k}=${typeof v === 'object' && v !== null && !Array.isArray(v) ? JSON.stringify(v) : Array.isArray(v) ? v.join(',') : String(v)}`)
    .join(' ');
  const rows: [string, string | undefined][] = [
    ['operator', `${audit.operator}@${audit.host}`],
    ['reason', audit.reason],
    ['task', audit.taskId],
    ['run', audit.runId],
    ['cookbook', audit.cookbook],
    ['arguments', args],
  ];
  const items = rows.filter(([, v]) => v !== undefined && v !== '').map(([k, v]) => `<dt>${esc(k)}</dt><dd class="audit-${esc(k)}">${esc(v!)}</dd>`);
  return `<dl class="audit">${items.join('')}</dl>\n`;
}

/** Writes the report (temp file + rename) and returns its absolute path. */
export function writeReport(path: string, input: ReportInput): string {
  const target = resolve(path);
  mkdirSync(dirname(target), { recursive: true });
  const tmp = `${target}.${process.pid}.tmp`;
  writeFileSync(tmp, renderReport(input));
  renameSync(tmp, target);
  return target;
}
