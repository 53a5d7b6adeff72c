// k8s.drain: kubectl drain's semantics and defaults (DaemonSet and mirror pods left alone; emptyDir and
// unmanaged pods refused unless opted in), with parallel evictions carrying UID preconditions and PDB-aware
// waiting. On failure the blocking pods and PDBs are named and the node stays cordoned.
import { argFlag, argHostname, argString, clusterNameOption, frozen, hostnameOption } from '../../lib/core/args.js';
import { defineCookbook } from '../../lib/core/cookbook.js';
import { DRAIN_TIMEOUT, type DrainSettings, drainOptionGroup, drainSettingsOf } from '../../lib/ops/node/drain-options.js';
import { clusterHost, requireClusterNode } from '../../lib/ops/node/inventory.js';
import { cordonStep, drainStep } from '../../lib/ops/node/steps.js';

/** A drain runs unattended (timers, other cookbooks): it ends by default; `--timeout 0` still waits without limit. */
const DRAIN = drainOptionGroup({
  timeoutOption: 'timeout',
  timeout: { ...DRAIN_TIMEOUT, default: 15 * 60_000 },
  timeoutDescribe: 'Give up after this long (e.g. 300s, 10m); 0 waits without limit, as kubectl does by default',
  offer: ['grace-period', 'delete-emptydir-data', 'force-unmanaged', 'disable-eviction', 'ignore-daemonsets', 'skip-wait-for-delete-timeout', 'retry-interval'],
});

interface Args extends DrainSettings {
  clusterName: string;
  hostname: string;
  uncordonOnFailure: boolean;
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
    ...DRAIN.options,
    'uncordon-on-failure': { type: 'boolean', default: false, describe: 'Uncordon the node again when the drain fails (only if we cordoned it)' },
  },
  examples: [
    ['cookbook k8s.drain --cluster-name toolsbeta --hostname toolsbeta-test-k8s-worker-nfs-1', 'Drain with kubectl defaults'],
    ['cookbook k8s.drain --cluster-name tools --hostname tools-k8s-worker-7 --timeout 10m --delete-emptydir-data --yes', 'Drain with a deadline'],
  ],
  parse: (raw) =>
    frozen({
      clusterName: argString(raw, 'cluster-name', { required: true }),
      hostname: argHostname(raw, 'hostname', { required: true }),
      ...DRAIN.parse(raw),
      uncordonOnFailure: argFlag(raw, 'uncordon-on-failure'),
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
      ...drainSettingsOf(args),
      uncordonOnFailure: args.uncordonOnFailure,
      uncordonReason: 'as asked (--uncordon-on-failure)',
    });
    return { node: args.hostname, drain: result };
  },
});
