// What a fan-out tells its caller, kept pure: each host's outcome becomes a HostResult (exit status and output
// of the command, the planned change in dry-run, why a host was never started), and the hosts' results become
// one FanoutResult, or the RemoteBatchError that says how far below the success threshold it ended.
import { messageOf } from '../core/errors.js';
import { type Planned, isPlanned } from '../core/gate.js';
import { type BatchFailure, RemoteBatchError, RemoteCommandError, RemoteHostError } from './errors.js';
import type { FanOutOutcome, SkipReason, TaskOutcome } from './fanout.js';
import type { CommandResult, FanoutResult, HostResult } from './types.js';

const NOT_STARTED: Record<SkipReason, { why: string; hint: string }> = {
  threshold: { why: 'the success threshold can no longer be met', hint: 'fix the failed hosts first, then rerun on the hosts that were not run' },
  deadline: { why: 'the overall deadline passed', hint: 'rerun on the hosts that were not run' },
  aborted: { why: 'interrupted', hint: 'rerun on the hosts that were not run' },
};

/** One host's result from its fan-out outcome: the command's answer (also of a failed command), or why it never ran. */
export function hostResultOf(o: TaskOutcome<CommandResult | Planned>): HostResult {
  const r: HostResult = { host: o.host, status: o.status, exitCode: null, signal: null, stdout: '', stderr: '', durationMs: o.durationMs, batch: o.batch };
  const answer = (v: CommandResult): void => {
    Object.assign(r, { address: v.address, port: v.port, exitCode: v.exitCode, signal: v.signal, stdout: v.stdout, stderr: v.stderr });
  };
  if (o.value && isPlanned(o.value)) {
    r.status = 'planned';
    r.planned = o.value;
  } else if (o.value) {
    answer(o.value);
  }
  if (o.error instanceof RemoteCommandError && o.error.result) answer(o.error.result);
  else if (o.error instanceof RemoteHostError) Object.assign(r, { address: o.error.context.address, port: o.error.context.port });
  if (o.error !== undefined) r.error = o.error instanceof Error ? o.error : new Error(String(o.error));
  if (o.skipReason) {
    const { why, hint } = NOT_STARTED[o.skipReason];
    r.skipReason = o.skipReason;
    r.error = new RemoteHostError(`not started on ${o.host}: ${why}`, { context: { host: o.host }, hint });
  }
  return r;
}

/** The fan-out's result, hosts in the order they were given. */
export function fanoutResultOf(hosts: readonly string[], results: ReadonlyMap<string, HostResult>, outcome: FanOutOutcome<unknown>): FanoutResult {
  const ordered = hosts.map((h) => results.get(h)!);
  const having = (status: HostResult['status']): string[] => ordered.filter((r) => r.status === status).map((r) => r.host);
  return {
    results: ordered,
    ok: having('ok'),
    failed: having('failed'),
    skipped: having('skipped'),
    planned: having('planned'),
    required: outcome.required,
    thresholdMet: outcome.thresholdMet,
    batches: outcome.batches,
    durationMs: outcome.durationMs,
  };
}

/** The error of a fan-out that missed its success threshold (undefined when it met it); `command` is already redacted. */
export function fanoutError(result: FanoutResult, command: string): RemoteBatchError | undefined {
  if (result.thresholdMet) return undefined;
  const total = result.results.length;
  const failures: BatchFailure[] = result.results
    .filter((r) => r.status === 'failed' || r.status === 'skipped')
    .map((r) => ({ host: r.host, status: r.status as 'failed' | 'skipped', error: r.error ? messageOf(r.error) : 'unknown error', errorClass: r.error?.name ?? 'Error' }));
  const err = new RemoteBatchError(
    `command succeeded on ${result.ok.length} of ${total} hosts, ${result.required} needed (${result.failed.length} failed, ${result.skipped.length} not run): ${command}`,
    failures,
    { context: { hosts: total, ok: result.ok.length, required: result.required } },
  );
  err.result = result;
  return err;
}
