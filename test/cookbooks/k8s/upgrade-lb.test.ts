// k8s.upgrade behind real HAProxy (lab with a load balancer): each control node leaves every load balancer
// before kubeadm restarts its static pods and before its drain, and comes back only after its kubelet is at the
// version, Ready, and its own /readyz passes; workers never touch the load balancers. At the end every backend
// is UP and none drained.
import { strict as assert } from 'node:assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { adminCommand } from '../../../lab/haproxy/process.js';
import { backendServers, parseServersState, parseShowStat } from '../../../lib/haproxy/client.js';
import { cleanupTempDirs, journalsOf, runCli, tempDir } from '../../helpers/cli.js';
import { type TestLab, startTestLab } from '../../helpers/lab.js';
import { inventoryFor } from './reboot-helpers.js';

describe('k8s.upgrade with load balancers (lab, real HAProxy)', function () {
  this.timeout(180_000);
  let lab: TestLab;
  before(async () => {
    lab = await startTestLab({ clusterName: 'uplb', control: 2, workers: 1, workersNfs: 0, ingress: 0, etcd: 0, loadbalancer: 1, speed: 200, seedWorkload: false });
  });
  after(async () => {
    await lab?.stop();
    cleanupTempDirs();
  });

  it('takes each control node out of the load balancers around its kubeadm, drain and kubelet, and back after /readyz', async () => {
    assert.ok(lab.loadBalancers.haproxy, `real HAProxy runs (${lab.loadBalancers.unavailable ?? ''})`);
    const state = tempDir('cc-state-');
    // Our own CLI's keep-alive connection through the LB never leaves by itself: cut it after 1 s, not 30.
    const inventory = inventoryFor(lab);
    const file = join(inventory, 'inventory.yaml');
    const doc = parse(readFileSync(file, 'utf8')) as { kubernetes: { loadBalancers: Record<string, unknown> } };
    doc.kubernetes.loadBalancers.drainTimeoutSeconds = 1;
    writeFileSync(file, stringify(doc));
    const r = await runCli(['k8s.upgrade', '--cluster-name', 'uplb', '--inventory', inventory, '--state-dir', state, '--yes', '--to', '1.30', '--poll-interval', '100ms'], { timeoutMs: 150_000 });
    assert.equal(r.code, 0, (r.stdout + r.stderr).slice(-3000));
    const steps = journalsOf(state, 'k8s.upgrade').flatMap((j) => (j.steps as { name: string }[]).map((s) => s.name));
    for (const [c, kubeadm] of [['uplb-k8s-control-1', 'kubeadm upgrade apply'], ['uplb-k8s-control-2', 'kubeadm upgrade node']] as const) {
      const at = (name: string): number => {
        const i = steps.findIndex((s) => s === name || s.startsWith(name));
        assert.ok(i >= 0, `step "${name}" ran: ${steps.join(' | ')}`);
        return i;
      };
      const order = [`take ${c} out of the load balancers`, `${kubeadm} 1.30 on ${c}`, `drain ${c}`, `kubelet 1.30 on ${c}`, `wait /readyz of ${c}`, `put ${c} back into the load balancers`].map(at);
      assert.deepEqual([...order].sort((a, b) => a - b), order, `${c}: out, kubeadm, drain, kubelet, /readyz, in: ${steps.join(' | ')}`);
    }
    assert.equal(steps.filter((s) => /uplb-k8s-worker-1 (out of|back into) the load balancers/.test(s)).length, 0, 'a worker is no backend');
    const lb = lab.world.hosts.get('uplb-k8s-lb-1')!;
    const socket = lab.loadBalancers.haproxy!.socketPath(lb, '/run/haproxy/admin.sock')!;
    const servers = backendServers(parseShowStat(await adminCommand(socket, 'show stat')), parseServersState(await adminCommand(socket, 'show servers state k8s-api')), 'k8s-api');
    assert.deepEqual(servers.map((s) => s.name).sort(), ['uplb-k8s-control-1', 'uplb-k8s-control-2']);
    assert.deepEqual(servers.filter((s) => !s.up || s.drain).map((s) => `${s.name} ${s.status}`), [], 'every backend UP, none drained');
  });
});
