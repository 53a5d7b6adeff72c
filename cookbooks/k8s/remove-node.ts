// k8s.remove-node: cordon, drain, kubeadm reset, delete the Node, delete the VM; refuses to go below the
// role's minimum or to break the control plane's majority; every step still correct after a partial run.
import { argHostname, argString, clusterNameOption, frozen } from '../../lib/core/args.js';
import { defineCookbook } from '../../lib/core/cookbook.js';
import { type DrainSettings, drainOptionGroup, drainSettingsOf } from '../../lib/ops/node/drain-options.js';
import { clusterHost, requireNodeRole } from '../../lib/ops/node/inventory.js';
import { checkHostsFirst } from '../../lib/ops/node/join.js';
import { checkRemovalSafe, chooseHostToRemove, removalDetails, removeNodeSteps } from '../../lib/ops/node/remove.js';

/** emptyDir data goes with the VM anyway: it is evicted, not refused. */
const DRAIN = drainOptionGroup({
  timeoutOption: 'drain-timeout',
  timeoutDescribe: 'Deadline for the drain',
  offer: ['force-unmanaged', 'retry-interval'],
  fixed: { deleteEmptyDirData: true },
});

interface Args extends DrainSettings {
  clusterName: string;
  role: string;
  hostname?: string;
}

export default defineCookbook<Args>({
  summary: 'Remove a Kubernetes node (the oldest of a role by default)',
  description:
    'Cordons and drains the node (emptyDir data goes with the VM anyway, so it is evicted; pods without a controller need --force-unmanaged), runs kubeadm reset when the host answers, deletes the Node object, then the VM. A drain that fails stops the removal before anything is deleted.',
  options: {
    'cluster-name': clusterNameOption,
    role: { type: 'string', demandOption: true, requiresArg: true, describe: 'Role of the node' },
    hostname: { type: 'string', requiresArg: true, describe: 'Node to remove (default: the oldest of the role)' },
    ...DRAIN.options,
  },
  examples: [
    ['cookbook k8s.remove-node --cluster-name toolsbeta --role worker_nfs', 'Remove the oldest NFS worker'],
    ['cookbook k8s.remove-node --cluster-name toolsbeta --role worker --hostname toolsbeta-test-k8s-worker-3', 'Remove a given worker'],
  ],
  parse: (raw) =>
    frozen({
      clusterName: argString(raw, 'cluster-name', { required: true }),
      role: argString(raw, 'role', { required: true }),
      hostname: argHostname(raw, 'hostname'),
      ...DRAIN.parse(raw),
    }),
  validate(cluster, args) {
    requireNodeRole(cluster, args.role);
    if (args.hostname) clusterHost(cluster, args.hostname, args.role);
  },
  async run(ctx, args) {
    const hostname = await chooseHostToRemove(ctx, args.role, args.hostname);
    await checkRemovalSafe(ctx, args.role, hostname);
    // kubeadm reset runs on the host: a changed host key stops the run before the drain, not after it.
    await checkHostsFirst(ctx, await ctx.k8s(), { controls: false, optional: [hostname] });
    await ctx.confirm(`Remove node ${hostname} from ${ctx.cluster.name} and delete its VM.`, { destructive: true, details: removalDetails(hostname) });
    ctx.log.info(`removing ${args.role} node ${hostname}`);
    return removeNodeSteps(ctx, hostname, { drain: drainSettingsOf(args) });
  },
});
