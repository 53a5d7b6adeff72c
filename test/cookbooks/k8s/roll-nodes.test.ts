// k8s.roll-nodes end to end on the lab: six workers rolled to a new image with --max-surge 2 while a poller
// watches the role's Ready schedulable count; the dry-run's waves and ETA; a quota that holds one extra
// instance, or a server group that holds one more member, refusing --max-surge 2 before any change; SIGKILL
// after an add and after a drain, then the same command converging with exactly six workers and no orphan VM.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabClient } from '../../../lab/client.js';
import { cleanupTempDirs, tempDir } from '../../helpers/cli.js';
import { type TestLab, startTestLab } from '../../helpers/lab.js';
import { cordonedNodes, labRunner } from '../../helpers/lab-cli.js';
import { bootstrapTokens, runKilled } from './node-helpers.js';

const WORKER = /^roll-k8s-worker-\d+$/;
const index = (name: string): number => Number(/-(\d+)$/.exec(name)![1]);
const ARGS = ['--role', 'worker', '--retry-interval', '200ms', '--yes'];

describe('k8s.roll-nodes (lab, end to end)', function () {
  this.timeout(300_000);
  let lab: TestLab;
  let admin: LabClient;

  before(async () => {
    lab = await startTestLab({ clusterName: 'roll', workers: 6, workersNfs: 1, control: 1, ingress: 0, etcd: 0, speed: 100, namespaces: 1 });
    admin = new LabClient(lab.info);
    await admin.addImage('debian-13-trixie');
  });
  after(async () => {
    await lab?.stop();
    cleanupTempDirs();
  });

  /** Worker Nodes from the lab's store: name, Ready, schedulable. */
  const workers = (): { name: string; ready: boolean; schedulable: boolean }[] =>
    [...lab.kube.store.scan(lab.kube.api.res('', 'nodes'))]
      .map((n) => n as { metadata: { name: string }; spec?: { unschedulable?: boolean }; status?: { conditions?: { type: string; status: string }[] } })
      .filter((n) => WORKER.test(n.metadata.name))
      .map((n) => ({ name: n.metadata.name, ready: n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false, schedulable: !n.spec?.unschedulable }));
  /** Worker VMs of the lab cloud with their image. */
  const workerVms = (): { name: string; image: string }[] =>
    [...lab.openstack.cloud.servers.values()].filter((s) => WORKER.test(s.name)).map((s) => ({ name: s.name, image: s.image.name })).sort((a, b) => index(a.name) - index(b.name));
  const mutations = (): number[] => [lab.counters().k8s_mutations, lab.counters().openstack_mutations, lab.counters().ssh_mutations];

  it('--dry-run prints the waves of adds and removes with an ETA, writes the planned report, and changes nothing', async () => {
    const before = mutations();
    const report = join(tempDir('roll-report-'), 'plan.html');
    const r = await labRunner(lab).run('k8s.roll-nodes', [...ARGS, '--image', 'debian-13-trixie', '--max-surge', '2', '--dry-run', '--report', report]);
    assert.equal(r.code, 0, r.stderr);
    const html = readFileSync(report, 'utf8');
    assert.match(html, /Plan \(dry-run\)/);
    assert.equal(html.match(/>planned</g)?.length, 12, 'six adds and six removes drawn as planned');
    assert.match(r.stdout, /wave 1: add roll-k8s-worker-7, roll-k8s-worker-8 \(debian-13-trixie, lab\.medium\); then remove roll-k8s-worker-1, roll-k8s-worker-2/);
    assert.match(r.stdout, /wave 3: add roll-k8s-worker-11, roll-k8s-worker-12 .*; then remove roll-k8s-worker-5, roll-k8s-worker-6/);
    assert.match(r.stdout, /lowest Ready schedulable count 6; ETA \d+/);
    assert.deepEqual(mutations(), before, 'no mutating request reached the lab');
  });

  it('a quota that holds one extra instance refuses --max-surge 2 before any change (exit 2, names the quota)', async () => {
    const used = lab.openstack.cloud.usage().instances;
    await admin.setQuotas({ instances: used + 1 });
    try {
      const [, os, ssh] = mutations();
      const r = await labRunner(lab).run('k8s.roll-nodes', [...ARGS, '--image', 'debian-13-trixie', '--max-surge', '2']);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /OpenStack quota instances: the roll needs 2 more instance\(s\) at its peak .*1 left/);
      assert.match(r.stdout, /Hint: run with --max-surge 1,/, `the hint gives the surge the quota holds: ${r.stdout}`);
      assert.deepEqual(mutations().slice(1), [os, ssh], 'no VM created, no command sent');
      assert.deepEqual(workerVms().map((v) => v.image), Array(6).fill('debian-12-bookworm'));
    } finally {
      await admin.setQuotas({ instances: 100 });
    }
  });

  it('a server group member limit that holds one more member refuses --max-surge 2 (exit 2, names the group)', async () => {
    const members = [...lab.openstack.cloud.serverGroups.values()].find((g) => g.name === 'roll-k8s-worker')!.members.length;
    await admin.setQuotas({ server_group_members: members + 1 });
    try {
      const [, os, ssh] = mutations();
      const r = await labRunner(lab).run('k8s.roll-nodes', [...ARGS, '--image', 'debian-13-trixie', '--max-surge', '2']);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /server group roll-k8s-worker \(soft-anti-affinity\): the roll needs room for 2 more member\(s\) at its peak, the member limit leaves 1/);
      assert.deepEqual(mutations().slice(1), [os, ssh], 'no VM created, no command sent');
    } finally {
      await admin.setQuotas({ server_group_members: 100 });
    }
  });

  it('rolls 6 workers to a new image with --max-surge 2: Ready schedulable count never below 6, no PDB violation', async () => {
    const oldVms = workerVms().map((v) => v.name);
    const pdbBefore = lab.counters().pdb_violations;
    let lowest = Infinity;
    let highest = 0;
    let polls = 0;
    const poll = setInterval(() => {
      const w = workers();
      const serving = w.filter((n) => n.ready && n.schedulable).length;
      lowest = Math.min(lowest, serving);
      highest = Math.max(highest, w.length);
      polls++;
    }, 20);
    const report = join(tempDir('roll-report-'), 'roll.html');
    let r;
    try {
      r = await labRunner(lab).json('k8s.roll-nodes', [...ARGS, '--image', 'debian-13-trixie', '--max-surge', '2', '--report', report]);
    } finally {
      clearInterval(poll);
    }
    assert.equal(r.code, 0, r.stderr);
    assert.ok(polls > 20, `the poller watched the run (${polls} polls)`);
    assert.equal(lowest, 6, 'the Ready schedulable count never dropped below 6');
    assert.equal(highest, 8, 'at most two new nodes at once (--max-surge 2)');
    const vms = workerVms();
    assert.equal(vms.length, 6);
    assert.ok(vms.every((v) => v.image === 'debian-13-trixie'), `all on the new image: ${JSON.stringify(vms)}`);
    assert.deepEqual(vms.filter((v) => oldVms.includes(v.name)), [], 'none of the old VMs left');
    assert.deepEqual(workers().map((w) => w.name).sort(), vms.map((v) => v.name).sort(), 'a Node for every VM, a VM for every Node');
    assert.ok(workers().every((w) => w.ready && w.schedulable));
    assert.equal(lab.counters().pdb_violations - pdbBefore, 0, 'PDB violations');
    assert.deepEqual(r.out.result.added, ['roll-k8s-worker-7', 'roll-k8s-worker-8', 'roll-k8s-worker-9', 'roll-k8s-worker-10', 'roll-k8s-worker-11', 'roll-k8s-worker-12']);
    assert.deepEqual(r.out.result.removed, oldVms);
    const html = readFileSync(report, 'utf8');
    assert.match(html, /Node roll of roll/);
    for (const n of [...oldVms, ...r.out.result.added]) assert.ok(html.includes(n), `the report names ${n}`);
  });

  it('--only-outdated after the roll: nothing left to do', async () => {
    const before = mutations();
    const r = await labRunner(lab).json('k8s.roll-nodes', [...ARGS, '--image', 'debian-13-trixie', '--only-outdated']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.out.result.waves, []);
    assert.equal(r.out.result.skipped.length, 6);
    assert.deepEqual(mutations().slice(1), before.slice(1), 'no VM, no command');
  });

  it('SIGKILL after an add and after a drain: the same command converges with exactly 6 workers and no orphan VM', async () => {
    const cb = labRunner(lab, tempDir('cc-state-')); // one state dir: the journal links the runs
    const args = [...ARGS, '--image', 'debian-11-bullseye', '--max-surge', '2'];
    const old = workerVms().map((v) => v.name);
    const firstNew = 'roll-k8s-worker-13';
    await runKilled(cb, 'k8s.roll-nodes', args, `kill-after:set labels and taints of ${firstNew}`);
    assert.ok(workers().some((w) => w.name === firstNew && w.ready), `${firstNew} was added before the kill`);
    await runKilled(cb, 'k8s.roll-nodes', args, `kill-after:drain ${old[0]}`);
    assert.ok(workers().some((w) => w.name === old[0] && !w.schedulable), `${old[0]} was drained (cordoned) before the kill`);
    const r = await cb.json('k8s.roll-nodes', args);
    assert.equal(r.code, 0, r.stderr);
    const vms = workerVms();
    assert.equal(vms.length, 6, `exactly 6 worker VMs: ${vms.map((v) => v.name).join(', ')}`);
    assert.ok(vms.every((v) => v.image === 'debian-11-bullseye'));
    assert.deepEqual(workers().map((w) => w.name).sort(), vms.map((v) => v.name).sort(), 'no orphan VM, no Node without a VM');
    assert.deepEqual(vms.map((v) => v.name), Array.from({ length: 6 }, (_, i) => `roll-k8s-worker-${13 + i}`), 'the names the plan chose, none twice');
    assert.deepEqual(await cordonedNodes(lab), []);
    assert.deepEqual(await bootstrapTokens(lab), [], 'no join token left');
  });
});
