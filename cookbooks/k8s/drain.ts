// k8s.drain: kubectl drain's semantics and defaults (DaemonSet and mirror pods left alone; emptyDir and
// unmanaged pods refused unless opted in), with parallel evictions carrying UID preconditions and PDB-aware
// waiting. On failure the blocking pods and PDBs are named and the node stays cordoned.
import { type DurationSpec, argDuration, argFlag, argHostname, argInt, argString, clusterNameOption, durationOption, frozen, hostnameOption } from '../../lib/core/args.js';
import { defineCookbook } from '../../lib/core/cookbook.js';
import { clusterHost, cordonStep, drainStep, requireClusterNode } from '../../lib/ops/nodes.js';

/** A drain runs unattended (timers, other cookbooks): it ends by default; `--timeout 0` still waits without limit. */
const TIMEOUT: DurationSpec = { default: 15 * 60_000, min: 1000, zeroMeansNoLimit: true };
const RETRY_INTERVAL: DurationSpec = { default: 5000, min: 100, max: 10 * 60_000 };

interface Args {
  clusterName: string;
  hostname: string;
  timeoutMs: number;
  gracePeriodSeconds?: number;
  deleteEmptyDirData: boolean;
  forceUnmanaged: boolean;
  disableEviction: boolean;
  uncordonOnFailure: boolean;
  ignoreDaemonSets: boolean;
  skipWaitForDeleteTimeoutSeconds: number;
  retryIntervalMs: number;
}

export default defineCookbook<Args>({
  summary: 'Cordon and drain a node (kubectl drain semantics)',
  description: [
    'Cordons the node, then evicts its pods in parallel through the Eviction API (PodDisruptionBudgets respected,',
    "each eviction carries the pod's UID). DaemonSet and mirror pods stay. Pods with emptyDir data or without a",
    'controller are refused unless opted in, and listed. A refused eviction (429) is retried; on timeout the',
    'blocking pods and PDBs are named and the node stays cordoned (or is uncordoned with --uncordon-on-failure).',
  ].join('\n'),
  options: {
    'cluster-name': clusterNameOption,
    hostname: hostnameOption('Node to drain'),
    timeout: durationOption('Give up after this long (e.g. 300s, 10m); 0 waits without limit, as kubectl does by default', TIMEOUT),
    'grace-period': { type: 'number', default: -1, describe: "Seconds each pod gets to terminate; -1 uses the pod's own" },
    'delete-emptydir-data': { type: 'boolean', default: false, describe: 'Evict pods with emptyDir volumes (their data is lost)' },
    'force-unmanaged': { type: 'boolean', default: false, describe: 'Evict pods that no controller will recreate' },
    'disable-eviction': { type: 'boolean', default: false, describe: 'Delete pods instead of evicting them (bypasses PodDisruptionBudgets)' },
    'uncordon-on-failure': { type: 'boolean', default: false, describe: 'Uncordon the node again when the drain fails (only if we cordoned it)' },
    'ignore-daemonsets': { type: 'boolean', default: true, describe: 'Leave DaemonSet pods alone (--no-ignore-daemonsets refuses nodes that have them)' },
    'skip-wait-for-delete-timeout': { type: 'number', default: 0, describe: 'Skip pods terminating for longer than this many seconds (0: off)' },
    'retry-interval': durationOption('Least time between two eviction attempts of a pod a PDB refused', RETRY_INTERVAL),
  },
  examples: [
    ['cookbook k8s.drain --cluster-name toolsbeta --hostname toolsbeta-test-k8s-worker-nfs-1', 'Drain with kubectl defaults'],
    ['cookbook k8s.drain --cluster-name tools --hostname tools-k8s-worker-7 --timeout 10m --delete-emptydir-data --yes', 'Drain with a deadline'],
  ],
  parse: (raw) =>
    frozen({
      clusterName: argString(raw, 'cluster-name', { required: true }),
      hostname: argHostname(raw, 'hostname', { required: true }),
      timeoutMs: argDuration(raw, 'timeout', TIMEOUT)!,
      gracePeriodSeconds: ((g) => (g === undefined || g < 0 ? undefined : g))(argInt(raw, 'grace-period', { min: -1, default: -1 })),
      deleteEmptyDirData: argFlag(raw, 'delete-emptydir-data'),
      forceUnmanaged: argFlag(raw, 'force-unmanaged'),
      disableEviction: argFlag(raw, 'disable-eviction'),
      uncordonOnFailure: argFlag(raw, 'uncordon-on-failure'),
      ignoreDaemonSets: raw['ignore-daemonsets'] !== false,
      skipWaitForDeleteTimeoutSeconds: argInt(raw, 'skip-wait-for-delete-timeout', { min: 0, default: 0 })!,
      retryIntervalMs: argDuration(raw, 'retry-interval', RETRY_INTERVAL)!,
    }),
  validate(cluster, args) {
    clusterHost(cluster, args.hostname);
  },
  async run(ctx, args) {
    const kube = await ctx.k8s();
    await requireClusterNode(kube, ctx.cluster, args.hostname);
    await ctx.confirm(`Drain ${args.hostname} on ${ctx.cluster.name}: its pods will be evicted.`);
    await cordonStep(ctx, kube, args.hostname);
    const result = await drainStep(ctx, kube, args.hostname, {
      timeoutMs: args.timeoutMs,
      gracePeriodSeconds: args.gracePeriodSeconds,
      deleteEmptyDirData: args.deleteEmptyDirData,
      forceUnmanaged: args.forceUnmanaged,
      disableEviction: args.disableEviction,
      ignoreDaemonSets: args.ignoreDaemonSets,
      skipWaitForDeleteTimeoutSeconds: args.skipWaitForDeleteTimeoutSeconds,
      retryMinMs: args.retryIntervalMs,
      uncordonOnFailure: args.uncordonOnFailure,
      uncordonReason: 'as asked (--uncordon-on-failure)',
    });
    return { node: args.hostname, drain: result };
  },
});
