// Shared by the --simulate tests: lab A stands in for the real cluster. A simulation and A's real run both go
// through the CLI in this process; the real run gets the same accelerated clock as the simulated one (the
// lab's speed), so both are measured in A's cluster time, and its events give its order and batches the same
// way the simulation computes them (lib/simulate/timeline.ts).
import { strict as assert } from 'node:assert';
import { acceleratedClock, processCpuMs } from '../../lib/core/clock.js';
import type { StampedEvent } from '../../lib/core/events.js';
import { type SimulationSummary, type TimedEvent, nodeTimeline } from '../../lib/simulate/timeline.js';
import { runInProcess } from '../cookbooks/k8s/reboot-helpers.js';

/** What a --simulate --json run prints. */
export interface SimulateJson {
  status: string;
  exitCode: number;
  simulated: boolean;
  simulation: SimulationSummary;
  error?: { class: string; message: string };
}

/** Runs the CLI in this process; console lines are captured. `clock` (a lab's speed) makes it run in cluster time. */
export async function cli(args: string[], options: { speed?: number; events?: TimedEvent[] } = {}): Promise<{ code: number; stdout: string; stderr: string; clusterMs: number }> {
  const clock = options.speed ? acceleratedClock(options.speed, { minSleepMs: 1, cpuMs: processCpuMs }) : undefined;
  const t0 = clock?.now() ?? Date.now();
  const events = options.events;
  const r = await runInProcess(args, clock, events ? { onEvents: (bus) => bus.on((event: StampedEvent) => events.push({ atMs: clock?.now() ?? Date.now(), event })) } : {});
  return { ...r, clusterMs: (clock?.now() ?? Date.now()) - t0 };
}

/** The last stdout line as JSON. */
export function jsonOf<T>(stdout: string): T {
  const line = stdout.trim().split('\n').at(-1);
  assert.ok(line?.startsWith('{'), `no JSON on stdout: ${stdout.slice(-800)}`);
  return JSON.parse(line!) as T;
}

/** Order, batches and duration (cluster seconds) of a real run, from its events, as the simulation computes them. */
export function realFigures(events: TimedEvent[], nodeNames: Iterable<string>): { nodeOrder: string[]; batches: string[][]; seconds: number } {
  const nodes = new Set(nodeNames);
  const start = events.find((e) => e.event.type === 'run.start')!.atMs;
  const end = events.findLast((e) => e.event.type === 'run.end')!.atMs;
  const t = nodeTimeline({ events, isNode: (n) => nodes.has(n), startMs: start, endMs: end });
  return { nodeOrder: t.nodeOrder, batches: t.batches, seconds: (end - start) / 1000 };
}

/** Asserts that `real` lies within `fraction` of `predicted`. */
export function assertWithin(real: number, predicted: number, fraction: number, what: string): void {
  const error = Math.abs(real - predicted) / predicted;
  // The measured prediction error is printed: it is the figure the simulation is judged by.
  console.log(`      ${what}: real ${real.toFixed(1)} s, predicted ${predicted.toFixed(1)} s, error ${(error * 100).toFixed(1)}%`);
  assert.ok(error <= fraction, `${what}: real ${real.toFixed(1)} s vs predicted ${predicted.toFixed(1)} s: off by ${(error * 100).toFixed(0)}% (> ${fraction * 100}%)`);
}
