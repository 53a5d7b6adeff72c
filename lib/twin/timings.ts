// How long things take on a cluster, calibrated from the journals of its earlier real runs: the rolling
// reboot's per-node phase spans (reboot: command to new boot id; wait-ready: boot to Node Ready; drain: per
// evicted workload), the upgrade's (kubelet: restart to Node Ready) and add-node's steps (create VM + wait
// ACTIVE; wait Ready). A polled wait loses its expected overrun (half the poll interval then in effect: the
// twin's run polls again). Medians, so one stuck node does not skew them; a timing with no sample keeps its
// stated default and says so (`source: 'default'`).
import { type Journal, scanJournals } from '../core/journal.js';
import { NODE_POLL_BACKOFF } from '../ops/node/timeouts.js';

/** The timings a twin replays, in seconds of cluster time. */
export type TimingName = 'nodeRebootS' | 'kubeletReadyS' | 'drainPerPodS' | 'vmBuildS' | 'podStartS' | 'podTerminateS';

/** One calibrated timing. */
export interface Timing {
  seconds: number;
  source: 'journal' | 'default';
  /** How many measurements the median is of (0 for a default). */
  samples: number;
}

/** Every timing of a snapshot. */
export type SnapshotTimings = Record<TimingName, Timing>;

/**
 * Defaults for a cluster without history: a Debian VM reboot and boot of about two minutes, kubelet Ready
 * 30 s after boot, a pod evicted and gone in 10 s, a VM built in 90 s (OpenStack with a cached image), pods
 * started in 10 s and terminated in 10 s (the default grace period is 30 s; most exit sooner).
 */
export const DEFAULT_TIMINGS: Readonly<Record<TimingName, number>> = Object.freeze({
  nodeRebootS: 120,
  kubeletReadyS: 30,
  drainPerPodS: 10,
  vmBuildS: 90,
  podStartS: 10,
  podTerminateS: 10,
});

/** The median of a list of numbers (undefined when empty). */
export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * How much a polled wait that lasted `waitMs` overran the moment its state changed, on average: the change came
 * at a uniformly random moment within the last poll interval, so half that interval. A journal's wait includes
 * it, and a twin replaying the wait's length as its timing is polled again by the same cookbook: without this
 * correction the overrun is counted twice (a 60-node reboot's predictions overshot by a second or two per wait).
 */
export function pollOvershootMs(waitMs: number, backoff: { initialMs: number; maxMs: number; factor: number } = NODE_POLL_BACKOFF): number {
  if (!(waitMs > 0) || !(backoff.initialMs > 0)) return 0;
  // The first probe is at once; then one after each delay, until the one that saw the change (at waitMs).
  let sum = 0;
  let delay = 0;
  for (let attempt = 1; sum < waitMs; attempt++) {
    delay = Math.min(backoff.maxMs, backoff.initialMs * backoff.factor ** (attempt - 1));
    sum += delay;
  }
  return delay / 2;
}

/** A polled wait's length with its expected overrun taken off (never below zero). */
const polled = (waitMs: number): number => Math.max(0, waitMs - pollOvershootMs(waitMs));

interface Span {
  phase: string;
  start: number;
  end?: number;
}

/** Measurements (ms) per timing found in the given journals. */
export function samplesFromJournals(journals: readonly Journal[]): Record<TimingName, number[]> {
  const out: Record<TimingName, number[]> = { nodeRebootS: [], kubeletReadyS: [], drainPerPodS: [], vmBuildS: [], podStartS: [], podTerminateS: [] };
  for (const j of journals) {
    if (j.data.dryRun) continue;
    const steps = new Map(j.data.steps.filter((s) => s.status === 'done' && s.durationMs !== undefined).map((s) => [s.name, s.durationMs!]));
    // A rolling reboot's phases do not split a node's offline time: 'reboot' is the command, 'wait-ready' spans
    // the wait for the new boot id and the wait for Ready. Its steps do (`wait H rebooted`, `wait H Ready`), so
    // their proportion splits the phases' total. Proportions only: step durations are wall time, phases are
    // the run's own clock (cluster time, also in an accelerated run).
    const split = new Map<string, number>();
    for (const [name, rebootedMs] of steps) {
      const m = /^wait (\S+) rebooted$/.exec(name);
      const readyMs = m ? steps.get(`wait ${m[1]} Ready`) : undefined;
      if (m && readyMs !== undefined && rebootedMs + readyMs > 0) split.set(m[1]!, rebootedMs / (rebootedMs + readyMs));
    }
    // The rolling engine's per-node records: `<work>:node:<host>` with timed phases.
    for (const [key, value] of Object.entries(j.data.memo ?? {})) {
      const m = /^[a-z-]+:node:(.+)$/.exec(key);
      if (!m || !value || typeof value !== 'object') continue;
      const rec = value as { phases?: Span[]; owners?: unknown[]; ownersCount?: number };
      // A done record keeps only the number of workloads it drained (older journals: the list).
      const owners = rec.ownersCount ?? rec.owners?.length ?? 0;
      const spans = new Map<string, number>();
      for (const p of rec.phases ?? []) {
        if (p.end === undefined || !(p.end >= p.start)) continue;
        const ms = p.end - p.start;
        spans.set(p.phase, ms);
        if (p.phase === 'drain' && owners > 0) out.drainPerPodS.push(ms / owners);
      }
      // An upgrade's 'kubelet' phase is the kubelet's restart until its Node is Ready again (no reboot).
      const restart = spans.get('kubelet');
      if (restart !== undefined) out.kubeletReadyS.push(polled(restart));
      const reboot = spans.get('reboot');
      const ready = spans.get('wait-ready');
      const f = split.get(m[1]!);
      // Both waits (the new boot id, then Ready) are polled: each overran the change it waited for.
      if (f !== undefined && reboot !== undefined && ready !== undefined) {
        out.nodeRebootS.push(reboot + polled(ready * f));
        out.kubeletReadyS.push(polled(ready * (1 - f)));
      } else {
        if (reboot !== undefined) out.nodeRebootS.push(reboot);
        if (ready !== undefined) out.kubeletReadyS.push(polled(ready));
      }
    }
    // add-node (and everything built on it), and the reboot's kubelet wait: steps with their durations.
    for (const [name, ms] of steps) {
      const created = /^create VM (.+)$/.exec(name);
      if (created) {
        const active = steps.get(`wait VM ${created[1]} ACTIVE`);
        if (active !== undefined) out.vmBuildS.push(ms + active);
      }
      const ready = /^wait (\S+) Ready$/.exec(name);
      // A reboot's kubelet wait is counted from its phases above (in the run's clock).
      if (ready && !split.has(ready[1]!)) out.kubeletReadyS.push(ms);
    }
  }
  return out;
}

/** The cluster's timings from its real runs' journals under `stateDir`, defaults where there is no sample. */
export function calibrateTimings(stateDir: string, cluster: string, defaults: Partial<Record<TimingName, number>> = {}): SnapshotTimings {
  return timingsFrom(samplesFromJournals(scanJournals(stateDir, { cluster, realOnly: true })), defaults);
}

/** Medians of the samples (ms) as timings in seconds; a default for each timing without samples. */
export function timingsFrom(samples: Record<TimingName, number[]>, defaults: Partial<Record<TimingName, number>> = {}): SnapshotTimings {
  const out = {} as SnapshotTimings;
  for (const name of Object.keys(DEFAULT_TIMINGS) as TimingName[]) {
    const m = median(samples[name] ?? []);
    out[name] = m === undefined ? { seconds: defaults[name] ?? DEFAULT_TIMINGS[name], source: 'default', samples: 0 } : { seconds: Math.round(m) / 1000, source: 'journal', samples: samples[name].length };
  }
  return out;
}
