// `cookbook lab snapshot` and `cookbook lab up --from-snapshot` through the real CLI: bad input exits 2 and
// writes nothing; a snapshot file is 0600 and readable; a twin daemon starts from it with the same hosts.
import { strict as assert } from 'node:assert';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'mocha';
import { readSnapshotFile } from '../../lib/twin/file.js';
import { LabClient } from '../../lab/client.js';
import { Gate } from '../../lib/core/gate.js';
import { MemoryLog } from '../../lib/core/log.js';
import { kubeFromFile } from '../../lib/k8s/index.js';
import { stopLab } from '../../lab/stop.js';
import { type TestLab, startTestLab } from '../helpers/lab.js';
import { runCli, tempDir } from '../helpers/cli.js';

const HOSTS = [
  { name: 'clitw-k8s-control-1', role: 'control' },
  { name: 'clitw-k8s-worker-1', role: 'worker' },
  { name: 'clitw-k8s-worker-5', role: 'worker' },
];

describe('twin: cookbook lab snapshot and lab up --from-snapshot', function () {
  this.timeout(180_000);
  let lab: TestLab;
  // Made when the suite starts, not when the file loads: another suite's cleanup must not remove them first.
  let dir: string;
  let state: string;

  before(async () => {
    dir = tempDir('cc-twin-cli-');
    state = tempDir('cc-twin-cli-state-');
    lab = await startTestLab({ clusterName: 'clitw', hosts: HOSTS, speed: 50 });
  });
  after(async () => lab?.stop());

  it('exits 2 on bad input and writes nothing', async () => {
    const none = await runCli(['lab', 'snapshot', '--inventory', lab.stateDir]);
    assert.equal(none.code, 2, none.stderr);
    assert.match(none.stderr, /--cluster-name/);
    const before_ = lab.counters().requests.k8s;
    const bad = await runCli(['lab', 'snapshot', '--cluster-name', 'clitw', '--inventory', lab.stateDir, '--out', join(dir, 'missing-dir', 'x.json')]);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /--out .*missing-dir/);
    assert.equal(lab.counters().requests.k8s, before_, 'nothing was read before the input was checked');
    writeFileSync(join(dir, 'not-a-snapshot.json'), '{"format": 7}');
    const wrong = await runCli(['lab', 'up', '--from-snapshot', join(dir, 'not-a-snapshot.json'), '--state-dir', join(dir, 'never')]);
    assert.equal(wrong.code, 2, wrong.stderr);
    assert.match(wrong.stderr, /format 7/);
    assert.equal(existsSync(join(dir, 'never')), false);
    assert.deepEqual(readdirSync(dir).sort(), ['not-a-snapshot.json']);
  });

  it('writes a 0600 snapshot and starts a twin daemon from it', async () => {
    const file = join(dir, 'clitw.json');
    const r = await runCli(['lab', 'snapshot', '--cluster-name', 'clitw', '--inventory', lab.stateDir, '--state-dir', state, '--out', file, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { file: string; nodes: number; pods: number; timings: Record<string, { source: string }> };
    assert.equal(out.file, file);
    assert.equal(out.nodes, 3);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const snap = readSnapshotFile(file);
    assert.equal(snap.pods.length, out.pods);

    const twinDir = join(dir, 'twin');
    const up = await runCli(['lab', 'up', '--from-snapshot', file, '--state-dir', twinDir, '--speed', '50', '--json']);
    try {
      assert.equal(up.code, 0, up.stderr);
      const info = JSON.parse(up.stdout) as { clusterName: string; hosts: { name: string; role: string }[] };
      assert.equal(info.clusterName, 'clitw');
      assert.deepEqual(info.hosts.map((h) => `${h.name}:${h.role}`).sort(), HOSTS.map((h) => `${h.name}:${h.role}`).sort());
      const status = await LabClient.fromStateDir(twinDir).status();
      assert.equal(status.hosts.find((h) => h.name === 'clitw-k8s-worker-5')?.kubelet.joined, true);
      // Healthy although its cluster has no etcd host (an eager etcd start without members would fail /readyz).
      const kube = kubeFromFile(join(twinDir, 'kubeconfig'), { gate: new Gate({ dryRun: true }), log: new MemoryLog() });
      try {
        assert.equal(await kube.readyz(), true);
      } finally {
        await kube.close();
      }
    } finally {
      assert.equal((await stopLab('clitw', twinDir, { stderr: () => {} })).wasRunning, true);
    }
  });
});
