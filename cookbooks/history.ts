// `cookbook history [--cluster-name C]`: past runs from the journals (who, what, why, outcome). Reads local
// files only: no lock, no cluster connection (a lab cluster's name is only a filter, its lab is not started).
import { hostname } from 'node:os';
import { argInt, argString, frozen } from '../lib/core/args.js';
import { defineCookbook } from '../lib/core/cookbook.js';
import { readHistory, renderHistory } from '../lib/runner/history.js';

interface Args {
  clusterName?: string;
  limit: number;
}

export default defineCookbook<Args>({
  summary: 'List past runs from the journals, with their outcome',
  description: 'Reads the journals under the state dir (--state-dir): operator, host, cookbook, cluster, reason, task id and outcome of every run, newest first.',
  options: {
    'cluster-name': { type: 'string', requiresArg: true, describe: 'Only runs on this cluster' },
    limit: { type: 'number', default: 50, describe: 'How many runs to show (newest first)' },
  },
  examples: [
    ['cookbook history --cluster-name toolsbeta', 'The latest runs on toolsbeta'],
    ['cookbook history --json --limit 500', 'As JSON (the result field), for scripts'],
  ],
  lock: 'none',
  cluster: () => undefined,
  parse: (raw) => frozen({ clusterName: argString(raw, 'cluster-name'), limit: argInt(raw, 'limit', { min: 1, max: 100_000, default: 50 })! }),
  async run(ctx, args) {
    const runs = readHistory(ctx.stateDir, { cluster: args.clusterName, limit: args.limit, thisHost: hostname() });
    ctx.print(renderHistory(runs));
    return { runs };
  },
});
