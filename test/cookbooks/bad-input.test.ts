// Bad input and failures: a clear error naming what is wrong, the exit code DESIGN gives, nothing changed for
// bad input, and nothing half-done that a re-run cannot finish.
import { strict as assert } from 'node:assert';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { compiledRoot } from '../../lib/core/paths.js';
import { discover } from '../../lib/runner/discovery.js';
import { ROOT, cleanupTempDirs, runCli, tempDir } from '../helpers/cli.js';
import { type TestLab, startTestLab } from '../helpers/lab.js';
import { labRunner, nodeNames, serverNames } from '../helpers/lab-cli.js';

describe('bad input and failures of the node lifecycle cookbooks', function () {
  this.timeout(300_000);
  let lab: TestLab;
  let cb: ReturnType<typeof labRunner>;
  before(async () => {
    lab = await startTestLab({ clusterName: 'bad', workers: 2, workersNfs: 1, control: 1, ingress: 0, etcd: 0, speed: 40, namespaces: 1 });
    cb = labRunner(lab);
  });
  after(async () => {
    await lab?.stop();
    cleanupTempDirs();
  });

  // Inventory-level refusals happen before the lock: not a single write. Refusals that need the cluster's
  // answer (is it a node? is it Ready?) come after the lock is taken: its Lease is created and deleted again,
  // and nothing else is written.
  const refusals: [string, string[], RegExp, 'before-lock' | 'after-lock'][] = [
    ['k8s.add-node', ['--role', 'gpu'], /unknown role "gpu" in cluster bad; Kubernetes node roles: control, ingress, worker, worker_nfs/, 'before-lock'],
    ['k8s.add-node', ['--role', 'etcd'], /role etcd of cluster bad is not a Kubernetes node role; Kubernetes node roles: control, ingress, worker, worker_nfs/, 'before-lock'],
    ['k8s.remove-node', ['--role', 'worker', '--hostname', 'bad-k8s-worker-nfs-1'], /host bad-k8s-worker-nfs-1 is a worker_nfs host, not worker/, 'before-lock'],
    ['k8s.drain', ['--hostname', 'tools-k8s-worker-1'], /host tools-k8s-worker-1 does not belong to cluster bad/, 'before-lock'],
    ['k8s.drain', ['--hostname', 'bad-k8s-worker-1;reboot'], /--hostname: invalid hostname "bad-k8s-worker-1;reboot"/, 'before-lock'],
    ['k8s.cordon', ['--hostname', '$(touch /tmp/pwned)'], /--hostname: invalid hostname/, 'before-lock'],
    ['k8s.drain', ['--hostname', 'bad-k8s-worker-77'], /host bad-k8s-worker-77 is not a Kubernetes node of cluster bad/, 'after-lock'],
    ['vm.delete', ['--hostname', 'bad-k8s-worker-1'], /is a Ready Kubernetes node; refusing/, 'after-lock'],
    ['k8s.uncordon', ['--hostname', 'bad-k8s-worker-9'], /host bad-k8s-worker-9 is not a Kubernetes node of cluster bad/, 'after-lock'],
    ['k8s.replace-node', ['--hostname', 'tools-k8s-worker-1'], /host tools-k8s-worker-1 does not belong to cluster bad/, 'before-lock'],
    ['k8s.replace-node', ['--hostname', 'bad-k8s-worker-9'], /host bad-k8s-worker-9 is not a Kubernetes node of cluster bad/, 'after-lock'],
    ['vm.create', ['--role', 'gpu'], /unknown role "gpu" in cluster bad/, 'before-lock'],
    ['vm.create', ['--role', 'worker', '--hostname', 'bad-k8s-control-9'], /host bad-k8s-control-9 is a control host, not worker/, 'before-lock'],
    ['vm.create', ['--role', 'worker', '--flavor', 'nope'], /--flavor "nope" does not exist/, 'after-lock'],
    ['vm.force-reboot', ['--hostname', 'bad-k8s-worker-1', '--timeout', 'soon'], /--timeout: not a duration: "soon"/, 'before-lock'],
    ['vm.force-reboot', ['--hostname', 'bad-k8s-worker-1'], /bad-k8s-worker-1 is a Ready Kubernetes node running \d+ pod\(s\); refusing/, 'after-lock'],
    ['k8s.reboot', [], /select nodes with --all, --all-workers, --role R or --hostname H/, 'before-lock'],
    ['k8s.reboot', ['--hostname', 'bad-k8s-worker-1', '--max-unavailable', 'lots'], /--max-unavailable: expected a count .*got "lots"/, 'before-lock'],
    ['k8s.reboot', ['--hostname', 'bad-k8s-worker-9'], /not a Kubernetes node of cluster bad: bad-k8s-worker-9/, 'after-lock'],
    ['k8s.add-node', ['--role', 'worker', '--flavor', 'nope'], /--flavor "nope" does not exist/, 'after-lock'],
    ['k8s.remove-node', ['--role', 'worker', '--hostname', 'bad-k8s-worker-9'], /bad-k8s-worker-9 is not a node, a VM or a host of any earlier run of cluster bad/, 'after-lock'],
    ['k8s.drain', ['--hostname', 'bad-k8s-worker-1', '--timeout', '-5m'], /--timeout: must not be negative/, 'before-lock'],
    ['k8s.roll-nodes', ['--role', 'gpu'], /unknown role "gpu" in cluster bad/, 'before-lock'],
    ['k8s.roll-nodes', ['--role', 'control'], /--role control: control nodes are not rolled yet/, 'before-lock'],
    ['k8s.roll-nodes', ['--role', 'worker', '--max-surge', '0'], /--max-surge 0 with --max-unavailable 0/, 'before-lock'],
    ['k8s.roll-nodes', ['--role', 'worker', '--hostname', 'bad-k8s-worker-nfs-1'], /host bad-k8s-worker-nfs-1 is a worker_nfs host, not worker/, 'before-lock'],
    ['k8s.roll-nodes', ['--role', 'worker', '--image', 'debian-99'], /--image "debian-99" does not exist in OpenStack/, 'after-lock'],
    ['k8s.roll-nodes', ['--role', 'worker', '--flavor', 'lab.huge'], /--flavor "lab.huge" does not exist in OpenStack/, 'after-lock'],
    ['component.deploy', ['--component', 'webb'], /no component webb in the repository.*\bweb\b/, 'after-lock'],
    ['component.deploy', ['--component', 'web'], /component web has no values for cluster bad: components\/web\/values\/bad\.yaml does not exist/, 'after-lock'],
    ['component.deploy', ['--component', 'web', '--repo', ROOT, '--git-branch', 'no-such-branch'], /no branch no-such-branch in /, 'after-lock'],
    ['component.deploy', ['--component', 'web', '--filter-tags', 'web'], /--filter-tags selects tests, but --run-tests is not given/, 'before-lock'],
    ['component.rollback', ['--component', 'web'], /component web has no revisions on bad/, 'after-lock'],
    ['component.history', ['--component', 'web'], /component web has no revisions on bad/, 'after-lock'],
    ['component.diff', ['--component', 'Web!'], /--component: "Web!" is not a component name/, 'before-lock'],
    ['component.test', ['--component', 'web', '--repo', '/nonexistent/components'], /the components repository \/nonexistent\/components does not exist/, 'after-lock'],
    ['component.status', ['--component', 'web'], /Unknown argument: component/, 'before-lock'],
    ['etcd.add-member', ['--hostname', 'bad-k8s-worker-1'], /host bad-k8s-worker-1 is a worker host, not etcd/, 'before-lock'],
    ['etcd.remove-member', ['--hostname', 'tools-k8s-etcd-1'], /host tools-k8s-etcd-1 does not belong to cluster bad/, 'before-lock'],
    ['etcd.replace-member', [], /Missing required argument: hostname/, 'before-lock'],
    ['etcd.backup', ['--to', '/proc/version/backups'], /backup directory \/proc\/version\/backups is not writable/, 'before-lock'],
    ['etcd.backup', ['--keep', '0'], /--keep: must be at least 1/, 'before-lock'],
    ['etcd.restore-check', ['--file', '/nonexistent/snap.db'], /snapshot \/nonexistent\/snap\.db does not exist/, 'before-lock'],
    ['etcd.status', ['--hostname', 'bad-k8s-etcd-1'], /Unknown argument: hostname/, 'before-lock'],
    ['k8s.upgrade', ['--to', '1.x'], /--to: expected a Kubernetes version like 1\.31 or 1\.31\.2, got "1\.x"/, 'before-lock'],
    ['k8s.upgrade', ['--to', '1.28'], /--to 1\.28 is older than the cluster \(v1\.29\.4\): downgrades are not supported/, 'after-lock'],
    ['k8s.control-plane.resize', ['--count', '0'], /--count 0: a control plane needs at least 1 control node/, 'before-lock'],
    ['k8s.control-plane.resize', ['--count', '2'], /--count 2 is below the minimum of role control \(3 in the inventory\)/, 'before-lock'],
    ['k8s.control-plane.resize', ['--count', '3', '--role', 'worker'], /role worker of cluster bad is no control-plane role/, 'before-lock'],
    ['k8s.control-plane.resize', ['--count', '4'], /--count 4: with stacked etcd \(one member per control node\) the count must be odd/, 'after-lock'],
    ['k8s.certs.renew', ['--hostname', 'bad-k8s-worker-1'], /bad-k8s-worker-1 is a worker host of cluster bad, not a control node/, 'before-lock'],
    ['k8s.certs.renew', [], /name the nodes to renew: --hostname <control node> or --all-control/, 'before-lock'],
    ['k8s.certs.renew', ['--hostname', 'bad-k8s-control-1', '--all-control'], /--hostname and --all-control exclude each other/, 'before-lock'],
    ['k8s.certs.renew', ['--hostname', 'bad-k8s-control-7'], /bad-k8s-control-7: not a control node of cluster bad \(the control nodes are bad-k8s-control-1\)/, 'after-lock'],
    ['k8s.certs.check', ['--warn-days', '0'], /--warn-days: must be at least 1/, 'before-lock'],
  ];
  const leases = (): number => [...lab.kube.store.scan(lab.kube.api.res('coordination.k8s.io', 'leases'))].length;
  for (const [name, args, message, when] of refusals) {
    it(`${name} ${args.join(' ')}: exit 2, clear message, nothing changed`, async () => {
      const k8s = lab.counters().k8s_mutations;
      const others = lab.counters().openstack_mutations + lab.counters().ssh_mutations;
      const leasesBefore = leases();
      const r = await cb.run(name, args);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(lab.counters().openstack_mutations + lab.counters().ssh_mutations, others);
      // A refusal that needs the cluster's answer may come before the lock one day (fine), never after a write.
      if (when === 'before-lock') assert.equal(lab.counters().k8s_mutations - k8s, 0, 'not even the lock');
      else assert.ok(lab.counters().k8s_mutations - k8s <= 2, 'only the lock Lease, created and deleted');
      assert.equal(leases(), leasesBefore, 'no lock left behind');
    });
  }

  // Commands outside the cookbooks: full command lines (LAB = the lab's inventory dir), each run with a fresh
  // XDG_STATE_HOME and unit dir that must stay empty (no lab state, no unit file, no journal).
  const commands: [string, string[], RegExp][] = [
    ['history with a --limit that is not a number', ['history', '--limit', 'abc'], /--limit: expected a number, got "abc"/],
    ['inventory.show of an unknown cluster', ['inventory.show', '--cluster-name', 'nope', '--inventory', 'LAB'], /unknown cluster "nope"; known clusters: bad/],
    ['inventory.show with an unknown option', ['inventory.show', '--cluster-name', 'bad', '--inventory', 'LAB', '--rolez'], /Unknown argument: rolez/],
    ['schedule install for an unknown cluster', ['schedule', 'install', 'k8s.reboot', '--on-calendar', 'daily', '--unit-dir', 'UNITS', '--', '--cluster-name', 'nope', '--inventory', 'LAB', '--all'], /unknown cluster "nope"/],
    [
      'schedule install of a reboot naming a host of another cluster',
      ['schedule', 'install', 'k8s.reboot', '--on-calendar', 'daily', '--unit-dir', 'UNITS', '--', '--cluster-name', 'bad', '--inventory', 'LAB', '--hostname', 'tools-k8s-worker-1'],
      /host tools-k8s-worker-1 does not belong to cluster bad/,
    ],
    ['schedule install of a reboot of an etcd role', ['schedule', 'install', 'k8s.reboot', '--on-calendar', 'daily', '--unit-dir', 'UNITS', '--', '--cluster-name', 'bad', '--inventory', 'LAB', '--role', 'etcd'], /role etcd of cluster bad is not a Kubernetes node role/],
    ['schedule install with a bad calendar', ['schedule', 'install', 'k8s.reboot', '--on-calendar', 'every full moon', '--unit-dir', 'UNITS', '--', '--cluster-name', 'bad', '--inventory', 'LAB', '--all'], /--on-calendar: .*every full moon/],
    [
      'schedule install with a bad cookbook argument',
      ['schedule', 'install', 'k8s.reboot', '--on-calendar', 'daily', '--unit-dir', 'UNITS', '--', '--cluster-name', 'bad', '--inventory', 'LAB', '--all', '--max-unavailable', 'lots'],
      /--max-unavailable: expected a count .*got "lots"/,
    ],
    ['lab up with an unknown fault', ['lab', 'up', '--cluster-name', 'badlab', '--fault', 'nonsense=1'], /--fault: unknown fault "nonsense"; known: .*k8sErrorRate/],
    ['lab up with an unsupported Kubernetes version', ['lab', 'up', '--cluster-name', 'badlab', '--k8s-version', '1.12.0'], /--k8s-version 1\.12\.0: expected 1\.27\.x to 1\.33\.x/],
  ];
  it('has a bad-input row for every built-in cookbook', () => {
    const builtin = discover([{ dir: join(compiledRoot(), 'cookbooks'), origin: 'builtin' }]).map((c) => c.name);
    const covered = new Set([...refusals.map(([name]) => name), ...commands.map(([, args]) => args[0]!)]);
    assert.deepEqual(builtin.filter((n) => !covered.has(n)), [], 'add a row for these cookbooks');
  });

  for (const [title, args, message] of commands) {
    it(`${title}: exit 2, clear message, nothing written anywhere`, async () => {
      const before = lab.counters();
      const counts = [before.k8s_mutations, before.openstack_mutations, before.ssh_mutations];
      const state = tempDir('cc-xdg-');
      const units = tempDir('cc-units-');
      const argv = args.map((a) => (a === 'LAB' ? lab.stateDir : a === 'UNITS' ? units : a));
      const r = await runCli(argv, { env: { XDG_STATE_HOME: state } });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      const after = lab.counters();
      assert.deepEqual([after.k8s_mutations, after.openstack_mutations, after.ssh_mutations], counts, 'no write to the lab');
      assert.deepEqual(readdirSync(units), [], 'no unit file');
      assert.deepEqual(readdirSync(state), [], 'no state (lab, journal, lock)');
    });
  }

  it('an unknown cluster: exit 2 listing the known ones', async () => {
    const r = await runCli(['k8s.cordon', '--hostname', 'x-1', '--cluster-name', 'nope', '--inventory', lab.stateDir, '--state-dir', tempDir('cc-state-')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown cluster "nope"; known clusters: bad/);
  });

  it('an OpenStack quota refusal fails cleanly; with room again, the re-run adds that same node', async () => {
    const quotas = lab.openstack.cloud.quotas;
    const saved = quotas.instances;
    quotas.instances = lab.world.hosts.size;
    const serversBefore = serverNames(lab);
    const r = await cb.run('k8s.add-node', ['--role', 'worker']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Quota exceeded for instances/);
    assert.deepEqual(serverNames(lab), serversBefore, 'no VM was created');
    quotas.instances = saved;
    const again = await cb.json('k8s.add-node', ['--role', 'worker']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.out.result.hostname, 'bad-k8s-worker-3');
    assert.deepEqual(serverNames(lab).filter((s) => !serversBefore.includes(s)), ['bad-k8s-worker-3']);
  });

  it('a join that fails leaves a VM a re-run joins (no second VM)', async () => {
    lab.world.faults.joinFailures = ['bad-k8s-worker-4'];
    const serversBefore = serverNames(lab);
    const r = await cb.run('k8s.add-node', ['--role', 'worker']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /kubeadm join/);
    assert.match(r.stderr, /bad-k8s-worker-4/);
    assert.ok(!(await nodeNames(lab)).includes('bad-k8s-worker-4'));
    lab.world.faults.joinFailures = [];
    const again = await cb.json('k8s.add-node', ['--role', 'worker']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.out.result.hostname, 'bad-k8s-worker-4');
    assert.ok((await nodeNames(lab)).includes('bad-k8s-worker-4'));
    assert.deepEqual(serverNames(lab).filter((s) => !serversBefore.includes(s)), ['bad-k8s-worker-4']);
  });

  it('an unreachable host: remove-node skips kubeadm reset with a warning and still removes it', async () => {
    const host = 'bad-k8s-worker-4';
    lab.world.faults.hostsNeverReturn = [host];
    lab.world.rebootHost(host);
    const r = await cb.json('k8s.remove-node', ['--role', 'worker', '--hostname', host, '--retry-interval', '200ms', '--yes']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.out.result.reset, 'unreachable');
    assert.match(r.stderr, /bad-k8s-worker-4 is unreachable; skipping kubeadm reset/);
    assert.ok(!serverNames(lab).includes(host));
    assert.ok(!(await nodeNames(lab)).includes(host));
  });

  it('a host that never comes back from a forced reboot: exit 1 naming it', async () => {
    const host = 'bad-k8s-worker-3';
    lab.world.faults.hostsNeverReturn = [host];
    // --force: it is a Ready node with pods (hard-resetting one is refused otherwise); 10s is the shortest wait.
    const r = await cb.run('vm.force-reboot', ['--hostname', host, '--timeout', '10s', '--force', '--yes']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /bad-k8s-worker-3/);
    assert.match(r.stderr, /never came back|did not come back|unreachable/i);
    lab.world.faults.hostsNeverReturn = [];
  });
});
