// How the load balancers' backend list is managed, against the lab's real HAProxy: `haproxy-config` refuses a
// file without the managed block before anything changes; `external` never writes the file: the run stops
// (exit 2, nothing changed) printing the exact line to remove, and once the operator's tooling removed it
// and reloaded HAProxy, the same command finishes the removal.
import { strict as assert } from 'node:assert';
import { readFile, writeFile } from '../../../lab/ssh/fs.js';
import { BLOCK_BEGIN, BLOCK_END, readBackend } from '../../../lib/haproxy/client.js';
import { cleanupTempDirs } from '../../helpers/cli.js';
import { type TestLab, startTestLab } from '../../helpers/lab.js';
import { labRunner, nodeNames } from '../../helpers/lab-cli.js';
import { lbServers, shortDrainTimeout } from './lab-lb.js';

describe('load-balancer management (lab, real HAProxy)', function () {
  this.timeout(180_000);
  let lab: TestLab;
  let cb: ReturnType<typeof labRunner>;
  const CFG = '/etc/haproxy/haproxy.cfg';
  const lb = 'lbm-k8s-lb-1';
  const gone = 'lbm-k8s-control-1';
  const host = () => lab.world.hosts.get(lb)!;
  const config = (): string => readFile(host(), CFG) ?? '';
  const writes = (): number[] => [lab.counters().ssh_mutations, lab.counters().openstack_mutations];
  const removeArgs = ['--role', 'control', '--hostname', gone, '--yes', '--retry-interval', '200ms'];

  before(async () => {
    lab = await startTestLab({ clusterName: 'lbm', control: 4, workers: 1, workersNfs: 0, ingress: 0, etcd: 0, loadbalancer: 1, speed: 100, namespaces: 1 });
    assert.ok(lab.loadBalancers.haproxy, `real HAProxy runs (${lab.loadBalancers.unavailable ?? ''})`);
    shortDrainTimeout(lab);
    cb = labRunner(lab);
  });
  after(async () => {
    await lab?.stop();
    cleanupTempDirs();
  });

  it('haproxy-config: a config without the managed block refuses the removal before anything changes (exit 2)', async () => {
    const original = config();
    writeFile(host(), CFG, original.split('\n').filter((l) => l.trim() !== BLOCK_BEGIN && l.trim() !== BLOCK_END).join('\n'));
    const before = writes();
    const r = await cb.run('k8s.remove-node', removeArgs);
    writeFile(host(), CFG, original);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /lbm-k8s-lb-1: backend k8s-api in \/etc\/haproxy\/haproxy.cfg has no managed block; put the control nodes' server lines between "# BEGIN cluster-cookbooks managed block" and "# END/);
    assert.deepEqual(writes(), before, 'nothing written');
    assert.ok((await lbServers(lab, lb)).every((s) => s.up && !s.drain), 'nothing drained');
  });

  it('external: the run prints the line to remove and changes nothing; after the operator removed it, the same command finishes', async () => {
    shortDrainTimeout(lab, { management: 'external' });
    const original = config();
    const line = readBackend(original, 'k8s-api').servers.find((s) => s.name === gone)!.text;
    const before = writes();
    const r = await cb.run('k8s.remove-node', removeArgs);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stdout + r.stderr, new RegExp(`on lbm-k8s-lb-1, in /etc/haproxy/haproxy.cfg, backend k8s-api: remove the line "${line}"`));
    assert.match(r.stderr, /managed outside cluster-cookbooks \(loadBalancers.management: external\)/);
    assert.deepEqual(writes(), before, 'nothing written, not even a drain');
    assert.equal(config(), original, 'the file is untouched');

    // The operator's tooling (Puppet) removes the line and reloads HAProxy.
    writeFile(host(), CFG, original.split('\n').filter((l) => l.trim() !== line).join('\n'));
    assert.equal((await lab.loadBalancers.haproxy!.control(host(), 'reload')).code, 0);
    const again = await cb.run('k8s.remove-node', removeArgs);
    assert.equal(again.code, 0, again.stderr);
    assert.ok(!(await nodeNames(lab)).includes(gone), `${gone} removed`);
    assert.deepEqual((await lbServers(lab, lb)).map((s) => s.name), ['lbm-k8s-control-2', 'lbm-k8s-control-3', 'lbm-k8s-control-4']);
    assert.ok(!config().includes(gone), 'the file lists it nowhere');
  });
});
