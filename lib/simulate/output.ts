// The simulation's three views: the console summary, the --json object (built in run.ts) and the HTML report,
// which is the rolling reboot's page (lib/ops/rollout/report.ts) drawn from the simulated timeline, with the
// prediction's own section (waits, holds, API requests, steps) added before its footer.
import { readFileSync, writeFileSync } from 'node:fs';
import { formatMs } from '../core/retry.js';
import { type ChartPhase, type ReportStyle, esc, writeReport } from '../ops/rollout/report.js';
import type { RolloutResult } from '../ops/rollout/result.js';
import type { NodeRecord, RolloutRecord } from '../ops/rollout/state.js';
import type { Segment, SimulationSummary } from './timeline.js';

/** Everything a simulation produced. */
export interface SimulationOutcome {
  cookbook: string;
  cluster: string;
  summary: SimulationSummary & { twin: SimulationSummary['twin'] & { snapshotSeconds?: number; startSeconds?: number } };
  /** The --json object. */
  json: Record<string, unknown>;
  /** The twin run's own --json result. */
  result: Record<string, unknown> | undefined;
  exitCode: number;
  segments: Record<string, Segment[]>;
  startMs: number;
  report?: string;
}

const s = (seconds: number): string => formatMs(seconds * 1000);

/** The console summary. */
export function renderSimulation(o: SimulationOutcome): string {
  const sim = o.summary;
  const r = o.result ?? {};
  const status = String(r.status ?? 'failed');
  const lines: string[] = [];
  const head = o.exitCode === 0 ? 'WOULD SUCCEED' : sim.heldEarly || sim.holds.length ? 'WOULD HOLD' : 'WOULD FAIL';
  lines.push(`SIMULATED ${o.cookbook} on a twin of ${o.cluster || '?'}: ${head} (the twin run ${status}); predicted duration ${s(sim.predictedSeconds)}`);
  lines.push(`  twin: ${sim.twin.kind === 'twin' ? 'built from a snapshot' : 'a plain lab of the same shape'}, speed ${sim.twin.speed}; simulated in ${s(sim.twin.wallSeconds)} of wall time`);
  if (sim.nodeOrder.length) lines.push(`  node order: ${sim.nodeOrder.join(', ')}`);
  if (sim.batches.length) lines.push(`  batches: ${sim.batches.map((b) => `[${b.join(' ')}]`).join(' ')}`);
  lines.push(`  most nodes unavailable at once: ${sim.maxUnavailable}; PDB violations: ${sim.pdbViolations ?? 'unknown'}`);
  lines.push(`  API requests: ${sim.apiRequests.count} (peak ${sim.apiRequests.peakPerSecond}/s)`);
  for (const h of sim.holds) lines.push(`  would hold at ${h.node}: ${h.reason}${sim.heldEarly ? ' (from the predicted time on, until its --hold-timeout)' : ''}`);
  const waits = [...sim.waits].sort((a, b) => b.seconds - a.seconds);
  if (waits.length) {
    lines.push(`  waits (${waits.length}, longest first):`);
    for (const w of waits.slice(0, 10)) lines.push(`    ${w.node} waited ${s(w.seconds)}: ${w.reason}`);
    if (waits.length > 10) lines.push(`    ... ${waits.length - 10} more (--json lists all)`);
  }
  lines.push('  steps:');
  for (const st of sim.steps.slice(0, 40)) lines.push(`    +${s(st.startSeconds)} ${st.name} (${st.status}, ${s(st.seconds)})`);
  if (sim.steps.length > 40) lines.push(`    ... ${sim.steps.length - 40} more`);
  for (const n of sim.notes ?? []) lines.push(`  note: ${n}`);
  const err = r.error as { message?: string; hint?: string } | undefined;
  if (err?.message) lines.push(`  the simulated run ended with: ${err.message}`);
  if (o.report) lines.push(`Report: ${o.report}`);
  lines.push('Nothing was changed on the cluster: the run went to its twin, which is gone.');
  return lines.join('\n');
}

/**
 * What a prediction from this snapshot cannot know, for the summary: the Secrets of deployed components hold a
 * placeholder on the twin (a snapshot never captures Secret contents), so a deploy that renders them is
 * predicted to change them even when their values are the same. Said for the Secrets the twin run's result
 * names as changed (`~ change Secret/ns/name` in a deploy's diff); for all of them when there is no result.
 */
export function snapshotNotes(snapshot: unknown, result?: Record<string, unknown>): string[] {
  return notesFrom(maskedSecretsOf(snapshot), result);
}

/** The little of a snapshot its notes need (keep it, drop the snapshot): the masked Secrets per component. */
export function maskedSecretsOf(snapshot: unknown): { component: string; maskedSecrets: string[] }[] {
  const components = (snapshot as { components?: { component: string; maskedSecrets?: string[] }[] } | undefined)?.components ?? [];
  return components.filter((c) => c.maskedSecrets?.length).map((c) => ({ component: c.component, maskedSecrets: [...c.maskedSecrets!] }));
}

/** snapshotNotes from maskedSecretsOf's list. */
export function notesFrom(components: readonly { component: string; maskedSecrets: readonly string[] }[], result?: Record<string, unknown>): string[] {
  const said = result === undefined ? undefined : JSON.stringify(result);
  const masked = components.flatMap((c) => (c.maskedSecrets ?? []).filter((s) => said === undefined || said.includes(`change Secret/${s}`)).map((s) => `${s} (${c.component})`));
  if (!masked.length) return [];
  const list = masked.length > 5 ? `${masked.slice(0, 5).join(', ')} and ${masked.length - 5} more` : masked.join(', ');
  return [`Secret contents are not captured in a snapshot: the twin's copies of the Secrets of deployed components hold a placeholder, so ${list} ${masked.length === 1 ? 'is' : 'are'} predicted to change; the real run changes ${masked.length === 1 ? 'it' : 'them'} only if ${masked.length === 1 ? 'its' : 'their'} values differ`];
}

/** Above this share of the simulated run's wall time spent on this process's own CPU, the prediction runs short. */
export const BUSY_SHARE_WARN = 0.3;

/** Below this much CPU time in the simulated run, no note (see busyNote). */
export const BUSY_CPU_MIN_S = 10;

/**
 * A note when this process was busy for much of a long simulated run. The accelerated clock counts this
 * process's CPU time once (the real run would spend it too) and the rest of the wall time at the speed; but the
 * twin's own timers (nodes rebooting, pods terminating) run on at the speed during that work, so a CPU-bound
 * run sees them end early and predicts short (the model cluster's 60-node reboot: ~50% busy, 35 s of CPU at
 * speed 30, 18% shorter than at 10). Runs with less than BUSY_CPU_MIN_S of CPU (every lab-A comparison in
 * test/simulate, component deploys of a few hundred objects) stay within 20% of their real runs: no note.
 */
export function busyNote(twin: { speed: number; wallSeconds: number; cpuSeconds?: number }): string[] {
  if (twin.cpuSeconds === undefined || twin.wallSeconds <= 0 || twin.cpuSeconds < BUSY_CPU_MIN_S) return [];
  const share = twin.cpuSeconds / twin.wallSeconds;
  if (share <= BUSY_SHARE_WARN || twin.speed <= 1) return [];
  // The speed at which the same work would fill about a fifth of the (longer) wall time.
  const suggested = Math.max(1, Math.floor((twin.speed * 0.2) / share / 5) * 5 || 1);
  const pct = Math.round(share * 100);
  return [
    `this process was busy ${pct}% of the simulated run's wall time at speed ${twin.speed}: the twin's waits ran on during that work, so the predicted duration is likely short; --simulate-speed ${suggested} gives a closer figure in about ${Math.ceil(twin.speed / suggested)}x the time`,
  ];
}

const KNOWN: Record<string, string> = {
  waiting: '#e6d28a',
  preflight: '#9aa5b1',
  silence: '#9aa5b1',
  cordon: '#f2b705',
  drain: '#f0812e',
  reboot: '#d64545',
  'wait-ready': '#7b61ff',
  uncordon: '#14a39a',
  recover: '#3a86ff',
  packages: '#8d6e63',
  kubelet: '#5c6bc0',
};
const PALETTE = ['#26a69a', '#ab47bc', '#ef5350', '#42a5f5', '#9ccc65', '#ffa726', '#8d6e63', '#78909c'];

/** The report style for the phases the simulated run went through. */
function styleOf(cookbook: string, segments: Record<string, Segment[]>): ReportStyle {
  const phases = [...new Set(Object.values(segments).flatMap((segs) => segs.map((x) => x.phase)))];
  const chart: ChartPhase[] = phases.map((phase, i) => ({ phase: slug(phase), label: phase, color: KNOWN[phase] ?? PALETTE[i % PALETTE.length]! }));
  return { cookbook, heading: `Simulated ${cookbook}`, participle: 'done', chart, chartPhase: Object.fromEntries(phases.map((p) => [p, slug(p)])) };
}

function slug(phase: string): string {
  return phase.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-|-$/g, '').slice(0, 40) || 'step';
}

/** Writes the HTML timeline of the simulation (the reboot report's page) and returns its path. */
export function writeSimulationReport(path: string, o: SimulationOutcome): string {
  const sim = o.summary;
  const nodes: Record<string, NodeRecord> = {};
  const targets = [...sim.nodeOrder, ...sim.holds.map((h) => h.node).filter((n) => !sim.nodeOrder.includes(n))];
  for (const name of targets) {
    const segs = o.segments[name] ?? [];
    const started = sim.nodeOrder.includes(name);
    nodes[name] = {
      phase: started ? 'done' : 'pending',
      phases: segs.map((x) => ({ phase: x.phase, start: x.startMs, end: x.endMs })),
      runId: String(o.result?.runId ?? ''),
      ...(started && segs.length ? { startedAt: segs[0]!.startMs, finishedAt: segs.at(-1)!.endMs } : {}),
      ...(started ? {} : { error: `held: ${sim.holds.find((h) => h.node === name)?.reason ?? ''}` }),
    };
  }
  const rollout: RolloutRecord = { id: String(o.result?.runId ?? 'simulation'), startedAt: o.startMs, selectionKey: '', targets, marks: {}, cordonedBefore: [], notReadyBefore: [], skipped: [], runs: [String(o.result?.runId ?? '')] };
  const result: RolloutResult = {
    cluster: o.cluster,
    dryRun: false,
    rollout: { id: rollout.id, startedAt: new Date(o.startMs).toISOString(), continued: false, complete: o.exitCode === 0 },
    targets,
    done: sim.nodeOrder,
    rebootedThisRun: sim.nodeOrder,
    started: sim.nodeOrder,
    remaining: targets.filter((t) => !sim.nodeOrder.includes(t)),
    skipped: [],
    failed: [],
    leftCordoned: [],
    silencesLeft: [],
    cycleMs: { perNode: {} },
    limits: { maxUnavailable: sim.maxUnavailable, roleLimits: {} },
  };
  const target = writeReport(path, { result, rollout, nodes, generatedAt: o.startMs + sim.predictedSeconds * 1000, style: styleOf(o.cookbook, o.segments) });
  // The prediction's own section, before the page's footer.
  const html = readFileSync(target, 'utf8').replace('<footer>', `${predictionSection(o)}\n<footer>`);
  writeFileSync(target, html);
  return target;
}

/** The prediction: cards, holds, waits, API requests and the steps, as HTML. */
export function predictionSection(o: SimulationOutcome): string {
  const sim = o.summary;
  const cards: [string, string][] = [
    ['Predicted duration', s(sim.predictedSeconds)],
    ['Most nodes unavailable', String(sim.maxUnavailable)],
    ['PDB violations', String(sim.pdbViolations ?? 'unknown')],
    ['API requests', `${sim.apiRequests.count} (peak ${sim.apiRequests.peakPerSecond}/s)`],
    ['Simulated in', `${s(sim.twin.wallSeconds)} at speed ${sim.twin.speed}`],
  ];
  const holds = sim.holds.map((h) => `<li><span class="node">${esc(h.node)}</span>: ${esc(h.reason)}</li>`);
  const waits = [...sim.waits].sort((a, b) => b.seconds - a.seconds).map((w) => `<tr><td class="node">${esc(w.node)}</td><td class="num">${esc(s(w.seconds))}</td><td class="notes">${esc(w.reason)}</td></tr>`);
  const steps = sim.steps.map((st) => `<tr><td class="num">+${esc(s(st.startSeconds))}</td><td>${esc(st.name)}</td><td>${esc(st.status)}</td><td class="num">${esc(s(st.seconds))}</td></tr>`);
  return [
    '<h2>Prediction</h2>',
    `<div class="cards simulation">${cards.map(([k, v]) => `<div class="card"><div class="k">${esc(k)}</div><div class="v">${esc(v)}</div></div>`).join('')}</div>`,
    holds.length ? `<h2>Would hold at</h2>\n<ul class="holds">${holds.join('')}</ul>` : '',
    sim.notes?.length ? `<h2>Notes</h2>\n<ul class="notes">${sim.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : '',
    `<h2>Waits</h2>\n<div class="panel"><table class="waits"><thead><tr><th>node</th><th>waited</th><th>reason</th></tr></thead><tbody>${waits.join('')}</tbody></table></div>`,
    `<h2>Steps</h2>\n<div class="panel"><table class="steps"><thead><tr><th>at</th><th>step</th><th>status</th><th>took</th></tr></thead><tbody>${steps.join('')}</tbody></table></div>`,
  ]
    .filter(Boolean)
    .join('\n');
}
