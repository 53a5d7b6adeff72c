// k8s.reboot with a real Prometheus Alertmanager (scripts/servers/alertmanager.ts) in front of a lab cluster:
// a firing alert matching --block-on-alert holds the whole rollout until it resolves; a `{node}` matcher holds
// only the node the alert is about; every node's alerts are silenced while it reboots and the silence is
// expired once it is done. The test plays Prometheus by posting alerts.
import { strict as assert } from 'node:assert';
import { type AlertmanagerServer, startAlertmanager } from '../../../scripts/servers/alertmanager.js';
import type { Silence } from '../../../lib/alerting/index.js';
import { cleanupTempDirs, startCli, tempDir, waitForOutput } from '../../helpers/cli.js';
import type { TestLab } from '../../helpers/lab.js';
import { bootIds, cordonedNodes, createWorkload, inventoryFor, rebootArgs, resultOf, startRebootLab, workerNames } from '../../cookbooks/k8s/reboot-helpers.js';

async function postAlert(am: AlertmanagerServer, labels: Record<string, string>, endsAt?: Date): Promise<void> {
  const res = await fetch(`${am.url}/api/v2/alerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify([{ labels, annotations: { summary: 'test' }, ...(endsAt ? { endsAt: endsAt.toISOString() } : {}) }]),
  });
  assert.equal(res.status, 200, await res.text());
}

async function activeAlertNames(am: AlertmanagerServer): Promise<string[]> {
  const res = await fetch(`${am.url}/api/v2/alerts?active=true&silenced=false`);
  return ((await res.json()) as { labels: Record<string, string> }[]).map((a) => a.labels.alertname!);
}

async function silences(am: AlertmanagerServer): Promise<Silence[]> {
  return (await (await fetch(`${am.url}/api/v2/silences`)).json()) as Silence[];
}

async function eventually(probe: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  for (const until = Date.now() + timeoutMs; !(await probe()); ) {
    assert.ok(Date.now() < until, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('k8s.reboot with a real Alertmanager', function () {
  this.timeout(120_000);
  let am: AlertmanagerServer;
  let lab: TestLab;
  let inventory: string;
  let workers: string[];

  before(async () => {
    am = await startAlertmanager();
    lab = await startRebootLab(3);
    await createWorkload(lab, 'tool-am', [{ name: 'web', replicas: 3, pdb: { maxUnavailable: 1 } }]);
    workers = workerNames(lab);
    inventory = inventoryFor(lab, { fileLock: true, alertmanager: am.url });
  });
  after(async () => {
    await lab?.stop();
    await am?.stop();
    cleanupTempDirs();
  });

  it('a firing blocking alert holds the rollout until it resolves; each node is silenced while it reboots', async () => {
    const blocker = { alertname: 'DatacenterMaintenance', severity: 'critical' };
    await postAlert(am, blocker);
    await eventually(async () => (await activeAlertNames(am)).includes('DatacenterMaintenance'), 'the alert to fire');
    const before = bootIds(lab);
    const p = startCli(rebootArgs(inventory, tempDir('cc-state-'), ['--all-workers', '--block-on-alert', 'severity=critical', '--json']), { timeoutMs: 90_000 });
    let finished = false;
    void p.then(() => (finished = true));
    await waitForOutput(p, /waiting - alert DatacenterMaintenance\{severity=critical\}/);
    // Held: for a good while nothing is cordoned, rebooted or silenced.
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(cordonedNodes(lab), []);
    assert.deepEqual(bootIds(lab), before);
    assert.deepEqual(await silences(am), []);
    assert.equal(finished, false, 'still running');

    await postAlert(am, blocker, new Date(Date.now() - 1000));
    const r = await p;
    assert.equal(r.exitCode, 0, r.stderr.slice(-3000));
    const out = resultOf(r.stdout).result!;
    assert.deepEqual([...out.done].sort(), [...workers].sort());
    for (const w of workers) assert.notEqual(bootIds(lab)[w], before[w]);
    // One silence per node, matching its instance label, expired once the node was done.
    const list = await silences(am);
    for (const w of workers) {
      const s = list.filter((x) => x.comment.includes(`k8s.reboot of ${w} `));
      assert.equal(s.length, 1, `one silence for ${w}`);
      assert.equal(s[0]!.status.state, 'expired');
      assert.deepEqual(
        s[0]!.matchers.map((m) => [m.name, m.value, m.isRegex]),
        [['instance', `(${w}|${w}\\.lab\\.internal)(:\\d+)?`, true]],
      );
    }
  });

  it('a {node} matcher holds only the node the alert is about; the others go on', async () => {
    const [w1, w2, w3] = workers as [string, string, string];
    const alert = { alertname: 'DiskFailing', severity: 'warning', instance: `${w2}:9100` };
    await postAlert(am, alert);
    await eventually(async () => (await activeAlertNames(am)).includes('DiskFailing'), 'the alert to fire');
    const before = bootIds(lab);
    const p = startCli(rebootArgs(inventory, tempDir('cc-state-'), ['--all-workers', '--block-on-alert', 'alertname=DiskFailing,instance=~"{node}(:[0-9]+)?"', '--json']), { timeoutMs: 90_000 });
    await waitForOutput(p, new RegExp(`${w2}: waiting - alert DiskFailing`));
    // The two others are rebooted while w2 waits.
    await eventually(async () => bootIds(lab)[w1] !== before[w1] && bootIds(lab)[w3] !== before[w3] && cordonedNodes(lab).length === 0, `${w1} and ${w3} rebooted`, 30_000);
    assert.equal(bootIds(lab)[w2], before[w2], `${w2} held`);
    await postAlert(am, alert, new Date(Date.now() - 1000));
    const r = await p;
    assert.equal(r.exitCode, 0, r.stderr.slice(-3000));
    assert.equal(resultOf(r.stdout).result!.started.at(-1), w2, `${w2} went last`);
    assert.notEqual(bootIds(lab)[w2], before[w2]);
  });
});
