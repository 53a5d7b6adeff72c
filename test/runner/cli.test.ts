// Black-box tests of the `cookbook` executable: list, help, unknown names, bad arguments, confirmations,
// locks, signals, resume, results and exit codes.
import { strict as assert } from 'node:assert';
import { existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { lockFileName } from '../../lib/lock/file.js';
import { FIXTURE_INVENTORY, cleanupTempDirs, journalsOf, runCli, startCli, tempDir, waitForOutput } from '../helpers/cli.js';

function fixtureArgs(state: string, work: string, extra: string[] = []): string[] {
  return ['fixture.steps', '--cluster-name', 'fixture', '--work-dir', work, '--state-dir', state, '--inventory', FIXTURE_INVENTORY, ...extra];
}

const journals = (state: string): Record<string, any>[] => journalsOf(state, 'fixture.steps');

describe('cookbook CLI', function () {
  this.timeout(60_000);
  after(cleanupTempDirs);

  describe('list', () => {
    it('lists built-in and COOKBOOK_PATH cookbooks with summaries', async () => {
      const r = await runCli(['list']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^inventory\.show\s+Show a cluster's inventory entry$/m);
      assert.match(r.stdout, /^fixture\.steps\s+Fixture: ensure-style marker steps$/m);
    });

    it('reports a cookbook that fails to load instead of dropping it', async () => {
      const r = await runCli(['list']);
      assert.match(r.stdout, /^fixture\.broken\s+FAILED TO LOAD: .*broken on purpose/m);
      assert.match(r.stderr, /fixture\.broken failed to load/);
    });

    it('--json prints only a JSON array of {name, summary}', async () => {
      const r = await runCli(['list', '--json']);
      assert.equal(r.code, 0);
      const list = JSON.parse(r.stdout) as { name: string; summary: string | null; error?: string }[];
      assert.ok(Array.isArray(list));
      const show = list.find((c) => c.name === 'inventory.show');
      assert.deepEqual(show, { name: 'inventory.show', summary: "Show a cluster's inventory entry" });
      const broken = list.find((c) => c.name === 'fixture.broken');
      assert.equal(broken?.summary, null);
      assert.match(String(broken?.error), /broken on purpose/);
    });

    it('accepts global options before the command', async () => {
      const r = await runCli(['--verbose', '--state-dir', tempDir(), 'list', '--json']);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(Array.isArray(JSON.parse(r.stdout)));
    });
  });

  describe('help and names', () => {
    it('<name> --help shows every argument with type and default, and examples', async () => {
      const r = await runCli(['fixture.steps', '--help']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /--cluster-name\s+Cluster to act on.*\[string\] \[required\]/);
      assert.match(r.stdout, /--steps\s+How many steps\s+\[number\] \[default: 3\]/);
      assert.match(r.stdout, /--dry-run/);
      assert.match(r.stdout, /Examples:\n\s+cookbook fixture\.steps --cluster-name fixture/);
    });

    it('an unknown cookbook exits 5 and names the closest ones', async () => {
      const r = await runCli(['inventory.shwo', '--cluster-name', 'x']);
      assert.equal(r.code, 5);
      assert.match(r.stderr, /no cookbook named "inventory\.shwo"; did you mean inventory\.show/);
    });

    it('running a cookbook that fails to load reports its error', async () => {
      const r = await runCli(['fixture.broken']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /fixture\.broken failed to load.*broken on purpose/);
    });

    it('completion prints a shell completion script', async () => {
      const r = await runCli(['completion']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /--get-yargs-completions/);
      assert.match(r.stdout, /complete -o/);
    });

    it('completion suggests cookbook names', async () => {
      const r = await runCli(['--get-yargs-completions', 'cookbook', '']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^inventory\.show$/m);
      assert.match(r.stdout, /^list$/m);
    });
  });

  describe('bad input', () => {
    it('an unknown option exits 2 naming it', async () => {
      const r = await runCli(fixtureArgs(tempDir(), tempDir(), ['--bogus-flag']));
      assert.equal(r.code, 2);
      assert.match(r.stderr, /Unknown argument: bogus-flag\n/);
    });

    it('a malformed value exits 2 naming the option', async () => {
      const r = await runCli(fixtureArgs(tempDir(), tempDir(), ['--steps', 'many']));
      assert.equal(r.code, 2);
      assert.match(r.stderr, /--steps: expected a number, got "many"/);
    });

    it('an unknown cluster exits 2, lists the known ones and changes nothing', async () => {
      const state = tempDir();
      const work = tempDir();
      const r = await runCli(['fixture.steps', '--cluster-name', 'nope', '--work-dir', work, '--state-dir', state, '--inventory', FIXTURE_INVENTORY]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /unknown cluster "nope"; known clusters: fixture, fixture-prod/);
      assert.deepEqual(readdirSync(work), []);
      assert.equal(existsSync(join(state, 'journals')), false);
    });

    it('a malformed inventory file exits 2 naming the file and the path', async () => {
      const inv = tempDir();
      writeFileSync(join(inv, 'bad.yaml'), readFileSync(join(FIXTURE_INVENTORY, 'fixture.yaml'), 'utf8').replace('min: 1', 'min: -1'));
      const r = await runCli(['fixture.steps', '--cluster-name', 'fixture', '--work-dir', tempDir(), '--state-dir', tempDir(), '--inventory', inv]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /bad\.yaml: roles\.worker\.min: /);
    });

    it('--json reports usage errors as one JSON object', async () => {
      const r = await runCli(fixtureArgs(tempDir(), tempDir(), ['--steps', 'x', '--json']));
      assert.equal(r.code, 2);
      const out = JSON.parse(r.stdout) as { status: string; error: { class: string; message: string }; exitCode: number };
      assert.equal(out.status, 'failed');
      assert.equal(out.error.class, 'UsageError');
      assert.equal(out.exitCode, 2);
    });
  });

  describe('runs', () => {
    it('runs steps, journals them and prints a summary', async () => {
      const state = tempDir();
      const work = tempDir();
      const r = await runCli(fixtureArgs(state, work));
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^PASS fixture\.steps on fixture: success/m);
      assert.match(r.stdout, /✓ step 3 \(done/);
      assert.match(r.stderr, /START fixture\.steps on fixture/);
      assert.match(r.stderr, /END PASS/);
      assert.ok(existsSync(join(work, 'marker-3')));
      const [j] = journals(state);
      assert.equal(j!.status, 'success');
      assert.deepEqual((j!.steps as { status: string }[]).map((s) => s.status), ['done', 'done', 'done']);
      const logs = readdirSync(join(state, 'logs'));
      assert.equal(logs.length, 1);
      const lines = readFileSync(join(state, 'logs', logs[0]!), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string });
      assert.equal(lines[0]!.type, 'run.start');
      assert.equal(lines.at(-1)!.type, 'run.end');
    });

    it('a second run skips steps whose state is already right', async () => {
      const state = tempDir();
      const work = tempDir();
      assert.equal((await runCli(fixtureArgs(state, work))).code, 0);
      const r = await runCli(fixtureArgs(state, work, ['--json']));
      assert.equal(r.code, 0);
      const out = JSON.parse(r.stdout) as { steps: { status: string }[]; changes: unknown[] };
      assert.deepEqual(out.steps.map((s) => s.status), ['skipped', 'skipped', 'skipped']);
      assert.deepEqual(out.changes, []);
    });

    it('--json prints one result object with steps, changes and the cookbook result', async () => {
      const state = tempDir();
      const r = await runCli(fixtureArgs(state, tempDir(), ['--json', '--steps', '2']));
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout) as Record<string, unknown>;
      assert.equal(out.cookbook, 'fixture.steps');
      assert.equal(out.cluster, 'fixture');
      assert.equal(out.status, 'success');
      assert.equal(out.dryRun, false);
      assert.ok(Date.parse(String(out.startedAt)) <= Date.parse(String(out.finishedAt)));
      assert.deepEqual((out.steps as { name: string }[]).map((s) => s.name), ['step 1', 'step 2']);
      const changes = out.changes as { target: string; action: string; planned: boolean }[];
      assert.deepEqual(changes.map((c) => [c.target, c.action, c.planned]), [['marker-1', 'write marker', false], ['marker-2', 'write marker', false]]);
      assert.equal(typeof (out.result as { pick: string }).pick, 'string');
      assert.equal((out.args as { steps: number }).steps, 2);
    });

    it('--dry-run plans changes and writes nothing', async () => {
      const state = tempDir();
      const work = tempDir();
      const r = await runCli(fixtureArgs(state, work, ['--dry-run', '--json']));
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout) as { dryRun: boolean; steps: { status: string }[]; changes: { planned: boolean }[] };
      assert.equal(out.dryRun, true);
      assert.deepEqual(out.steps.map((s) => s.status), ['planned', 'planned', 'planned']);
      assert.equal(out.changes.length, 3);
      assert.ok(out.changes.every((c) => c.planned));
      assert.deepEqual(readdirSync(work), []);
    });

    it('a failing step exits 1, names the step, and runs the rollback', async () => {
      const state = tempDir();
      const work = tempDir();
      const r = await runCli(fixtureArgs(state, work, ['--fail-at', '2', '--json']));
      assert.equal(r.code, 1);
      const out = JSON.parse(r.stdout) as { status: string; steps: { status: string }[]; error: { message: string; context: { step: string } }; rollback: string };
      assert.equal(out.status, 'failed');
      assert.deepEqual(out.steps.map((s) => s.status), ['done', 'failed']);
      assert.match(out.error.message, /boom at step 2/);
      assert.equal(out.rollback, 'done');
      assert.ok(existsSync(join(work, 'rolled-back')));
    });
  });

  describe('confirmations', () => {
    it('with no TTY and no --yes a confirmation aborts with exit 4 before anything changes', async () => {
      const work = tempDir();
      const r = await runCli(fixtureArgs(tempDir(), work, ['--confirm']));
      assert.equal(r.code, 4);
      assert.match(r.stderr, /no TTY/);
      assert.match(r.stdout, /aborted/);
      assert.deepEqual(readdirSync(work), []);
    });

    it('--yes answers the confirmation', async () => {
      const work = tempDir();
      const r = await runCli(fixtureArgs(tempDir(), work, ['--confirm', '--yes']));
      assert.equal(r.code, 0, r.stderr);
      assert.ok(existsSync(join(work, 'marker-1')));
    });
  });

  describe('locks', () => {
    it('a held lock exits 3 naming user, host, pid, cookbook and since, and changes nothing', async () => {
      const state = tempDir();
      const first = startCli(fixtureArgs(state, tempDir(), ['--verbose']), { env: { COOKBOOK_FAILPOINTS: 'sleep-in:step 1=20000' } });
      await waitForOutput(first, '▶ step 1');
      const work2 = tempDir();
      const r = await runCli(fixtureArgs(state, work2, ['--steps', '1']));
      first.kill('SIGTERM');
      await first;
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, new RegExp(`lock cluster-fixture is held by ${userInfo().username}@${hostname()} \\(pid \\d+\\) running fixture\\.steps since \\d{4}-`));
      assert.deepEqual(readdirSync(work2), []);
    });

    it('a stale lock of a dead process is taken over', async () => {
      const state = tempDir();
      mkdirSync(join(state, 'locks'), { recursive: true });
      // The file lock is keyed on the cluster's API server (fixture.yaml: https://127.0.0.1:1).
      const lockFile = join(state, 'locks', lockFileName('cluster/127.0.0.1:1'));
      writeFileSync(
        lockFile,
        JSON.stringify({ user: 'x', host: hostname(), pid: 999_999_9, cookbook: 'fixture.steps', runId: 'old', since: '2026-01-01T00:00:00Z' }),
      );
      const r = await runCli(fixtureArgs(state, tempDir(), ['--steps', '1']));
      assert.equal(r.code, 0, r.stderr);
      assert.equal(existsSync(lockFile), false);
    });
  });

  describe('signals and resume', () => {
    const sleepIn = (step: string): Record<string, string> => ({ COOKBOOK_FAILPOINTS: `sleep-in:${step}=30000` });

    it('SIGINT mid-step exits 130, flushes the journal and releases the lock', async () => {
      const state = tempDir();
      const p = startCli(fixtureArgs(state, tempDir(), ['--verbose']), { env: sleepIn('step 2') });
      await waitForOutput(p, '▶ step 2');
      const t0 = Date.now();
      p.kill('SIGINT');
      const out = await p;
      assert.equal(out.exitCode, 130, out.stderr);
      assert.ok(Date.now() - t0 < 10_000, 'stops promptly, not after the sleep');
      const [j] = journals(state);
      assert.equal(j!.status, 'interrupted');
      const steps = j!.steps as { name: string; status: string; note?: string }[];
      assert.deepEqual(steps.map((s) => s.status), ['done', 'failed']);
      assert.equal(steps[1]!.note, 'interrupted');
      assert.equal(existsSync(join(state, 'locks', lockFileName('cluster/127.0.0.1:1'))), false);
      assert.match(out.stdout, /interrupted/);
    });

    it('a run killed with SIGKILL is resumed by the next run with the same arguments', async () => {
      const state = tempDir();
      const work = tempDir();
      const p = startCli(fixtureArgs(state, work, ['--verbose']), { env: sleepIn('step 2') });
      await waitForOutput(p, '▶ step 2');
      p.kill('SIGKILL');
      await p;
      const [killed] = journals(state);
      assert.equal(killed!.status, 'running');
      const pick = (killed!.memo as { pick: string }).pick;
      // The dead run's lock is stale and taken over; no TTY: the unfinished run is resumed.
      const r = await runCli(fixtureArgs(state, work, ['--json']));
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout) as { resumedFrom: string; result: { pick: string }; steps: { status: string }[] };
      assert.equal(out.resumedFrom, killed!.runId);
      assert.equal(out.result.pick, pick, 'the decision journaled by the killed run is reused');
      assert.deepEqual(out.steps.map((s) => s.status), ['skipped', 'done', 'done']);
      assert.equal(readFileSync(join(work, 'marker-3'), 'utf8'), pick);
      const all = journals(state);
      assert.equal(all[0]!.supersededBy, all[1]!.runId);
    });

    it('--fresh ignores an unfinished run', async () => {
      const state = tempDir();
      const work = tempDir();
      const p = startCli(fixtureArgs(state, work), { env: { COOKBOOK_FAILPOINTS: 'kill-after:step 1' } });
      await p;
      const r = await runCli(fixtureArgs(state, work, ['--json', '--fresh']));
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout) as { resumedFrom?: string; result: { pick: string } };
      assert.equal(out.resumedFrom, undefined);
      assert.notEqual(out.result.pick, readFileSync(join(work, 'marker-1'), 'utf8'));
    });

    it('different arguments do not resume another run', async () => {
      const state = tempDir();
      const work = tempDir();
      await startCli(fixtureArgs(state, work), { env: { COOKBOOK_FAILPOINTS: 'kill-after:step 1' } });
      const r = await runCli(fixtureArgs(state, work, ['--json', '--steps', '2']));
      assert.equal(r.code, 0, r.stderr);
      assert.equal((JSON.parse(r.stdout) as { resumedFrom?: string }).resumedFrom, undefined);
    });
  });

  describe('secrets', () => {
    it('no secret reaches the console, the log file, the journal or the JSON result', async () => {
      const state = tempDir();
      const password = 'hunter2-very-secret';
      const r = await runCli(fixtureArgs(state, tempDir(), ['--leak', '--password', password, '--json', '--verbose']));
      assert.equal(r.code, 0, r.stderr);
      const files = [
        ...readdirSync(join(state, 'logs')).map((f) => join(state, 'logs', f)),
        ...readdirSync(join(state, 'journals', 'fixture.steps')).map((f) => join(state, 'journals', 'fixture.steps', f)),
      ];
      const texts = [r.stdout, r.stderr, ...files.map((f) => readFileSync(f, 'utf8'))];
      for (const text of texts) {
        assert.ok(!text.includes(password), 'password');
        assert.ok(!text.includes('abcdefghijklmnop0123456789'), 'bearer token');
        assert.ok(!text.includes('abcdef.0123456789abcdef'), 'kubeadm token');
        assert.ok(!text.includes('a1'.repeat(32)), 'certificate key');
        assert.ok(!text.includes('AAAAB3NzaC1yc2E'), 'private key');
      }
      assert.match(r.stderr, /Bearer \[REDACTED\]/);
      assert.match(r.stderr, /the password is \[REDACTED\]/);
    });
  });

  describe('announcements', () => {
    let server: Server;
    const received: Record<string, unknown>[] = [];
    let url = '';
    before(async () => {
      server = createServer((req, res) => {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          received.push(JSON.parse(body) as Record<string, unknown>);
          res.end('ok');
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const addr = server.address() as { port: number };
      url = `http://127.0.0.1:${addr.port}/hook`;
    });
    after(() => server.close());

    it('announces START and END with PASS/FAIL to the inventory webhook', async () => {
      const inv = tempDir();
      writeFileSync(join(inv, 'fixture.yaml'), readFileSync(join(FIXTURE_INVENTORY, 'fixture.yaml'), 'utf8') + `announce: { webhook: "${url}" }\n`);
      const r = await runCli(['fixture.steps', '--cluster-name', 'fixture', '--work-dir', tempDir(), '--state-dir', tempDir(), '--inventory', inv, '--reason', 'testing', '--task-id', 'T123']);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(received.map((e) => e.event), ['START', 'END']);
      assert.equal(received[0]!.reason, 'testing');
      assert.equal(received[0]!.taskId, 'T123');
      assert.equal(received[1]!.result, 'PASS');
    });
  });
});
