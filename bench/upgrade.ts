// How long does k8s.upgrade take for 24 workers 4 at a time against one at a time? One lab at 1.29: the real
// CLI upgrades it to 1.30 with --max-unavailable 1, then the same lab to 1.31 with --max-unavailable 4 (one
// minor each, so each run has exactly one worker phase). The figures are the worker phases (the control node
// goes first in both and is not what the engine schedules); cycle_s is the median cordon-to-uncordon time of the
// 24 workers of the parallel phase, measured in the same run, and lower_bound_s = ceil(24/4) x cycle_s is what
// perfectly packed batches would take: ratio measures the scheduling, as bench/reboot.ts does. Target <= 1.25.
// Prints progress, then as its LAST line one JSON object:
// {"bench":"upgrade","workers":24,"sequential_s":..,"parallel_s":..,"cycle_s":..,"lower_bound_s":..,"ratio":..}
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { $ } from 'zx';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { compiledRoot } from '../lib/core/paths.js';
import { type LabHandle, startLab } from '../lab/index.js';
import { waitSettled } from '../lab/k8s/seed.js';
import type { KObject } from '../lab/k8s/types.js';
import { median, report, round } from './common.js';

const WORKERS = 24;
const PARALLEL = 4;
const SPEED = Number(process.env.BENCH_SPEED ?? 20);

interface Phase {
  seconds: number;
  cycles: number[];
}

/** Spread Deployments with budgets roomy enough for four nodes at once (the packing is tested elsewhere). */
async function workload(lab: LabHandle): Promise<void> {
  const api = lab.kube.api;
  const ns = 'tool-bench';
  const deadline = Date.now() + 60_000;
  const readyNodes = () => [...lab.kube.store.scan(api.res('', 'nodes'))].filter((n) => n.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True')).length;
  while (readyNodes() < WORKERS + 1) {
    if (Date.now() > deadline) throw new Error(`only ${readyNodes()} nodes Ready`);
    await new Promise((r) => setTimeout(r, 10));
  }
  api.create(api.res('', 'namespaces'), undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }, { internal: true });
  const apps: [string, number, Record<string, string>][] = [['web', 24, { maxUnavailable: '33%' }], ['api', 48, { maxUnavailable: '25%' }]];
  for (const [app, replicas, budget] of apps) {
    const selector = { matchLabels: { app } };
    const spec = { containers: [{ name: app, image: `registry.lab.internal/${app}:1`, resources: { requests: { cpu: '50m', memory: '64Mi' } } }] };
    api.create(api.res('apps', 'deployments'), ns, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: app, namespace: ns }, spec: { replicas, selector, template: { metadata: { labels: { app } }, spec } } } as KObject, { internal: true });
    api.create(api.res('policy', 'poddisruptionbudgets'), ns, { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: app, namespace: ns }, spec: { ...budget, selector } } as KObject, { internal: true });
  }
  await waitSettled(lab.world, lab.kube, 60_000);
}

/** One k8s.upgrade run to `to`; returns its worker phase. */
async function upgrade(dir: string, inventory: string, to: string, maxUnavailable: number): Promise<Phase> {
  const bin = join(compiledRoot(), 'bin', 'cookbook.js');
  const args = ['k8s.upgrade', '--cluster-name', 'bench', '--inventory', inventory, '--state-dir', join(dir, 'state'), '--yes', '--json', '--to', to, '--max-unavailable', String(maxUnavailable), '--poll-interval', '100ms', '--retry-interval', '200ms'];
  const r = await $({ nothrow: true, quiet: true, env: { ...process.env, NO_COLOR: '1' } })`${process.execPath} ${bin} ${args}`;
  if (r.exitCode !== 0) throw new Error(`k8s.upgrade --to ${to} --max-unavailable ${maxUnavailable} failed (${r.exitCode}):\n${r.stderr.slice(-3000)}`);
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { result: { steps: { workersMs: number; workers: { done: string[]; cycleMs: { perNode: Record<string, number> } } }[] } };
  const step = out.result.steps.at(-1)!;
  if (step.workers.done.length !== WORKERS) throw new Error(`only ${step.workers.done.length} of ${WORKERS} workers upgraded`);
  return { seconds: step.workersMs / 1000, cycles: Object.values(step.workers.cycleMs.perNode) };
}

async function main(): Promise<void> {
  console.log(`lab speed ${SPEED}, ${WORKERS} workers, 1.29 -> 1.30 one at a time, then 1.30 -> 1.31 ${PARALLEL} at a time`);
  const dir = mkdtempSync(join(tmpdir(), 'cc-bench-upgrade-'));
  const lab = await startLab({ stateDir: join(dir, 'lab'), clusterName: 'bench', workers: WORKERS, workersNfs: 0, ingress: 0, etcd: 0, control: 1, speed: SPEED, seedWorkload: false });
  try {
    await workload(lab);
    const inventory = join(dir, 'inventory');
    const doc = parseYaml(readFileSync(join(lab.stateDir, 'inventory.yaml'), 'utf8')) as Record<string, unknown>;
    doc.lock = { backend: 'file' };
    mkdirSync(inventory, { recursive: true });
    writeFileSync(join(inventory, 'inventory.yaml'), toYaml(doc));
    lab.world.resetCounters();
    const seq = await upgrade(dir, inventory, '1.30', 1);
    console.log(`--max-unavailable 1: workers in ${seq.seconds.toFixed(1)} s, median cycle ${(median(seq.cycles) / 1000).toFixed(2)} s`);
    const par = await upgrade(dir, inventory, '1.31', PARALLEL);
    const cycle = median(par.cycles) / 1000;
    const lower = Math.ceil(WORKERS / PARALLEL) * cycle;
    console.log(`--max-unavailable ${PARALLEL}: workers in ${par.seconds.toFixed(1)} s, median cycle ${cycle.toFixed(2)} s; lower bound ${lower.toFixed(1)} s, ratio ${(par.seconds / lower).toFixed(2)} (target <= 1.25)`);
    report('upgrade', {
      workers: WORKERS,
      sequential_s: round(seq.seconds, 2),
      parallel_s: round(par.seconds, 2),
      cycle_s: round(cycle, 3),
      lower_bound_s: round(lower, 2),
      ratio: round(par.seconds / lower, 3),
      speedup: round(seq.seconds / par.seconds, 2),
      max_unavailable_seen: lab.world.counters.max_unavailable_nodes,
      pdb_violations: lab.world.counters.pdb_violations,
      speed: SPEED,
    });
  } finally {
    await lab.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
