// The README's first command, as a new user runs it: `cookbook k8s.add-node --cluster-name local --role worker
// --yes` on a clean state dir starts the `local` lab by itself and adds a worker that kubectl then sees Ready;
// `cookbook lab down` returns only once the lab's process (and every process it started) is gone.
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { $ } from 'zx';
import { descendantsOf } from '../../scripts/servers/common.js';
import { cleanupTempDirs, runCli, tempDir } from '../helpers/cli.js';
import { alive } from '../helpers/process.js';

describe("the README's first command", function () {
  // The lab runs at the speed a user gets (1): a VM takes seconds to build, so this test takes ~20 s.
  this.timeout(300_000);
  const state = tempDir('cc-readme-');
  // A clean environment: no inventory, kubeconfig or cloud config of the caller leaks in.
  const env = { XDG_STATE_HOME: state, COOKBOOK_INVENTORY: undefined, KUBECONFIG: undefined, OS_CLIENT_CONFIG_FILE: undefined, COOKBOOK_PATH: undefined };
  const labDir = join(state, 'cluster-cookbooks', 'labs', 'local');
  let pid: number | undefined;

  after(async () => {
    // Only if an assertion stopped the test before its own `lab down`: never leave this lab running.
    if (pid !== undefined && alive(pid)) {
      await runCli(['lab', 'down'], { env, timeoutMs: 60_000 });
      if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
    cleanupTempDirs();
  });

  it('starts the local lab by itself, adds a Ready worker, and lab down stops every lab process', async () => {
    assert.ok(!existsSync(labDir), 'the state dir starts clean');
    const r = await runCli(['k8s.add-node', '--cluster-name', 'local', '--role', 'worker', '--yes'], { env, timeoutMs: 240_000 });
    pid = existsSync(join(labDir, 'lab.json')) ? (JSON.parse(readFileSync(join(labDir, 'lab.json'), 'utf8')) as { pid: number }).pid : undefined;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /starting the local lab/);
    assert.ok(pid !== undefined && alive(pid), 'the lab runs in its own process');
    assert.notEqual(pid, process.pid);
    const added = /create server server\/(local-k8s-worker-\d+)/.exec(r.stdout + r.stderr)?.[1];
    assert.ok(added, `the summary names the new server:\n${r.stdout}`);

    const kubeconfig = join(labDir, 'kubeconfig');
    const k = await $({ quiet: true, nothrow: true })`kubectl --kubeconfig ${kubeconfig} --cache-dir ${tempDir('kcache-')} get node ${added} -o json`;
    assert.equal(k.exitCode, 0, k.stderr);
    const node = JSON.parse(k.stdout) as { status: { conditions: { type: string; status: string }[] } };
    assert.equal(node.status.conditions.find((c) => c.type === 'Ready')?.status, 'True', `${added} is Ready`);

    const children = descendantsOf(pid);
    const down = await runCli(['lab', 'down'], { env, timeoutMs: 60_000 });
    assert.equal(down.code, 0, down.stderr);
    assert.ok(!alive(pid), `lab down returned while the lab process ${pid} still runs`);
    assert.deepEqual(children.filter(alive), [], 'every process the lab started is gone');
    assert.ok(!existsSync(join(labDir, 'lab.json')), 'lab.json removed');
  });
});
