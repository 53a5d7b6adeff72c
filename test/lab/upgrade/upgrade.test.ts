// The lab behaves like a kubeadm upgrade: a package repository per minor (pkgs.k8s.io style) that counts only
// after apt-get update, holds, `kubeadm upgrade plan|apply|node` with kubeadm's refusals and faults, the
// cluster version, kubeadm-config and the addons moving with the control plane, and a Node's kubeletVersion
// that changes only when the kubelet restarts.
import assert from 'node:assert/strict';
import { runCaptured } from '../../../lab/ssh/interpreter.js';
import { K8S_SOURCES_LIST } from '../../../lab/ssh/commands/apt.js';
import type { LabHost } from '../../../lab/world.js';
import { startTestLab, type TestLab } from '../../helpers/lab.js';
import { until } from '../k8s/helpers.js';

const repoLine = (minor: number) =>
  `deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] https://pkgs.k8s.io/core:/stable:/v1.${minor}/deb/ /`;

describe('lab: kubeadm upgrades', function () {
  this.timeout(60_000);
  let lab: TestLab;
  const host = (name: string): LabHost => lab.world.hosts.get(name)!;
  const run = async (name: string, script: string) => runCaptured(host(name), lab.world, script);
  const ok = async (name: string, script: string) => {
    const r = await run(name, script);
    assert.equal(r.code, 0, `${name}: ${script}\n${r.stderr}`);
    return r;
  };
  const node = (name: string) => lab.kube.store.get(lab.kube.api.res('', 'nodes'), undefined, name)!;
  const nodeVersion = (name: string) => node(name).status?.nodeInfo?.kubeletVersion as string;
  const nodeReady = (name: string) => (node(name).status?.conditions ?? []).find((c: { type: string }) => c.type === 'Ready')?.status === 'True';
  const apiserverImage = (name: string) => lab.kube.store.get(lab.kube.api.res('', 'pods'), 'kube-system', `kube-apiserver-${name}`)?.spec?.containers?.[0]?.image as string | undefined;
  /** The distinct versions four GET /version requests answer, sorted. */
  const versionsSeen = async () => {
    const kube = lab.client();
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) seen.add((await kube.version()).gitVersion);
    return [...seen].sort();
  };
  const setRepo = (name: string, minor: number) => ok(name, `mkdir -p /etc/apt/sources.list.d && echo '${repoLine(minor)}' > ${K8S_SOURCES_LIST}`);
  const installK8s = (name: string, pkgs: string[], version: string) =>
    ok(name, `apt-mark unhold ${pkgs.join(' ')} && apt-get install -y ${pkgs.map((p) => `${p}=${version}-1.1`).join(' ')} && apt-mark hold ${pkgs.join(' ')}`);

  before(async () => {
    lab = await startTestLab({ speed: 200, control: 2, workers: 1, workersNfs: 0, ingress: 0, etcd: 0, namespaces: 1 });
  });
  after(async () => lab?.stop());

  it('starts at 1.29 and serves one repository per minor, indexed by apt-get update, with holds enforced', async () => {
    assert.equal(lab.world.kubernetesVersion, '1.29.4');
    const cp = 'labtest-k8s-control-1';
    await setRepo(cp, 29);
    await ok(cp, 'apt-get update');
    const madison = (await ok(cp, 'apt-cache madison kubeadm')).stdout;
    assert.match(madison, /1\.29\.15-1\.1 \| https:\/\/pkgs\.k8s\.io\/core:\/stable:\/v1\.29\/deb/);
    assert.doesNotMatch(madison, /1\.30\./);
    const other = await run(cp, 'apt-get install -y --allow-change-held-packages kubeadm=1.30.2-1.1');
    assert.equal(other.code, 100);
    assert.match(other.stderr, /Version '1\.30\.2-1\.1' for 'kubeadm' was not found/);
    // The repository line alone changes nothing: apt knows the new minor only after an update.
    await setRepo(cp, 30);
    assert.equal((await run(cp, 'apt-get install -y --allow-change-held-packages kubeadm=1.30.2-1.1')).code, 100);
    await ok(cp, 'apt-get update');
    const held = await run(cp, 'apt-get install -y kubeadm=1.30.2-1.1');
    assert.equal(held.code, 100);
    assert.match(held.stderr, /Held packages were changed/);
    await installK8s(cp, ['kubeadm'], '1.30.2');
    assert.equal(host(cp).packages.get('kubeadm'), '1.30.2-1.1');
    assert.ok(host(cp).heldPackages!.has('kubeadm'));
    const missing = await setRepo(cp, 34).then(() => run(cp, 'apt-get update'));
    assert.equal(missing.code, 100);
    assert.match(missing.stderr, /v1\.34\/deb {2}InRelease' does not have a Release file/);
    await setRepo(cp, 30);
    await ok(cp, 'apt-get update');
  });

  it("serves each minor's Packages index over curl (404 for a minor without a repository), reachable only for pkgs.k8s.io", async () => {
    const cp = 'labtest-k8s-control-1';
    const index = (await ok(cp, 'curl -fsSL https://pkgs.k8s.io/core:/stable:/v1.31/deb/Packages')).stdout;
    assert.match(index, /^Package: kubeadm\nVersion: 1\.31\.12-1\.1$/m);
    assert.doesNotMatch(index, /Version: 1\.31\.13-/);
    const missing = await run(cp, 'curl -fsSL https://pkgs.k8s.io/core:/stable:/v1.34/deb/Packages');
    assert.equal(missing.code, 22);
    assert.match(missing.stderr, /404/);
    assert.equal((await run(cp, 'curl -fsSL https://example.org/')).code, 6);
  });

  it('refuses a skipped minor and a too-new target, fails on the Job health check fault naming its flag', async () => {
    const cp = 'labtest-k8s-control-1';
    const skip = await run(cp, 'kubeadm upgrade apply v1.31.0 -y');
    assert.equal(skip.code, 1);
    assert.match(skip.stderr, /higher than the kubeadm version "v1\.30\.2"/);
    assert.match((await ok(cp, 'kubeadm upgrade plan')).stdout, /kubeadm upgrade apply v1\.30\.2/);
    lab.world.faults.upgradeHealthJobTimeout = true;
    const job = await run(cp, 'kubeadm upgrade apply v1.30.2 -y');
    assert.equal(job.code, 1);
    assert.match(job.stderr, /\[ERROR CreateJob\]: Job "upgrade-health-check-\w+" in the namespace "kube-system" did not complete in 15s/);
    assert.match(job.stderr, /--ignore-preflight-errors/);
    assert.equal(lab.world.kubernetesVersion, '1.29.4');
    lab.world.faults.upgradeHealthJobTimeout = false;
  });

  it('apply moves the cluster version, kubeadm-config and the first apiserver; addons wait for every apiserver', async () => {
    const [cp1, cp2] = ['labtest-k8s-control-1', 'labtest-k8s-control-2'];
    const out = await ok(cp1, 'kubeadm upgrade apply v1.30.2 -y');
    assert.match(out.stdout, /SUCCESS! Your cluster was upgraded to "v1\.30\.2"/);
    assert.match(out.stdout, /skip upgrade addons/);
    assert.equal(lab.world.kubernetesVersion, '1.30.2');
    const cm = lab.kube.store.get(lab.kube.api.res('', 'configmaps'), 'kube-system', 'kubeadm-config')!;
    assert.match(cm.data.ClusterConfiguration, /^kubernetesVersion: v1\.30\.2$/m);
    await until('first apiserver at 1.30.2', () => apiserverImage(cp1) === 'registry.k8s.io/kube-apiserver:v1.30.2');
    assert.equal(apiserverImage(cp2), 'registry.k8s.io/kube-apiserver:v1.29.4');
    // /version answers from the API server behind the endpoint that takes the request: old and new, by turns.
    assert.deepEqual(await versionsSeen(), ['v1.29.4', 'v1.30.2']);
    // Second control plane: its kubeadm must be upgraded first; a stuck static pod fails and rolls back.
    const old = await run(cp2, 'kubeadm upgrade node');
    assert.equal(old.code, 1);
    assert.match(old.stderr, /Upgrade kubeadm first/);
    await setRepo(cp2, 30);
    await ok(cp2, 'apt-get update');
    await installK8s(cp2, ['kubeadm'], '1.30.2');
    lab.world.faults.upgradeStaticPodStuck = [cp2];
    const stuck = await run(cp2, 'kubeadm upgrade node');
    assert.equal(stuck.code, 1);
    assert.match(stuck.stderr, /static Pod hash for component kube-apiserver on Node labtest-k8s-control-2 did not change after 5m0s/);
    assert.equal(apiserverImage(cp2), 'registry.k8s.io/kube-apiserver:v1.29.4');
    lab.world.faults.upgradeStaticPodStuck = [];
    assert.match((await ok(cp2, 'kubeadm upgrade node')).stdout, /Applied essential addon: kube-proxy/);
    await until('second apiserver at 1.30.2', () => apiserverImage(cp2) === 'registry.k8s.io/kube-apiserver:v1.30.2');
    assert.deepEqual(await versionsSeen(), ['v1.30.2']);
    const ds = lab.kube.store.get(lab.kube.api.res('apps', 'daemonsets'), 'kube-system', 'kube-proxy')!;
    assert.equal(ds.spec.template.spec.containers[0].image, 'registry.k8s.io/kube-proxy:v1.30.2');
    const dns = lab.kube.store.get(lab.kube.api.res('apps', 'deployments'), 'kube-system', 'coredns')!;
    assert.equal(dns.spec.template.spec.containers[0].image, 'registry.k8s.io/coredns/coredns:v1.11.1');
  });

  it("changes a Node's kubeletVersion only when the kubelet restarts", async () => {
    const w = 'labtest-k8s-worker-1';
    await setRepo(w, 30);
    await ok(w, 'apt-get update');
    await installK8s(w, ['kubeadm'], '1.30.2');
    await ok(w, 'kubeadm upgrade node');
    await installK8s(w, ['kubelet', 'kubectl'], '1.30.2');
    assert.equal(nodeVersion(w), 'v1.29.4');
    await ok(w, 'systemctl daemon-reload && systemctl restart kubelet');
    await until('worker reports 1.30.2 and Ready', () => nodeVersion(w) === 'v1.30.2' && nodeReady(w));
  });

  it('refuses kubelets more than three minors behind the target and NotReady control planes', async () => {
    const [cp1, w] = ['labtest-k8s-control-1', 'labtest-k8s-worker-1'];
    await setRepo(cp1, 31);
    await ok(cp1, 'apt-get update');
    await installK8s(cp1, ['kubeadm'], '1.31.0');
    host(w).kubelet.version = '1.27.3';
    lab.world.emit('kubelet-changed', host(w));
    await until('worker at 1.27.3', () => nodeVersion(w) === 'v1.27.3');
    const skew = await run(cp1, 'kubeadm upgrade apply v1.31.0 -y');
    assert.equal(skew.code, 1);
    assert.match(skew.stderr, /There are kubelets in this cluster that are too old that have these versions \[v1\.27\.3\]/);
    host(w).kubelet.version = '1.30.2';
    lab.world.emit('kubelet-changed', host(w));
    await until('worker back at 1.30.2', () => nodeVersion(w) === 'v1.30.2');
    await ok('labtest-k8s-control-2', 'systemctl stop kubelet');
    await until('control-2 NotReady', () => !nodeReady('labtest-k8s-control-2'));
    const unhealthy = await run(cp1, 'kubeadm upgrade apply v1.31.0 -y');
    assert.equal(unhealthy.code, 1);
    assert.match(unhealthy.stderr, /\[ERROR ControlPlaneNodesReady\]: there are NotReady control-planes in the cluster: \[labtest-k8s-control-2\]/);
    assert.equal(lab.world.kubernetesVersion, '1.30.2');
    // A kubeadm two minors ahead still upgrades one minor at a time.
    await setRepo(cp1, 32);
    await ok(cp1, 'apt-get update');
    await installK8s(cp1, ['kubeadm'], '1.32.0');
    const skipped = await run(cp1, 'kubeadm upgrade apply v1.32.0 -y');
    assert.equal(skipped.code, 1);
    assert.match(skipped.stderr, /"v1\.32\.0" is too high; kubeadm can upgrade only 1 minor version at a time/);
  });
});
