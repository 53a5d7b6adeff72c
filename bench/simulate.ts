// Can --simulate predict a rolling reboot of the model user's cluster (60 nodes, 3,500 tenant namespaces,
// 4,000 policies, 10,000 pods) on this 2-core machine, in under 2 minutes and under 1 GiB? "Production" is a
// lab daemon built from the model snapshot (lab/twin/model.ts), whose inventory entry is handed to the CLI as a
// real cluster's (its `lab:` key removed), so the snapshot calibrates real-cluster timings (a two-minute
// reboot, not the lab's three seconds). The CLI then runs `k8s.reboot --all-workers --simulate` against it:
// snapshot, twin start, the simulated reboot of every worker. Peak memory (VmHWM) of every process is sampled
// from /proc while it runs: the CLI, the twin it starts and, separately, the production stand-in.
// Prints progress, then as its LAST line one JSON object:
// {"bench":"simulate","nodes":60,"pods":N,"snapshot_s","twin_start_s","simulate_wall_s","predicted_s","peak_rss_mb",...}
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { $ } from 'zx';
import { startTwin } from '../lab/api.js';
import { LabClient } from '../lab/client.js';
import { modelSnapshot } from '../lab/twin/model.js';
import { compiledRoot } from '../lib/core/paths.js';
import { report, round } from './common.js';

const PROD_SPEED = Number(process.env.BENCH_PROD_SPEED ?? 30);
// Unset: the CLI's own default speed for a real cluster (lib/simulate/twin.ts defaultSpeed), as an operator runs it.
const SIM_SPEED = process.env.BENCH_SIM_SPEED ? Number(process.env.BENCH_SIM_SPEED) : undefined;
const MAX_UNAVAILABLE = process.env.BENCH_MAX_UNAVAILABLE ?? '6';

/** Peak resident set (VmHWM, MiB) of a process, or undefined once it is gone. */
function peakRssMb(pid: number): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Lab daemons whose --options name a state dir under `root`. */
function labDaemonsUnder(root: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8');
      if (cmd.includes('daemon.js') && cmd.includes(root)) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cc-bench-simulate-'));
  const snapshot = modelSnapshot({ clusterName: 'model' });
  // The model lists workloads, not pods: its pods are their replicas (a DaemonSet's replicas: its nodes).
  const pods = snapshot.pods.length || snapshot.workloads.reduce((n, w) => n + w.replicas, 0);
  console.log(`model: ${snapshot.nodes.length} nodes, ${snapshot.namespaces.length} namespaces, ${pods} pods; production stand-in at speed ${PROD_SPEED}`);
  const t0 = Date.now();
  const prod = await startTwin({ snapshot, speed: PROD_SPEED, stateDir: join(dir, 'prod'), timeoutMs: 300_000 });
  const info = prod.info;
  console.log(`production stand-in up in ${((Date.now() - t0) / 1000).toFixed(1)} s (pid ${info.pid})`);
  const peaks = new Map<string, number>();
  try {
    // The stand-in's inventory entry as a real cluster's: no `lab:` key (timings from real-cluster defaults).
    const doc = parse(readFileSync(join(prod.inventoryDir, 'inventory.yaml'), 'utf8')) as Record<string, unknown>;
    delete doc.lab;
    const inventory = join(dir, 'inventory');
    mkdirSync(inventory, { recursive: true });
    writeFileSync(join(inventory, 'inventory.yaml'), stringify(doc));
    const prodAdmin = new LabClient(info);
    await prodAdmin.resetCounters();

    const bin = join(compiledRoot(), 'bin', 'cookbook.js');
    const args = ['k8s.reboot', '--cluster-name', 'model', '--inventory', inventory, '--state-dir', join(dir, 'state'), '--yes', '--json', '--all-workers', '--max-unavailable', MAX_UNAVAILABLE, '--simulate', ...(SIM_SPEED !== undefined ? ['--simulate-speed', String(SIM_SPEED)] : [])];
    const load0 = loadavg()[0]!;
    const w0 = Date.now();
    const p = $({ nothrow: true, quiet: true, env: { ...process.env, NO_COLOR: '1', TMPDIR: dir } })`${process.execPath} ${bin} ${args}`;
    const sample = (): void => {
      const cli = p.child?.pid;
      const entries: [string, number | undefined][] = [['production', peakRssMb(info.pid)]];
      if (cli) entries.push(['cli', peakRssMb(cli)]);
      // The twin is the lab daemon under the simulation's temp dir (TMPDIR points the CLI's temp dirs at `dir`).
      for (const pid of labDaemonsUnder(dir)) if (pid !== info.pid) entries.push(['twin', peakRssMb(pid)]);
      for (const [k, v] of entries) if (v !== undefined) peaks.set(k, Math.max(peaks.get(k) ?? 0, v));
    };
    const timer = setInterval(sample, 250);
    const r = await p;
    clearInterval(timer);
    const wallS = (Date.now() - w0) / 1000;
    if (r.exitCode !== 0) throw new Error(`k8s.reboot --simulate failed (${r.exitCode}):\n${r.stderr.slice(-4000)}\n${r.stdout.slice(-2000)}`);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
      simulation: { predictedSeconds: number; nodeOrder: string[]; batches: string[][]; maxUnavailable: number; pdbViolations: number | null; waits: unknown[]; apiRequests: { count: number; peakPerSecond: number }; twin: { snapshotSeconds: number; startSeconds: number; wallSeconds: number; speed: number } };
    };
    const s = out.simulation;
    const c = await prodAdmin.counters();
    if (c.k8s_mutations + c.ssh_mutations + c.openstack_mutations !== 0) throw new Error(`the simulation wrote to production: ${JSON.stringify(c)}`);
    console.log(`snapshot ${s.twin.snapshotSeconds} s, twin start ${s.twin.startSeconds} s, simulated run ${s.twin.wallSeconds} s at speed ${s.twin.speed}; whole --simulate ${wallS.toFixed(1)} s wall`);
    console.log(`predicted: ${s.nodeOrder.length} workers in ${s.batches.length} batches, ${(s.predictedSeconds / 60).toFixed(1)} min; most unavailable ${s.maxUnavailable}; PDB violations ${s.pdbViolations}; ${s.waits.length} waits; ${s.apiRequests.count} API requests (peak ${s.apiRequests.peakPerSecond}/s)`);
    console.log(`peak RSS: ${[...peaks].map(([k, v]) => `${k} ${v.toFixed(0)} MiB`).join(', ')} (production is the stand-in, not part of the simulation)`);
    const simPeak = (peaks.get('cli') ?? 0) + (peaks.get('twin') ?? 0);
    report('simulate', {
      nodes: snapshot.nodes.length,
      pods,
      snapshot_s: s.twin.snapshotSeconds,
      twin_start_s: s.twin.startSeconds,
      simulate_wall_s: round(wallS, 1),
      predicted_s: Math.round(s.predictedSeconds),
      peak_rss_mb: Math.round(simPeak),
      cli_rss_mb: Math.round(peaks.get('cli') ?? 0),
      twin_rss_mb: Math.round(peaks.get('twin') ?? 0),
      production_rss_mb: Math.round(peaks.get('production') ?? 0),
      workers: s.nodeOrder.length,
      batches: s.batches.length,
      max_unavailable: s.maxUnavailable,
      pdb_violations: s.pdbViolations,
      api_requests: s.apiRequests.count,
      sim_speed: s.twin.speed,
      // The machine is shared: the load around the run says how much of the wall time was someone else's.
      load1_before: round(load0, 1),
      load1_after: round(loadavg()[0]!, 1),
    });
  } finally {
    await prod.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
