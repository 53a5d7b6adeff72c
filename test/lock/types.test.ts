// The lock contract's shared parts: how a holder is named in messages, and a handle's release running once.
import { strict as assert } from 'node:assert';
import { type LockHolder, describeHolder, lockHandle } from '../../lib/lock/types.js';

const holder: LockHolder = { user: 'ops', host: 'cumin1', pid: 42, cookbook: 'k8s.reboot', runId: 'r1', since: '2026-11-30T10:00:00.000Z' };

describe('lock types: describeHolder', () => {
  it('names user, host, pid, cookbook and since', () => assert.equal(describeHolder(holder), 'ops@cumin1 (pid 42) running k8s.reboot since 2026-11-30T10:00:00.000Z'));
});

describe('lock types: lockHandle', () => {
  const rows: [string, number, boolean][] = [
    ['released once', 1, false],
    ['released twice in a row', 2, false],
    ['released twice at the same time', 2, true],
  ];
  for (const [title, calls, together] of rows) {
    it(`${title}: the work runs once`, async () => {
      let runs = 0;
      let finish!: () => void;
      const done = new Promise<void>((resolve) => (finish = resolve));
      const h = lockHandle('cluster/tb', holder, new AbortController().signal, async () => {
        runs++;
        await done;
      });
      assert.equal(h.released, false);
      const first = h.release();
      assert.equal(h.released, true, 'released as soon as the first call starts');
      if (together) {
        const second = h.release();
        finish();
        await Promise.all([first, second]);
      } else {
        finish();
        await first;
        for (let i = 1; i < calls; i++) await h.release();
      }
      assert.equal(runs, 1);
      assert.equal(h.scope, 'cluster/tb');
      assert.equal(h.holder, holder);
    });
  }
});
