// The CLI against a lab started as an operator would (`cookbook lab up --cluster-name NAME`): the cluster is
// found by its name without --inventory, and hosts given as FQDNs (as alerts show them) act on the short name.
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { $ } from 'zx';
import { type CliResult, cleanupTempDirs, runCli, tempDir } from '../helpers/cli.js';

const NAME = 'clilab';

describe('cookbook CLI with a lab found by its name', function () {
  this.timeout(120_000);
  let xdg: string;
  let labDir: string;
  let pid: number | undefined;
  const env = (): Record<string, string> => ({ XDG_STATE_HOME: xdg });
  const cli = (args: string[]): Promise<CliResult> => runCli(args, { env: env() });

  async function unschedulable(node: string): Promise<boolean> {
    const r = await $({ quiet: true, nothrow: true })`kubectl --kubeconfig ${join(labDir, 'kubeconfig')} --cache-dir ${tempDir('kcache-')} get node ${node} -o json`;
    assert.equal(r.exitCode, 0, r.stderr);
    return (JSON.parse(r.stdout) as { spec: { unschedulable?: boolean } }).spec.unschedulable === true;
  }

  before(async () => {
    xdg = tempDir('cc-xdg-');
    const up = await cli(['lab', 'up', '--cluster-name', NAME, '--speed', '50', '--control', '1', '--workers', '2', '--workers-nfs', '0', '--ingress', '0', '--etcd', '0', '--json']);
    assert.equal(up.code, 0, up.stderr);
    const info = JSON.parse(up.stdout) as { pid: number; stateDir?: string };
    pid = info.pid;
    labDir = join(xdg, 'cluster-cookbooks', 'labs', NAME);
  });

  after(async () => {
    const down = await cli(['lab', 'down', '--cluster-name', NAME]);
    // A lab that did not stop is stopped by the pid we started.
    if (down.code !== 0 && pid) process.kill(pid, 'SIGTERM');
    cleanupTempDirs();
  });

  it('--cluster-name NAME finds the running lab without --inventory', async () => {
    const r = await cli(['inventory.show', '--cluster-name', NAME, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { cluster: string; result: { source?: string } };
    assert.equal(out.cluster, NAME);
    assert.match(JSON.stringify(out.result), new RegExp(`labs/${NAME}/inventory\\.yaml`));
  });

  it('an unknown name still lists the known clusters and names lab up in its hint', async () => {
    const r = await cli(['inventory.show', '--cluster-name', `${NAME}x`]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown cluster "clilabx"; known clusters: local, tools, toolsbeta/);
    assert.match(r.stderr, /cookbook lab up --cluster-name clilabx/);
  });

  it('a host of another domain is refused and nothing is cordoned', async () => {
    const r = await cli(['k8s.cordon', '--cluster-name', NAME, '--hostname', `${NAME}-k8s-worker-1.example.org`, '--yes']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /is not a host of cluster clilab: its hosts are <name>\.lab\.internal/);
    assert.equal(await unschedulable(`${NAME}-k8s-worker-1`), false);
  });

  it('a host given as an FQDN in the cluster domain is acted on by its short name', async () => {
    const r = await cli(['k8s.cordon', '--cluster-name', NAME, '--hostname', `${NAME}-k8s-worker-1.lab.internal`, '--yes', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { args: { hostname: string } };
    assert.equal(out.args.hostname, `${NAME}-k8s-worker-1`);
    assert.equal(await unschedulable(`${NAME}-k8s-worker-1`), true);
  });
});
