// k8s.upgrade killed (SIGKILL, through failpoints) at four points: mid control plane (right after the first
// apply), between the control plane and the workers, in the middle of a worker (packages installed, kubelet
// not restarted) and during the finish. The same command then converges: every node at the target, nothing
// cordoned, and nothing upgraded twice (one `kubeadm upgrade apply` per minor, one `kubeadm upgrade node` per
// control node and minor, one kubelet version change per node and minor).
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanupTempDirs, runCli, startCli, tempDir } from '../../helpers/cli.js';
import type { TestLab } from '../../helpers/lab.js';
import type { LabHost } from '../../../lab/world.js';
import { cordonedNodes, createWorkload, inventoryFor, startRebootLab } from './reboot-helpers.js';

describe('k8s.upgrade: SIGKILL at four points, the same command converges (lab)', function () {
  this.timeout(300_000);
  let lab: TestLab;
  let inventory: string;
  let state: string;
  let reportDir: string | undefined;
  const kubeadmCalls: string[] = [];
  const versionChanges: string[] = [];

  before(async () => {
    lab = await startRebootLab(4, { control: 2, speed: 200 });
    await createWorkload(lab, 'tool-resume', [{ name: 'web', replicas: 6, pdb: { maxUnavailable: 1 } }]);
    // A file lock: a killed run leaves no 60 s Lease behind.
    inventory = inventoryFor(lab, { fileLock: true });
    state = tempDir('cc-state-');
    const backend = lab.world.kubeadm!;
    const upgrade = backend.upgrade.bind(backend);
    backend.upgrade = (host: LabHost, action, version, options) => {
      const out = upgrade(host, action, version, options);
      if (action !== 'plan') kubeadmCalls.push(`${action} ${host.name} ${lab.world.kubernetesVersion}`);
      return out;
    };
    const last = new Map<string, string>();
    lab.world.on('kubelet-changed', (h) => {
      if (h.kubelet.version && h.kubelet.version !== (last.get(h.name) ?? '1.29.4')) versionChanges.push(`${h.name} ${h.kubelet.version}`);
      if (h.kubelet.version) last.set(h.name, h.kubelet.version);
    });
  });
  after(async () => {
    await lab?.stop();
    cleanupTempDirs();
    if (reportDir) rmSync(reportDir, { recursive: true, force: true });
  });

  it('converges after each kill, upgrading nothing twice', async () => {
    // The same command every time (a resumed run has the same arguments), --report included.
    // Its own directory, not a tempDir(): a CI run once found it gone by the time the last run had written it.
    reportDir = mkdtempSync(join(tmpdir(), 'cc-report-'));
    const reportFile = join(reportDir, 'upgrade.html');
    const args = ['k8s.upgrade', '--cluster-name', 'labtest', '--inventory', inventory, '--state-dir', state, '--yes', '--to', '1.31', '--max-unavailable', '2', '--poll-interval', '100ms', '--retry-interval', '200ms', '--report', reportFile];
    const failpoints = [
      'kill-after:kubeadm upgrade apply 1.30 on labtest-k8s-control-1',
      'kill-after:uncordon labtest-k8s-control-2',
      'kill-after:kubelet+kubectl 1.31 on labtest-k8s-worker-2',
      'kill-before:finish upgrade to 1.31',
    ];
    for (const fp of failpoints) {
      const out = await startCli(args, { env: { COOKBOOK_FAILPOINTS: fp }, timeoutMs: 120_000 });
      assert.equal(out.signal, 'SIGKILL', `${fp}: the run died by SIGKILL (exit ${out.exitCode}): ${out.stderr.slice(-1500)}`);
    }
    const again = await runCli(args, { timeoutMs: 120_000 });
    assert.equal(again.code, 0, again.stderr.slice(-3000));
    // One report over the five runs: every node of both minors, each with its measured kubelet phase.
    const html = readFileSync(reportFile, 'utf8');
    assert.match(html, /<span class="pill ok verdict">Complete</);
    const bars = [...html.matchAll(/<g class="bar (\w+)" data-node="([^"]+)"[^]*?<\/g>/g)];
    assert.equal(bars.length, 12, bars.map((b) => b[2]).join(', '));
    for (const b of bars) {
      assert.equal(b[1], 'ok', `${b[2]} done`);
      assert.match(b[0], /data-phase="kubelet"/, `${b[2]}: its kubelet phase, from whichever run did it`);
    }
    const nodes = [...lab.kube.store.scan(lab.kube.api.res('', 'nodes'))];
    assert.equal(nodes.length, 6);
    for (const n of nodes) assert.equal(n.status.nodeInfo.kubeletVersion, 'v1.31.12', n.metadata.name);
    assert.deepEqual(cordonedNodes(lab), []);
    assert.deepEqual(kubeadmCalls.filter((c) => c.startsWith('apply')), ['apply labtest-k8s-control-1 1.30.14', 'apply labtest-k8s-control-1 1.31.12']);
    assert.deepEqual(kubeadmCalls.filter((c) => c.startsWith('node labtest-k8s-control')), ['node labtest-k8s-control-2 1.30.14', 'node labtest-k8s-control-2 1.31.12']);
    assert.equal(new Set(versionChanges).size, versionChanges.length, `one kubelet change per node and minor: ${versionChanges.join(', ')}`);
    assert.equal(versionChanges.length, 12);
  });

  it('uncordons a node at the target that an interrupted upgrade left cordoned, changing nothing else', async () => {
    const kube = lab.client();
    await kube.cordon('labtest-k8s-worker-3', { runId: 'interrupted-run', cookbook: 'k8s.upgrade' });
    assert.deepEqual(cordonedNodes(lab), ['labtest-k8s-worker-3']);
    lab.world.resetCounters();
    const r = await runCli(['k8s.upgrade', '--cluster-name', 'labtest', '--inventory', inventory, '--state-dir', state, '--yes', '--to', '1.31'], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr.slice(-2000));
    assert.deepEqual(cordonedNodes(lab), []);
    assert.equal(lab.world.counters.ssh_mutations, 0);
    await kube.close();
  });
});
