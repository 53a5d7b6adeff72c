// Black-box tests of input the CLI must refuse (exit 2, nothing written) or accept in the operator's old or
// obvious form: repeated options, empty values, negative and absurd durations, YAML bombs, messages that
// redaction must leave readable, the list of commands, --help, a closed stdout, closest-name suggestions,
// FQDN hosts and the old cookbook names.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, FIXTURE_COOKBOOKS, FIXTURE_INVENTORY, ROOT, cleanupTempDirs, runCli, tempDir } from '../helpers/cli.js';

/** Runs a cookbook against the fixture inventory with a fresh state dir; returns the result and that dir. */
async function refusedRun(args: string[]): Promise<{ code: number; stdout: string; stderr: string; state: string }> {
  const state = tempDir();
  const r = await runCli([...args, '--inventory', FIXTURE_INVENTORY, '--state-dir', state]);
  return { ...r, state };
}

/** Exit 2, the message matched, and nothing at all written into the state dir. */
function assertRefused(r: { code: number; stderr: string; state: string }, message: RegExp): void {
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, message);
  assert.deepEqual(readdirSync(r.state), [], 'nothing written');
}

describe('cookbook CLI input', function () {
  this.timeout(60_000);
  after(cleanupTempDirs);

  describe('single-value options', () => {
    it('--role given twice is refused naming the option (it once added a control node)', async () => {
      const r = await refusedRun(['k8s.add-node', '--cluster-name', 'fixture', '--role', 'worker', '--role', 'control']);
      assertRefused(r, /--role: given 2 times \("worker", "control"\); it takes one value/);
    });

    it('a repeated number and a repeated global option are refused too', async () => {
      assertRefused(await refusedRun(['fixture.steps', '--cluster-name', 'fixture', '--work-dir', tempDir(), '--steps', '1', '--steps', '2']), /--steps: given 2 times/);
      const r = await runCli(['inventory.show', '--cluster-name', 'fixture', '--inventory', FIXTURE_INVENTORY, '--reason', 'a', '--reason', 'b']);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /--reason: given 2 times/);
    });

    it('repeatable options stay repeatable', async () => {
      const r = await runCli(['inventory.show', '--cluster-name', 'fixture', '--inventory', FIXTURE_INVENTORY, '--inventory', FIXTURE_INVENTORY, '--state-dir', tempDir()]);
      assert.equal(r.code, 0, r.stderr);
    });
  });

  describe('empty values', () => {
    it("--block-on-alert '' is an error, not \"no filter\"", async () => {
      assertRefused(await refusedRun(['k8s.reboot', '--cluster-name', 'fixture', '--all', '--block-on-alert', '']), /--block-on-alert: empty value/);
    });

    it('an empty item in a list is an error', async () => {
      assertRefused(await refusedRun(['k8s.reboot', '--cluster-name', 'fixture', '--hostname', 'fx-k8s-worker-1,']), /--hostname: empty value in "fx-k8s-worker-1,"/);
    });

    it('an empty single value is an error', async () => {
      assertRefused(await refusedRun(['k8s.cordon', '--cluster-name', 'fixture', '--hostname', '']), /--hostname: empty value/);
    });
  });

  describe('durations', () => {
    it('a negative duration names the option instead of "Unknown arguments: 5, m"', async () => {
      const r = await refusedRun(['k8s.drain', '--cluster-name', 'fixture', '--hostname', 'fx-k8s-worker-1', '--retry-interval', '-5m']);
      assertRefused(r, /--retry-interval: must not be negative, got "-5m"/);
      assert.doesNotMatch(r.stderr, /Unknown argument/);
    });

    it('a negative number names the option too', async () => {
      assertRefused(await refusedRun(['fixture.steps', '--cluster-name', 'fixture', '--work-dir', tempDir(), '--steps', '-1']), /--steps: must be at least 0/);
    });

    it('0 is refused where it makes no sense (--reboot-timeout 0)', async () => {
      assertRefused(await refusedRun(['k8s.reboot', '--cluster-name', 'fixture', '--all', '--reboot-timeout', '0']), /--reboot-timeout: 0 is out of range \(valid: /);
    });

    it('an absurd duration (more than 365 days) is refused with the valid range', async () => {
      assertRefused(await refusedRun(['k8s.reboot', '--cluster-name', 'fixture', '--all', '--poll-interval', '400d']), /--poll-interval: 400d is out of range \(valid: /);
    });
  });

  describe('inventory and redaction', () => {
    it('a YAML alias bomb is refused naming the file', async () => {
      const inv = tempDir();
      copyFileSync(join(ROOT, 'test', 'fixtures', 'inventory-bad', '25-alias-bomb.yaml'), join(inv, 'bomb.yaml'));
      const started = Date.now();
      const r = await runCli(['inventory.show', '--cluster-name', 'bomb', '--inventory', inv, '--state-dir', tempDir()]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, new RegExp(`${join(inv, 'bomb.yaml')}: YAML aliases expand without bound`));
      assert.ok(Date.now() - started < 20_000, 'refused without expanding');
    });

    it('redaction leaves the reason of a bad --hostname readable', async () => {
      const r = await refusedRun(['k8s.cordon', '--cluster-name', 'fixture', '--hostname', '../../etc/passwd']);
      assertRefused(r, /--hostname: invalid hostname "\.\.\/\.\.\/etc\/passwd": must be a DNS label/);
      assert.doesNotMatch(r.stderr, /REDACTED/);
    });
  });

  describe('list and help', () => {
    it('list shows the built-in commands and the history cookbook beside the cookbooks', async () => {
      const r = await runCli(['list']);
      assert.equal(r.code, 0, r.stderr);
      for (const name of ['lab', 'schedule', 'completion', 'history', 'k8s.reboot']) assert.match(r.stdout, new RegExp(`^${name.replace('.', '\\.')}\\s+\\S`, 'm'), name);
      const json = JSON.parse((await runCli(['list', '--json'])).stdout) as { name: string; command?: boolean }[];
      assert.deepEqual(json.filter((c) => c.command).map((c) => c.name), ['lab', 'schedule', 'completion']);
      assert.equal(json.filter((c) => c.name === 'history').length, 1);
    });

    it("a cookbook's --help lists its own options and points to the global ones instead of repeating them", async () => {
      const r = await runCli(['k8s.drain', '--help']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /--hostname\s+Node to drain/);
      assert.doesNotMatch(r.stdout, /Global options:/);
      assert.doesNotMatch(r.stdout, /--state-dir\s+Directory/);
      assert.match(r.stdout, /Global options \(--dry-run, --yes, .*\): see cookbook --help/s);
      const top = await runCli(['--help']);
      assert.match(top.stdout, /^ {2}--state-dir <value>\s+Directory for journals and locks/m);
      assert.match(top.stdout, /^ {2}--dry-run, -d\s+Plan only/m);
    });

    it('a stdout closed early (cookbook list | head) does not turn success into failure', async () => {
      // A run writes to stdout, awaits, and writes again: the EPIPE of the first write arrived as an unhandled
      // 'error' event in between and crashed the run (exit 1).
      for (const args of [['inventory.show', '--cluster-name', 'fixture', '--inventory', FIXTURE_INVENTORY, '--state-dir', tempDir()], ['list']]) {
        const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, COOKBOOK_PATH: FIXTURE_COOKBOOKS }, stdio: ['ignore', 'pipe', 'pipe'] });
        // Close our end before the child writes: its first write fails with EPIPE.
        child.stdout.destroy();
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
        assert.equal(code, 0, `${args.join(' ')}: ${stderr}`);
        assert.doesNotMatch(stderr, /EPIPE/);
      }
      // Both streams closed (cookbook list 2>&1 | head): the list prints a load error on stderr too.
      const both = spawn(process.execPath, [BIN, 'list'], { env: { ...process.env, COOKBOOK_PATH: FIXTURE_COOKBOOKS }, stdio: ['ignore', 'pipe', 'pipe'] });
      both.stdout.destroy();
      both.stderr.destroy();
      assert.equal(await new Promise<number | null>((resolve) => both.on('close', (c) => resolve(c))), 0);
    });
  });

  describe('closest names', () => {
    it('an unknown role suggests the closest valid one (worker-nfs -> worker_nfs)', async () => {
      const r = await refusedRun(['k8s.add-node', '--cluster-name', 'fixture', '--role', 'worker-nfs']);
      assertRefused(r, /unknown role "worker-nfs" in cluster fixture; did you mean worker_nfs\? /);
    });

    it('an unknown cookbook suggests the closest one (k8s.add_node -> k8s.add-node)', async () => {
      const r = await runCli(['k8s.add_node', '--cluster-name', 'fixture']);
      assert.equal(r.code, 5);
      assert.match(r.stderr, /did you mean k8s\.add-node/);
    });
  });

  describe('FQDN hosts', () => {
    function inventoryWithDomain(): string {
      const inv = tempDir();
      writeFileSync(join(inv, 'fixture.yaml'), readFileSync(join(FIXTURE_INVENTORY, 'fixture.yaml'), 'utf8') + 'domain: fx.example.org\n');
      return inv;
    }

    it('a host of another domain is refused naming the cluster domain', async () => {
      const state = tempDir();
      const r = await runCli(['k8s.cordon', '--cluster-name', 'fixture', '--hostname', 'fx-k8s-worker-1.other.example.org', '--inventory', inventoryWithDomain(), '--state-dir', state]);
      assertRefused({ ...r, state }, /--hostname: fx-k8s-worker-1\.other\.example\.org is not a host of cluster fixture: its hosts are <name>\.fx\.example\.org/);
    });

    it('a full name on a cluster without a domain says so', async () => {
      assertRefused(await refusedRun(['k8s.cordon', '--cluster-name', 'fixture', '--hostname', 'fx-k8s-worker-1.fx.example.org']), /cluster fixture has no domain in its inventory/);
    });

    it('the short name is used after parsing (a name outside the role series is named short)', async () => {
      const state = tempDir();
      const r = await runCli(['k8s.cordon', '--cluster-name', 'fixture', '--hostname', 'fx-k8s-nothing-1.fx.example.org', '--inventory', inventoryWithDomain(), '--state-dir', state]);
      assertRefused({ ...r, state }, /host fx-k8s-nothing-1 does not belong to cluster fixture/);
    });
  });

  describe('old cookbook names', () => {
    it('wmcs.toolforge.add_k8s_node runs k8s.add-node and prints the new form once', async () => {
      const r = await refusedRun(['wmcs.toolforge.add_k8s_node', '--cluster-name', 'fixture', '--role', 'worker-nfs']);
      assertRefused(r, /did you mean worker_nfs/);
      const notes = r.stderr.match(/is now k8s\.add-node; run it as: cookbook k8s\.add-node --cluster-name fixture --role worker-nfs/g);
      assert.equal(notes?.length, 1, r.stderr);
    });

    for (const [old, flag, name, extra] of [
      ['wmcs.toolforge.remove_k8s_node', '--hostname-to-remove', 'k8s.remove-node', ['--role', 'worker']],
      ['wmcs.toolforge.k8s.worker.drain', '--hostname-to-drain', 'k8s.drain', []],
      ['wmcs.toolforge.k8s.reboot', '--hostname-list', 'k8s.reboot', []],
    ] as const) {
      it(`${old} ${flag} is ${name} --hostname`, async () => {
        // An invalid host name: the new cookbook's own check names --hostname, proving the flag was renamed.
        const r = await refusedRun([old, '--cluster-name', 'fixture', ...extra, flag, 'Bad_Name']);
        assertRefused(r, /--hostname: invalid hostname "Bad_Name"/);
        assert.match(r.stderr, new RegExp(`cookbook: ${old.replace(/\./g, '\\.')} is now ${name.replace('.', '\\.')}; run it as: cookbook ${name.replace('.', '\\.')} .*--hostname Bad_Name`));
      });
    }

    it('wmcs.toolforge.k8s.kubeadm_certs_renew runs k8s.certs.renew (its own check of --hostname/--all-control refuses)', async () => {
      const r = await refusedRun(['wmcs.toolforge.k8s.kubeadm_certs_renew', '--cluster-name', 'fixture']);
      assertRefused(r, /--hostname|--all-control/);
      assert.match(r.stderr, /wmcs\.toolforge\.k8s\.kubeadm_certs_renew is now k8s\.certs\.renew; run it as: cookbook k8s\.certs\.renew --cluster-name fixture/);
    });
  });
});
