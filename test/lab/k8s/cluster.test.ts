// Cluster behaviour of the lab through client-node: scheduler (taints, nodeSelector, resources, spreading,
// cordon), controllers recreating pods, DaemonSets, mirror pods, host reboots and kubelet state, stuck pods,
// max_unavailable_nodes, and the kubeadm backend.
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { seedWorkload } from '../../../lab/k8s/index.js';
import { addHost, codeOf, makeWorld, startLab, until, type Lab } from './helpers.js';

const smp = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch);
const isReady = (p: k8s.V1Pod) => !!p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
const nodeReady = (n: k8s.V1Node) => n.status?.conditions?.find((c) => c.type === 'Ready')?.status;

describe('lab k8s: scheduler, controllers, kubelets', function () {
  this.timeout(60_000);
  let lab: Lab;
  before(async () => {
    lab = await startLab(makeWorld(40));
    await seedWorkload(lab.world, lab.api);
  });
  after(async () => lab.stop());

  it('seeds ~40 running pods: DaemonSet on every node, mirror pods on control nodes, a StatefulSet', async () => {
    const pods = (await lab.core.listPodForAllNamespaces()).items;
    assert.ok(pods.length >= 35 && pods.length <= 50, `${pods.length} pods`);
    assert.ok(pods.every(isReady));
    const nodes = (await lab.core.listNode()).items;
    assert.equal(nodes.length, 10);
    assert.equal(pods.filter((p) => p.metadata!.name!.startsWith('calico-node-')).length, 10);
    const mirrors = pods.filter((p) => p.metadata!.annotations?.['kubernetes.io/config.mirror']);
    assert.equal(mirrors.length, 9);
    assert.deepEqual(pods.filter((p) => p.metadata!.namespace === 'tool-gamma' && p.metadata!.name!.startsWith('db-')).map((p) => p.metadata!.name).sort(), ['db-0', 'db-1', 'db-2']);
    const cp = nodes.find((n) => n.metadata!.name === 'local-k8s-control-1')!;
    assert.equal(cp.metadata!.labels!['node-role.kubernetes.io/control-plane'], '');
    assert.ok(cp.spec!.taints!.some((t) => t.key === 'node-role.kubernetes.io/control-plane' && t.effect === 'NoSchedule'));
    const nfs = nodes.find((n) => n.metadata!.name === 'local-k8s-worker-nfs-1')!;
    assert.equal(nfs.metadata!.labels!['toolforge.org/nfs-mounted'], 'true');
    assert.equal(nfs.status!.nodeInfo!.bootID, lab.world.hosts.get('local-k8s-worker-nfs-1')!.bootId);
    assert.equal(nfs.status!.nodeInfo!.kubeletVersion, 'v1.29.4');
    // No workload pod landed on a tainted node.
    for (const p of pods.filter((x) => x.metadata!.namespace!.startsWith('tool-'))) assert.match(p.spec!.nodeName!, /worker/);
    assert.equal(lab.world.counters.max_unavailable_nodes, 0);
  });

  it('schedules by nodeSelector, tolerations and resources; leaves unfit pods Pending with a reason', async () => {
    await lab.core.createNamespace({ body: { metadata: { name: 'sched' } } });
    const mk = (name: string, spec: Partial<k8s.V1PodSpec>) => lab.core.createNamespacedPod({ namespace: 'sched', body: { metadata: { name }, spec: { containers: [{ name: 'c', image: 'x:1', ...(spec.containers?.[0] ?? {}) }], ...spec, ...(spec.containers ? { containers: spec.containers } : {}) } } });
    await mk('nfs', { nodeSelector: { 'toolforge.org/nfs-mounted': 'true' } });
    await mk('ing', { nodeSelector: { 'kubernetes.io/role': 'ingress' }, tolerations: [{ key: 'ingress', operator: 'Equal', value: 'true', effect: 'NoSchedule' }] });
    await mk('ing-no-tol', { nodeSelector: { 'kubernetes.io/role': 'ingress' } });
    await mk('huge', { containers: [{ name: 'c', image: 'x:1', resources: { requests: { cpu: '64' } } }] });
    const get = (name: string) => lab.core.readNamespacedPod({ namespace: 'sched', name });
    await until('bound', async () => (await get('nfs')).spec?.nodeName && (await get('ing')).spec?.nodeName);
    assert.match((await get('nfs')).spec!.nodeName!, /worker-nfs/);
    assert.equal((await get('ing')).spec!.nodeName, 'local-k8s-ingress-1');
    const pending = await until('unschedulable', async () => {
      const p = await get('ing-no-tol');
      return p.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
    });
    assert.equal(pending.reason, 'Unschedulable');
    assert.match(pending.message!, /untolerated taint \{ingress: true\}/);
    const huge = await until('huge pending', async () => (await get('huge')).status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False'));
    assert.match(huge.message!, /Insufficient cpu/);
    assert.equal((await get('huge')).status!.phase, 'Pending');
  });

  it('spreads a workload, avoids cordoned nodes, and recreates deleted pods (new UID for StatefulSet pods)', async () => {
    const web = (await lab.core.listNamespacedPod({ namespace: 'tool-alpha', labelSelector: 'app=web' })).items;
    assert.equal(new Set(web.map((p) => p.spec!.nodeName)).size, 3, 'three replicas on three nodes');
    const cordoned = 'local-k8s-worker-1';
    await lab.core.patchNode({ name: cordoned, body: { spec: { unschedulable: true } } }, smp);
    await until('taint', async () => (await lab.core.readNode({ name: cordoned })).spec!.taints?.some((t) => t.key === 'node.kubernetes.io/unschedulable'));
    assert.equal(lab.world.counters.max_unavailable_nodes, 1);
    const onCordoned = async () => (await lab.core.listNamespacedPod({ namespace: 'tool-beta', labelSelector: 'app=api', fieldSelector: `spec.nodeName=${cordoned}` })).items.length;
    const beforeScale = await onCordoned();
    await lab.apps.patchNamespacedDeployment({ namespace: 'tool-beta', name: 'api', body: { spec: { replicas: 8 } } }, smp);
    await until('8 api pods ready', async () => (await lab.core.listNamespacedPod({ namespace: 'tool-beta', labelSelector: 'app=api' })).items.filter(isReady).length === 8);
    assert.equal(await onCordoned(), beforeScale, 'no new pods on the cordoned node');
    await lab.core.patchNode({ name: cordoned, body: { spec: { unschedulable: null } } }, smp);
    // A deleted Deployment pod is replaced.
    const victim = web[0]!;
    await lab.core.deleteNamespacedPod({ namespace: 'tool-alpha', name: victim.metadata!.name! });
    await until('web back to 3 ready', async () => {
      const ps = (await lab.core.listNamespacedPod({ namespace: 'tool-alpha', labelSelector: 'app=web' })).items;
      return ps.filter((p) => isReady(p) && !p.metadata!.deletionTimestamp).length === 3 && !ps.some((p) => p.metadata!.name === victim.metadata!.name);
    });
    // A StatefulSet pod comes back under the same name with a new UID.
    const db1 = await lab.core.readNamespacedPod({ namespace: 'tool-gamma', name: 'db-1' });
    await lab.core.deleteNamespacedPod({ namespace: 'tool-gamma', name: 'db-1' });
    const again = await until('db-1 recreated', async () => {
      const p = await lab.core.readNamespacedPod({ namespace: 'tool-gamma', name: 'db-1' }).catch(() => undefined);
      return p && p.metadata!.uid !== db1.metadata!.uid && isReady(p) ? p : undefined;
    });
    assert.equal(again.metadata!.ownerReferences![0]!.kind, 'StatefulSet');
    // A deleted mirror pod comes back while its node runs.
    const mirror = await lab.core.readNamespacedPod({ namespace: 'kube-system', name: 'kube-apiserver-local-k8s-control-2' });
    await lab.core.deleteNamespacedPod({ namespace: 'kube-system', name: mirror.metadata!.name!, gracePeriodSeconds: 0 });
    await until('mirror back', async () => {
      const p = await lab.core.readNamespacedPod({ namespace: 'kube-system', name: mirror.metadata!.name! }).catch(() => undefined);
      return p && p.metadata!.uid !== mirror.metadata!.uid;
    });
  });

  it('handles a reboot: NotReady, back Ready with a new bootID, DaemonSet and other pods running again', async () => {
    const name = 'local-k8s-worker-2';
    const before = await lab.core.readNode({ name });
    const oldBoot = before.status!.nodeInfo!.bootID;
    lab.world.resetCounters();
    lab.world.rebootHost(name);
    await until('NotReady', async () => nodeReady(await lab.core.readNode({ name })) === 'Unknown');
    const onNode = (await lab.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${name}` })).items;
    assert.ok(onNode.length > 0);
    assert.ok(onNode.every((p) => !isReady(p)), 'pods on a down node are not ready');
    const back = await until('Ready again', async () => {
      const n = await lab.core.readNode({ name });
      return nodeReady(n) === 'True' ? n : undefined;
    });
    assert.notEqual(back.status!.nodeInfo!.bootID, oldBoot);
    assert.equal(back.status!.nodeInfo!.bootID, lab.world.hosts.get(name)!.bootId);
    await until('pods ready again', async () => {
      const ps = (await lab.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${name}` })).items.filter((p) => !p.metadata!.deletionTimestamp);
      return ps.length > 0 && ps.every(isReady) && ps.some((p) => p.metadata!.name!.startsWith('calico-node-'));
    });
    const calico = (await lab.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${name}`, labelSelector: 'k8s-app=calico-node' })).items[0]!;
    assert.ok(calico.status!.containerStatuses![0]!.restartCount! >= 1);
    assert.equal(lab.world.counters.max_unavailable_nodes, 1);
  });

  it('keeps stuck pods terminating; a host that is removed leaves a NotReady node', async () => {
    const pods = (await lab.core.listNamespacedPod({ namespace: 'tool-alpha' })).items.filter((p) => !p.metadata!.deletionTimestamp);
    const web = pods.find((p) => p.metadata!.labels?.app === 'worker')!;
    const peer = pods.find((p) => p.metadata!.name !== web.metadata!.name)!;
    lab.world.faults.stuckPods = [`tool-alpha/${web.metadata!.name}`];
    await lab.core.deleteNamespacedPod({ namespace: 'tool-alpha', name: web.metadata!.name! });
    await lab.core.deleteNamespacedPod({ namespace: 'tool-alpha', name: peer.metadata!.name! });
    // A pod deleted at the same moment is gone: a termination's whole time has passed for the stuck one too.
    await until('the other deleted pod to be gone', async () =>
      lab.core.readNamespacedPod({ namespace: 'tool-alpha', name: peer.metadata!.name! }).then(
        () => false,
        (e) => codeOf(e) === 404,
      ),
    );
    const still = await lab.core.readNamespacedPod({ namespace: 'tool-alpha', name: web.metadata!.name! });
    assert.ok(still.metadata!.deletionTimestamp);
    lab.world.faults.stuckPods = [];
    await lab.core.deleteNamespacedPod({ namespace: 'tool-alpha', name: web.metadata!.name!, gracePeriodSeconds: 0 });
    await assert.rejects(lab.core.readNamespacedPod({ namespace: 'tool-alpha', name: web.metadata!.name! }), (e) => codeOf(e) === 404);
    lab.world.removeHost('local-k8s-worker-4');
    await until('ghost node NotReady', async () => nodeReady(await lab.core.readNode({ name: 'local-k8s-worker-4' })) === 'Unknown');
  });

  it('implements the kubeadm backend: tokens, join, reset, certificate keys, upgrades, certs', async () => {
    const kubeadm = lab.world.kubeadm!;
    const host = addHost(lab.world, 'worker', 9, false);
    const { token, joinCommand } = kubeadm.tokenCreate(3600);
    assert.match(token, /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    const port = new URL(lab.api.url).port;
    assert.equal(joinCommand, `kubeadm join 127.0.0.1:${port} --token ${token} --discovery-token-ca-cert-hash ${lab.api.caCertHash}`);
    const secret = await lab.core.readNamespacedSecret({ namespace: 'kube-system', name: `bootstrap-token-${token.split('.')[0]}` });
    assert.equal(secret.type, 'bootstrap.kubernetes.io/token');
    assert.match(kubeadm.tokenList(), new RegExp(token.replace('.', '\\.')));
    const args = { apiServer: `127.0.0.1:${port}`, token, caCertHash: lab.api.caCertHash, controlPlane: false };
    assert.throws(() => kubeadm.join(host, { ...args, caCertHash: 'sha256:' + '0'.repeat(64) }), /none of the public keys/);
    assert.throws(() => kubeadm.join(host, { ...args, token: 'abcdef.0123456789abcdef' }), /could not find a JWS signature in the cluster-info ConfigMap for token ID "abcdef"/);
    host.services.set('containerd', false);
    assert.throws(() => kubeadm.join(host, args), /\[ERROR CRI\]: container runtime is not running/);
    host.services.set('containerd', true);
    lab.world.faults.joinFailures = [host.name];
    assert.throws(() => kubeadm.join(host, args), /error execution phase kubelet-start/);
    lab.world.faults.joinFailures = [];
    kubeadm.join(host, args);
    assert.equal(host.kubelet.joined, true);
    await until('new node Ready', async () => nodeReady(await lab.core.readNode({ name: host.name })) === 'True');
    assert.throws(() => kubeadm.join(host, args), /kubelet\.conf already exists/);
    // Control-plane joins need a fresh certificate key.
    const cpHost = addHost(lab.world, 'control', 9, false);
    const cpArgs = { ...args, controlPlane: true };
    assert.throws(() => kubeadm.join(cpHost, { ...cpArgs, certificateKey: 'a'.repeat(64) }), /kubeadm-certs/);
    const key = kubeadm.uploadCerts();
    assert.match(key, /^[0-9a-f]{64}$/);
    assert.throws(() => kubeadm.join(cpHost, { ...cpArgs, certificateKey: 'b'.repeat(64) }), /message authentication failed/);
    kubeadm.join(cpHost, { ...cpArgs, certificateKey: key });
    await until('mirror pods on the new control node', async () => (await lab.core.listNamespacedPod({ namespace: 'kube-system', fieldSelector: `spec.nodeName=${cpHost.name}` })).items.filter((p) => p.metadata!.annotations?.['kubernetes.io/config.mirror']).length === 3);
    assert.match(kubeadm.certs(cpHost, 'check-expiration'), /apiserver\s+\w{3} \d{2}, \d{4}/);
    assert.match(kubeadm.certs(cpHost, 'renew', 'all'), /Done renewing certificates/);
    // Upgrades: kubeadm must be new enough; apply bumps the cluster version.
    assert.match(kubeadm.upgrade(cpHost, 'plan'), /Cluster version: v1\.29\.4/);
    assert.throws(() => kubeadm.upgrade(cpHost, 'apply', 'v1.30.2'), /higher than the kubeadm version/);
    cpHost.packages.set('kubeadm', '1.30.2-1.1');
    assert.match(kubeadm.upgrade(cpHost, 'apply', 'v1.30.2'), /SUCCESS! Your cluster was upgraded to "v1\.30\.2"/);
    assert.equal(lab.world.kubernetesVersion, '1.30.2');
    host.packages.set('kubelet', '1.30.2-1.1');
    kubeadm.upgrade(host, 'node');
    // The Node reports the new kubelet only once the kubelet restarts (what systemctl restart kubelet does).
    host.kubelet.version = '1.30.2';
    lab.world.emit('kubelet-changed', host);
    await until('kubelet version', async () => (await lab.core.readNode({ name: host.name })).status!.nodeInfo!.kubeletVersion === 'v1.30.2');
    // Reset: the node stays, NotReady.
    kubeadm.reset(host);
    assert.equal(host.kubelet.joined, false);
    await until('reset node NotReady', async () => nodeReady(await lab.core.readNode({ name: host.name })) !== 'True');
    assert.ok(kubeadm.tokenDelete(token));
    assert.equal(kubeadm.tokenDelete(token), false);
  });
});
