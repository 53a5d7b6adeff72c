// The file lock backend over real files: who holds the lock file decides what acquire does (one row each),
// a release removes only our own file, and scopes map to safe file names.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { LockHeldError } from '../../lib/core/errors.js';
import { FileLockBackend, lockFileName, processAlive } from '../../lib/lock/file.js';
import type { LockHolder } from '../../lib/lock/types.js';

const me: LockHolder = { user: 'ops', host: hostname(), pid: process.pid, cookbook: 'k8s.drain', runId: 'mine', since: '2026-11-30T10:00:00.000Z' };
/** The pid of a process that has exited (a child we waited for). */
const deadPid = (): number => spawnSync(process.execPath, ['-e', '0']).pid!;

describe('lock file: acquire, by who holds the file', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cc-filelock-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const other = (extra: Partial<LockHolder>): LockHolder => ({ ...me, runId: 'theirs', ...extra });
  const rows: [string, () => string | undefined, 'taken' | RegExp][] = [
    ['nobody', () => undefined, 'taken'],
    ['a live run on this host', () => JSON.stringify(other({ pid: process.ppid })), /is held by ops@.* \(pid \d+\) running k8s\.drain/],
    ['a dead run on this host (stale: taken over)', () => JSON.stringify(other({ pid: deadPid() })), 'taken'],
    ['a run on another host, never second-guessed', () => JSON.stringify(other({ host: 'elsewhere.example.org', pid: deadPid() })), /is held by ops@elsewhere\.example\.org/],
    ['a torn file (its writer died mid-write)', () => '{"user": "o', /is held by \?@\? \(pid 0\)/],
  ];
  for (const [title, file, want] of rows) {
    it(`${title} → ${want === 'taken' ? 'taken' : 'LockHeldError'}`, async () => {
      const backend = new FileLockBackend(dir);
      const path = join(dir, lockFileName('cluster/tb'));
      const text = file();
      if (text !== undefined) writeFileSync(path, text);
      if (want === 'taken') {
        const h = await backend.acquire('cluster/tb', me, { ttlMs: 1000 });
        assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), me);
        assert.equal(statSync(path).mode & 0o777, 0o600);
        assert.deepEqual(await backend.inspect('cluster/tb'), me);
        await h.release();
        assert.equal(existsSync(path), false, 'release removes the file');
        return;
      }
      const err = await backend.acquire('cluster/tb', me, { ttlMs: 1000 }).catch((e: unknown) => e);
      assert.ok(err instanceof LockHeldError, String(err));
      assert.equal(err.exitCode, 3);
      assert.match(err.message, want);
      assert.equal(err.context.path, path);
      assert.equal(readFileSync(path, 'utf8'), text, 'the holder\'s file is left alone');
    });
  }

  it('a release after another run took the file over leaves their file alone', async () => {
    const backend = new FileLockBackend(dir);
    const h = await backend.acquire('cluster/tb', me, { ttlMs: 1000 });
    const path = join(dir, lockFileName('cluster/tb'));
    const theirs = JSON.stringify({ ...me, runId: 'theirs' });
    writeFileSync(path, theirs);
    await h.release();
    assert.equal(readFileSync(path, 'utf8'), theirs);
  });
});

describe('lock file: names and processes', () => {
  const names: [string, string][] = [
    ['cluster/tools', 'cluster__tools.lock'],
    ['local', 'local.lock'],
    ['a b/../c', 'a__b__..__c.lock'],
  ];
  for (const [scope, want] of names) it(`lockFileName ${scope} → ${want}`, () => assert.equal(lockFileName(scope), want));
  const pids: [string, () => number, boolean][] = [
    ['this process', () => process.pid, true],
    ['a process that exited', deadPid, false],
  ];
  for (const [title, pid, want] of pids) it(`processAlive: ${title} → ${want}`, () => assert.equal(processAlive(pid()), want));
});
