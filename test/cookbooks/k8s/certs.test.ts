// k8s.certs.check and k8s.certs.renew against a lab with three control nodes behind two real HAProxy load
// balancers: an apiserver certificate made to expire in 10 days fails the check and is named; renewed files
// with an old served certificate are flagged; SIGKILL mid-renewal converges; a renewal of every control node
// while a client loop goes through HAProxy, after which the check shows the new served NotAfter; an API server
// that does not come back; an unreachable load balancer.
import { strict as assert } from 'node:assert';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { LabClient } from '../../../lab/client.js';
import { cleanupTempDirs, runCli, tempDir } from '../../helpers/cli.js';
import { type TestLab, startTestLab } from '../../helpers/lab.js';
import { labRunner } from '../../helpers/lab-cli.js';
import { shortDrainTimeout } from '../../ops/loadbalancer/lab-lb.js';
import { runKilled } from './node-helpers.js';
import { clientLoop, filesUnder, lbDrained, lbStatus, onDisk, servedByNode } from './certs-helpers.js';

const C = (i: number): string => `crt-k8s-control-${i}`;
const MANIFESTS = '/etc/kubernetes/manifests';
const PARKED = '/etc/kubernetes/tmp/cluster-cookbooks-static-pods';

describe('k8s.certs.check and k8s.certs.renew (lab, real HAProxy)', function () {
  this.timeout(300_000);
  let lab: TestLab;
  let cb: ReturnType<typeof labRunner>;
  before(async () => {
    lab = await startTestLab({ clusterName: 'crt', control: 3, workers: 1, workersNfs: 0, ingress: 0, etcd: 0, loadbalancer: 2, speed: 100, seedWorkload: false, kubernetesVersion: '1.31.4' });
    if (!lab.loadBalancers.haproxy) throw new Error(`no real HAProxy in the lab: ${lab.loadBalancers.unavailable ?? '?'} (apt-get install haproxy)`);
    // The lab's only long-lived API clients are the cookbook processes themselves: 1 s of drain, not 30.
    shortDrainTimeout(lab, { drainTimeoutSeconds: 1 });
    cb = labRunner(lab);
  });
  after(async () => {
    await lab?.stop();
    cleanupTempDirs();
  });

  // The three tests build on each other (one lab, in order): C2's certificate made to expire is named by the
  // check, the killed-then-resumed renewal fixes it, and the check after renewing everything shows it served.
  it('check: an apiserver certificate expiring in 10 days exits 1 naming it; renewed files still served old are flagged', async () => {
    await LabClient.fromStateDir(lab.stateDir).certs(C(2), { name: 'apiserver', expiresInDays: 10 });
    // kubeadm's trap on C3: new files on disk, the API server still serving the old certificate.
    lab.world.kubeadm!.certs(lab.world.hosts.get(C(3))!, 'renew', 'apiserver');
    const old = await servedByNode(lab, C(2));
    const check = await cb.json('k8s.certs.check', []);
    assert.equal(check.code, 1, check.stderr);
    assert.match(check.stderr, new RegExp(`${C(2)}: the apiserver certificate served on \\S+ expires in 9 days`));
    assert.match(check.stderr, new RegExp(`${C(2)}: apiserver \\(on disk\\) expires in 9 days`));
    assert.doesNotMatch(check.stderr, new RegExp(`${C(1)}:`), 'the healthy node is not named');
    const report = check.out.error.context.check;
    const byNode = (n: string) => report.nodes.find((x: { node: string }) => x.node === n);
    assert.deepEqual({ days: byNode(C(2)).servedDaysLeft, serial: byNode(C(2)).served.serial, same: byNode(C(2)).servedMatchesDisk }, { days: 9, serial: old.serial, same: true });
    assert.equal(byNode(C(3)).servedMatchesDisk, false);
    // kubeadm 1.31 has `check-expiration -o json` (the dry-run and bad-input labs run 1.29: the table form).
    assert.deepEqual(report.nodes.map((n: { kubeadm: { format: string } }) => n.kubeadm.format), ['json', 'json', 'json']);
    const differs = report.findings.filter((f: { kind: string }) => f.kind === 'served-differs');
    assert.deepEqual(differs.map((f: { node: string; fails: boolean }) => [f.node, f.fails]), [[C(3), false]], 'C3 flagged as a warning');
    assert.match(differs[0].message, new RegExp(`${C(3)}: the API server serves serial \\S+ \\(until [^)]+\\), not apiserver\\.crt on disk`));
    assert.deepEqual(report.findings.filter((f: { fails: boolean }) => f.fails).map((f: { node: string; certificate: string }) => `${f.node} ${f.certificate}`).sort(), [`${C(2)} apiserver`, `${C(2)} apiserver (served)`]);
  });

  it('renew killed (SIGKILL) with the manifests moved out and the node drained: the same command converges', async () => {
    const before = onDisk(lab, C(2));
    await runKilled(cb, 'k8s.certs.renew', ['--hostname', C(2), '--yes'], `kill-after:move the static pod manifests of ${C(2)} out`);
    assert.ok(filesUnder(lab, C(2), PARKED).includes('kube-apiserver.yaml'), 'killed with the manifests parked');
    assert.match((await lbStatus(lab))[C(2)]!, /^DRAIN/, 'killed with the backend drained');
    const again = await cb.json('k8s.certs.renew', ['--hostname', C(2), '--yes']);
    assert.equal(again.code, 0, again.stderr);
    assert.ok(again.out.resumedFrom, 'the journal of the killed run was resumed');
    assert.deepEqual(filesUnder(lab, C(2), PARKED), [], 'nothing left parked');
    assert.ok(filesUnder(lab, C(2), MANIFESTS).includes('kube-apiserver.yaml'), 'manifests back');
    assert.match((await lbStatus(lab))[C(2)]!, /^UP/, 'no backend left drained');
    const served = await servedByNode(lab, C(2));
    assert.deepEqual(served, onDisk(lab, C(2)), 'the endpoint serves exactly apiserver.crt');
    assert.notEqual(served.serial, before.serial, 'a new certificate');
    const [r] = again.out.result.nodes;
    assert.deepEqual([r.node, r.serial, r.notAfter], [C(2), served.serial, served.notAfter]);
  });

  it('renew --all-control while a client loop goes through HAProxy: zero failed requests; check then shows the new served NotAfter', async () => {
    const loop = clientLoop(lab);
    const r = await cb.json('k8s.certs.renew', ['--all-control', '--yes']);
    const stats = await loop.stop();
    console.log(`      client loop through HAProxy during renew --all-control: ${stats.requests} requests, ${stats.failures} failed, worst latency ${stats.worstMs} ms${stats.errors.length ? ` (${stats.errors.join(', ')})` : ''}`);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.out.result.nodes.map((n: { node: string }) => n.node), [C(1), C(2), C(3)]);
    for (const i of [1, 2, 3]) assert.deepEqual(await servedByNode(lab, C(i)), onDisk(lab, C(i)), C(i));
    assert.ok(stats.requests > 20, `the loop ran (${stats.requests} requests)`);
    assert.equal(stats.failures, 0, `failed requests: ${stats.errors.join(', ')}`);
    const status = await lbStatus(lab);
    assert.deepEqual(Object.keys(status).sort(), [C(1), C(2), C(3)]);
    assert.ok(Object.values(status).every((s) => s.startsWith('UP')), JSON.stringify(status));

    const check = await cb.json('k8s.certs.check', []);
    assert.equal(check.code, 0, check.stderr);
    for (const i of [1, 2, 3]) {
      const n = check.out.result.nodes.find((x: { node: string }) => x.node === C(i));
      assert.equal(n.served.notAfter, (await servedByNode(lab, C(i))).notAfter, `check shows the served NotAfter of ${C(i)}`);
      assert.ok(n.servedDaysLeft >= 364 && n.servedMatchesDisk, `${C(i)}: a year left, served = disk`);
    }
    assert.deepEqual(check.out.result.findings, []);
  });

  it('check is schedulable: schedule install writes a timer that runs it with --warn-days', async () => {
    const units = tempDir('cc-units-');
    const r = await runCli(['schedule', 'install', 'k8s.certs.check', '--on-calendar', 'daily', '--name', 'certs-crt', '--unit-dir', units, '--', '--cluster-name', 'crt', '--inventory', lab.stateDir, '--warn-days', '45']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readdirSync(units).sort(), ['certs-crt.service', 'certs-crt.timer']);
    assert.match(readFileSync(join(units, 'certs-crt.service'), 'utf8'), /^ExecStart=.* k8s\.certs\.check .*--warn-days 45/m);
  });

  it('an API server that does not come back with the renewed certificate: exit 1 naming it, manifests back, node left drained; fixed, the same command finishes', async () => {
    lab.world.faults.apiserverCrashLoop = [C(1)];
    const failed = await cb.run('k8s.certs.renew', ['--hostname', C(1), '--yes', '--restart-timeout', '5s']);
    assert.equal(failed.code, 1, failed.stderr);
    assert.match(failed.stderr, new RegExp(`${C(1)} does not serve its renewed certificate \\(serial \\w+\\) after its static pods restarted`));
    assert.match(failed.stdout, /Hint: .*stays drained in the load balancers until the same command/);
    assert.deepEqual(filesUnder(lab, C(1), PARKED), [], 'the manifests are not left out');
    assert.ok(filesUnder(lab, C(1), MANIFESTS).includes('kube-apiserver.yaml'));
    assert.equal(await lbDrained(lab, C(1)), true, 'a broken API server stays out of the load balancers');
    lab.world.faults.apiserverCrashLoop = [];
    const again = await cb.run('k8s.certs.renew', ['--hostname', C(1), '--yes', '--restart-timeout', '5s']);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(await servedByNode(lab, C(1)), onDisk(lab, C(1)));
    assert.match((await lbStatus(lab))[C(1)]!, /^UP/);
    assert.equal(await lbDrained(lab, C(1)), false);
  });

  // Last: it takes the second load balancer away for good (the kubeconfig goes through the first).
  it('an unreachable load balancer: renew refuses naming it (exit 2, nothing written)', async () => {
    const lb = lab.loadBalancers.hosts[1]!.name;
    lab.world.faults.hostsNeverReturn = [lb];
    lab.world.rebootHost(lb);
    const writes = (): number[] => [lab.counters().ssh_mutations, lab.counters().openstack_mutations];
    const before = writes();
    const r = await cb.run('k8s.certs.renew', ['--hostname', C(1), '--yes']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`load balancer ${lb} is unreachable`));
    assert.deepEqual(writes(), before, 'nothing written');
    assert.deepEqual(filesUnder(lab, C(1), PARKED), []);
  });

  it('check with a control node down: exit 1 naming it, the other nodes still reported', async () => {
    lab.world.faults.hostsNeverReturn = [...(lab.world.faults.hostsNeverReturn ?? []), C(3)];
    lab.world.rebootHost(C(3));
    const check = await cb.json('k8s.certs.check', []);
    assert.equal(check.code, 1, check.stderr);
    assert.match(check.stderr, new RegExp(`${C(3)}: `));
    const report = check.out.error.context.check;
    const failing = report.findings.filter((f: { fails: boolean }) => f.fails);
    assert.ok(failing.length > 0 && failing.every((f: { node: string; kind: string }) => f.node === C(3) && f.kind === 'unreadable'), JSON.stringify(failing));
    for (const i of [1, 2]) {
      const n = report.nodes.find((x: { node: string }) => x.node === C(i));
      assert.deepEqual([n.errors, n.servedMatchesDisk], [[], true], `${C(i)} read as usual`);
    }
  });
});
