// etcd.backup and etcd.restore-check against the lab's real etcd: a snapshot from one member, verified,
// copied over SFTP with its checksum compared, kept as the newest --keep; restored into a fresh
// single-member etcd it holds the same revision and key count. Schedulable; a dry-run writes nothing.
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { runCaptured } from '../../../lab/ssh/interpreter.js';
import { cleanupTempDirs, runCli, tempDir } from '../../helpers/cli.js';
import { type TestLab, startTestLab } from '../../helpers/lab.js';
import { labRunner } from '../../helpers/lab-cli.js';

describe('etcd.backup and etcd.restore-check on real etcd', function () {
  this.timeout(120_000);
  let lab: TestLab;
  let cb: ReturnType<typeof labRunner>;
  const dir = (): string => join(cb.stateDir, 'backups');
  before(async () => {
    lab = await startTestLab({ clusterName: 'eb', control: 1, workers: 0, workersNfs: 0, ingress: 0, etcd: 3, speed: 60, seedWorkload: false, etcdStart: 'eager' });
    cb = labRunner(lab);
    // 300 keys, some overwritten and some deleted: revision and key count differ, as in a real cluster.
    const client = new Etcd3({ hosts: [1, 2, 3].map((n) => `http://${lab.world.hosts.get(`eb-k8s-etcd-${n}`)!.address}:${lab.etcd!.options.clientPort}`) });
    try {
      await Promise.all(Array.from({ length: 300 }, (_, i) => client.put(`k/${i}`).value(`v${i}`)));
    } finally {
      client.close();
    }
    // Through the host's etcdctl too: an overwrite and two deletions.
    const r = await runCaptured(lab.world.hosts.get('eb-k8s-etcd-1')!, lab.world, 'etcdctl put k/1 again && etcdctl del k/2 && etcdctl del k/3');
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    await lab?.stop();
    cleanupTempDirs();
  });

  it('a dry-run writes nothing: no snapshot on the member, no file here', async () => {
    const ssh = lab.counters().ssh_mutations;
    const r = await cb.json('etcd.backup', ['--to', dir(), '--dry-run']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(lab.counters().ssh_mutations, ssh);
    assert.ok((r.out.changes as { planned: boolean }[]).length >= 2 && (r.out.changes as { planned: boolean }[]).every((c) => c.planned));
    assert.throws(() => readdirSync(dir()), /ENOENT/);
  });

  it('takes a verified snapshot, copies it with a matching sha256 and keeps only the newest --keep', async () => {
    const first = await cb.json('etcd.backup', ['--to', dir(), '--keep', '1']);
    assert.equal(first.code, 0, first.stderr);
    const second = await cb.json('etcd.backup', ['--to', dir(), '--keep', '1', '--fresh']);
    assert.equal(second.code, 0, second.stderr);
    const meta = second.out.result;
    assert.notEqual(meta.file, first.out.result.file, 'a new snapshot');
    assert.deepEqual(readdirSync(dir()).sort(), [meta.file, `${meta.file}.json`], 'only the newest kept, with its metadata');
    const bytes = readFileSync(join(dir(), meta.file));
    assert.equal(createHash('sha256').update(bytes).digest('hex'), meta.sha256, 'the copy is byte for byte the member’s snapshot');
    assert.equal(meta.keys, 298, '300 keys put, 2 deleted');
    assert.ok(meta.status.revision >= 303, `revision ${meta.status.revision} counts every write`);
    for (const h of ['eb-k8s-etcd-1', 'eb-k8s-etcd-2', 'eb-k8s-etcd-3']) {
      const left = [...lab.world.hosts.get(h)!.files.keys()].filter((f) => f.startsWith('/var/backups/cluster-cookbooks/'));
      assert.deepEqual(left, [], `no snapshot left on ${h}`);
    }
  });

  it('restored into a fresh single-member etcd, the snapshot holds the same revision and key count', async () => {
    const [file] = readdirSync(dir()).filter((f) => f.endsWith('.db'));
    const meta = JSON.parse(readFileSync(join(dir(), `${file}.json`), 'utf8'));
    const r = await cb.json('etcd.restore-check', ['--file', join(dir(), file!)]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.out.result.restored, { revision: meta.status.revision, keys: meta.keys });
    assert.equal(r.out.result.ok, true);
  });

  it('a damaged snapshot fails the check', async () => {
    const bad = join(tempDir('cc-bad-'), 'bad.db');
    writeFileSync(bad, 'not a bolt database');
    const r = await cb.json('etcd.restore-check', ['--file', bad]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /does not verify/);
  });

  it('is schedulable: schedule install writes a timer running etcd.backup with its arguments', async () => {
    const units = tempDir('cc-units-');
    const r = await runCli(['schedule', 'install', 'etcd.backup', '--on-calendar', '*-*-* 03:00', '--unit-dir', units, '--', '--cluster-name', 'eb', '--inventory', lab.stateDir, '--to', dir(), '--keep', '14']);
    assert.equal(r.code, 0, r.stderr);
    const service = readdirSync(units).find((f) => f.endsWith('.service'))!;
    const exec = /^ExecStart=(.*)$/m.exec(readFileSync(join(units, service), 'utf8'))![1]!;
    assert.match(exec, /etcd\.backup/);
    assert.match(exec, /--keep.*14/);
  });
});
