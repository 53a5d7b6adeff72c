// The run lifecycle: parse and validate → resolve the cluster → take the lock → open (or resume) the journal
// and build the Context → announce START → run → rollback on failure → release the lock → announce END →
// summary or --json result → exit code.
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { systemClock } from '../core/clock.js';
import type { CookbookDefinition, RawArgs } from '../core/cookbook.js';
import { Context, EventLog } from '../core/context.js';
import {
  DryRunStop,
  ExitCode,
  InputError,
  InterruptedError,
  LockError,
  OperatorAbort,
  errorToJSON,
  exitCodeAfter,
  exitCodeOf,
  messageOf,
} from '../core/errors.js';
import { type AuditRecord, EventBus, type RunStatus, type Verdict } from '../core/events.js';
import { failpoint } from '../core/failpoints.js';
import { Gate } from '../core/gate.js';
import { Journal, findCompletedUnreported, journalKey } from '../core/journal.js';
import { expandPath, unwritableDirReason, unwritableFileReason } from '../core/paths.js';
import { redactText, redactValue } from '../core/redact.js';
import { formatMs } from '../core/retry.js';
import type { ClusterConfig } from '../inventory/schema.js';
import type { LockBackend, LockHandle, LockHolder } from '../lock/types.js';
import { describeHolder } from '../lock/types.js';
import { clientLoaders, lockBackendFor, resolveCluster } from './clients.js';
import { type GlobalOptions, type RunIO, reportEarlyError } from './report.js';

export type { GlobalOptions, RunIO } from './report.js';
import { attachLogging, buildResult, renderSummary, verdictOf } from './output.js';

/** A new run id: sortable time plus randomness. */
export function newRunId(now = new Date()): string {
  const t = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${t}-${randomBytes(3).toString('hex')}`;
}

/** One announcement line for the inventory's log file (a server admin log): who, what, where, why, outcome. */
export function announcementLine(payload: Record<string, unknown>): string {
  const p = redactValue(payload) as Record<string, unknown>;
  const q = (v: unknown): string => JSON.stringify(String(v));
  const parts = [new Date().toISOString(), String(p.event), String(p.cookbook), p.cluster ? `on ${String(p.cluster)}` : '', `by ${String(p.user)}@${String(p.host)}`, `run ${String(p.runId)}`];
  if (p.event === 'START') {
    if (p.dryRun) parts.push('dry-run');
    if (p.reason) parts.push(`reason=${q(p.reason)}`);
    if (p.taskId) parts.push(`task=${q(p.taskId)}`);
    parts.push(`args=${JSON.stringify(p.args ?? {})}`);
  } else {
    parts.push(`${String(p.result)} (${String(p.status)})`);
    if (p.verdict) parts.push(`verdict=${String(p.verdict)}`);
    if (p.durationMs !== undefined) parts.push(`in ${formatMs(Number(p.durationMs))}`);
  }
  return redactText(parts.filter(Boolean).join(' ')) + '\n';
}

async function announce(cluster: ClusterConfig | undefined, payload: Record<string, unknown>, log: EventLog, simulated = false): Promise<void> {
  // A run on a twin announces nothing: the real cluster's log and webhook must not hear of it.
  if (simulated) return;
  const file = cluster?.announce?.logFile;
  if (file) {
    try {
      const path = expandPath(file, process.cwd());
      mkdirSync(dirname(path), { recursive: true });
      appendFileSync(path, announcementLine(payload), { mode: 0o640 });
    } catch (err) {
      log.warn(`announcement to ${file} failed: ${messageOf(err)}`);
    }
  }
  const url = cluster?.announce?.webhook;
  if (!url) return;
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(redactValue(payload)),
      signal: AbortSignal.timeout(5000),
    });
    if (!res.ok) log.warn(`announcement to ${new URL(url).host} answered HTTP ${res.status}`);
  } catch (err) {
    log.warn(`announcement to ${new URL(url).host} failed: ${messageOf(err)}`);
  }
}

/**
 * Finds an unusable --state-dir, --log-dir or report path before anything else happens (no lock, no journal):
 * bad input, exit 2, naming the path and the reason.
 */
export function checkOutputPaths(def: CookbookDefinition<object>, raw: RawArgs, globals: Pick<GlobalOptions, 'stateDir' | 'logDir'>): void {
  const dirs: [string, string][] = [
    ['state-dir', globals.stateDir],
    ['log-dir', globals.logDir],
  ];
  for (const [option, dir] of dirs) {
    const reason = unwritableDirReason(dir);
    if (reason) {
      throw new InputError(`--${option} ${dir} is not writable: ${reason}`, {
        context: { option, path: dir, reason },
        hint: `pass a --${option} you can write to (or fix the permissions of ${dir})`,
      });
    }
  }
  // Cookbooks that write a report take it as --report FILE.
  const report = def.options.report ? raw.report : undefined;
  for (const file of Array.isArray(report) ? report : [report]) {
    if (typeof file !== 'string' || !file) continue;
    const reason = unwritableFileReason(file);
    if (reason) {
      throw new InputError(`--report ${file} cannot be written: ${reason}`, {
        context: { option: 'report', path: file, reason },
        hint: 'pass a --report path in a directory you can write to',
      });
    }
  }
}

function lockScopeOf(name: string, def: CookbookDefinition<object>, clusterName: string | undefined): string | undefined {
  const scope = def.lock ?? 'cluster';
  if (scope === 'none') return undefined;
  if (typeof scope === 'object') return scope.scope;
  return clusterName ? `cluster-${clusterName}` : `cookbook-${name}`;
}

function operatorName(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
}

/** Runs one cookbook to completion and returns the exit code. */
export async function runCookbook(name: string, def: CookbookDefinition<object>, raw: RawArgs, globals: GlobalOptions, io: RunIO): Promise<number> {
  if (globals.simulate) {
    // The same cookbook, run on a twin of the cluster (which calls back here without --simulate).
    const { simulateCookbook } = await import('../simulate/run.js');
    return simulateCookbook(name, def, raw, globals, io);
  }
  const clock = io.clock ?? systemClock;
  const base = { cookbook: name, dryRun: globals.dryRun };
  let args: object;
  let cluster: ClusterConfig | undefined;
  let clusterName: string | undefined;
  try {
    args = def.parse(raw);
    // Before the cluster (which may start a lab), the lock and the journal: a path we cannot write is bad input.
    checkOutputPaths(def, raw, globals);
    clusterName = def.cluster ? def.cluster(args) : ((args as { clusterName?: string }).clusterName ?? undefined);
    if (clusterName !== undefined) {
      cluster = await resolveCluster(clusterName, globals, (m) => io.stderr(`cookbook: ${m}\n`));
      def.validate?.(cluster, args);
    }
  } catch (err) {
    return reportEarlyError(err, globals, io, { ...base, cluster: clusterName });
  }

  const runId = newRunId();
  const user = operatorName();
  const holder: LockHolder = { user, host: hostname(), pid: process.pid, cookbook: name, runId, since: new Date().toISOString() };
  const argsRecord = args as Record<string, unknown>;
  const audit: AuditRecord = redactValue({ runId, operator: user, host: holder.host, cookbook: name, cluster: cluster?.name, args: argsRecord, reason: globals.reason, taskId: globals.taskId });

  // The lock comes before the journal: a run that cannot take it leaves nothing behind to resume.
  const scope = lockScopeOf(name, def, cluster?.name);
  let backend: LockBackend | undefined;
  let lock: LockHandle | undefined;
  const controller = new AbortController();
  try {
    if (scope) {
      backend = await lockBackendFor(cluster, globals.stateDir);
      if (globals.dryRun) {
        const current = await backend.inspect(scope);
        if (current) io.stderr(`cookbook: note: lock ${scope} is held by ${describeHolder(current)}; a real run would stop here\n`);
      } else {
        lock = await backend.acquire(scope, holder, { ttlMs: (cluster?.lock.ttlSeconds ?? 60) * 1000 });
        lock.lost.addEventListener('abort', () => {
          controller.abort(new LockError(`lost lock ${scope}: ${messageOf(lock?.lost.reason)}`, { cause: lock?.lost.reason, context: { scope } }));
        });
      }
    }
  } catch (err) {
    await backend?.close().catch(() => {});
    return reportEarlyError(err, globals, io, { ...base, cluster: clusterName });
  }

  const events = new EventBus();
  io.onEvents?.(events);
  const logging = attachLogging(events, { logDir: globals.logDir, runId, cookbook: name, verbose: globals.verbose, ...(io.quiet ? { console: false } : {}) });
  const log = new EventLog(events, globals.verbose);
  if (!globals.json) {
    events.on((e) => {
      if (e.type === 'output') io.stdout(redactText(e.text.endsWith('\n') ? e.text : `${e.text}\n`));
    });
  }

  let journal: Journal | undefined;
  let exitCode: number = ExitCode.success;
  let status: RunStatus = 'success';
  let result: unknown;
  let rollback: 'done' | 'failed' | 'none' = 'none';
  let finalError: unknown;
  let verdict: Verdict | undefined;
  const signals = io.signals ?? ['SIGINT', 'SIGTERM'];
  let interrupts = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    interrupts++;
    if (interrupts === 1) {
      log.warn(`${sig} received: stopping at the next safe point (send it again to stop at once)`);
      controller.abort(new InterruptedError(`interrupted by ${sig}`, { context: { signal: sig } }));
    } else {
      try {
        journal?.finish('interrupted', errorToJSON(new InterruptedError(`interrupted by a second ${sig}`)));
      } finally {
        process.exit(ExitCode.interrupted);
      }
    }
  };
  for (const s of signals) process.on(s, onSignal);
  const onAbort = (): void => {
    controller.abort(new InterruptedError('interrupted: the simulation was stopped', { context: { signal: 'SIGINT' } }));
  };
  if (io.abort?.aborted) onAbort();
  io.abort?.addEventListener('abort', onAbort, { once: true });

  let ctx: Context | undefined;
  try {
    const key = journalKey(name, cluster?.name, argsRecord);
    if (!globals.dryRun && !globals.fresh) {
      // A run that finished but died before it could say so (killed after its journal said success) is
      // reported now rather than repeated: repeating it could add a second node.
      const done = findCompletedUnreported(globals.stateDir, key);
      if (done) {
        log.info(`run ${done.data.runId} of ${name} with the same arguments already completed at ${done.data.finishedAt} (its end was never reported): reporting it instead of running again; --fresh runs it again`);
        // Its END was never announced either: announce it now, on its behalf.
        const d = done.data;
        await announce(cluster, { event: 'END', user: d.operator, host: d.host, pid: d.pid, cookbook: name, runId: d.runId, cluster: d.cluster, status: 'success', result: 'PASS', reportedBy: runId, reason: d.reason, taskId: d.taskId }, log, io.simulated);
        for (const s of signals) process.off(s, onSignal);
        await closeAll(undefined, lock, backend);
        await logging.close();
        const out = buildResult(done.data, { result: done.data.result, exitCode: ExitCode.success, journalPath: done.path, logPath: logging.file, alreadyDone: { runId: done.data.runId, finishedAt: done.data.finishedAt } });
        io.stdout((globals.json ? JSON.stringify(out) : renderSummary(out)) + '\n');
        // Marked only once shown: a run killed before this point leaves it to be reported again.
        done.reported(runId);
        return ExitCode.success;
      }
    }
    let resumeFrom: Journal | undefined;
    if (!globals.dryRun) {
      const found = Journal.findResumable(globals.stateDir, name, key);
      if (found) {
        const where = `run ${found.data.runId} (${found.data.status}, stopped at "${found.stoppedAt ?? 'start'}")`;
        let resume: boolean;
        if (globals.fresh) resume = false;
        else if (globals.resume || globals.yes || !io.prompter.interactive) resume = true;
        else resume = await io.prompter.ask(`An unfinished ${where} of ${name} with the same arguments exists. Resume it?`, true);
        if (resume) {
          resumeFrom = found;
        } else {
          // Superseded so that later runs do not keep offering it.
          found.data.supersededBy = `fresh:${runId}`;
          found.flush();
          log.info(`ignoring unfinished ${where} (--fresh)`);
        }
      }
    }
    journal = Journal.create(globals.stateDir, { runId, cookbook: name, cluster: cluster?.name, args: argsRecord, dryRun: globals.dryRun, resumeFrom, audit });
    const runJournal = journal;
    const gate = new Gate({
      dryRun: globals.dryRun,
      onChange: (change) => {
        runJournal.addChange(change);
        events.emit({ type: 'change', change });
      },
    });
    ctx = new Context({
      runId,
      cookbook: name,
      cluster,
      inventoryDirs: globals.inventory,
      dryRun: globals.dryRun,
      yes: globals.yes,
      reason: globals.reason,
      taskId: globals.taskId,
      stateDir: globals.stateDir,
      log,
      events,
      journal,
      gate,
      signal: controller.signal,
      clock,
      prompter: io.prompter,
      clients: clientLoaders(),
      audit,
    });
    const started = clock.now();
    events.emit({ type: 'run.start', ...audit, dryRun: globals.dryRun, resumedFrom: resumeFrom?.data.runId });
    await announce(cluster, { event: 'START', ...holder, cluster: cluster?.name, reason: globals.reason, taskId: globals.taskId, dryRun: globals.dryRun, args: argsRecord }, log, io.simulated);
    // Exit 2 promises that nothing changed: not true once this run (or the run it resumes) changed something.
    const changedSomething = (): boolean => runJournal.data.changes.some((c) => !c.planned) || (resumeFrom?.data.changes.some((c) => !c.planned) ?? false);
    try {
      result = await def.run(ctx, args);
    } catch (err) {
      finalError = err;
      if (err instanceof DryRunStop && globals.dryRun) {
        // Planning reached a point that depends on planned changes: the dry-run still planned what it could.
        log.info(`dry-run stopped planning: ${err.message}`);
        finalError = undefined;
      } else if (err instanceof InterruptedError || (controller.signal.aborted && !(err instanceof OperatorAbort))) {
        status = 'interrupted';
        exitCode = err instanceof LockError ? ExitCode.failed : ExitCode.interrupted;
        if (err instanceof LockError) status = 'failed';
      } else if (err instanceof OperatorAbort) {
        status = 'aborted';
        exitCode = ExitCode.aborted;
      } else {
        status = 'failed';
        exitCode = exitCodeAfter(err, changedSomething());
        if (exitCode === ExitCode.success) exitCode = ExitCode.failed;
        if (exitCode !== exitCodeOf(err)) log.warn(`${name} changed things before this error: exit ${exitCode}, not ${exitCodeOf(err)} ("nothing changed")`);
        if (def.rollback && !globals.dryRun) {
          log.warn(`${name} failed (${messageOf(err)}); running its rollback`);
          try {
            await def.rollback(ctx, args, err);
            rollback = 'done';
          } catch (rbErr) {
            rollback = 'failed';
            log.error(`rollback failed: ${messageOf(rbErr)}`);
          }
        }
      }
    }
    if (globals.dryRun && status !== 'aborted' && status !== 'interrupted') {
      verdict = verdictOf({ problems: runJournal.data.problems ?? [], steps: runJournal.data.steps, error: finalError ? errorToJSON(finalError) : undefined });
      if (verdict.outcome !== 'would-succeed') {
        status = 'failed';
        if (exitCode === ExitCode.success) exitCode = ExitCode.failed;
      }
    }
    const durationMs = clock.now() - started;
    journal.finish(status, finalError ? errorToJSON(finalError) : undefined, { result, verdict });
    // Crash tests kill the process here: the journal says success, nothing has been reported yet.
    await failpoint('after', '(run finished)', clock, new AbortController().signal);
    events.emit({ type: 'run.end', runId, status, durationMs, error: finalError ? redactValue(errorToJSON(finalError)) : undefined, verdict: verdict?.outcome });
    await announce(
      cluster,
      { event: 'END', ...holder, cluster: cluster?.name, status, result: status === 'success' ? 'PASS' : 'FAIL', verdict: verdict?.outcome, durationMs, reason: globals.reason, taskId: globals.taskId },
      log,
      io.simulated,
    );
  } catch (err) {
    // Failures of the machinery itself (journal not writable, ...).
    finalError = err;
    status = err instanceof InterruptedError ? 'interrupted' : 'failed';
    exitCode = exitCodeAfter(err, journal?.data.changes.some((c) => !c.planned) ?? false);
    if (journal) journal.finish(status, errorToJSON(err));
    else {
      for (const s of signals) process.off(s, onSignal);
      await closeAll(ctx, lock, backend);
      await logging.close();
      return reportEarlyError(err, globals, io, { ...base, cluster: clusterName, runId });
    }
  } finally {
    for (const s of signals) process.off(s, onSignal);
  }
  await closeAll(ctx, lock, backend);
  await logging.close();
  const out = buildResult(journal.data, { result, rollback, exitCode, journalPath: journal.path, logPath: logging.file });
  if (globals.json) io.stdout(JSON.stringify(out) + '\n');
  else io.stdout(renderSummary(out) + '\n');
  try {
    journal.reported();
  } catch (err) {
    io.stderr(`cookbook: warning: could not mark the journal as reported: ${messageOf(err)}\n`);
  }
  return exitCode;
}

async function closeAll(ctx: Context | undefined, lock: LockHandle | undefined, backend: LockBackend | undefined): Promise<void> {
  if (lock) await lock.release().catch((err) => process.stderr.write(`cookbook: warning: releasing the lock failed: ${messageOf(err)}\n`));
  if (ctx) {
    for (const p of ctx.builtClients()) {
      try {
        const client = (await p) as { close?: () => Promise<void> | void };
        await client.close?.();
      } catch {
        // A client that failed to build has nothing to close.
      }
    }
  }
  await backend?.close().catch(() => {});
}

/** Default directories under the state dir. */
export function defaultDirs(stateDir: string): { logDir: string } {
  return { logDir: join(stateDir, 'logs') };
}
