// The cluster lock across real cookbook processes, against the lab's Kubernetes Lease: two processes started
// at once let exactly one proceed, and the lock belongs to the cluster, not to the inventory entry: a copy of
// the lab's inventory under another cluster name is refused while the first name holds the lock.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import type { ProcessPromise } from 'zx';
import { CLUSTER_LEASE_NAME } from '../../../lib/lock/identity.js';
import { type CliResult, cleanupTempDirs, startCli, tempDir, waitForOutput } from '../../helpers/cli.js';
import { type TestLab, startTestLab } from '../../helpers/lab.js';

/** True while the process has not exited. */
function alive(p: ProcessPromise): boolean {
  return p.child !== undefined && p.child.exitCode === null && p.child.signalCode === null;
}

/** The command line of a process, to tell which of our runs a pid belongs to. */
function cmdline(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
}

/** Exit code and output of a started CLI process. */
async function finished(p: ProcessPromise): Promise<CliResult> {
  const out = await p;
  return { code: out.exitCode ?? -1, stdout: out.stdout, stderr: out.stderr };
}

describe('cluster lock across cookbook processes (Kubernetes Lease, lab)', function () {
  this.timeout(60_000);
  let lab: TestLab;
  const running: ProcessPromise[] = [];

  /** `fixture.steps` against the lab under `clusterName` from `inventory`, sleeping inside its only step. */
  function steps(clusterName: string, inventory: string, work: string): ProcessPromise {
    const p = startCli(['fixture.steps', '--cluster-name', clusterName, '--inventory', inventory, '--state-dir', tempDir('cc-state-'), '--work-dir', work, '--steps', '1', '--verbose'], {
      env: { COOKBOOK_FAILPOINTS: 'sleep-in:step 1=30000' },
    });
    running.push(p);
    return p;
  }

  /** The pid the cluster's Lease names as its holder. */
  async function leaseHolderPid(): Promise<number> {
    const lease = await lab.client().getLease('kube-system', CLUSTER_LEASE_NAME);
    assert.ok(lease, `Lease kube-system/${CLUSTER_LEASE_NAME} exists`);
    return (JSON.parse(lease.metadata!.annotations!['cluster-cookbooks.io/holder']!) as { pid: number }).pid;
  }

  before(async () => {
    lab = await startTestLab({ clusterName: 'leasetest', control: 1, workers: 1, workersNfs: 0, ingress: 0, etcd: 0, seedWorkload: false });
  });

  afterEach(async () => {
    for (const p of running.splice(0)) {
      if (alive(p)) {
        p.kill('SIGTERM');
        await p.catch(() => undefined);
      }
    }
  });

  after(async () => {
    await lab?.stop();
    cleanupTempDirs();
  });

  it('two processes at once: exactly one proceeds, the other exits 3 naming the holder', async () => {
    const works = [tempDir(), tempDir()];
    const pair = works.map((w) => steps('leasetest', lab.stateDir, w));
    // Listening from the start: output printed before a listener is attached is not seen again.
    const stepped = pair.map((p) => waitForOutput(p, '▶ step 1', 30_000).then(() => true, () => false));
    // The loser ends on its own; the winner sleeps in its step holding the lock.
    const first = await Promise.race(pair.map((p, i) => finished(p).then((r) => ({ i, r }))));
    assert.equal(first.r.code, 3, `the first process to end was refused: ${first.r.stderr}`);
    const winner = pair[1 - first.i]!;
    assert.equal(await stepped[1 - first.i], true, 'the winner proceeds into its step');
    assert.ok(alive(winner), 'the winner is still running');
    const pid = await leaseHolderPid();
    assert.match(cmdline(pid), new RegExp(`--work-dir ${works[1 - first.i]} `), 'the Lease names the winner');
    assert.match(first.r.stderr, new RegExp(`is held by ${userInfo().username}@${hostname()} \\(pid ${pid}\\) running fixture\\.steps since \\d{4}-`));
    assert.deepEqual(readdirSync(works[first.i]!), [], 'the refused run changed nothing');
    assert.ok(!`${first.r.stdout}${first.r.stderr}`.includes('▶ step 1'), 'the refused process never started a step');
    winner.kill('SIGTERM');
    assert.equal((await finished(winner)).code, 130);
    assert.equal(await lab.client().getLease('kube-system', CLUSTER_LEASE_NAME), undefined, 'the winner released the Lease');
  });

  it('another inventory name for the same cluster is refused while the first name holds the lock', async () => {
    // A copy of the lab's own inventory entry under another name and in another inventory directory.
    const copy = tempDir('cc-inventory-');
    mkdirSync(copy, { recursive: true });
    const text = readFileSync(join(lab.stateDir, 'inventory.yaml'), 'utf8');
    assert.match(text, /^name: leasetest$/m);
    writeFileSync(join(copy, 'renamed.yaml'), text.replace(/^name: leasetest$/m, 'name: renamed'));

    const holder = steps('leasetest', lab.stateDir, tempDir());
    await waitForOutput(holder, '▶ step 1');
    const pid = await leaseHolderPid();
    assert.match(cmdline(pid), /--cluster-name leasetest /);
    const work = tempDir();
    const second = await finished(steps('renamed', copy, work));
    assert.equal(second.code, 3, second.stderr);
    assert.match(second.stderr, new RegExp(`held by ${userInfo().username}@${hostname()} \\(pid ${pid}\\) running fixture\\.steps`));
    assert.deepEqual(readdirSync(work), [], 'the refused run changed nothing');

    holder.kill('SIGTERM');
    assert.equal((await finished(holder)).code, 130);
  });
});
