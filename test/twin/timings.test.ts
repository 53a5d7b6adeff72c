// Timings of a snapshot: medians of what earlier real runs' journals recorded (the rolling reboot's per-node
// phases, add-node's VM and Ready steps), the stated defaults without history, never a dry-run's numbers.
import { strict as assert } from 'node:assert';
import { describe, it } from 'mocha';
import { Journal } from '../../lib/core/journal.js';
import { NODE_POLL_BACKOFF } from '../../lib/ops/node/timeouts.js';
import { DEFAULT_TIMINGS, calibrateTimings, median, pollOvershootMs, timingsFrom } from '../../lib/twin/timings.js';
import { tempDir } from '../helpers/cli.js';

/** Records finished steps with the given durations (each a new record: the journal keeps a finished step's serialized form). */
function doneSteps(j: Journal, steps: [string, number][]): void {
  for (const [name, ms] of steps) {
    j.stepEnded(j.stepStarted(name), 'done');
    j.data.steps[j.data.steps.length - 1] = { ...j.data.steps.at(-1)!, durationMs: ms };
  }
}

describe('twin: timings', () => {
  for (const [values, want] of [
    [[], undefined],
    [[5], 5],
    [[9, 1, 5], 5],
    [[4, 1, 3, 2], 2.5],
  ] as [number[], number | undefined][]) {
    it(`median of [${values.join(', ')}] is ${want}`, () => assert.equal(median(values), want));
  }

  it('a cluster without history gets the stated defaults, marked as such', () => {
    const t = calibrateTimings(tempDir('cc-twin-empty-'), 'prod');
    for (const [name, seconds] of Object.entries(DEFAULT_TIMINGS)) assert.deepEqual(t[name as keyof typeof t], { seconds, source: 'default', samples: 0 });
    assert.equal(timingsFrom({ nodeRebootS: [], kubeletReadyS: [], drainPerPodS: [], vmBuildS: [], podStartS: [], podTerminateS: [] }, { nodeRebootS: 3 }).nodeRebootS.seconds, 3);
  });

  it("takes medians from the cluster's real reboot and add-node journals, not from dry-runs or other clusters", () => {
    const state = tempDir('cc-twin-journals-');
    const reboot = (cluster: string, dryRun: boolean, nodes: { reboot: number; ready: number; drain: number; owners: number }[]): void => {
      const j = Journal.create(state, { runId: `r-${cluster}-${dryRun}-${nodes.length}`, cookbook: 'k8s.reboot', cluster, args: { n: nodes.length }, dryRun });
      nodes.forEach((n, i) => {
        let t = 1_000_000;
        const span = (phase: string, ms: number) => ({ phase, start: t, end: (t += ms) });
        j.setMemo(`reboot:node:host-${i}`, { phase: 'done', runId: j.data.runId, owners: Array.from({ length: n.owners }, (_, k) => ({ kind: 'Deployment', namespace: 'ns', name: `w${k}` })), phases: [span('cordon', 100), span('drain', n.drain), span('reboot', n.reboot), span('wait-ready', n.ready), span('uncordon', 50)] });
      });
      j.finish('success');
    };
    reboot('prod', false, [
      { reboot: 100_000, ready: 20_000, drain: 30_000, owners: 3 },
      { reboot: 140_000, ready: 40_000, drain: 8_000, owners: 2 },
      { reboot: 120_000, ready: 30_000, drain: 0, owners: 0 },
    ]);
    // A dry-run's simulated numbers and another cluster's never count.
    reboot('prod', true, [{ reboot: 1, ready: 1, drain: 1, owners: 1 }]);
    reboot('staging', false, [{ reboot: 999_000, ready: 999_000, drain: 999_000, owners: 1 }]);
    const add = Journal.create(state, { runId: 'add-1', cookbook: 'k8s.add-node', cluster: 'prod', args: {}, dryRun: false });
    doneSteps(add, [
      ['create VM prod-k8s-worker-9', 2_000],
      ['wait VM prod-k8s-worker-9 ACTIVE', 58_000],
      ['join prod-k8s-worker-9', 5_000],
      ['wait prod-k8s-worker-9 Ready', 50_000],
    ]);
    add.finish('success');

    const t = calibrateTimings(state, 'prod');
    assert.deepEqual(t.nodeRebootS, { seconds: 120, source: 'journal', samples: 3 });
    // Ready after boot: 20, 30, 40 s from reboots, each less its polling overrun (1 s: half the 2 s interval),
    // and 50 s from add-node.
    assert.deepEqual(t.kubeletReadyS, { seconds: 34, source: 'journal', samples: 4 });
    // Drain per evicted workload: 30/3 = 10 s and 8/2 = 4 s (a node with nothing to drain says nothing).
    assert.deepEqual(t.drainPerPodS, { seconds: 7, source: 'journal', samples: 2 });
    assert.deepEqual(t.vmBuildS, { seconds: 60, source: 'journal', samples: 1 });
    assert.equal(t.podStartS.source, 'default');
  });
  it('a done node record with only ownersCount (no owners list) still gives the drain per workload', () => {
    const state = tempDir('cc-twin-owners-');
    const j = Journal.create(state, { runId: 'r-count', cookbook: 'k8s.reboot', cluster: 'prod', args: {}, dryRun: false });
    let t = 1_000_000;
    const span = (phase: string, ms: number) => ({ phase, start: t, end: (t += ms) });
    j.setMemo('reboot:node:prod-k8s-worker-1', { phase: 'done', runId: 'r-count', ownersCount: 4, phases: [span('cordon', 100), span('drain', 24_000)] });
    j.finish('success');
    assert.deepEqual(calibrateTimings(state, 'prod').drainPerPodS, { seconds: 6, source: 'journal', samples: 1 });
  });

  it("takes the kubelet's restart until Ready from an upgrade's 'kubelet' phase (in the run's clock)", () => {
    const state = tempDir('cc-twin-upgrade-');
    const j = Journal.create(state, { runId: 'u-1', cookbook: 'k8s.upgrade', cluster: 'prod', args: {}, dryRun: false });
    [18_000, 22_000, 40_000].forEach((kubeletMs, i) => {
      let t = 1_000_000;
      const span = (phase: string, ms: number) => ({ phase, start: t, end: (t += ms) });
      j.setMemo(`upgrade:node:prod-k8s-worker-${i + 1}`, { phase: 'done', runId: 'u-1', owners: [], phases: [span('cordon', 500), span('packages', 30_000), span('kubelet', kubeletMs), span('uncordon', 500)] });
    });
    j.finish('success');
    const got = calibrateTimings(state, 'prod');
    // 18, 22 and 40 s, each less 1 s of polling overrun.
    assert.deepEqual(got.kubeletReadyS, { seconds: 21, source: 'journal', samples: 3 });
    assert.equal(got.nodeRebootS.source, 'default', 'an upgrade reboots nothing');
  });

  it("splits a rolling reboot's offline time by its steps' proportions (the 'wait-ready' phase spans the boot and the kubelet)", () => {
    const state = tempDir('cc-twin-split-');
    const j = Journal.create(state, { runId: 'r-split', cookbook: 'k8s.reboot', cluster: 'prod', args: {}, dryRun: false });
    let t = 1_000_000;
    const span = (phase: string, ms: number) => ({ phase, start: t, end: (t += ms) });
    // The run's clock (phases): the command 1 s, then 79 s until Ready. Wall-time steps (an accelerated run: 1/100):
    // 0.6 s until the new boot id, 0.2 s until Ready, so 3/4 of the wait was the reboot.
    j.setMemo('reboot:node:prod-k8s-worker-1', { phase: 'done', runId: j.data.runId, owners: [], phases: [span('reboot', 1_000), span('wait-ready', 80_000)] });
    doneSteps(j, [
      ['reboot prod-k8s-worker-1', 10],
      ['wait prod-k8s-worker-1 rebooted', 600],
      ['wait prod-k8s-worker-1 Ready', 200],
    ]);
    j.finish('success');
    const got = calibrateTimings(state, 'prod');
    // 1 s + 60 s and 20 s, each polled wait less 1 s of overrun (the twin's run polls again).
    assert.deepEqual(got.nodeRebootS, { seconds: 60, source: 'journal', samples: 1 });
    assert.deepEqual(got.kubeletReadyS, { seconds: 19, source: 'journal', samples: 1 });
  });

  for (const [waitMs, want] of [
    [0, 0],
    [100, 50],
    [250, 75],
    [1_000, 253],
    [60_000, 1_000],
  ] as [number, number][]) {
    it(`a polled wait of ${waitMs} ms overran its change by ${want} ms on average (half the interval then)`, () => assert.equal(Math.round(pollOvershootMs(waitMs)), want));
  }

  it('the overrun taken off: a twin replaying a journal wait, polled again, no longer overshoots the real wait', () => {
    // A node Ready T = 60 s after its phase began; the poll loop starts s after that (the command's own time),
    // then probes at the NODE_POLL schedule: the wait measured is s + the first probe at or after T - s. The
    // real run's s and the twin run's s are independent, each spread over one poll interval.
    const probes: number[] = [0];
    for (let a = 1; probes.at(-1)! < 200_000; a++) probes.push(probes.at(-1)! + Math.min(NODE_POLL_BACKOFF.maxMs, NODE_POLL_BACKOFF.initialMs * NODE_POLL_BACKOFF.factor ** (a - 1)));
    const measured = (t: number, s: number): number => s + probes.find((p) => s + p >= t)!;
    const n = 60;
    const starts = Array.from({ length: n }, (_, i) => (i / n) * NODE_POLL_BACKOFF.maxMs);
    const T = 60_000;
    const mean = (xs: number[]): number => xs.reduce((x, y) => x + y, 0) / xs.length;
    const real = mean(starts.map((s) => measured(T, s)));
    // The journal holds one real run's wait; the twin replays it (raw, or less its expected overrun) and polls.
    const predicted = (timing: (journal: number) => number): number => mean(starts.flatMap((s1) => starts.map((s2) => measured(timing(measured(T, s1)), s2))));
    const rawMs = predicted((j) => j) - real;
    const correctedMs = predicted((j) => j - pollOvershootMs(j)) - real;
    assert.ok(rawMs >= 800, `uncorrected, the prediction overshoots by about half an interval: ${rawMs.toFixed(0)} ms`);
    assert.ok(Math.abs(correctedMs) <= 150, `corrected, it is off by ${correctedMs.toFixed(0)} ms on average (uncorrected: ${rawMs.toFixed(0)} ms)`);
  });
});
