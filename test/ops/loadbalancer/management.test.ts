// How the load balancers' backend list is managed, against the lab's real HAProxy: `haproxy-config` refuses a
// file without the managed block before anything changes; `external` never writes the file: the run stops
// (exit 2, nothing changed) printing the exact line to remove, and once the operator's tooling removed it
// and reloaded HAProxy, the same command finishes the removal. An unreachable load balancer refuses a resize.
import { strict as assert } from 'node:assert';
import { readFile, writeFile } from '../../../lab/ssh/fs.js';
import { BLOCK_BEGIN, BLOCK_END, readBackend } from '../../../lib/haproxy/client.js';
import { cleanupTempDirs } from '../../helpers/cli.js';
import type { TestLab } from '../../helpers/lab.js';
import { type labRunner, nodeNames } from '../../helpers/lab-cli.js';
import { lbServers, shortDrainTimeout, startLbLab } from './lab-lb.js';

describe('load-balancer management (lab, real HAProxy)', function () {
  this.timeout(180_000);
  let lab: TestLab;
  let cb: ReturnType<typeof labRunner>;
  const CFG = '/etc/haproxy/haproxy.cfg';
  // Two load balancers: the kubeconfig goes through the first, the second can be taken away.
  const LBS = ['lbm-k8s-lb-1', 'lbm-k8s-lb-2'];
  const gone = 'lbm-k8s-control-1';
  const host = (lb = LBS[0]!) => lab.world.hosts.get(lb)!;
  const config = (lb = LBS[0]!): string => readFile(host(lb), CFG) ?? '';
  const writes = (): number[] => [lab.counters().ssh_mutations, lab.counters().openstack_mutations];
  const removeArgs = ['--role', 'control', '--hostname', gone, '--yes', '--retry-interval', '200ms'];

  before(async () => {
    ({ lab, cb } = await startLbLab({ clusterName: 'lbm', control: 4, workers: 1, etcd: 0, loadbalancer: 2 }));
  });
  after(async () => {
    await lab?.stop();
    cleanupTempDirs();
  });

  it('haproxy-config: a config without the managed block refuses the removal before anything changes (exit 2)', async () => {
    const original = config(LBS[1]);
    writeFile(host(LBS[1]), CFG, original.split('\n').filter((l) => l.trim() !== BLOCK_BEGIN && l.trim() !== BLOCK_END).join('\n'));
    const before = writes();
    const r = await cb.run('k8s.remove-node', removeArgs);
    writeFile(host(LBS[1]), CFG, original);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /lbm-k8s-lb-2: backend k8s-api in \/etc\/haproxy\/haproxy.cfg has no managed block; put the control nodes' server lines between "# BEGIN cluster-cookbooks managed block" and "# END/);
    assert.deepEqual(writes(), before, 'nothing written');
    for (const lb of LBS) assert.ok((await lbServers(lab, lb)).every((s) => s.up && !s.drain), `nothing drained on ${lb}`);
  });

  it('haproxy-config: a config that does not pass haproxy -c refuses the removal before anything changes (exit 2)', async () => {
    const original = config(LBS[1]);
    writeFile(host(LBS[1]), CFG, original.replace('defaults\n', 'defaults\n    no-such-keyword 1\n'));
    const before = writes();
    const r = await cb.run('k8s.remove-node', removeArgs);
    writeFile(host(LBS[1]), CFG, original);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /lbm-k8s-lb-2: \/etc\/haproxy\/haproxy.cfg does not pass haproxy -c \(.*no-such-keyword.*\); fix the file on lbm-k8s-lb-2 first/);
    assert.deepEqual(writes(), before, 'nothing written');
  });

  it('external: the run prints the line to remove and changes nothing; after the operator removed it, the same command finishes', async () => {
    shortDrainTimeout(lab, { management: 'external' });
    const originals = LBS.map((lb) => config(lb));
    const line = readBackend(originals[0]!, 'k8s-api').servers.find((s) => s.name === gone)!.text;
    const before = writes();
    const r = await cb.run('k8s.remove-node', removeArgs);
    assert.equal(r.code, 2, r.stderr);
    for (const lb of LBS) assert.match(r.stdout + r.stderr, new RegExp(`on ${lb}, in /etc/haproxy/haproxy.cfg, backend k8s-api: remove the line "${line}"`));
    assert.match(r.stderr, /the load balancers' \/etc\/haproxy\/haproxy.cfg still list control node lbm-k8s-control-1, and the inventory says the file is managed outside cluster-cookbooks \(loadBalancers.management: external\)/);
    assert.deepEqual(writes(), before, 'nothing written, not even a drain');
    LBS.forEach((lb, i) => assert.equal(config(lb), originals[i], `the file on ${lb} is untouched`));

    // The operator's tooling (Puppet) removes the line and reloads HAProxy, on every load balancer.
    for (const [i, lb] of LBS.entries()) {
      writeFile(host(lb), CFG, originals[i]!.split('\n').filter((l) => l.trim() !== line).join('\n'));
      assert.equal((await lab.loadBalancers.haproxy!.control(host(lb), 'reload')).code, 0);
    }
    const again = await cb.run('k8s.remove-node', removeArgs);
    assert.equal(again.code, 0, again.stderr);
    assert.ok(!(await nodeNames(lab)).includes(gone), `${gone} removed`);
    for (const lb of LBS) {
      assert.deepEqual((await lbServers(lab, lb)).map((s) => s.name), ['lbm-k8s-control-2', 'lbm-k8s-control-3', 'lbm-k8s-control-4']);
      assert.ok(!config(lb).includes(gone), `the file on ${lb} lists it nowhere`);
    }
  });

  it('an unreachable load balancer: k8s.control-plane.resize refuses naming it (exit 2, nothing written)', async () => {
    lab.world.faults.hostsNeverReturn = [LBS[1]!];
    lab.world.rebootHost(LBS[1]!);
    const before = writes();
    const r = await cb.run('k8s.control-plane.resize', ['--count', '5', '--yes']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /load balancer lbm-k8s-lb-2 is unreachable or its HAProxy does not answer: cannot reach lbm-k8s-lb-2 .*bring it back/);
    assert.deepEqual(writes(), before, 'nothing written');
  });
});
