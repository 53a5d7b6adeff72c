// k8s.upgrade against the lab (the real CLI as a child process): a cluster at 1.29 with 12 workers upgraded
// to 1.31 three workers at a time. Every node ends at 1.31; in each minor every control node is done before
// any worker's kubelet changes; never more than 3 nodes unavailable; no PDB violated; nothing left cordoned;
// kubeadm-config and kube-proxy at the target. The dry-run plans it with zero writes; the Job health-check
// fault stops the run before anything else changes and names the flag; bad input exits 2.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupTempDirs, runCli, tempDir } from '../../helpers/cli.js';
import type { TestLab } from '../../helpers/lab.js';
import { cordonedNodes, createWorkload, inventoryFor, resultOf, startRebootLab, until } from './reboot-helpers.js';

const NS = 'tool-upgrade';

/** Common arguments of a k8s.upgrade run against the lab. */
function upgradeArgs(inventory: string, state: string, extra: string[]): string[] {
  return ['k8s.upgrade', '--cluster-name', 'labtest', '--inventory', inventory, '--state-dir', state, '--yes', '--poll-interval', '100ms', '--retry-interval', '200ms', ...extra];
}

describe('k8s.upgrade: 1.29 to 1.31 with 2 control nodes and 12 workers, 3 at a time (lab)', function () {
  this.timeout(240_000);
  let lab: TestLab;
  let inventory: string;
  let state: string;
  const changes: { node: string; version: string; control: boolean }[] = [];
  const nodes = () => [...lab.kube.store.scan(lab.kube.api.res('', 'nodes'))];

  before(async () => {
    lab = await startRebootLab(12, { control: 2, speed: 200 });
    await createWorkload(lab, NS, [
      { name: 'web', replicas: 12, pdb: { maxUnavailable: 3 } },
      { name: 'api', replicas: 6, pdb: { minAvailable: 5 } },
    ]);
    // kubeadm's CoreDNS at 1.29's version (no replicas: the drains are the workloads' business above).
    const dnsLabels = { 'k8s-app': 'kube-dns' };
    lab.kube.api.create(lab.kube.api.res('apps', 'deployments'), 'kube-system', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'coredns', namespace: 'kube-system', labels: dnsLabels },
      spec: { replicas: 0, selector: { matchLabels: dnsLabels }, template: { metadata: { labels: dnsLabels }, spec: { containers: [{ name: 'coredns', image: 'registry.k8s.io/coredns/coredns:v1.11.1' }] } } },
    }, { internal: true });
    inventory = inventoryFor(lab);
    state = tempDir('cc-state-');
    lab.world.on('kubelet-changed', (h) => {
      const last = changes.filter((c) => c.node === h.name).at(-1)?.version ?? '1.29.4';
      if (h.kubelet.version && h.kubelet.version !== last) changes.push({ node: h.name, version: h.kubelet.version, control: h.kubelet.controlPlane });
    });
  });
  after(async () => {
    await lab?.stop();
    cleanupTempDirs();
  });

  it('refuses bad input with exit 2 before any change: malformed, downgrade, not in the repository, skew to fix first', async () => {
    lab.world.resetCounters();
    for (const [to, why] of [
      ['1.x', /--to: expected a Kubernetes version like 1\.31 or 1\.31\.2, got "1\.x"/],
      ['1.28', /--to 1\.28 is older than the cluster \(v1\.29\.4\): downgrades are not supported/],
      ['1.31.13', /--to 1\.31\.13: the 1\.31 repository has no such version \(newest 1\.31\.12\)/],
      ['1.34', /there is no 1\.34 package repository \(deb \[signed-by=\S+\] https:\/\/pkgs\.k8s\.io\/core:\/stable:\/v1\.34\/deb\/ \/\)/],
    ] as const) {
      const r = await runCli(upgradeArgs(inventory, state, ['--to', to]));
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stdout + r.stderr, why);
    }
    // Skew to fix first: a kubelet newer than the apiservers, named with its version.
    const w = lab.world.hosts.get('labtest-k8s-worker-7')!;
    w.kubelet.version = '1.30.2';
    lab.world.emit('kubelet-changed', w);
    try {
      await until(() => nodes().find((n) => n.metadata.name === w.name)?.status.nodeInfo.kubeletVersion === 'v1.30.2', 'worker-7 reports 1.30.2');
      const skew = await runCli(upgradeArgs(inventory, state, ['--to', '1.31']));
      assert.equal(skew.code, 2, skew.stderr);
      assert.match(skew.stderr, /\[kubelet-newer-than-apiserver\] kubelets must never be newer than the oldest apiserver \(1\.29\): labtest-k8s-worker-7 1\.30\.2/);
    } finally {
      w.kubelet.version = '1.29.4';
      lab.world.emit('kubelet-changed', w);
      await until(() => nodes().find((n) => n.metadata.name === w.name)?.status.nodeInfo.kubeletVersion === 'v1.29.4', 'worker-7 back at 1.29.4');
      // Those two changes were the test's own, not the upgrade's.
      changes.length = 0;
    }
    // Only the run's lock Lease was written (the downgrade and the skew are known once the cluster answered).
    assert.equal(lab.world.counters.ssh_mutations, 0);
    assert.equal(lab.world.kubernetesVersion, '1.29.4');
  });

  it('--dry-run prints the minor sequence, order, batches, commands and an ETA with zero writes', async () => {
    lab.world.resetCounters();
    const planFile = join(tempDir('cc-report-'), 'plan.html');
    const r = await runCli(upgradeArgs(inventory, state, ['--to', '1.31', '--max-unavailable', '3', '--dry-run', '--report', planFile]));
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    // The plan's page: every node of both minors, planned.
    const plan = readFileSync(planFile, 'utf8');
    assert.match(plan, /Plan \(dry-run\)/);
    assert.equal([...plan.matchAll(/<g class="bar planned" data-node="labtest-k8s-(?:control|worker)-\d+ \(1\.3[01]\)"/g)].length, 28);
    assert.match(r.stdout, /from 1\.29\.4 to 1\.31: 1\.30 → 1\.31, one minor at a time/);
    assert.match(r.stdout, /labtest-k8s-control-1 \(kubeadm upgrade apply\), then labtest-k8s-control-2 one at a time/);
    assert.match(r.stdout, /kubeadm upgrade apply v1\.30\.14 -y/);
    assert.match(r.stdout, /apt-get install -y --allow-downgrades kubelet=1\.31\.12-1\.1 kubectl=1\.31\.12-1\.1/);
    assert.match(r.stdout, /batch 1 at \+0m?s: (labtest-k8s-worker-\d+, ){2}labtest-k8s-worker-\d+\n/);
    assert.match(r.stdout, /ETA: about \d+/);
    assert.equal(lab.world.counters.ssh_mutations, 0);
    assert.equal(lab.world.counters.k8s_mutations, 0);
    assert.equal(lab.world.kubernetesVersion, '1.29.4');
  });

  it('the Job health-check fault stops the run before anything else changes and names the flag', async () => {
    lab.world.faults.upgradeHealthJobTimeout = true;
    try {
      const r = await runCli(upgradeArgs(inventory, state, ['--to', '1.31', '--max-unavailable', '3', '--json']));
      assert.equal(r.code, 1);
      const out = resultOf(r.stdout);
      assert.equal(out.error?.class, 'UpgradeHealthCheckError');
      assert.match(r.stdout + r.stderr, /--ignore-preflight-errors CreateJob/);
      // Retried once (a flake on busy clusters) before giving up.
      assert.match(r.stdout + r.stderr, /health check Job on labtest-k8s-control-1 did not complete in 15 s; retrying once/);
      assert.match(out.error!.message, /failed twice/);
      assert.equal(lab.world.kubernetesVersion, '1.29.4');
      assert.deepEqual(cordonedNodes(lab), []);
      assert.deepEqual(changes, []);
    } finally {
      lab.world.faults.upgradeHealthJobTimeout = false;
    }
  });

  it('a static pod that does not come back after kubeadm upgrade apply is reported as such: pod, node, what to check; nothing else touched', async () => {
    const workerKubeadm = () => [...lab.world.hosts.values()].filter((h) => !h.kubelet.controlPlane && h.kubelet.joined).map((h) => h.packages.get('kubeadm'));
    const before = workerKubeadm();
    lab.world.faults.upgradeStaticPodStuck = ['labtest-k8s-control-1'];
    try {
      const r = await runCli(upgradeArgs(inventory, state, ['--to', '1.31', '--max-unavailable', '3', '--json']));
      assert.equal(r.code, 1, r.stderr.slice(-2000));
      const out = resultOf(r.stdout);
      assert.equal(out.error?.class, 'UpgradeStaticPodError');
      assert.match(out.error!.message, /kubeadm upgrade apply on labtest-k8s-control-1 failed: the static pod kube-apiserver on node labtest-k8s-control-1 did not come back/);
      const hint = String((out.error as { hint?: string }).hint ?? r.stderr);
      for (const what of [/journalctl -u kubelet/, /\/etc\/kubernetes\/manifests\/kube-apiserver\.yaml/, /\/etc\/kubernetes\/tmp\/kubeadm-backup-manifests-/]) assert.match(hint, what);
      assert.equal(lab.world.kubernetesVersion, '1.29.4');
      assert.deepEqual(cordonedNodes(lab), []);
      assert.deepEqual(changes, [], 'no kubelet changed');
      assert.deepEqual(workerKubeadm(), before, 'no worker touched');
    } finally {
      lab.world.faults.upgradeStaticPodStuck = [];
    }
  });

  it('refuses, before any change, a kubeadm certificate that would expire during the upgrade', async () => {
    lab.world.resetCounters();
    lab.kube.kubeadm.setCertificateAge('labtest-k8s-control-2', 364.8);
    try {
      const r = await runCli(upgradeArgs(inventory, state, ['--to', '1.31']));
      assert.equal(r.code, 1);
      assert.match(r.stderr, /kubeadm certificates expire within .*before the upgrade would end: labtest-k8s-control-2 admin\.conf/);
      assert.equal(lab.world.counters.ssh_mutations, 0);
    } finally {
      lab.kube.kubeadm.setCertificateAge('labtest-k8s-control-2', 0);
    }
  });

  it('upgrades every node to 1.31, control plane before workers in each minor, within the limit and the budgets', async () => {
    lab.world.resetCounters();
    const reportFile = join(tempDir('cc-report-'), 'upgrade.html');
    const r = await runCli(upgradeArgs(inventory, state, ['--to', '1.31', '--max-unavailable', '3', '--json', '--report', reportFile]), { timeoutMs: 180_000 });
    assert.equal(r.code, 0, (r.stdout + r.stderr).slice(-4000));
    // One report of the whole run: every node of both minors, control nodes with their kubeadm phase.
    const html = readFileSync(reportFile, 'utf8');
    assert.match(html, /Kubernetes upgrade of labtest <span class="pill ok verdict">Complete</);
    for (const minor of ['1.30', '1.31']) {
      for (let i = 1; i <= 12; i++) assert.ok(html.includes(`>labtest-k8s-worker-${i} (${minor})<`), `report row of worker ${i} in ${minor}`);
      for (const c of [1, 2]) {
        const bar = new RegExp(`<g class="bar ok" data-node="labtest-k8s-control-${c} \\(${minor.replace('.', '\\.')}\\)"[^]*?</g>`).exec(html)?.[0] ?? '';
        for (const phase of ['kubeadm', 'drain', 'kubelet']) assert.match(bar, new RegExp(`data-phase="${phase}"`), `control-${c} ${minor}: ${phase} drawn`);
      }
    }
    assert.match(html, /1\.30\.14 kubeadm upgrade apply/);
    assert.match(html, /1\.31\.12 kubeadm upgrade node/);
    const target = resultOf(r.stdout).result as unknown as { steps: { version: string }[]; nodes: { node: string; kubelet: string }[] };
    assert.deepEqual(target.steps.map((s) => s.version), ['1.30.14', '1.31.12']);
    for (const n of nodes()) assert.equal(n.status.nodeInfo.kubeletVersion, 'v1.31.12', n.metadata.name);
    for (const minor of ['1.30.14', '1.31.12']) {
      const seq = changes.filter((c) => c.version === minor);
      assert.equal(seq.length, 14, `${minor}: every node once`);
      const lastControl = seq.findLastIndex((c) => c.control);
      const firstWorker = seq.findIndex((c) => !c.control);
      assert.ok(lastControl < firstWorker, `${minor}: control nodes before workers: ${seq.map((c) => c.node).join(' ')}`);
      assert.deepEqual(seq.filter((c) => c.control).map((c) => c.node), ['labtest-k8s-control-1', 'labtest-k8s-control-2']);
    }
    assert.ok(lab.world.counters.max_unavailable_nodes <= 3, `max unavailable ${lab.world.counters.max_unavailable_nodes}`);
    assert.equal(lab.world.counters.pdb_violations, 0);
    assert.deepEqual(cordonedNodes(lab), []);
    assert.equal(lab.world.kubernetesVersion, '1.31.12');
    const cm = lab.kube.store.get(lab.kube.api.res('', 'configmaps'), 'kube-system', 'kubeadm-config')!;
    assert.match(cm.data.ClusterConfiguration, /^kubernetesVersion: v1\.31\.12$/m);
    const proxy = lab.kube.store.get(lab.kube.api.res('apps', 'daemonsets'), 'kube-system', 'kube-proxy')!;
    assert.equal(proxy.spec.template.spec.containers[0].image, 'registry.k8s.io/kube-proxy:v1.31.12');
    // CoreDNS at the version kubeadm 1.31 ships (the finish checked it too).
    const dns = lab.kube.store.get(lab.kube.api.res('apps', 'deployments'), 'kube-system', 'coredns')!;
    assert.equal(dns.spec.template.spec.containers[0].image, 'registry.k8s.io/coredns/coredns:v1.11.3');
    // The same command again: the cluster is at the target, nothing to do, nothing written.
    lab.world.resetCounters();
    const again = await runCli(upgradeArgs(inventory, state, ['--to', '1.31']));
    assert.equal(again.code, 0, again.stderr.slice(-2000));
    assert.match(again.stdout + again.stderr, /is at 1\.31 already .*nothing to do/);
    assert.equal(lab.world.counters.ssh_mutations, 0);
  });
});
