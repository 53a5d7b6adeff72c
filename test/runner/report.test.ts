// Errors before a run exists: one row per kind of error and output mode → exit code, the --json object on
// stdout and the line (with its hint) on stderr, secrets redacted.
import { strict as assert } from 'node:assert';
import { InterruptedError, LockHeldError, OperatorAbort, UnknownCookbookError, UsageError } from '../../lib/core/errors.js';
import { registerSecret } from '../../lib/core/redact.js';
import { reportEarlyError } from '../../lib/runner/report.js';

function capture(): { io: Parameters<typeof reportEarlyError>[2]; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const io = { prompter: { ask: async () => '' } as never, stdout: (t: string) => void out.push(t), stderr: (t: string) => void err.push(t) };
  return { io, out, err };
}

describe('runner report: reportEarlyError', () => {
  const rows: [string, () => unknown, number, string, RegExp][] = [
    ['bad usage', () => new UsageError('--role: given 2 times', { hint: 'give --role once' }), 2, 'failed', /^cookbook: error: --role: given 2 times\n {2}hint: give --role once\n$/],
    ['lock held', () => new LockHeldError('lock cluster/tb is held by ops@h'), 3, 'failed', /^cookbook: error: lock cluster\/tb is held by ops@h\n$/],
    ['refused confirmation', () => new OperatorAbort('not confirmed'), 4, 'aborted', /not confirmed/],
    ['no such cookbook', () => new UnknownCookbookError('no cookbook k8s.dran'), 5, 'failed', /no cookbook k8s\.dran/],
    ['interrupted', () => new InterruptedError('interrupted'), 130, 'interrupted', /interrupted/],
    ['an unexpected error', () => new Error('surprise'), 1, 'failed', /^cookbook: error: surprise\n$/],
  ];
  for (const [title, error, code, status, line] of rows) {
    for (const json of [false, true]) {
      it(`${title}${json ? ' (--json)' : ''} → exit ${code}`, () => {
        const { io, out, err } = capture();
        assert.equal(reportEarlyError(error(), { json }, io, { cookbook: 'k8s.drain' }), code);
        assert.equal(err.length, 1);
        assert.match(err[0]!, line);
        if (!json) return assert.deepEqual(out, []);
        const result = JSON.parse(out.join('')) as Record<string, unknown>;
        assert.equal(result.cookbook, 'k8s.drain');
        assert.equal(result.status, status);
        assert.equal(result.exitCode, code);
        assert.equal((result.error as Record<string, unknown>).message, (error() as Error).message);
      });
    }
  }

  it('a secret in the message is redacted on both streams', () => {
    registerSecret('hunter2-secret-value');
    const { io, out, err } = capture();
    reportEarlyError(new UsageError('bad token hunter2-secret-value'), { json: true }, io);
    assert.ok(!out.join('').includes('hunter2-secret-value') && !err.join('').includes('hunter2-secret-value'));
    assert.match(err[0]!, /bad token \[REDACTED\]/);
  });
});
