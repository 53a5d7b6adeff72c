// Start-up cost of the CLI: `cookbook list` against `node -e 0`, interleaved, medians of several runs.
// Target: list_ms - node_ms <= 250.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { compiledRoot } from '../lib/core/paths.js';
import { median, report, round } from './common.js';

const runs = Number(process.env.BENCH_RUNS ?? 15);
const bin = join(compiledRoot(), 'bin', 'cookbook.js');

function time(args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr.toString()}`);
  return ms;
}

time([bin, 'list']); // warm the file cache
const list: number[] = [];
const node: number[] = [];
for (let i = 0; i < runs; i++) {
  node.push(time(['-e', '0']));
  list.push(time([bin, 'list']));
}
const listMs = round(median(list), 1);
const nodeMs = round(median(node), 1);
console.log(`cookbook list: median ${listMs} ms; node -e 0: median ${nodeMs} ms; overhead ${round(listMs - nodeMs, 1)} ms over ${runs} runs (target <= 250)`);
report('startup', { list_ms: listMs, node_ms: nodeMs, overhead_ms: round(listMs - nodeMs, 1), runs });
