// k8s.reboot against the lab (black box: the real CLI as a child process): 12 workers with Deployments
// spread across them under PDBs, --max-unavailable 3. The dry-run plans the exact order and batches without
// a single mutation; the real run starts the planned first batch, gives every worker a new boot id, never
// has more than 3 nodes unschedulable or NotReady, violates no PDB, keeps every workload at or above its
// budget's minimum (evicted pods recover before more are taken), leaves nothing cordoned, and writes a
// report with one bar per node.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { cleanupTempDirs, runCli, tempDir } from '../../helpers/cli.js';
import type { TestLab } from '../../helpers/lab.js';
import {
  bootIds,
  checkReportHtml,
  cordonedNodes,
  createWorkload,
  inventoryFor,
  podsOn,
  readyReplicas,
  rebootArgs,
  resultOf,
  startRebootLab,
  workerNames,
} from './reboot-helpers.js';

const NS = 'tool-spread';
// Budgets: web allows 3 disruptions, api 1, cache 1: the planner has to pack nodes around api and cache.
const APPS = [
  { name: 'web', replicas: 12, pdb: { maxUnavailable: 3 }, min: 9 },
  { name: 'api', replicas: 6, pdb: { minAvailable: 5 }, min: 5 },
  { name: 'cache', replicas: 4, pdb: { maxUnavailable: 1 }, min: 3 },
];

describe('k8s.reboot: rolling reboot of 12 workers, 3 at a time (lab)', function () {
  this.timeout(180_000);
  let lab: TestLab;
  let inventory: string;
  let state: string;
  let workers: string[];
  let plan: { order: string[]; batches: string[][]; predictedMs: number; stuck: unknown[] };
  const hostsOf = (app: string): Set<string> => new Set(workers.filter((w) => podsOn(lab, w).some((p) => p.metadata.labels?.app === app && p.metadata.namespace === NS)));

  before(async () => {
    lab = await startRebootLab(12);
    await createWorkload(lab, NS, APPS);
    workers = workerNames(lab);
    assert.equal(workers.length, 12);
    inventory = inventoryFor(lab);
    state = tempDir('cc-state-');
  });
  after(async () => {
    await lab?.stop();
    cleanupTempDirs();
  });

  it('--dry-run plans the exact order and batches, respecting the limit and the PDBs, with zero mutations', async () => {
    lab.world.resetCounters();
    const before = bootIds(lab);
    const r = await runCli(rebootArgs(inventory, state, ['--all-workers', '--max-unavailable', '3', '--dry-run', '--json']));
    assert.equal(r.code, 0, r.stderr);
    const out = resultOf(r.stdout);
    assert.deepEqual(out.verdict, { outcome: 'would-succeed', problems: [] }, 'nothing would fail or hold');
    plan = out.result!.plan!;
    const c = lab.counters();
    assert.deepEqual([c.k8s_mutations, c.ssh_mutations, c.openstack_mutations], [0, 0, 0], 'no mutation reached the lab');
    assert.deepEqual(bootIds(lab), before);
    assert.deepEqual([...plan.order].sort(), [...workers].sort(), 'every worker once');
    assert.deepEqual(plan.batches.flat(), plan.order);
    assert.deepEqual(plan.stuck, []);
    const api = hostsOf('api');
    const cache = hostsOf('cache');
    for (const b of plan.batches) {
      assert.ok(b.length >= 1 && b.length <= 3, `batch ${b.join(',')} within max-unavailable 3`);
      assert.ok(b.filter((n) => api.has(n)).length <= 1, `batch ${b.join(',')} disrupts api at most once`);
      assert.ok(b.filter((n) => cache.has(n)).length <= 1, `batch ${b.join(',')} disrupts cache at most once`);
    }
    assert.equal(plan.batches[0]!.length, 3, 'the first batch is full');
    // The plan is printed for humans too, and every step each node would take is planned, none performed.
    const human = await runCli(rebootArgs(inventory, state, ['--all-workers', '--max-unavailable', '3', '--dry-run']));
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, new RegExp(`batch 1 at \\+0ms: ${plan.batches[0]!.join(', ')}`));
    assert.match(human.stdout, /WOULD SUCCEED/);
    assert.ok(out.changes.every((ch) => ch.planned));
    for (const w of workers) {
      for (const action of ['cordon', 'reboot', 'uncordon']) {
        assert.ok(out.changes.some((ch) => ch.action === action && ch.target.endsWith(w)), `${action} ${w} planned`);
      }
    }
  });

  it('reboots every worker, never more than 3 unavailable, no PDB violation, workloads above their budgets, nothing left cordoned', async () => {
    const before = bootIds(lab);
    lab.world.resetCounters();
    // Sample the workloads while the rollout runs: none may ever drop below its PDB's minimum.
    const lowest = new Map(APPS.map((a) => [a.name, a.replicas]));
    const sampler = setInterval(() => {
      for (const a of APPS) lowest.set(a.name, Math.min(lowest.get(a.name)!, readyReplicas(lab, NS, a.name)));
    }, 5);
    const report = join(tempDir('cc-report-'), 'reboot.html');
    const started = Date.now();
    let r;
    try {
      r = await runCli(rebootArgs(inventory, state, ['--all-workers', '--max-unavailable', '3', '--report', report, '--json', '--reason', 'kernel update <T123>', '--task-id', 'T123']), { timeoutMs: 150_000 });
    } finally {
      clearInterval(sampler);
    }
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    const out = resultOf(r.stdout).result!;
    const after = bootIds(lab);
    for (const w of workers) assert.notEqual(after[w], before[w], `${w} has a new boot id`);
    const control = Object.keys(before).find((h) => h.includes('control'))!;
    assert.equal(after[control], before[control], 'the control node was not selected');
    const c = lab.counters();
    assert.ok(c.max_unavailable_nodes <= 3, `max unavailable ${c.max_unavailable_nodes} <= 3`);
    assert.ok(c.max_unavailable_nodes >= 2, `nodes did go in parallel (max ${c.max_unavailable_nodes})`);
    assert.equal(c.pdb_violations, 0);
    assert.deepEqual(cordonedNodes(lab), []);
    for (const a of APPS) {
      assert.ok(lowest.get(a.name)! >= a.min, `${a.name} never fell below ${a.min} ready (lowest ${lowest.get(a.name)})`);
      assert.equal(readyReplicas(lab, NS, a.name), a.replicas, `${a.name} fully back`);
    }
    // The real run starts exactly the batch the dry-run planned.
    assert.deepEqual(out.started.slice(0, plan.batches[0]!.length), plan.batches[0]);
    assert.deepEqual([...out.done].sort(), [...workers].sort());
    assert.deepEqual(out.remaining, []);
    assert.equal(out.rollout.complete, true);
    assert.ok(out.cycleMs.median! > 0 && Object.keys(out.cycleMs.perNode).length === 12);
    // Each node waited for its evicted workloads before it counted as done.
    const steps = resultOf(r.stdout).steps;
    for (const w of workers) assert.ok(steps.some((s) => s.name === `wait workloads of ${w}` && (s.status === 'done' || s.status === 'skipped')), `recovery of ${w} checked`);
    console.log(`      12 workers in ${((Date.now() - started) / 1000).toFixed(1)} s (median cycle ${(out.cycleMs.median! / 1000).toFixed(2)} s, max unavailable ${c.max_unavailable_nodes})`);

    // The report: valid, self-contained, one bar per node with its phases.
    const html = readFileSync(report, 'utf8');
    const elements = checkReportHtml(html);
    const bars = elements.filter((e) => e.tag === 'g' && (e.attrs.class ?? '').split(' ').includes('bar'));
    assert.deepEqual(bars.map((b) => b.attrs['data-node']).sort(), [...workers].sort(), 'one bar per node');
    assert.ok(bars.every((b) => b.attrs['data-status'] === 'rebooted'));
    const segs = elements.filter((e) => e.tag === 'rect' && e.attrs['data-phase']);
    for (const phase of ['cordon', 'drain', 'reboot', 'wait-ready', 'uncordon', 'recover']) {
      assert.ok(segs.filter((s) => s.attrs['data-phase'] === phase).length >= 12, `every bar has a ${phase} segment`);
    }
    assert.equal((html.match(/<tr>/g) ?? []).length, 13, 'a header row and one row per node in the table');
    assert.match(html, /Complete/);
    // The audit trail: who, why and with which arguments (escaped, so the reason's markup stays text).
    const dd = (k: string): string | undefined => new RegExp(`<dd class="audit-${k}">([^<]*)</dd>`).exec(html)?.[1];
    assert.equal(dd('reason'), 'kernel update &lt;T123&gt;');
    assert.equal(dd('task'), 'T123');
    assert.equal(dd('operator'), `${userInfo().username}@${hostname()}`);
    assert.match(dd('arguments') ?? '', /clusterName=\S+ selection=\{&quot;allWorkers&quot;:true\}/);
  });

  it('a second run with the same selection begins a new rollout (the last one is complete)', async () => {
    const r = await runCli(rebootArgs(inventory, state, ['--hostname', workers[0]!, '--json']));
    assert.equal(r.code, 0, r.stderr.slice(-2000));
    const out = resultOf(r.stdout).result!;
    assert.equal(out.rollout.continued, false);
    assert.deepEqual(out.done, [workers[0]]);
  });
});
