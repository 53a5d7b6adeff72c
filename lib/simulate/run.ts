// `cookbook <cookbook> ... --simulate`: the same cookbook with the same arguments, run for real against a twin
// of the cluster, in the cluster's time. Bad input is refused first (exit 2, nothing read); then a snapshot of
// the cluster (reads only: its Context's gate is a dry-run gate, so a write could not even be attempted), a
// twin started from it at an accelerated speed, the run on the twin with a clock that speed times faster (every
// wait, timeout and duration in cluster time), and the twin stopped and removed whatever happens (SIGINT too).
// The result is computed from the run's typed events (timeline.ts) and shown on the console, as --json's
// `simulation` and as an HTML timeline (--report).
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { acceleratedClock, processCpuMs, systemClock } from '../core/clock.js';
import { fixedPrompter } from '../core/confirm.js';
import type { CookbookDefinition, RawArgs } from '../core/cookbook.js';
import { Context, EventLog } from '../core/context.js';
import { CookbookError, ExitCode, InputError, InterruptedError, UsageError, messageOf } from '../core/errors.js';
import { EventBus } from '../core/events.js';
import { Gate, type Change } from '../core/gate.js';
import { Journal } from '../core/journal.js';
import { unwritableFileReason } from '../core/paths.js';
import { redactValue } from '../core/redact.js';
import type { ClusterConfig } from '../inventory/schema.js';
import { clientLoaders, resolveCluster } from '../runner/clients.js';
import { type GlobalOptions, type RunIO, reportEarlyError } from '../runner/report.js';
import { type SimulationOutcome, busyNote, maskedSecretsOf, notesFrom, renderSimulation, writeSimulationReport } from './output.js';
import { type TimedEvent, nodeTimeline, stepList, timelineSeconds } from './timeline.js';
import { type Twin, defaultSpeed, sampleRequests, startTwinOf, takeSnapshotOf } from './twin.js';

/** The snapshot read something through a client's write path: a bug, and the simulation stops before the twin. */
export class SnapshotWroteError extends CookbookError {}

/** Checks what makes --simulate bad input (exit 2 before anything is read): returns the parsed arguments. */
export function checkSimulateInput(name: string, def: CookbookDefinition<object>, raw: RawArgs, globals: GlobalOptions): { args: object; clusterName: string } {
  if (globals.dryRun) {
    throw new UsageError('--simulate and --dry-run exclude each other', { context: { option: 'simulate' }, hint: '--dry-run lists the changes; --simulate runs them on a twin and predicts the run: pick one' });
  }
  if (def.lock === 'none') {
    throw new InputError(`${name} only reads: there is nothing to simulate`, { context: { cookbook: name, option: 'simulate' }, hint: `run it without --simulate: cookbook ${name} ...` });
  }
  const args = def.parse(raw);
  const clusterName = def.cluster ? def.cluster(args) : (args as { clusterName?: string }).clusterName;
  if (!clusterName) {
    throw new InputError(`${name} runs without a cluster here: --simulate needs one to take a snapshot of`, { context: { cookbook: name, option: 'simulate' }, hint: 'pass --cluster-name' });
  }
  const report = raw.report;
  if (typeof report === 'string' && report) {
    const reason = unwritableFileReason(report);
    if (reason) throw new InputError(`--report ${report} cannot be written: ${reason}`, { context: { option: 'report', path: report, reason }, hint: 'pass a --report path in a directory you can write to' });
  }
  return { args, clusterName };
}

/** Runs `name` with `raw` on a twin of its cluster and reports the prediction; returns the exit code. */
export async function simulateCookbook(name: string, def: CookbookDefinition<object>, raw: RawArgs, globals: GlobalOptions, io: RunIO): Promise<number> {
  const base = { cookbook: name, simulated: true };
  let cluster: ClusterConfig;
  let args: object;
  try {
    const checked = checkSimulateInput(name, def, raw, globals);
    args = checked.args;
    cluster = await resolveCluster(checked.clusterName, globals, (m) => io.stderr(`cookbook: ${m}\n`));
    def.validate?.(cluster, args);
  } catch (err) {
    return reportEarlyError(err, globals, io, base);
  }
  const speed = globals.simulateSpeed ?? defaultSpeed(cluster);
  const dir = mkdtempSync(join(tmpdir(), 'cc-simulate-'));
  const note = (m: string): void => io.stderr(`cookbook: simulate: ${m}\n`);
  const controller = new AbortController();
  let twin: Twin | undefined;
  let interrupts = 0;
  const signals = io.signals ?? ['SIGINT', 'SIGTERM'];
  const onSignal = (sig: NodeJS.Signals): void => {
    interrupts++;
    note(interrupts === 1 ? `${sig}: stopping the simulated run, then the twin` : `${sig} again: stopping the twin now`);
    if (interrupts === 1) controller.abort(new InterruptedError(`interrupted by ${sig}`, { context: { signal: sig } }));
    else void stopTwin().finally(() => process.exit(ExitCode.interrupted));
  };
  let stopping: Promise<void> | undefined;
  const stopTwin = (): Promise<void> => {
    stopping ??= (async () => {
      try {
        await twin?.stop();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    })();
    return stopping;
  };
  for (const s of signals) process.on(s, onSignal);
  try {
    const wall0 = Date.now();
    note(`taking a snapshot of ${cluster.name} (reads only)`);
    let snapshot: unknown = await snapshotOf(name, cluster, args, dir, globals.stateDir, io, controller.signal);
    const snapshotS = (Date.now() - wall0) / 1000;
    throwIfInterrupted(controller.signal);
    const wall1 = Date.now();
    twin = await startTwinOf(cluster, snapshot, { speed, stateDir: dir, note });
    // The twin has its own copy (a model-scale snapshot holds 10,000 pods): this process keeps only what the
    // summary's notes need (which Secrets the snapshot masked), not the snapshot, during the run.
    const masked = maskedSecretsOf(snapshot);
    snapshot = undefined;
    const twinStartS = (Date.now() - wall1) / 1000;
    throwIfInterrupted(controller.signal);
    note(`twin of ${cluster.name} up in ${twinStartS.toFixed(1)} s (speed ${speed}); running ${name} on it`);
    const outcome = await runOnTwin(name, def, raw, globals, io, { twin, dir, speed, abort: controller.signal });
    outcome.summary.twin = { ...outcome.summary.twin, snapshotSeconds: round(snapshotS), startSeconds: round(twinStartS) } as typeof outcome.summary.twin;
    const notes = [...notesFrom(masked, outcome.result), ...busyNote(outcome.summary.twin)];
    if (notes.length) outcome.summary.notes = notes;
    await stopTwin();
    twin = undefined;
    if (typeof raw.report === 'string' && raw.report) outcome.report = writeSimulationReport(raw.report, outcome);
    io.stdout((globals.json ? JSON.stringify(outcome.json) : renderSimulation(outcome)) + '\n');
    return outcome.exitCode;
  } catch (err) {
    return reportEarlyError(err, globals, io, { ...base, cluster: cluster.name });
  } finally {
    for (const s of signals) process.off(s, onSignal);
    await stopTwin().catch((err: unknown) => io.stderr(`cookbook: warning: ${messageOf(err)}\n`));
  }
}

function throwIfInterrupted(signal: AbortSignal): void {
  if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new InterruptedError('interrupted');
}

const round = (x: number): number => Math.round(x * 10) / 10;

/** How long the warm-up dry-run on the twin may go on (wall time). */
const WARM_MS = 3000;

/** The snapshot, taken through a dry-run Context: its gate records any write instead of sending it. */
async function snapshotOf(name: string, cluster: ClusterConfig, args: object, dir: string, stateDir: string, io: RunIO, signal: AbortSignal): Promise<unknown> {
  const runId = `snapshot-${Date.now().toString(36)}`;
  const writes: Change[] = [];
  const gate = new Gate({ dryRun: true, onChange: (c) => writes.push(c) });
  const events = new EventBus();
  const operator = (() => {
    try {
      return userInfo().username;
    } catch {
      return 'unknown';
    }
  })();
  const audit = { runId, operator, host: hostname(), cookbook: name, cluster: cluster.name, args: {} };
  const ctx = new Context({
    runId,
    cookbook: name,
    cluster,
    dryRun: true,
    yes: false,
    // The operator's state dir: the snapshot calibrates its timings from the journals of earlier real runs there.
    stateDir,
    log: new EventLog(events, false),
    events,
    journal: Journal.create(join(dir, 'snapshot-state'), { runId, cookbook: name, cluster: cluster.name, args: args as Record<string, unknown>, dryRun: true, audit }),
    gate,
    signal,
    clock: systemClock,
    prompter: io.prompter,
    clients: clientLoaders(),
    audit,
  });
  try {
    const snapshot = await takeSnapshotOf(ctx);
    if (writes.length) {
      throw new SnapshotWroteError(`the snapshot of ${cluster.name} tried to change it (${writes.map((w) => `${w.action} ${w.target}`).join(', ')}); nothing was sent`, {
        context: { cluster: cluster.name, changes: writes.map((w) => ({ action: w.action, target: w.target })) },
        hint: 'this is a bug in the snapshot: report it; the cluster was not changed',
      });
    }
    return snapshot;
  } finally {
    for (const p of ctx.builtClients()) await Promise.resolve(p).then((c) => (c as { close?: () => unknown }).close?.()).catch(() => {});
  }
}

/** Runs the cookbook on the twin with the accelerated clock and computes the outcome from its events. */
async function runOnTwin(name: string, def: CookbookDefinition<object>, raw: RawArgs, globals: GlobalOptions, io: RunIO, o: { twin: Twin; dir: string; speed: number; abort: AbortSignal }): Promise<SimulationOutcome> {
  const { twin, dir, speed } = o;
  // The cookbook's own report of the twin run stays in the twin's directory; --report is the simulation's.
  const twinRaw: RawArgs = { ...raw };
  if (def.options.report) {
    if (typeof raw.report === 'string') twinRaw.report = join(dir, 'cookbook-report.html');
  } else {
    delete twinRaw.report;
  }
  const twinGlobals: GlobalOptions = {
    ...globals,
    simulate: false,
    dryRun: false,
    // Confirmations are answered yes on the twin: it is the twin that changes.
    yes: true,
    json: true,
    inventory: [twin.inventoryDir],
    stateDir: join(dir, 'state'),
    logDir: join(dir, 'logs'),
    fresh: true,
    resume: false,
  };
  delete twinGlobals.simulateSpeed;
  // A twin just started is cold (compiled code paths, TLS sessions, caches), and so are the modules of this
  // process the cookbook loads on first use: a dry-run of the same command on the twin warms both, so the
  // timed run is not charged, times the speed, for a start-up the real cluster does not have. Its first
  // seconds are enough (planning a 60-node rollout in full would take minutes): it is stopped after WARM_MS.
  const { runCookbook } = await import('../runner/run.js');
  await runCookbook(name, def, twinRaw, { ...twinGlobals, dryRun: true, logDir: join(dir, 'warm-logs') }, {
    prompter: fixedPrompter(true, false),
    stdout: () => {},
    stderr: () => {},
    clock: acceleratedClock(speed, { minSleepMs: 1 }),
    signals: [],
    abort: AbortSignal.any([o.abort, AbortSignal.timeout(WARM_MS)]),
    simulated: true,
    quiet: true,
  });
  throwIfInterrupted(o.abort);
  const clock = acceleratedClock(speed, { minSleepMs: 1, cpuMs: processCpuMs });
  const events: TimedEvent[] = [];
  let out = '';
  // A rollout that can start nothing says "still held" once a minute (cluster time): the prediction is made
  // then (the real run would wait there until its --hold-timeout), not an hour of twin time later.
  const held = new AbortController();
  const requests = sampleRequests(twin);
  const wall0 = Date.now();
  const cpu0 = processCpuMs();
  const exitCode = await runCookbook(name, def, twinRaw, twinGlobals, {
    prompter: fixedPrompter(true, false),
    stdout: (t) => (out += t),
    stderr: (t) => io.stderr(t),
    clock,
    signals: [],
    abort: AbortSignal.any([o.abort, held.signal]),
    simulated: true,
    onEvents: (bus) =>
      bus.on((event) => {
        events.push({ atMs: clock.now(), event });
        if (event.type === 'log' && event.message.startsWith('still held:') && !held.signal.aborted) held.abort(new InterruptedError('the simulated run is held'));
      }),
  });
  const wallSeconds = (Date.now() - wall0) / 1000;
  const cpuSeconds = (processCpuMs() - cpu0) / 1000;
  const api = await requests.stop();
  const counters = await twin.counters().catch(() => undefined);
  const result = parseResult(out);
  const startMs = events.find((e) => e.event.type === 'run.start')?.atMs ?? events[0]?.atMs ?? clock.now();
  const endMs = events.findLast((e) => e.event.type === 'run.end')?.atMs ?? clock.now();
  const nodes = nodeTimeline({ events, isNode: nodeNamer(events, raw), startMs, endMs });
  const summary = {
    predictedSeconds: round((endMs - startMs) / 1000),
    nodeOrder: nodes.nodeOrder,
    batches: nodes.batches,
    waits: nodes.waits,
    maxUnavailable: counters?.maxUnavailableNodes ?? nodes.maxInFlight,
    pdbViolations: counters?.pdbViolations ?? null,
    apiRequests: api,
    holds: nodes.holds,
    steps: stepList(events, startMs),
    timeline: timelineSeconds(nodes.segments, startMs),
    twin: { kind: twin.kind, speed, wallSeconds: round(wallSeconds), cpuSeconds: round(cpuSeconds), ...(twin.timings ? { timings: twin.timings } : {}) },
    heldEarly: held.signal.aborted && !o.abort.aborted,
  };
  // Exit: what the real run would do. A run that succeeds while violating a PDB would not be acceptable either.
  const heldEarly = held.signal.aborted && !o.abort.aborted;
  let code = exitCode === ExitCode.success && (summary.pdbViolations ?? 0) > 0 ? ExitCode.failed : exitCode;
  if (heldEarly) code = ExitCode.failed;
  const { journal: _j, log: _l, ...rest } = result ?? {};
  const json = { ...rest, ...(heldEarly ? { status: 'failed' } : {}), durationMs: Math.round(endMs - startMs), cookbook: name, simulated: true, exitCode: code, simulation: summary };
  return { cookbook: name, cluster: String(result?.cluster ?? ''), summary, json, result, exitCode: code, segments: nodes.segments, startMs };
}

/** The run's --json object (the last line of its stdout). */
function parseResult(out: string): Record<string, unknown> | undefined {
  const line = out.trim().split('\n').at(-1);
  if (!line) return undefined;
  try {
    // Parsed first, then redacted: redacting the JSON text could break its escapes (a masked `password: \"...\"`).
    return redactValue(JSON.parse(line)) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/**
 * Which progress targets and step words are nodes: names the rolling engine reports per node (it emits a
 * `done`/`total` count with them) and host names given as arguments.
 */
function nodeNamer(events: readonly TimedEvent[], raw: RawArgs): (name: string) => boolean {
  const names = new Set<string>();
  for (const { event: e } of events) if (e.type === 'progress' && e.scope !== 'drain' && e.total !== undefined) names.add(e.target);
  for (const [k, v] of Object.entries(raw)) {
    if (k !== 'hostname' && !k.endsWith('-hostname') && !k.endsWith('Hostname')) continue;
    for (const h of [v].flat()) if (typeof h === 'string') for (const part of h.split(',')) names.add(part.trim());
  }
  for (const { event: e } of events) {
    if (e.type !== 'change') continue;
    const m = /^(?:node|server|host)\/(\S+)$/.exec(e.change.target) ?? /^([a-z0-9-]+-\d+)$/.exec(e.change.target);
    if (m) names.add(m[1]!);
  }
  return (name) => names.has(name);
}
