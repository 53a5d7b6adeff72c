// The run lifecycle through the real CLI with fixture cookbooks: the dry-run verdict, the audit trail and
// history, unusable output paths refused before the lock, completed-but-unreported runs, exit codes after a
// change, and failed steps named in the summary.
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { FIXTURE_INVENTORY, cleanupTempDirs, journalsOf, runCli, tempDir } from '../helpers/cli.js';

const inv = ['--inventory', FIXTURE_INVENTORY];
const problems = (state: string, work: string, extra: string[] = []): string[] => [
  'fixture.problems', '--cluster-name', 'fixture', '--work-dir', work, '--state-dir', state, ...inv, ...extra,
];
const steps = (state: string, work: string, extra: string[] = []): string[] => [
  'fixture.steps', '--cluster-name', 'fixture', '--work-dir', work, '--state-dir', state, ...inv, ...extra,
];

describe('run lifecycle', function () {
  this.timeout(60_000);
  after(cleanupTempDirs);

  describe('dry-run verdict', () => {
    it('a clean plan is "would succeed": exit 0, no PASS in the summary, the verdict journaled', async () => {
      const state = tempDir();
      const human = await runCli(problems(state, join(tempDir(), 'w'), ['--dry-run']));
      assert.equal(human.code, 0, human.stderr);
      assert.match(human.stdout, /^WOULD SUCCEED fixture\.problems on fixture/m);
      assert.match(human.stdout, /The real run would succeed/);
      assert.doesNotMatch(human.stdout, /PASS/);
      assert.deepEqual(journalsOf(state, 'fixture.problems')[0]!.verdict, { outcome: 'would-succeed', problems: [] });
    });

    it('recorded problems make it "would fail": exit 1, every step and reason named in the summary and --json', async () => {
      const state = tempDir();
      const work = join(tempDir(), 'w');
      const args = ['--dry-run', '--would-fail', 'drain w1=pods need --delete-emptydir-data', '--would-fail', 'drain w2=a PDB allows no disruption', '--would-hold', 'w3=node has a blocking alert'];
      const r = await runCli(problems(state, work, args));
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stdout, /^WOULD FAIL fixture\.problems on fixture/m);
      assert.doesNotMatch(r.stdout, /PASS/);
      assert.match(r.stdout, /would fail at step "drain w1": pods need --delete-emptydir-data/);
      assert.match(r.stdout, /would fail at step "drain w2": a PDB allows no disruption/);
      assert.match(r.stdout, /would hold at step "reboot", node w3: node has a blocking alert/);
      assert.match(r.stderr, /END WOULD FAIL/);
      assert.ok(!existsSync(work), 'a dry-run writes nothing');
      const j = await runCli(problems(state, work, [...args, '--json']));
      assert.equal(j.code, 1);
      const out = JSON.parse(j.stdout);
      assert.equal(out.verdict.outcome, 'would-fail');
      assert.deepEqual(out.verdict.problems, [
        { kind: 'fail', step: 'drain w1', reason: 'pods need --delete-emptydir-data' },
        { kind: 'fail', step: 'drain w2', reason: 'a PDB allows no disruption' },
        { kind: 'hold', node: 'w3', step: 'reboot', reason: 'node has a blocking alert' },
      ]);
      assert.equal(out.exitCode, 1);
      const journal = journalsOf(state, 'fixture.problems').at(-1)!;
      assert.equal(journal.verdict.outcome, 'would-fail');
      assert.equal(journal.problems.length, 3);
    });

    it('only holds make it "would hold": exit 1, naming the node and the reason', async () => {
      const r = await runCli(problems(tempDir(), join(tempDir(), 'w'), ['--dry-run', '--json', '--would-hold', 'w7=PodDisruptionBudget web allows 0 disruptions']));
      assert.equal(r.code, 1, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.equal(out.verdict.outcome, 'would-hold');
      assert.deepEqual(out.verdict.problems, [{ kind: 'hold', node: 'w7', step: 'reboot', reason: 'PodDisruptionBudget web allows 0 disruptions' }]);
    });

    it('a step that fails while planning is a "would fail" naming the step and why', async () => {
      const r = await runCli(problems(tempDir(), join(tempDir(), 'w'), ['--dry-run', '--fail-planning']));
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stdout, /^WOULD FAIL /m);
      assert.match(r.stdout, /would fail at step "check budget": the budget allows no disruption/);
      assert.equal(r.stdout.match(/the budget allows no disruption/g)!.length >= 1, true);
      assert.doesNotMatch(r.stdout, /^\s+- would fail: the budget allows no disruption$/m, 'the error is named once, with its step');
    });

    it('a real run of the same cookbook has no verdict and still says PASS', async () => {
      const r = await runCli(problems(tempDir(), join(tempDir(), 'w'), ['--json']));
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.equal(out.verdict, undefined);
      assert.equal(out.status, 'success');
    });
  });

  describe('audit trail and history', () => {
    it('operator, host, cookbook, redacted arguments, reason and task id reach the log file, the journal, --json and the announcement log', async () => {
      const state = tempDir();
      const invDir = tempDir();
      const adminLog = join(tempDir(), 'sal', 'admin.log');
      writeFileSync(join(invDir, 'fixture.yaml'), readFileSync(join(FIXTURE_INVENTORY, 'fixture.yaml'), 'utf8') + `announce: { logFile: "${adminLog}" }\n`);
      const secret = 'hunter2-very-secret';
      const args = ['fixture.steps', '--cluster-name', 'fixture', '--work-dir', join(tempDir(), 'w'), '--state-dir', state, '--inventory', invDir, '--password', secret, '--reason', 'replacing a broken worker', '--task-id', 'T4242', '--json'];
      const r = await runCli(args);
      assert.equal(r.code, 0, r.stderr);
      const me = userInfo().username;
      const out = JSON.parse(r.stdout);
      assert.equal(out.operator, me);
      assert.equal(out.host, hostname());
      assert.equal(out.reason, 'replacing a broken worker');
      assert.equal(out.taskId, 'T4242');
      const journal = journalsOf(state, 'fixture.steps')[0]!;
      assert.deepEqual([journal.operator, journal.host, journal.reason, journal.taskId, journal.cookbook], [me, hostname(), 'replacing a broken worker', 'T4242', 'fixture.steps']);
      const start = JSON.parse(readFileSync(out.log, 'utf8').split('\n')[0]!);
      assert.equal(start.type, 'run.start');
      assert.deepEqual([start.operator, start.host, start.reason, start.taskId, start.cookbook], [me, hostname(), 'replacing a broken worker', 'T4242', 'fixture.steps']);
      assert.equal(start.args.steps, 3);
      const lines = readFileSync(adminLog, 'utf8').trim().split('\n');
      assert.equal(lines.length, 2, lines.join('\n'));
      assert.match(lines[0]!, new RegExp(`START fixture\\.steps on fixture by ${me}@.* reason="replacing a broken worker" task="T4242" args=`));
      assert.match(lines[1]!, /END fixture\.steps on fixture .* PASS \(success\)/);
      for (const text of [r.stdout, r.stderr, readFileSync(out.log, 'utf8'), JSON.stringify(journal), lines.join('\n')]) assert.ok(!text.includes(secret), 'the password is redacted everywhere');
    });

    it('history lists past runs with their outcome, newest first, filtered by cluster, as text and --json', async () => {
      const state = tempDir();
      assert.equal((await runCli(steps(state, join(tempDir(), 'a'), ['--reason', 'first']))).code, 0);
      assert.equal((await runCli(steps(state, join(tempDir(), 'b'), ['--fail-at', '1', '--task-id', 'T9']))).code, 1);
      assert.equal((await runCli(problems(state, join(tempDir(), 'c'), ['--dry-run', '--would-fail', 'x=y']))).code, 1);
      assert.equal((await runCli(['fixture.problems', '--cluster-name', 'fixture-prod', '--work-dir', join(tempDir(), 'd'), '--state-dir', state, ...inv, '--yes'])).code, 0);
      const text = await runCli(['history', '--state-dir', state, ...inv, '--cluster-name', 'fixture']);
      assert.equal(text.code, 0, text.stderr);
      const rows = text.stdout.split('\n').filter((l) => /^\d{4}-\d\d-\d\d /.test(l));
      assert.equal(rows.length, 3, text.stdout);
      assert.match(rows[0]!, /WOULD-FAIL \(dry-run\)\s+fixture\.problems\s+fixture /);
      assert.match(rows[1]!, /FAIL\s+fixture\.steps\s+fixture\s+\S+@\S+\s+\S+\s+T9 /);
      assert.match(rows[2]!, /PASS\s+fixture\.steps\s+fixture .* first /);
      assert.match(text.stdout, /boom at step 1/);
      const json = await runCli(['history', '--state-dir', state, ...inv, '--json']);
      assert.equal(json.code, 0, json.stderr);
      const runs = JSON.parse(json.stdout).result.runs as { cookbook: string; cluster: string; outcome: string }[];
      assert.deepEqual(runs.map((x) => [x.cookbook, x.cluster, x.outcome]), [
        ['fixture.problems', 'fixture-prod', 'PASS'],
        ['fixture.problems', 'fixture', 'WOULD-FAIL'],
        ['fixture.steps', 'fixture', 'FAIL'],
        ['fixture.steps', 'fixture', 'PASS'],
      ]);
    });
  });

  describe('unusable output paths', () => {
    // Each case: its options given a scratch dir (with a regular file "file" in it) and a fresh state dir.
    const cases: [string, (scratch: string, state: string) => string[], RegExp][] = [
      ['--state-dir under /proc', () => ['--state-dir', '/proc/x'], /--state-dir \/proc\/x is not writable: cannot create anything in \/proc/],
      ['--log-dir below a file', (s, state) => ['--state-dir', state, '--log-dir', join(s, 'file', 'logs')], /--log-dir .*file\/logs is not writable: .*file is a file, not a directory/],
      ['--report under /proc', (_s, state) => ['--state-dir', state, '--report', '/proc/x/report.html'], /--report \/proc\/x\/report\.html cannot be written: .*\/proc/],
      ['--report that is a directory', (s, state) => ['--state-dir', state, '--report', s], /--report .* cannot be written: it is a directory/],
    ];
    for (const [title, options, message] of cases) {
      it(`${title} exits 2 naming the path and the reason, before the lock or a journal`, async () => {
        const scratch = tempDir();
        writeFileSync(join(scratch, 'file'), 'x');
        const state = join(tempDir(), 'state');
        const work = join(tempDir(), 'w');
        const r = await runCli(['fixture.problems', '--cluster-name', 'fixture', '--work-dir', work, ...inv, ...options(scratch, state)], { timeoutMs: 30_000 });
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, message);
        assert.ok(!existsSync(state), 'no state dir, lock or journal was created');
        assert.ok(!existsSync(work), 'nothing was run');
      });
    }
  });

  describe('a run killed after its journal said success', () => {
    it('is reported as done by a re-run with the same arguments, not repeated; once reported, the same command runs again', async () => {
      const state = tempDir();
      const work = join(tempDir(), 'w');
      const invDir = tempDir();
      const adminLog = join(tempDir(), 'admin.log');
      writeFileSync(join(invDir, 'fixture.yaml'), readFileSync(join(FIXTURE_INVENTORY, 'fixture.yaml'), 'utf8') + `announce: { logFile: "${adminLog}" }\n`);
      const steps = (s: string, w: string, extra: string[] = []): string[] => ['fixture.steps', '--cluster-name', 'fixture', '--work-dir', w, '--state-dir', s, '--inventory', invDir, ...extra];
      const killed = await runCli(steps(state, work), { env: { COOKBOOK_FAILPOINTS: 'kill-after:(run finished)' } });
      assert.equal(killed.code, 137, 'killed by SIGKILL');
      assert.equal(journalsOf(state, 'fixture.steps')[0]!.status, 'success');
      // Had the re-run repeated the work, marker-2 would come back.
      rmSync(join(work, 'marker-2'));
      const again = await runCli(steps(state, work, ['--json']));
      assert.equal(again.code, 0, again.stderr);
      const out = JSON.parse(again.stdout);
      assert.equal(out.alreadyDone.runId, journalsOf(state, 'fixture.steps')[0]!.runId);
      assert.equal(out.status, 'success');
      assert.ok(!existsSync(join(work, 'marker-2')), 'the completed run was not repeated');
      assert.equal(journalsOf(state, 'fixture.steps').length, 1, 'no new run was journaled');
      const announced = readFileSync(adminLog, 'utf8').trim().split('\n');
      assert.equal(announced.length, 2, 'the killed run\'s END is announced by the run that reported it');
      assert.match(announced[1]!, new RegExp(`END fixture\\.steps on fixture .*run ${out.alreadyDone.runId} PASS`));
      // Now reported: the same command again is a deliberate new run.
      const third = await runCli(steps(state, work));
      assert.equal(third.code, 0, third.stderr);
      assert.match(third.stdout, /^PASS /m);
      assert.ok(existsSync(join(work, 'marker-2')));
      assert.equal(journalsOf(state, 'fixture.steps').length, 2);
    });

    it('--fresh repeats an unreported completed run', async () => {
      const state = tempDir();
      const work = join(tempDir(), 'w');
      assert.equal((await runCli(steps(state, work), { env: { COOKBOOK_FAILPOINTS: 'kill-after:(run finished)' } })).code, 137);
      rmSync(join(work, 'marker-2'));
      const r = await runCli(steps(state, work, ['--fresh']));
      assert.equal(r.code, 0, r.stderr);
      assert.ok(existsSync(join(work, 'marker-2')));
    });
  });

  describe('exit codes and failures', () => {
    it('an input error after a change exits 1, not 2 (2 means nothing changed)', async () => {
      const work = join(tempDir(), 'w');
      const r = await runCli(problems(tempDir(), work, ['--input-error-after-change', '--json']));
      assert.equal(r.code, 1, r.stderr);
      assert.ok(existsSync(join(work, 'marker-1')), 'the change happened');
      assert.equal(JSON.parse(r.stdout).error.class, 'InputError');
    });

    it('an input error before any change still exits 2', async () => {
      const work = join(tempDir(), 'w');
      const r = await runCli(problems(tempDir(), work, ['--input-error-after-change', '--dry-run']));
      assert.equal(r.code, 2, r.stderr);
    });

    it('a failed step is named with its reason in the summary', async () => {
      const r = await runCli(steps(tempDir(), join(tempDir(), 'w'), ['--fail-at', '2']));
      assert.equal(r.code, 1);
      assert.match(r.stdout, /✗ step 2 \(failed, [^)]*\): boom at step 2/);
      assert.match(r.stdout, /^Error at step "step 2" \(Error\): boom at step 2/m);
    });
  });
});
