// The node lifecycle cookbooks end to end on the lab, checked through kubectl and the openstack CLI.
import { strict as assert } from 'node:assert';
import { cleanupTempDirs } from '../../helpers/cli.js';
import { type TestLab, startTestLab } from '../../helpers/lab.js';
import { cordonedNodes, kubectl, kubectlJson, labRunner, nodeNames, openstackServers, serverNames } from '../../helpers/lab-cli.js';

describe('node lifecycle cookbooks (lab, end to end)', function () {
  this.timeout(180_000);
  let lab: TestLab;
  let cb: ReturnType<typeof labRunner>;
  const name = (role: string, n: number): string => `life-k8s-${role}-${n}`;

  before(async () => {
    lab = await startTestLab({ clusterName: 'life', workers: 3, workersNfs: 2, control: 3, ingress: 1, etcd: 0, speed: 40 });
    cb = labRunner(lab);
  });
  after(async () => {
    await lab?.stop();
    cleanupTempDirs();
  });

  it('k8s.cordon and k8s.uncordon', async () => {
    const r = await cb.run('k8s.cordon', ['--hostname', name('worker', 1)]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await cordonedNodes(lab), [name('worker', 1)]);
    const again = await cb.json('k8s.cordon', ['--hostname', name('worker', 1)]);
    assert.equal(again.code, 0);
    assert.deepEqual(again.out.steps.map((s: { status: string }) => s.status), ['skipped']);
    const u = await cb.run('k8s.uncordon', ['--hostname', name('worker', 1)]);
    assert.equal(u.code, 0, u.stderr);
    assert.deepEqual(await cordonedNodes(lab), []);
  });

  it('k8s.uncordon refuses a node an admin cordoned with kubectl, unless --force', async () => {
    assert.equal((await kubectl(lab, ['cordon', name('worker', 2)])).code, 0);
    const r = await cb.run('k8s.uncordon', ['--hostname', name('worker', 2)]);
    assert.equal(r.code, 2, 'refused, nothing changed');
    assert.match(r.stderr, /cordoned by someone else/);
    assert.deepEqual(await cordonedNodes(lab), [name('worker', 2)]);
    const f = await cb.run('k8s.uncordon', ['--hostname', name('worker', 2), '--force']);
    assert.equal(f.code, 0, f.stderr);
    assert.deepEqual(await cordonedNodes(lab), []);
  });

  it('k8s.drain evicts what it may, leaves DaemonSet pods, and the node cordoned', async () => {
    const node = name('worker', 3);
    const r = await cb.json('k8s.drain', ['--hostname', node, '--delete-emptydir-data', '--timeout', '60s', '--retry-interval', '200ms']);
    assert.equal(r.code, 0, r.stderr);
    const pods = await kubectlJson(lab, ['get', 'pods', '-A', '--field-selector', `spec.nodeName=${node}`]);
    const kinds = (pods.items as { metadata: { ownerReferences?: { kind: string }[] } }[]).map((p) => p.metadata.ownerReferences?.[0]?.kind);
    assert.ok(kinds.every((k) => k === 'DaemonSet'), `only DaemonSet pods left: ${kinds.join(',')}`);
    assert.deepEqual(await cordonedNodes(lab), [node]);
    assert.ok(r.out.result.drain.evicted.length > 0);
    assert.equal(lab.counters().pdb_violations, 0);
    assert.equal((await cb.run('k8s.uncordon', ['--hostname', node])).code, 0);
  });

  it('k8s.add-node adds a worker_nfs node: VM ACTIVE, node Ready with the role label', async () => {
    const r = await cb.json('k8s.add-node', ['--role', 'worker_nfs']);
    assert.equal(r.code, 0, r.stderr);
    const host = name('worker-nfs', 3);
    assert.equal(r.out.result.hostname, host);
    const node = await kubectlJson(lab, ['get', 'node', host]);
    assert.equal(node.metadata.labels['toolforge.org/nfs-mounted'], 'true');
    assert.ok(node.status.conditions.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True'));
    const servers = await openstackServers(lab);
    assert.equal(servers.find((s) => s.Name === host)?.Status, 'ACTIVE');
    const tokens = await kubectlJson(lab, ['get', 'secrets', '-n', 'kube-system', '--field-selector', 'type=bootstrap.kubernetes.io/token']);
    assert.equal(tokens.items.length, 0, 'the join token was deleted');
    assert.ok(!r.stdout.match(/[a-z0-9]{6}\.[a-z0-9]{16}/) && !r.stderr.match(/[a-z0-9]{6}\.[a-z0-9]{16}/), 'no token in the output');
  });

  it('k8s.add-node joins a control-plane node with a certificate key', async () => {
    const r = await cb.json('k8s.add-node', ['--role', 'control']);
    assert.equal(r.code, 0, r.stderr);
    const node = await kubectlJson(lab, ['get', 'node', name('control', 4)]);
    assert.ok('node-role.kubernetes.io/control-plane' in node.metadata.labels);
    assert.ok(!`${r.stdout}${r.stderr}`.match(/[0-9a-f]{64}/), 'no certificate key in the output');
  });

  it('k8s.add-node applies the role taints (ingress)', async () => {
    const r = await cb.json('k8s.add-node', ['--role', 'ingress']);
    assert.equal(r.code, 0, r.stderr);
    const node = await kubectlJson(lab, ['get', 'node', name('ingress', 2)]);
    assert.ok(node.spec.taints.some((t: { key: string; effect: string }) => t.key === 'ingress' && t.effect === 'NoSchedule'));
  });

  it('k8s.remove-node removes the oldest of the role, never a worker-nfs node for worker', async () => {
    const r = await cb.json('k8s.remove-node', ['--role', 'worker', '--retry-interval', '200ms', '--yes']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.out.result.hostname, name('worker', 1));
    const nodes = await nodeNames(lab);
    assert.ok(!nodes.includes(name('worker', 1)));
    assert.ok(nodes.includes(name('worker-nfs', 1)), 'the oldest worker-nfs node is untouched');
    const servers = (await openstackServers(lab)).map((s) => s.Name);
    assert.ok(!servers.includes(name('worker', 1)));
    assert.deepEqual(await cordonedNodes(lab), []);
  });

  it('k8s.remove-node refuses to go below the role minimum', async () => {
    // local/lab inventory: control has min 3; there are 4 control nodes now, so one may go, not two.
    const first = await cb.json('k8s.remove-node', ['--role', 'control', '--hostname', name('control', 4), '--retry-interval', '200ms', '--yes']);
    assert.equal(first.code, 0, first.stderr);
    const before = await nodeNames(lab);
    const r = await cb.run('k8s.remove-node', ['--role', 'control', '--yes']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /below its minimum of 3/);
    assert.deepEqual(await nodeNames(lab), before);
  });

  it('k8s.replace-node adds a node of the same role, then removes the old one', async () => {
    const r = await cb.json('k8s.replace-node', ['--hostname', name('worker', 2), '--retry-interval', '200ms', '--yes']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.out.result.added.hostname, name('worker', 4));
    const nodes = await nodeNames(lab);
    assert.ok(nodes.includes(name('worker', 4)));
    assert.ok(!nodes.includes(name('worker', 2)));
    assert.ok(!serverNames(lab).includes(name('worker', 2)));
  });

  it('vm.create, vm.delete (refusing a Ready node) and vm.force-reboot', async () => {
    const c = await cb.json('vm.create', ['--role', 'worker', '--hostname', name('worker', 9)]);
    assert.equal(c.code, 0, c.stderr);
    assert.equal((await openstackServers(lab)).find((s) => s.Name === name('worker', 9))?.Status, 'ACTIVE');
    const refuse = await cb.run('vm.delete', ['--hostname', name('worker', 3), '--yes']);
    assert.equal(refuse.code, 2);
    assert.match(refuse.stderr, /is a Ready Kubernetes node/);
    const before = lab.world.hosts.get(name('worker', 9))!.bootId;
    const fr = await cb.json('vm.force-reboot', ['--hostname', name('worker', 9), '--yes']);
    assert.equal(fr.code, 0, fr.stderr);
    assert.equal(fr.out.result.previousBootId, before);
    assert.notEqual(lab.world.hosts.get(name('worker', 9))!.bootId, before);
    const d = await cb.run('vm.delete', ['--hostname', name('worker', 9), '--yes']);
    assert.equal(d.code, 0, d.stderr);
    assert.ok(!(await openstackServers(lab)).some((s) => s.Name === name('worker', 9)));
  });
});
