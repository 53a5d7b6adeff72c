// How much faster is a rolling reboot of 24 workers 4 at a time than today's one at a time? Two fresh labs
// (same speed, same workload: Deployments spread over every worker under PDBs roomy enough for 4 at once), the
// real CLI run once with --max-unavailable 1 and once with --max-unavailable 4.
// cycle_s is the median cordon-to-uncordon time of the 24 node cycles of the parallel run: the lower bound
// ceil(24/4) x cycle_s is what perfectly packed batches of those cycles would take, so ratio measures the
// scheduling (gaps between nodes, stragglers, start and end). On a small machine four nodes at once also make
// each cycle slower (the lab and the CLI share the cores): cycle_single_s (the sequential run's median) and
// ratio_single show that effect separately. Target: ratio <= 1.25.
// Prints progress, then as its LAST line one JSON object:
// {"bench":"reboot","workers":24,"sequential_s":..,"parallel_s":..,"cycle_s":..,"lower_bound_s":..,"ratio":..,...}
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { $ } from 'zx';
import { stringify, parse } from 'yaml';
import { compiledRoot } from '../lib/core/paths.js';
import { startLab } from '../lab/index.js';
import { waitSettled } from '../lab/k8s/seed.js';
import type { KObject } from '../lab/k8s/types.js';
import { median, report, round } from './common.js';

const WORKERS = 24;
const SPEED = Number(process.env.BENCH_SPEED ?? 20);
const PARALLEL = 4;

interface RunFigures {
  seconds: number;
  cycles: number[];
  maxUnavailable: number;
  pdbViolations: number;
}

/** A fresh lab, a spread workload, one k8s.reboot run with the given concurrency. */
async function rollout(maxUnavailable: number): Promise<RunFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'cc-bench-reboot-'));
  const lab = await startLab({ stateDir: join(dir, 'lab'), clusterName: 'bench', workers: WORKERS, workersNfs: 0, ingress: 0, etcd: 0, control: 1, speed: SPEED, seedWorkload: false });
  try {
    const api = lab.kube.api;
    for (let i = 0; ; i++) {
      const ready = [...lab.kube.store.scan(api.res('', 'nodes'))].filter((n) => n.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True')).length;
      if (ready === WORKERS + 1) break;
      if (i > 3000) throw new Error(`only ${ready} nodes Ready`);
      await new Promise((r) => setTimeout(r, 10));
    }
    api.create(api.res('', 'namespaces'), undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'tool-bench' } }, { internal: true });
    for (const [name, replicas, pdb] of [
      // Budgets roomy enough for 4 nodes at once even when replacements pile two pods of a kind on one node:
      // the bench measures the orchestration, the planner's PDB packing is tested elsewhere.
      ['web', 24, { maxUnavailable: '33%' }],
      ['api', 48, { maxUnavailable: '25%' }],
    ] as const) {
      const labels = { app: name };
      const container = { name, image: `registry.lab.internal/${name}:1`, resources: { requests: { cpu: '50m', memory: '64Mi' } } };
      api.create(api.res('apps', 'deployments'), 'tool-bench', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: 'tool-bench' }, spec: { replicas, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [container] } } } } as KObject, { internal: true });
      api.create(api.res('policy', 'poddisruptionbudgets'), 'tool-bench', { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name, namespace: 'tool-bench' }, spec: { ...pdb, selector: { matchLabels: labels } } } as KObject, { internal: true });
    }
    await waitSettled(lab.world, lab.kube, 60_000);
    const inv = join(dir, 'inventory');
    const doc = parse(readFileSync(join(lab.stateDir, 'inventory.yaml'), 'utf8')) as Record<string, unknown>;
    doc.lock = { backend: 'file' };
    $.sync`mkdir -p ${inv}`;
    writeFileSync(join(inv, 'inventory.yaml'), stringify(doc));
    lab.world.resetCounters();
    const bin = join(compiledRoot(), 'bin', 'cookbook.js');
    const args = ['k8s.reboot', '--cluster-name', 'bench', '--inventory', inv, '--state-dir', join(dir, 'state'), '--yes', '--json', '--all-workers', '--max-unavailable', String(maxUnavailable), '--poll-interval', '100ms', '--retry-interval', '200ms'];
    const r = await $({ nothrow: true, quiet: true, env: { ...process.env, NO_COLOR: '1' } })`${process.execPath} ${bin} ${args}`;
    if (r.exitCode !== 0) throw new Error(`k8s.reboot --max-unavailable ${maxUnavailable} failed (${r.exitCode}):\n${r.stderr.slice(-3000)}`);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { durationMs: number; result: { done: string[]; cycleMs: { perNode: Record<string, number> } } };
    if (out.result.done.length !== WORKERS) throw new Error(`only ${out.result.done.length} of ${WORKERS} workers done`);
    return { seconds: out.durationMs / 1000, cycles: Object.values(out.result.cycleMs.perNode), maxUnavailable: lab.world.counters.max_unavailable_nodes, pdbViolations: lab.world.counters.pdb_violations };
  } finally {
    await lab.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  console.log(`lab speed ${SPEED}, ${WORKERS} workers`);
  const order = process.env.BENCH_ORDER === 'par-first' ? [PARALLEL, 1] : [1, PARALLEL];
  const runs = new Map<number, RunFigures>();
  for (const n of order) {
    const r = await rollout(n);
    runs.set(n, r);
    console.log(`--max-unavailable ${n}: ${r.seconds.toFixed(1)} s, median cycle ${(median(r.cycles) / 1000).toFixed(2)} s, max unavailable ${r.maxUnavailable}, PDB violations ${r.pdbViolations}`);
  }
  const seq = runs.get(1)!;
  const par = runs.get(PARALLEL)!;
  const cycle = median(par.cycles) / 1000;
  const single = median(seq.cycles) / 1000;
  const waves = Math.ceil(WORKERS / PARALLEL);
  const lower = waves * cycle;
  console.log(`lower bound ceil(${WORKERS}/${PARALLEL}) x ${cycle.toFixed(2)} s = ${lower.toFixed(1)} s; parallel/lower bound = ${(par.seconds / lower).toFixed(2)} (target <= 1.25); speed-up ${(seq.seconds / par.seconds).toFixed(2)}x`);
  console.log(`a cycle alone takes ${single.toFixed(2)} s, with ${PARALLEL} at once ${cycle.toFixed(2)} s (shared CPU); against ${waves} x ${single.toFixed(2)} s the ratio is ${(par.seconds / (waves * single)).toFixed(2)}`);
  report('reboot', {
    workers: WORKERS,
    sequential_s: round(seq.seconds, 2),
    parallel_s: round(par.seconds, 2),
    cycle_s: round(cycle, 3),
    lower_bound_s: round(lower, 2),
    ratio: round(par.seconds / lower, 3),
    cycle_single_s: round(single, 3),
    ratio_single: round(par.seconds / (waves * single), 3),
    speedup: round(seq.seconds / par.seconds, 2),
    max_unavailable_seen: par.maxUnavailable,
    pdb_violations: seq.pdbViolations + par.pdbViolations,
    speed: SPEED,
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
