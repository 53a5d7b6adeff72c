// How long does k8s.roll-nodes take to move 6 workers to a new image (--max-surge 2), against what operators
// did before it: six k8s.replace-node runs one after the other? One lab (speed BENCH_SPEED, default 20, the
// seeded workload under its PDBs): first the roll (debian-12 -> debian-13), then six sequential replace-node
// runs of the rolled workers (to debian-11), each through the real CLI. roll_s and sequential_replace_s are
// wall-clock seconds of the CLI processes (what the operator waits for, start-up included); ratio =
// roll_s / sequential_replace_s.
// Prints progress, then as its LAST line one JSON object:
// {"bench":"roll","workers":6,"roll_s":..,"sequential_replace_s":..,"ratio":..,...}
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { $ } from 'zx';
import { parse, stringify } from 'yaml';
import { compiledRoot } from '../lib/core/paths.js';
import { startLab } from '../lab/index.js';
import { report, round } from './common.js';

const WORKERS = 6;
const SURGE = Number(process.env.BENCH_SURGE ?? 2);
const SPEED = Number(process.env.BENCH_SPEED ?? 20);

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cc-bench-roll-'));
  const lab = await startLab({ stateDir: join(dir, 'lab'), clusterName: 'bench', workers: WORKERS, workersNfs: 0, ingress: 0, etcd: 0, control: 1, speed: SPEED, namespaces: 1 });
  try {
    lab.openstack.cloud.addImage('debian-13-trixie');
    const inv = join(dir, 'inventory');
    const doc = parse(readFileSync(join(lab.stateDir, 'inventory.yaml'), 'utf8')) as Record<string, unknown>;
    doc.lock = { backend: 'file' };
    $.sync`mkdir -p ${inv}`;
    writeFileSync(join(inv, 'inventory.yaml'), stringify(doc));
    const bin = join(compiledRoot(), 'bin', 'cookbook.js');
    const cli = async (args: string[]): Promise<{ seconds: number; result: Record<string, any> }> => {
      const all = [...args, '--cluster-name', 'bench', '--inventory', inv, '--state-dir', join(dir, 'state'), '--yes', '--json', '--retry-interval', '200ms'];
      const started = performance.now();
      const r = await $({ nothrow: true, quiet: true, env: { ...process.env, NO_COLOR: '1' } })`${process.execPath} ${bin} ${all}`;
      const seconds = (performance.now() - started) / 1000;
      if (r.exitCode !== 0) throw new Error(`cookbook ${args.join(' ')} failed (${r.exitCode}):\n${r.stderr.slice(-3000)}`);
      return { seconds, result: (JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { result: Record<string, any> }).result };
    };
    console.log(`lab speed ${SPEED}, ${WORKERS} workers, roll with --max-surge ${SURGE}`);
    const roll = await cli(['k8s.roll-nodes', '--role', 'worker', '--image', 'debian-13-trixie', '--max-surge', String(SURGE)]);
    const rolled = roll.result.added as string[];
    if (rolled.length !== WORKERS) throw new Error(`the roll added ${rolled.length} workers, not ${WORKERS}`);
    console.log(`k8s.roll-nodes: ${roll.seconds.toFixed(1)} s (${roll.result.waves.length} waves, planned ETA at real-cloud defaults ${Math.round(roll.result.etaMs / 1000)} s)`);
    const pdbAfterRoll = lab.world.counters.pdb_violations;
    let sequential = 0;
    for (const host of rolled) {
      const one = await cli(['k8s.replace-node', '--hostname', host, '--image', 'debian-11-bullseye']);
      sequential += one.seconds;
      console.log(`k8s.replace-node ${host}: ${one.seconds.toFixed(1)} s`);
    }
    console.log(`six sequential replace-node runs: ${sequential.toFixed(1)} s; roll / sequential = ${(roll.seconds / sequential).toFixed(2)}`);
    report('roll', {
      workers: WORKERS,
      roll_s: round(roll.seconds, 2),
      sequential_replace_s: round(sequential, 2),
      ratio: round(roll.seconds / sequential, 3),
      max_surge: SURGE,
      speed: SPEED,
      pdb_violations_roll: pdbAfterRoll,
      pdb_violations_total: lab.world.counters.pdb_violations,
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
