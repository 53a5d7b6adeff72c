// What the node cookbooks refuse, and what they check before they disrupt anything: typos (closest names
// suggested), a node that already exists, a hard reset of a serving node, destructive runs without a
// confirmation, unknown VM settings, a control node whose host key changed, a VM in ERROR (the hint's command
// gets past it), and the drain's finite default deadline. Hints are run as printed.
import { strict as assert } from 'node:assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupTempDirs, runCli, tempDir } from '../../helpers/cli.js';
import { type TestLab, startTestLab } from '../../helpers/lab.js';
import { cordonedNodes, labRunner, nodeNames, serverNames } from '../../helpers/lab-cli.js';
import { nextIndexName } from './node-helpers.js';

/** One change as the --json result lists it. */
interface JsonChange {
  system: string;
  target: string;
}

/** The cookbook command a hint prints (`cookbook NAME ARGS...`, up to the end of the command), as argv. */
function hintCommand(hint: string): string[] {
  const m = /cookbook (\S+((?: --?[a-z-]+(?: [^\s,;()]+)?)*))/.exec(hint);
  assert.ok(m, `the hint gives a command: ${hint}`);
  return m[1]!.trim().split(/\s+/);
}

describe('node cookbooks refuse what the operator cannot have meant, and check before they disrupt', function () {
  this.timeout(300_000);
  let lab: TestLab;
  let cb: ReturnType<typeof labRunner>;
  before(async () => {
    lab = await startTestLab({ clusterName: 'ref', workers: 2, workersNfs: 0, control: 2, ingress: 0, etcd: 0, speed: 60, namespaces: 1 });
    cb = labRunner(lab);
  });
  after(async () => {
    await lab?.stop();
    cleanupTempDirs();
  });

  /** Runs a hint's command as printed, against this lab (inventory and state dir added), with extra flags. */
  const runHint = (hint: string, extra: string[]) => runCli([...hintCommand(hint), '--inventory', lab.stateDir, '--state-dir', tempDir('cc-state-'), ...extra]);
  /** Changes other than the run's own lock Lease. */
  const work = (changes: JsonChange[] | undefined): JsonChange[] => (changes ?? []).filter((c) => !c.target.startsWith('lease/'));

  it('k8s.remove-node --hostname <typo> exits 2 with the closest names and changes nothing', async () => {
    const nodes = await nodeNames(lab);
    const r = await cb.json('k8s.remove-node', ['--role', 'worker', '--hostname', 'ref-k8s-worker-12', '--yes']);
    assert.equal(r.code, 2, r.stderr.slice(-400));
    assert.match(r.stderr, /ref-k8s-worker-12 is not a node, a VM or a host of any earlier run.*did you mean ref-k8s-worker-1/);
    assert.deepEqual(work(r.out.changes), []);
    assert.deepEqual(await nodeNames(lab), nodes);
  });

  it('k8s.add-node --hostname of an existing node exits 2 and creates nothing', async () => {
    const servers = serverNames(lab);
    const r = await cb.json('k8s.add-node', ['--role', 'worker', '--hostname', 'ref-k8s-worker-2']);
    assert.equal(r.code, 2, r.stderr.slice(-400));
    assert.match(r.stderr, /ref-k8s-worker-2 is already a node of cluster ref/);
    assert.deepEqual(work(r.out.changes), []);
    assert.deepEqual(serverNames(lab), servers);
  });

  it('vm.force-reboot of a Ready node running pods is refused with a k8s.reboot command that runs as printed; --force overrides', async () => {
    const host = 'ref-k8s-worker-1';
    const bootBefore = lab.world.hosts.get(host)!.bootId;
    const r = await cb.json('vm.force-reboot', ['--hostname', host, '--yes']);
    assert.equal(r.code, 2, r.stderr.slice(-400));
    assert.match(r.stderr, /is a Ready Kubernetes node running \d+ pod\(s\); refusing to hard-reset it/);
    const hint = r.out.error.hint as string;
    assert.match(hint, /cookbook k8s\.reboot --cluster-name ref --hostname ref-k8s-worker-1/);
    assert.equal(lab.world.hosts.get(host)!.bootId, bootBefore, 'not rebooted');
    const suggested = await runHint(hint, ['--dry-run']);
    assert.notEqual(suggested.code, 2, `the suggested command is valid as printed: ${suggested.stderr.slice(-400)}`);
    const forced = await cb.json('vm.force-reboot', ['--hostname', host, '--force', '--yes', '--timeout', '60s']);
    assert.equal(forced.code, 0, forced.stderr.slice(-400));
    assert.notEqual(lab.world.hosts.get(host)!.bootId, bootBefore, '--force hard-reset it');
  });

  it("vm.delete's refusal names a k8s.remove-node command that runs as printed (with --role)", async () => {
    const r = await cb.json('vm.delete', ['--hostname', 'ref-k8s-worker-2', '--yes']);
    assert.equal(r.code, 2, r.stderr.slice(-400));
    const hint = r.out.error.hint as string;
    assert.match(hint, /cookbook k8s\.remove-node --cluster-name ref --role worker --hostname ref-k8s-worker-2/);
    const suggested = await runHint(hint, ['--dry-run']);
    assert.equal(suggested.code, 0, `the suggested command plans a removal: ${suggested.stderr.slice(-400)}`);
    assert.ok(serverNames(lab).includes('ref-k8s-worker-2'));
  });

  it('a destructive cookbook without --yes and without a TTY exits 4 and changes nothing', async () => {
    const r = await cb.json('k8s.remove-node', ['--role', 'worker', '--hostname', 'ref-k8s-worker-2']);
    assert.equal(r.code, 4, r.stderr.slice(-400));
    assert.deepEqual(work(r.out.changes), []);
    assert.ok((await nodeNames(lab)).includes('ref-k8s-worker-2'));
    assert.deepEqual(await cordonedNodes(lab), []);
  });

  it('k8s.add-node with an unknown --flavor, --image and --network exits 2 naming each, before anything is created', async () => {
    const servers = serverNames(lab);
    const before = lab.counters().openstack_mutations;
    const r = await cb.json('k8s.add-node', ['--role', 'worker', '--flavor', 'lab.mediun', '--image', 'no-such-image', '--network', 'no-such-net', '--yes']);
    assert.equal(r.code, 2, r.stderr.slice(-400));
    assert.match(r.stderr, /--flavor "lab\.mediun" does not exist in OpenStack \(did you mean "lab\.medium"/);
    assert.match(r.stderr, /--image "no-such-image" does not exist/);
    assert.match(r.stderr, /--network "no-such-net" does not exist/);
    assert.equal(lab.counters().openstack_mutations, before, 'no OpenStack write');
    assert.deepEqual(serverNames(lab), servers);
  });

  it('k8s.add-node stops before creating anything when a control node offers a changed host key, naming it', async () => {
    const file = join(lab.stateDir, 'known_hosts');
    const original = readFileSync(file, 'utf8');
    const [c1, c2] = [lab.world.hosts.get('ref-k8s-control-1')!, lab.world.hosts.get('ref-k8s-control-2')!];
    // control-1's entry now holds control-2's key: to us, control-1 offers a different key than recorded.
    writeFileSync(file, original.replace(c1.hostKey.publicBase64, c2.hostKey.publicBase64));
    try {
      const servers = serverNames(lab);
      const r = await cb.run('k8s.add-node', ['--role', 'worker', '--yes']);
      assert.equal(r.code, 1, r.stderr.slice(-400));
      assert.match(r.stderr, /ref-k8s-control-1 offers a host key different from the one recorded.*man in the middle/);
      assert.deepEqual(serverNames(lab), servers, 'no VM was created');
    } finally {
      writeFileSync(file, original);
    }
  });

  it("a VM that ends in ERROR stops add-node with a vm.delete command; after it, the re-run finishes the node", async () => {
    const host = nextIndexName(serverNames(lab), 'ref-k8s-worker');
    lab.world.faults.vmBuildErrors = [host];
    const run = labRunner(lab);
    const r = await run.json('k8s.add-node', ['--role', 'worker', '--yes']);
    assert.equal(r.code, 1, r.stderr.slice(-400));
    const hint = r.out.error.hint as string;
    assert.match(hint, new RegExp(`cookbook vm\\.delete --cluster-name ref --hostname ${host}`));
    lab.world.faults.vmBuildErrors = [];
    const deleted = await runHint(hint, ['--yes']);
    assert.equal(deleted.code, 0, `the hint's command deletes the failed VM: ${deleted.stderr.slice(-400)}`);
    const again = await run.json('k8s.add-node', ['--role', 'worker', '--yes']);
    assert.equal(again.code, 0, again.stderr.slice(-400));
    assert.equal(again.out.result.hostname, host);
    assert.ok((await nodeNames(lab)).includes(host));
  });

  it('k8s.drain waits 15 minutes by default; --timeout 0 still means no limit', async () => {
    const byDefault = await cb.json('k8s.drain', ['--hostname', 'ref-k8s-worker-2', '--delete-emptydir-data', '--dry-run']);
    assert.equal(byDefault.code, 0, byDefault.stderr.slice(-400));
    assert.equal(byDefault.out.args.timeoutMs, 15 * 60_000);
    const unlimited = await cb.json('k8s.drain', ['--hostname', 'ref-k8s-worker-2', '--delete-emptydir-data', '--timeout', '0', '--dry-run']);
    assert.equal(unlimited.code, 0, unlimited.stderr.slice(-400));
    assert.equal(unlimited.out.args.timeoutMs, 0);
  });
});
