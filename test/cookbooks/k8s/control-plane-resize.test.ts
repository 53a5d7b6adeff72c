// k8s.control-plane.resize and the rolling reboot of control nodes against the lab with real HAProxy in front
// of one API endpoint per control node, and real etcd: while a client loop sends requests through HAProxy,
// 3 → 5 → 3 control nodes and a reboot of every control node without a failed request; a killed resize
// finished by the same command with no backend left drained; a control node removed by hand, a control node
// down and an etcd member stopped, each named by the preflight with what to fix.
import { strict as assert } from 'node:assert';
import { readFile } from '../../../lab/ssh/fs.js';
import { type BackendServer, readBackend } from '../../../lib/haproxy/client.js';
import { cleanupTempDirs } from '../../helpers/cli.js';
import type { TestLab } from '../../helpers/lab.js';
import { kubectl, type labRunner, nodeNames } from '../../helpers/lab-cli.js';
import { type LoopReport, startClientLoop } from '../../ops/loadbalancer/client-loop.js';
import { lbServers as lbServersOf, startLbLab } from '../../ops/loadbalancer/lab-lb.js';
import { runKilled } from './node-helpers.js';

describe('k8s.control-plane.resize (lab, real HAProxy and etcd)', function () {
  this.timeout(300_000);
  let lab: TestLab;
  let cb: ReturnType<typeof labRunner>;
  const control = (n: number): string => `cpr-k8s-control-${n}`;
  const lbHost = (): NonNullable<ReturnType<TestLab['world']['hosts']['get']>> => lab.world.hosts.get('cpr-k8s-lb-1')!;

  const lbServers = (): Promise<BackendServer[]> => lbServersOf(lab, 'cpr-k8s-lb-1');
  const controlNodes = async (): Promise<string[]> => (await nodeNames(lab)).filter((n) => n.includes('-control-'));
  /** Every control node listed and UP, nothing drained, nothing else listed (HAProxy checks every 500 ms: waited for). */
  async function assertInStep(): Promise<void> {
    let last = '';
    const deadline = Date.now() + 10_000;
    for (;;) {
      const servers = await lbServers();
      const nodes = await controlNodes();
      const listed = servers.map((s) => s.name).sort();
      const notUp = servers.filter((s) => !s.up).map((s) => `${s.name} ${s.status}${s.drain ? ' drained' : ''}`);
      last = `listed ${listed.join(',')} (control nodes ${nodes.join(',')}); not UP: ${notUp.join(', ') || 'none'}`;
      if (JSON.stringify(listed) === JSON.stringify(nodes) && notUp.length === 0) return;
      assert.ok(Date.now() < deadline, `HAProxy in step with the control plane: ${last}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  function report(what: string, r: LoopReport): void {
    console.log(`      ${what}: client loop through ${r.server}: ${r.requests} requests, ${r.failures} failed, worst latency ${Math.round(r.worstMs)} ms`);
  }

  before(async () => {
    ({ lab, cb } = await startLbLab({ clusterName: 'cpr', control: 3, workers: 2, etcd: 3, etcdStart: 'eager' }));
  });
  after(async () => {
    await lab?.stop();
    cleanupTempDirs();
  });

  it('3 → 5 → 3 while a client loop goes through HAProxy: zero failed requests, the oldest go', async () => {
    await assertInStep();
    const loop = await startClientLoop(lab.kubeconfig);
    const up = await cb.run('k8s.control-plane.resize', ['--count', '5', '--yes']);
    assert.equal(up.code, 0, up.stderr);
    // The dry-run of the shrink plans both removals, the oldest first, each out of HAProxy first; writes nothing.
    const before = [lab.counters().k8s_mutations, lab.counters().ssh_mutations, lab.counters().openstack_mutations];
    const plan = await cb.json('k8s.control-plane.resize', ['--count', '3', '--dry-run']);
    assert.equal(plan.code, 0, plan.stderr);
    assert.deepEqual([lab.counters().k8s_mutations, lab.counters().ssh_mutations, lab.counters().openstack_mutations], before, 'the dry-run wrote nothing');
    const planned = (plan.out.changes as { action: string; target: string }[]).map((c) => `${c.action} ${c.target}`);
    const at = (what: string): number => planned.findIndex((p) => p.startsWith(what));
    for (const n of [control(1), control(2)]) assert.ok(at(`delete server server/${n}`) > 0, `plans deleting ${n}: ${planned.join('; ')}`);
    assert.ok(at(`delete server server/${control(1)}`) < at(`delete server server/${control(2)}`), 'the oldest first');
    assert.ok(at('run `socat stdio /run/haproxy/admin.sock`') < at(`cordon node/${control(1)}`), 'out of HAProxy before the cordon');
    const down = await cb.run('k8s.control-plane.resize', ['--count', '3', '--yes']);
    assert.equal(down.code, 0, down.stderr);
    const r = await loop.stop();
    report('resize 3 → 5 → 3', r);
    assert.ok(r.requests > 50, `the loop ran (${r.requests} requests)`);
    assert.equal(r.failures, 0, r.errors.join('\n'));
    assert.deepEqual(await controlNodes(), [control(3), control(4), control(5)]);
    await assertInStep();
    // The removed nodes left HAProxy before they were touched: each unlist step precedes its node's cordon.
    for (const n of [control(1), control(2)]) assert.ok(down.stderr.indexOf(`unlist ${n} on`) < down.stderr.indexOf(`cordon ${n}`), `${n} unlisted before its cordon`);
  });

  it('the same count again: exit 0, nothing to do, nothing written', async () => {
    const before = lab.counters().ssh_mutations + lab.counters().openstack_mutations;
    const r = await cb.run('k8s.control-plane.resize', ['--count', '3', '--yes']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /has 3 control node\(s\) of role control: nothing to do/);
    assert.equal(lab.counters().ssh_mutations + lab.counters().openstack_mutations, before);
  });

  it('k8s.reboot --role control while the client loop runs: each node out of HAProxy before its reboot, back after /readyz; zero failed requests', async () => {
    const loop = await startClientLoop(lab.kubeconfig);
    const r = await cb.run('k8s.reboot', ['--role', 'control', '--yes', '--poll-interval', '100ms', '--retry-interval', '200ms']);
    const seen = await loop.stop();
    assert.equal(r.code, 0, r.stderr);
    report('rolling reboot of 3 control nodes', seen);
    assert.equal(seen.failures, 0, seen.errors.join('\n'));
    for (const n of await controlNodes()) {
      const out = r.stderr.indexOf(`take ${n} out of the load balancers done`);
      const back = r.stderr.indexOf(`put ${n} back into the load balancers done`);
      assert.ok(out > 0 && back > out, `${n}: out, then back in`);
    }
    await assertInStep();
  });

  it('SIGKILL right after a new node was listed: the same command finishes it (UP, in step)', async () => {
    await runKilled(cb, 'k8s.control-plane.resize', ['--count', '4', '--yes'], `kill-after:list ${control(6)} on cpr-k8s-lb-1`);
    const r = await cb.run('k8s.control-plane.resize', ['--count', '4', '--yes']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await controlNodes(), [control(3), control(4), control(5), control(6)]);
    await assertInStep();
  });

  it('SIGKILL after a node was drained on HAProxy: the same command finishes the removal, no backend left drained', async () => {
    await runKilled(cb, 'k8s.control-plane.resize', ['--count', '3', '--yes'], `kill-after:take ${control(3)} out of the load balancers`);
    assert.equal((await lbServers()).find((s) => s.name === control(3))?.drain, true, 'killed with the node drained on HAProxy');
    const r = await cb.run('k8s.control-plane.resize', ['--count', '3', '--yes']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await controlNodes(), [control(4), control(5), control(6)]);
    await assertInStep();
  });

  it('a control node removed by hand while HAProxy lists it: the preflight names it and what to fix, exit 2, nothing written', async () => {
    const gone = control(4);
    const line = readBackend(await readLbConfig(), 'k8s-api').servers.find((s) => s.name === gone)!.text;
    assert.equal((await kubectl(lab, ['delete', 'node', gone])).code, 0);
    const before = [lab.counters().ssh_mutations, lab.counters().openstack_mutations];
    const r = await cb.run('k8s.control-plane.resize', ['--count', '3', '--yes']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`cpr-k8s-lb-1 lists ${gone}, which is no control node of cluster cpr \\(no such Node\\): remove "${line}" from backend k8s-api in /etc/haproxy/haproxy.cfg and reload HAProxy`));
    assert.deepEqual([lab.counters().ssh_mutations, lab.counters().openstack_mutations], before, 'nothing written');
  });

  it('a control node down and an etcd member stopped: the preflight names each, exit 2, nothing written', async () => {
    const etcdHost = lab.world.hosts.get('cpr-k8s-etcd-1')!;
    etcdHost.services.set('etcd', false);
    lab.world.emit('etcd-unit', etcdHost, { active: false, restart: false });
    lab.world.faults.hostsNeverReturn = [control(6)];
    lab.world.rebootHost(control(6));
    const kube = lab.client();
    const deadline = Date.now() + 20_000;
    while ((await kube.getNode(control(6)))?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True') {
      assert.ok(Date.now() < deadline, `${control(6)} goes NotReady`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const before = [lab.counters().ssh_mutations, lab.counters().openstack_mutations];
    const r = await cb.run('k8s.control-plane.resize', ['--count', '4', '--yes']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`control node ${control(6)} is NotReady: bring it back`));
    assert.match(r.stderr, new RegExp(`control node ${control(6)}'s API server fails /readyz on https://`));
    assert.match(r.stderr, /etcd member cpr-k8s-etcd-1 is unhealthy/);
    assert.deepEqual([lab.counters().ssh_mutations, lab.counters().openstack_mutations], before, 'nothing written');
  });

  async function readLbConfig(): Promise<string> {
    return readFile(lbHost(), '/etc/haproxy/haproxy.cfg') ?? '';
  }
});
