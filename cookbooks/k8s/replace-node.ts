// k8s.replace-node: add a node of the same role, then remove the old one (how operators move nodes to a new
// image or flavor). Both halves are the add-node and remove-node steps, journaled in one run.
import { argHostname, argString, argVmOverrides, clusterNameOption, frozen, hostnameOption, vmOverrideOptions } from '../../lib/core/args.js';
import { defineCookbook } from '../../lib/core/cookbook.js';
import { type DrainSettings, drainOptionGroup, drainSettingsOf } from '../../lib/ops/node/drain-options.js';
import { addNodeSteps, preflightAddNode } from '../../lib/ops/node/add.js';
import { chooseNewHostname, clusterHost, requireClusterNode, requireNodeRole } from '../../lib/ops/node/inventory.js';
import { checkHostsFirst } from '../../lib/ops/node/join.js';
import { removalDetails, removeNodeSteps } from '../../lib/ops/node/remove.js';

/** The old node's VM is deleted: its emptyDir data is evicted, not refused. */
const DRAIN = drainOptionGroup({
  timeoutOption: 'drain-timeout',
  timeoutDescribe: 'Deadline for draining the old node',
  offer: ['retry-interval'],
  fixed: { deleteEmptyDirData: true },
});

interface Args extends DrainSettings {
  clusterName: string;
  hostname: string;
  flavor?: string;
  image?: string;
  network?: string;
}

export default defineCookbook<Args>({
  summary: 'Replace a node: add a new one of the same role, then remove the old one',
  options: {
    'cluster-name': clusterNameOption,
    hostname: hostnameOption('Node to replace'),
    ...vmOverrideOptions,
    ...DRAIN.options,
  },
  examples: [['cookbook k8s.replace-node --cluster-name toolsbeta --hostname toolsbeta-test-k8s-worker-3 --image debian-13', 'Move a worker to a new image']],
  parse: (raw) =>
    frozen({
      clusterName: argString(raw, 'cluster-name', { required: true }),
      hostname: argHostname(raw, 'hostname', { required: true }),
      ...argVmOverrides(raw),
      ...DRAIN.parse(raw),
    }),
  validate(cluster, args) {
    requireNodeRole(cluster, clusterHost(cluster, args.hostname).role);
  },
  async run(ctx, args) {
    const { role } = clusterHost(ctx.cluster, args.hostname);
    requireNodeRole(ctx.cluster, role);
    const kube = await ctx.k8s();
    if (!ctx.recall('replace:added')) await requireClusterNode(kube, ctx.cluster, args.hostname);
    const newHost = await chooseNewHostname(ctx, role);
    // Before anything changes: the new VM's settings, the control nodes' and the old host's SSH host keys.
    const controls = await preflightAddNode(ctx, role, newHost, args);
    await checkHostsFirst(ctx, kube, { controls: false, optional: [args.hostname] });
    await ctx.confirm(`Replace ${args.hostname} on ${ctx.cluster.name}: add ${role} node ${newHost}, then remove ${args.hostname}.`, {
      destructive: true,
      details: [`create VM ${newHost} and join it as a ${role} node`, ...removalDetails(args.hostname)],
    });
    const added = await addNodeSteps(ctx, role, newHost, { overrides: args, controls });
    ctx.remember('replace:added', newHost);
    const removed = await removeNodeSteps(ctx, args.hostname, { drain: drainSettingsOf(args) });
    return { added, removed };
  },
});
