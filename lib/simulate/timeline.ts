// The simulation's result, computed from the twin run's typed events (pure): each event is stamped with the
// run's accelerated clock when it is emitted, so every time here is cluster time. Node events are the progress
// events whose target is a node of the cluster (the rolling engine's phases: preflight, cordon, drain, ...,
// waiting with its reason, done); batches are waves (see below); a cookbook without them (add-node, drain) gets its node timeline from the
// steps that name a node.
import type { RunEvent } from '../core/events.js';

/** An event with the cluster time (ms) it was emitted at. */
export interface TimedEvent {
  atMs: number;
  event: RunEvent;
}

/** One wait of a node, with the reason the planner gave. */
export interface Wait {
  node: string;
  reason: string;
  seconds: number;
}

/** A segment of a node's timeline. */
export interface Segment {
  phase: string;
  startMs: number;
  endMs: number;
  /** A wait's reason. */
  note?: string;
}

/** A node the run never started, and why (the last reason it waited for). */
export interface Hold {
  node: string;
  reason: string;
  /** The PodDisruptionBudget named in the reason, when it is one. */
  pdb?: string;
}

/** The `simulation` object of --json (times in seconds of cluster time). */
export interface SimulationSummary {
  predictedSeconds: number;
  nodeOrder: string[];
  batches: string[][];
  waits: Wait[];
  maxUnavailable: number;
  pdbViolations: number | null;
  apiRequests: { count: number; peakPerSecond: number };
  /** Nodes the run would hold at (never started): node, reason, PDB. */
  holds: Hold[];
  steps: { name: string; status: string; startSeconds: number; seconds: number }[];
  /** Per node: its segments, in seconds from the run's start. */
  timeline: Record<string, { phase: string; start: number; end: number; note?: string }[]>;
  /** The run could start nothing and was stopped there: the real run would wait at `holds` until its --hold-timeout. */
  heldEarly?: boolean;
  /** What the prediction cannot know (from the snapshot: e.g. Secret contents it did not capture). */
  notes?: string[];
  /** The twin and its speed: how the prediction was made. */
  twin: { kind: 'twin' | 'lab'; speed: number; wallSeconds: number; cpuSeconds?: number; timings?: Record<string, { seconds: number; source: string; samples: number }> };
}

/** What the summary needs besides the events. */
export interface TimelineInput {
  events: readonly TimedEvent[];
  /** True for a name that is a node of the cluster. */
  isNode: (name: string) => boolean;
  /** When the run started and ended (cluster ms). */
  startMs: number;
  endMs: number;
}

/** Phases that end a node's work. */
const FINAL = new Set(['done', 'failed']);

const round = (x: number, digits = 1): number => Math.round(x * 10 ** digits) / 10 ** digits;

/** The node part of the summary: timeline, order, batches, waits, holds and most nodes in flight at once. */
export function nodeTimeline(input: TimelineInput): Pick<SimulationSummary, 'nodeOrder' | 'batches' | 'waits' | 'holds'> & { segments: Record<string, Segment[]>; maxInFlight: number } {
  const segments: Record<string, Segment[]> = {};
  const order: string[] = [];
  const batchKey = new Map<string, string>();
  const waits: Wait[] = [];
  const open = new Map<string, Segment>();
  let inFlight = 0;
  let maxInFlight = 0;
  const started = new Set<string>();
  const finished = new Set<string>();
  const lastReason = new Map<string, string>();
  const wave = new Map<string, number>();
  let finishedWave = 0;
  const close = (node: string, at: number): void => {
    const s = open.get(node);
    if (!s) return;
    s.endMs = Math.max(s.startMs, at);
    if (s.phase === 'waiting') waits.push({ node, reason: s.note ?? '', seconds: round((s.endMs - s.startMs) / 1000) });
    open.delete(node);
  };
  for (const { atMs, event: e } of input.events) {
    if (e.type !== 'progress' || e.scope === 'drain' || !input.isNode(e.target)) continue;
    const node = e.target;
    close(node, atMs);
    if (e.phase === 'waiting') lastReason.set(node, e.message ?? '');
    if (e.phase !== 'waiting' && !started.has(node)) {
      started.add(node);
      order.push(node);
      // Waves: a node that starts after nodes of wave k finished is of wave k+1 (the first ones: wave 1). Unlike
      // "started in the same round", this does not depend on whether two nodes happened to finish together.
      batchKey.set(node, `wave-${finishedWave + 1}`);
      wave.set(node, finishedWave + 1);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
    }
    if (FINAL.has(e.phase)) {
      if (started.has(node) && !finished.has(node)) {
        finished.add(node);
        inFlight--;
        finishedWave = Math.max(finishedWave, wave.get(node) ?? 0);
      }
      continue;
    }
    const seg: Segment = { phase: e.phase, startMs: atMs, endMs: atMs, ...(e.message ? { note: e.message } : {}) };
    (segments[node] ??= []).push(seg);
    open.set(node, seg);
  }
  for (const node of [...open.keys()]) close(node, input.endMs);
  // Cookbooks without node progress (add-node, remove-node, drain): the steps that name a node.
  if (order.length === 0) stepSegments(input, segments, order, batchKey);
  const byKey = new Map<string, string[]>();
  for (const node of order) {
    const key = batchKey.get(node) ?? node;
    byKey.set(key, [...(byKey.get(key) ?? []), node]);
  }
  const batches = [...byKey.values()];
  const holds: Hold[] = [...lastReason]
    .filter(([node]) => !started.has(node))
    .map(([node, reason]) => {
      const pdb = /^PDB (\S+)/.exec(reason)?.[1];
      return { node, reason, ...(pdb ? { pdb } : {}) };
    });
  return { segments, nodeOrder: order, batches, waits, holds, maxInFlight: maxInFlight || (Object.keys(segments).length ? 1 : 0) };
}

/** Node segments from steps whose name contains a node's name (the first such node of each step). */
function stepSegments(input: TimelineInput, segments: Record<string, Segment[]>, order: string[], batchKey: Map<string, string>): void {
  const startOf = new Map<number, number>();
  for (const { atMs, event: e } of input.events) {
    if (e.type === 'step.start') startOf.set(e.index, atMs);
    if (e.type !== 'step.end' || e.status === 'skipped') continue;
    const node = e.name.split(/[\s/,:()]+/).find((w) => input.isNode(w));
    if (!node) continue;
    if (!segments[node]) {
      order.push(node);
      batchKey.set(node, `step-node-${order.length}`);
    }
    (segments[node] ??= []).push({ phase: e.name, startMs: startOf.get(e.index) ?? atMs, endMs: atMs });
  }
}

/** The steps in order, with when each started and how long it took (seconds of cluster time). */
export function stepList(events: readonly TimedEvent[], startMs: number): SimulationSummary['steps'] {
  const startOf = new Map<number, number>();
  const out: SimulationSummary['steps'] = [];
  for (const { atMs, event: e } of events) {
    if (e.type === 'step.start') startOf.set(e.index, atMs);
    if (e.type === 'step.end') {
      const start = startOf.get(e.index) ?? atMs;
      out.push({ name: e.name, status: e.status, startSeconds: round((start - startMs) / 1000), seconds: round((atMs - start) / 1000) });
    }
  }
  return out;
}

/** Segments as seconds from the run's start (the --json timeline). */
export function timelineSeconds(segments: Record<string, Segment[]>, startMs: number): SimulationSummary['timeline'] {
  return Object.fromEntries(
    Object.entries(segments).map(([node, segs]) => [
      node,
      segs.map((s) => ({ phase: s.phase, start: round((s.startMs - startMs) / 1000), end: round((s.endMs - startMs) / 1000), ...(s.note ? { note: s.note } : {}) })),
    ]),
  );
}
