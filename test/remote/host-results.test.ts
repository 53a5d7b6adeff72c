// A fan-out's outcomes → each host's result, the fan-out's result and its error: one table per function.
import assert from 'node:assert/strict';
import { planned } from '../../lib/core/gate.js';
import { RemoteCommandError, RemoteHostError } from '../../lib/remote/errors.js';
import type { FanOutOutcome, TaskOutcome } from '../../lib/remote/fanout.js';
import { fanoutError, fanoutResultOf, hostResultOf } from '../../lib/remote/host-results.js';
import type { CommandResult, HostResult } from '../../lib/remote/types.js';

const answer = (exitCode: number | null, stdout = '', stderr = ''): CommandResult => ({
  host: 'h1',
  address: '10.0.0.1',
  port: 22,
  command: 'hostname',
  exitCode,
  signal: exitCode === null ? 'KILL' : null,
  stdout,
  stderr,
  durationMs: 5,
  truncated: false,
});
const commandFailed = (): RemoteCommandError => {
  const err = new RemoteCommandError('command on h1 exited with status 3: hostname', { context: { host: 'h1', address: '10.0.0.1', port: 22 } });
  err.result = answer(3, 'out', 'boom');
  return err;
};
const outcome = (o: Partial<TaskOutcome<CommandResult | ReturnType<typeof planned>>>): TaskOutcome<CommandResult | ReturnType<typeof planned>> => ({
  host: 'h1',
  status: 'ok',
  batch: 0,
  durationMs: 7,
  ...o,
});

type Want = Partial<Pick<HostResult, 'status' | 'address' | 'port' | 'exitCode' | 'signal' | 'stdout' | 'stderr' | 'skipReason'>> & { error?: RegExp; errorClass?: string; planned?: boolean };

const rows: [string, TaskOutcome<CommandResult | ReturnType<typeof planned>>, Want][] = [
  ['ok: the command answer', outcome({ value: answer(0, 'h1\n') }), { status: 'ok', address: '10.0.0.1', port: 22, exitCode: 0, stdout: 'h1\n', error: undefined }],
  ['dry-run: planned, nothing sent', outcome({ value: planned({ target: 'h1', action: 'run hostname', planned: true, system: 'remote', at: '2026-11-30T10:00:00.000Z' }) }), { status: 'planned', exitCode: null, planned: true }],
  ['failed command: its status and output', outcome({ status: 'failed', error: commandFailed() }), { status: 'failed', exitCode: 3, stdout: 'out', stderr: 'boom', error: /status 3/, errorClass: 'RemoteCommandError' }],
  ['killed command: no status, the signal', outcome({ status: 'failed', error: Object.assign(commandFailed(), { result: answer(null) }) }), { status: 'failed', exitCode: null, signal: 'KILL' }],
  ['unreachable host: where it tried', outcome({ status: 'failed', error: new RemoteHostError('refused', { context: { host: 'h1', address: '10.9.9.9', port: 2222 } }) }), { status: 'failed', address: '10.9.9.9', port: 2222, exitCode: null, error: /refused/ }],
  ['a thrown non-Error', outcome({ status: 'failed', error: 'weird' }), { status: 'failed', error: /^weird$/, errorClass: 'Error' }],
  ['not started: threshold', outcome({ status: 'skipped', skipReason: 'threshold' }), { status: 'skipped', skipReason: 'threshold', error: /not started on h1: the success threshold can no longer be met/, errorClass: 'RemoteHostError' }],
  ['not started: deadline', outcome({ status: 'skipped', skipReason: 'deadline' }), { status: 'skipped', skipReason: 'deadline', error: /overall deadline passed/ }],
  ['not started: interrupted', outcome({ status: 'skipped', skipReason: 'aborted' }), { status: 'skipped', skipReason: 'aborted', error: /: interrupted$/ }],
];

describe('remote/host-results: hostResultOf', () => {
  for (const [title, o, want] of rows) {
    it(title, () => {
      const r = hostResultOf(o);
      assert.equal(r.host, 'h1');
      assert.equal(r.batch, 0);
      assert.equal(r.durationMs, 7);
      for (const key of ['status', 'address', 'port', 'exitCode', 'signal', 'stdout', 'stderr', 'skipReason'] as const) {
        if (key in want) assert.equal(r[key], want[key], key);
      }
      if (want.error) assert.match(String(r.error?.message), want.error);
      else if ('error' in want) assert.equal(r.error, undefined);
      if (want.errorClass) assert.equal(r.error?.name, want.errorClass);
      assert.equal(r.planned !== undefined, want.planned === true);
    });
  }
});

describe('remote/host-results: fanoutResultOf and fanoutError', () => {
  const result = (host: string, status: HostResult['status'], error?: Error): HostResult => ({ host, status, exitCode: null, signal: null, stdout: '', stderr: '', durationMs: 1, batch: 0, error });
  const outcomeOf = (required: number, thresholdMet: boolean): FanOutOutcome<unknown> => ({ outcomes: [], batches: [['a', 'b', 'c', 'd']], required, succeeded: 0, failed: 0, skipped: 0, thresholdMet, durationMs: 9 });
  const rows: [string, HostResult[], ReturnType<typeof outcomeOf>, { ok: string[]; failed: string[]; skipped: string[]; planned: string[]; error?: RegExp; failures?: string[] }][] = [
    ['all ok', [result('a', 'ok'), result('b', 'ok'), result('c', 'ok'), result('d', 'ok')], outcomeOf(4, true), { ok: ['a', 'b', 'c', 'd'], failed: [], skipped: [], planned: [] }],
    ['all planned', [result('a', 'planned'), result('b', 'planned'), result('c', 'planned'), result('d', 'planned')], outcomeOf(4, true), { ok: [], failed: [], skipped: [], planned: ['a', 'b', 'c', 'd'] }],
    [
      'one failed, threshold 3 met',
      [result('a', 'ok'), result('b', 'failed', new Error('x')), result('c', 'ok'), result('d', 'ok')],
      outcomeOf(3, true),
      { ok: ['a', 'c', 'd'], failed: ['b'], skipped: [], planned: [] },
    ],
    [
      'threshold missed: failed and not-run hosts named',
      [result('a', 'ok'), result('b', 'failed', new Error('boom on b')), result('c', 'skipped', new Error('not started on c')), result('d', 'failed')],
      outcomeOf(4, false),
      { ok: ['a'], failed: ['b', 'd'], skipped: ['c'], planned: [], error: /succeeded on 1 of 4 hosts, 4 needed \(2 failed, 1 not run\): hostname/, failures: ['b', 'c', 'd'] },
    ],
  ];
  for (const [title, results, o, want] of rows) {
    it(title, () => {
      // Given out of order: the result follows the hosts' order.
      const byHost = new Map([...results].reverse().map((r) => [r.host, r]));
      const r = fanoutResultOf(['a', 'b', 'c', 'd'], byHost, o);
      assert.deepEqual(r.results.map((x) => x.host), ['a', 'b', 'c', 'd']);
      assert.deepEqual({ ok: r.ok, failed: r.failed, skipped: r.skipped, planned: r.planned }, { ok: want.ok, failed: want.failed, skipped: want.skipped, planned: want.planned });
      assert.equal(r.required, o.required);
      assert.equal(r.durationMs, 9);
      const err = fanoutError(r, 'hostname');
      if (!want.error) return assert.equal(err, undefined);
      assert.match(String(err?.message), want.error);
      assert.deepEqual(err?.failures.map((f) => f.host), want.failures);
      assert.deepEqual(err?.failedHosts, want.failed);
      assert.equal(err?.result, r, 'the error carries every host result');
      assert.equal(err?.failures.find((f) => f.host === 'd')?.error, 'unknown error');
    });
  }
});
