// Confirmations through the real CLI: destructive actions ask on every cluster and show what will happen; a
// production cluster needs its name typed (on a real pseudo-terminal from script(1)); no TTY and no --yes
// refuses with exit 4 before anything changes.
import { strict as assert } from 'node:assert';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, FIXTURE_COOKBOOKS, FIXTURE_INVENTORY, cleanupTempDirs, runCli, tempDir } from '../helpers/cli.js';

interface PtyRun {
  child: ChildProcess;
  output: () => string;
  waitFor: (re: RegExp) => Promise<void>;
  exit: Promise<number | null>;
}

/** Runs the CLI on a pseudo-terminal (script(1)); what is written to `child.stdin` is typed on it. */
function onPty(args: string[]): PtyRun {
  const quoted = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const child = spawn('/usr/bin/script', ['-qfec', quoted, '/dev/null'], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', CI: 'true', COOKBOOK_PATH: FIXTURE_COOKBOOKS },
  });
  let raw = '';
  const waiters: { re: RegExp; resolve: () => void }[] = [];
  const onData = (d: Buffer): void => {
    raw += d.toString();
    for (const w of waiters.splice(0)) {
      if (w.re.test(raw)) w.resolve();
      else waiters.push(w);
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exit = new Promise<number | null>((resolve) => child.on('exit', resolve));
  return {
    child,
    output: () => raw,
    exit,
    waitFor: (re) =>
      new Promise<void>((resolve, reject) => {
        if (re.test(raw)) return resolve();
        waiters.push({ re, resolve });
        void exit.then(() => setImmediate(() => (re.test(raw) ? resolve() : reject(new Error(`exited before ${String(re)} appeared:\n${raw}`)))));
      }),
  };
}

const problems = (cluster: string, work: string, extra: string[] = []): string[] => [
  'fixture.problems', '--cluster-name', cluster, '--work-dir', work, '--state-dir', tempDir(), '--inventory', FIXTURE_INVENTORY, '--destructive', ...extra,
];

describe('confirmations', function () {
  this.timeout(60_000);
  before(() => assert.ok(existsSync('/usr/bin/script'), 'these tests need script(1) for a pseudo-terminal: apt-get install -y bsdutils'));
  after(cleanupTempDirs);

  it('a destructive confirmation without a TTY and without --yes exits 4 with a hint, before anything changes (non-production too)', async () => {
    const work = join(tempDir(), 'w');
    const r = await runCli(problems('fixture', work));
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /confirmation needed but no TTY/);
    assert.match(r.stdout, /Hint: .*--yes/);
    assert.ok(!existsSync(work));
    const yes = await runCli(problems('fixture-prod', work, ['--yes']));
    assert.equal(yes.code, 0, yes.stderr);
    assert.ok(existsSync(join(work, 'marker-1')), '--yes answers it');
  });

  it('a non-destructive confirmation asks only on production clusters', async () => {
    const plain = (cluster: string, work: string): string[] => problems(cluster, work).filter((a) => a !== '--destructive').concat('--confirm-plain');
    const work = join(tempDir(), 'w');
    const dev = await runCli(plain('fixture', work));
    assert.equal(dev.code, 0, dev.stderr);
    assert.ok(existsSync(join(work, 'marker-1')), 'not asked on a non-production cluster');
    const prodWork = join(tempDir(), 'w');
    const prod = await runCli(plain('fixture-prod', prodWork));
    assert.equal(prod.code, 4, prod.stderr);
    assert.match(prod.stderr, /no TTY to ask on: Write a marker/);
    assert.ok(!existsSync(prodWork));
  });

  it('on a production cluster the prompt shows what will happen and goes on only once the cluster name is typed', async () => {
    const work = join(tempDir(), 'w');
    const run = onPty(problems('fixture-prod', work));
    await run.waitFor(/Type the cluster name "fixture-prod" to continue: /);
    const shown = run.output();
    assert.match(shown, /Delete everything in .*\/w\./);
    assert.match(shown, /- remove marker files from .*\/w/);
    assert.match(shown, /- this cannot be undone/);
    assert.ok(!existsSync(work), 'nothing happens before the answer');
    run.child.stdin!.write('fixture-prod\r');
    assert.equal(await run.exit, 0, run.output().slice(-2000));
    assert.ok(existsSync(join(work, 'marker-1')));
    assert.match(run.output(), /confirmation "Delete everything in .*": yes/);
  });

  it('on a production cluster "y" is not enough: exit 4, nothing changed', async () => {
    const work = join(tempDir(), 'w');
    const run = onPty(problems('fixture-prod', work));
    await run.waitFor(/Type the cluster name "fixture-prod" to continue: /);
    run.child.stdin!.write('y\r');
    assert.equal(await run.exit, 4, run.output().slice(-2000));
    assert.match(run.output(), /"y" is not "fixture-prod"/);
    assert.ok(!existsSync(work));
  });

  it('Ctrl-C at the prompt refuses (exit 4) instead of hanging', async () => {
    const work = join(tempDir(), 'w');
    const run = onPty(problems('fixture-prod', work));
    await run.waitFor(/Type the cluster name "fixture-prod" to continue: /);
    run.child.stdin!.write('\x03');
    assert.equal(await run.exit, 4, run.output().slice(-2000));
    assert.match(run.output(), /aborted by the operator/);
    assert.ok(!existsSync(work));
  });

  it('Ctrl-C at the "resume?" prompt aborts (exit 4) and keeps the unfinished run resumable', async () => {
    const state = tempDir();
    const work = join(tempDir(), 'w');
    const argv = ['fixture.steps', '--cluster-name', 'fixture', '--work-dir', work, '--state-dir', state, '--inventory', FIXTURE_INVENTORY];
    assert.equal((await runCli(argv, { env: { COOKBOOK_FAILPOINTS: 'kill-after:step 1' } })).code, 137);
    const run = onPty(argv);
    await run.waitFor(/Resume it\? \[Y\/n\] /);
    run.child.stdin!.write('\x03');
    assert.equal(await run.exit, 4, run.output().slice(-2000));
    assert.match(run.output(), /aborted by the operator \(Ctrl-C at the prompt\)/);
    const resumed = await runCli([...argv, '--resume', '--json']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.ok(JSON.parse(resumed.stdout).resumedFrom, 'the killed run was still there to resume');
  });

  it('on a non-production cluster a destructive action asks y/N on the terminal', async () => {
    const work = join(tempDir(), 'w');
    const run = onPty(problems('fixture', work));
    await run.waitFor(/Continue\? \[y\/N\] /);
    assert.doesNotMatch(run.output(), /Type the cluster name/);
    run.child.stdin!.write('y\r');
    assert.equal(await run.exit, 0, run.output().slice(-2000));
    assert.ok(existsSync(join(work, 'marker-1')));
  });
});
