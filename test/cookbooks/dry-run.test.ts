// --dry-run of every mutating cookbook: zero mutating requests reach the lab (Kubernetes, OpenStack, SSH
// counters), and the mutations it plans are exactly the mutations the real run then performs on the same lab
// (same system, action and target, in the same order), which must be at least one, seen by the lab's counters.
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { compiledRoot } from '../../lib/core/paths.js';
import type { LabOptions } from '../../lab/index.js';
import { discover } from '../../lib/runner/discovery.js';
import { cleanupTempDirs, tempDir } from '../helpers/cli.js';
import { type TestLab, startTestLab } from '../helpers/lab.js';
import { labRunner } from '../helpers/lab-cli.js';
import { exampleDirFor } from '../component/example-repo.js';

/** One change as the `--json` result lists it. */
interface JsonChange {
  system: string;
  action: string;
  target: string;
  planned: boolean;
  detail?: Record<string, unknown>;
}

/** One mutating cookbook run: dry-run first, then for real. */
interface Row {
  title: string;
  cookbook: string;
  args: string[];
  /**
   * Runs on the lab the previous row left (whose real run made the state this row needs: a VM, a cordon),
   * instead of a fresh one: saves a setup run per row.
   */
  continues?: boolean;
  /**
   * A rollout over several nodes evicts, from each later node, the pods the scheduler moved there while earlier
   * nodes drained: those pod names exist only at run time. For such rows a node's evictions are compared as one
   * "evict pods" entry, and every pod the plan names must still be among the real evictions.
   */
  evictionsKnownAtRunTime?: boolean;
  /** Lab options of this row's fresh lab (merged over LAB), e.g. real etcd members. */
  lab?: Partial<LabOptions>;
}

const LAB: LabOptions = { clusterName: 'dry', workers: 3, workersNfs: 1, control: 1, ingress: 0, etcd: 0, speed: 100, namespaces: 1 };
/** Real etcd members (Debian etcd), started with the lab. */
const ETCD_LAB: Partial<LabOptions> = { etcd: 3, etcdStart: 'eager', seedWorkload: false };
const ETCD_BACKUP_DIR = join(tempDir('cc-dry-etcd-'), 'backups');

const rows: Row[] = [
  { title: 'k8s.add-node of a worker', cookbook: 'k8s.add-node', args: ['--role', 'worker'] },
  { title: 'k8s.add-node of a control node', cookbook: 'k8s.add-node', args: ['--role', 'control'] },
  { title: 'k8s.remove-node', cookbook: 'k8s.remove-node', args: ['--role', 'worker', '--hostname', 'dry-k8s-worker-3', '--retry-interval', '200ms'] },
  { title: 'k8s.replace-node', cookbook: 'k8s.replace-node', args: ['--hostname', 'dry-k8s-worker-2', '--retry-interval', '200ms'] },
  {
    title: 'k8s.reboot of two workers',
    cookbook: 'k8s.reboot',
    args: ['--hostname', 'dry-k8s-worker-1,dry-k8s-worker-2', '--delete-emptydir-data', '--poll-interval', '200ms', '--retry-interval', '200ms'],
    evictionsKnownAtRunTime: true,
  },
  { title: 'k8s.cordon', cookbook: 'k8s.cordon', args: ['--hostname', 'dry-k8s-worker-1'] },
  { title: 'k8s.uncordon of the node k8s.cordon cordoned', cookbook: 'k8s.uncordon', args: ['--hostname', 'dry-k8s-worker-1'], continues: true },
  {
    title: 'k8s.drain',
    cookbook: 'k8s.drain',
    args: ['--hostname', 'dry-k8s-worker-1', '--delete-emptydir-data', '--retry-interval', '200ms', '--timeout', '60s'],
    continues: true,
  },
  { title: 'vm.create', cookbook: 'vm.create', args: ['--role', 'worker', '--hostname', 'dry-k8s-worker-8'] },
  { title: 'vm.force-reboot of the VM vm.create made (not a node)', cookbook: 'vm.force-reboot', args: ['--hostname', 'dry-k8s-worker-8'], continues: true },
  { title: 'vm.delete of the VM vm.create made (not a node)', cookbook: 'vm.delete', args: ['--hostname', 'dry-k8s-worker-8'], continues: true },
  { title: 'k8s.certs.renew of the control node (static pods restarted)', cookbook: 'k8s.certs.renew', args: ['--hostname', 'dry-k8s-control-1'], continues: true },
  {
    title: 'k8s.roll-nodes of one worker to another image',
    cookbook: 'k8s.roll-nodes',
    args: ['--role', 'worker', '--hostname', 'dry-k8s-worker-3', '--image', 'debian-11-bullseye', '--retry-interval', '200ms'],
    evictionsKnownAtRunTime: true,
  },
  // One object at a time: concurrent applies finish (and are recorded) in any order.
  { title: 'component.deploy of the example web component', cookbook: 'component.deploy', args: ['--component', 'web', '--repo', exampleDirFor(['dry']), '--concurrency', '1'] },
  { title: 'component.rollback to the revision component.deploy made', cookbook: 'component.rollback', args: ['--component', 'web', '--to-revision', '1'], continues: true },
  // etcd: a lab with three real members (the rows build on each other: add, then remove, then replace).
  { title: 'etcd.backup', cookbook: 'etcd.backup', args: ['--to', ETCD_BACKUP_DIR], lab: ETCD_LAB },
  { title: 'etcd.add-member (learner, promote, apiservers)', cookbook: 'etcd.add-member', args: [], continues: true },
  { title: 'etcd.remove-member of a first member', cookbook: 'etcd.remove-member', args: ['--hostname', 'dry-k8s-etcd-1'], continues: true },
  { title: 'etcd.replace-member of a healthy member (add first)', cookbook: 'etcd.replace-member', args: ['--hostname', 'dry-k8s-etcd-2'], continues: true },
  { title: 'k8s.upgrade to the next minor', cookbook: 'k8s.upgrade', args: ['--to', '1.30', '--poll-interval', '200ms', '--retry-interval', '200ms'], evictionsKnownAtRunTime: true, lab: { workers: 2, workersNfs: 0, seedWorkload: false } },
  // Stacked etcd (no etcd hosts): an odd count; two control nodes, one at a time, each after a preflight,
  // listed on the lab's real HAProxy (config edit, haproxy -c, reload) once its /readyz passes.
  { title: 'k8s.control-plane.resize 1 → 3 behind HAProxy', cookbook: 'k8s.control-plane.resize', args: ['--count', '3'], lab: { loadbalancer: 1 } },
];

/** Built-in cookbooks that only read: every other one needs a row above. */
const READ_ONLY = ['history', 'inventory.show', 'etcd.status', 'etcd.restore-check', 'component.status', 'component.history', 'component.diff', 'component.test', 'k8s.certs.check'];

/** Lab counter that sees a change of this system. */
const COUNTER = { k8s: 'k8s_mutations', openstack: 'openstack_mutations', remote: 'ssh_mutations' } as const;

/**
 * The comparable form of a change list: `system | action | target`, the run's own lock left out. A drain evicts
 * its pods concurrently, so each run of consecutive evictions is compared in name order (or, when the pods
 * are known only at run time, as one entry).
 */
function mutationList(changes: JsonChange[], groupEvictions: boolean): string[] {
  // The lock Lease is the run's bookkeeping, not the cookbook's work, and a dry-run takes no lock.
  const work = changes.filter((c) => !(c.system === 'k8s' && c.target.startsWith('lease/')));
  const out: string[] = [];
  let evictions: string[] = [];
  const flush = (): void => {
    if (evictions.length) out.push(...(groupEvictions ? ['k8s | evict pods'] : evictions.sort()));
    evictions = [];
  };
  let previous = '';
  for (const c of work) {
    // The same command sent again right after a refusal that changed nothing is one mutation: etcd refuses a
    // reconfiguration for 5 s after a member starts ("unhealthy cluster") and a promote until the learner caught
    // up, and the run repeats the identical etcdctl until it is accepted; a dry-run plans it once.
    const key = `${c.system}|${c.action}|${c.target}|${JSON.stringify(c.detail ?? {})}`;
    const repeated = key === previous && c.detail !== undefined;
    previous = key;
    if (repeated) continue;
    if (c.system === 'k8s' && c.action === 'evict pod') {
      evictions.push(`${c.system} | ${c.action} | ${c.target}`);
      continue;
    }
    flush();
    out.push(`${c.system} | ${c.action} | ${c.target}`);
  }
  flush();
  return out;
}

describe('dry-run of every mutating cookbook plans exactly the mutations the real run performs', function () {
  this.timeout(120_000);
  let lab: TestLab | undefined;
  after(async () => {
    await lab?.stop();
    cleanupTempDirs();
  });

  it('has a row for every built-in cookbook that can change something', () => {
    const builtin = discover([{ dir: join(compiledRoot(), 'cookbooks'), origin: 'builtin' }]).map((c) => c.name);
    assert.ok(builtin.length > READ_ONLY.length, `cookbooks found in ${join(compiledRoot(), 'cookbooks')}`);
    const mutating = builtin.filter((n) => !READ_ONLY.includes(n)).sort();
    assert.deepEqual([...new Set(rows.map((r) => r.cookbook))].sort(), mutating, 'add a row (or list a read-only cookbook in READ_ONLY)');
  });

  const mutations = (l: TestLab): number[] => [l.counters().k8s_mutations, l.counters().openstack_mutations, l.counters().ssh_mutations];

  for (const row of rows) {
    it(`${row.title}: the same mutations planned and performed, none while planning`, async () => {
      if (!row.continues || !lab) {
        await lab?.stop();
        lab = await startTestLab({ ...LAB, ...row.lab });
      }
      const l = lab;
      const cb = labRunner(l);

      const before = mutations(l);
      const dry = await cb.json(row.cookbook, [...row.args, '--yes', '--dry-run']);
      assert.equal(dry.code, 0, dry.stderr);
      assert.equal(dry.out.dryRun, true);
      assert.deepEqual(mutations(l), before, 'no mutating request reached the lab while planning');
      const plannedChanges = dry.out.changes as JsonChange[];
      assert.ok(plannedChanges.every((c) => c.planned), 'every change of a dry-run is marked planned');

      const counters = { ...l.counters() };
      const real = await cb.json(row.cookbook, [...row.args, '--yes']);
      assert.equal(real.code, 0, real.stderr);
      const realChanges = real.out.changes as JsonChange[];
      assert.ok(realChanges.every((c) => !c.planned), 'every change of a real run is marked performed');

      const performed = mutationList(realChanges, !!row.evictionsKnownAtRunTime);
      assert.ok(performed.length > 0, 'the real run changed something');
      // The lab saw at least as many mutating requests per protocol as the run reports changes (so the list
      // above is not just words: the lab changed).
      for (const [system, counter] of Object.entries(COUNTER)) {
        const reported = realChanges.filter((c) => c.system === system && !c.target.startsWith('lease/')).length;
        const seen = l.counters()[counter] - counters[counter];
        assert.ok(seen >= reported, `${system}: the lab counted ${seen} mutating requests for ${reported} reported changes`);
      }
      assert.deepEqual(mutationList(plannedChanges, !!row.evictionsKnownAtRunTime), performed, 'planned mutations = performed mutations, in order');
      if (row.evictionsKnownAtRunTime) {
        const evicted = new Set(realChanges.filter((c) => c.action === 'evict pod').map((c) => c.target));
        for (const c of plannedChanges.filter((p) => p.action === 'evict pod')) assert.ok(evicted.has(c.target), `planned eviction of ${c.target} was performed`);
      }
      const stepNames = (steps: { name: string }[]): string[] => steps.map((s) => s.name);
      assert.deepEqual(stepNames(dry.out.steps), stepNames(real.out.steps), 'planned steps = performed steps');
    });
  }
});
