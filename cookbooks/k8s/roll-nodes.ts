// k8s.roll-nodes: replace every node of a role (or the named ones) by new ones on a new image or flavor, surge
// first, as Cluster API's MachineDeployment rolling update does, for VMs this tool manages. Before anything
// changes: the image and flavor exist, the quotas (instances, cores, RAM) and the role's server group hold the
// surge; then waves of adds (the role's next indices, Ready with labels and taints) and removals (drain, kubeadm
// reset, delete Node and VM). Journaled: a re-run after any interruption finishes the same plan.
import { argFlag, argInt, argList, argString, argVmOverrides, clusterNameOption, durationOption, frozen, argDuration, type DurationSpec, vmOverrideOptions } from '../../lib/core/args.js';
import { defineCookbook } from '../../lib/core/cookbook.js';
import { InputError, UsageError } from '../../lib/core/errors.js';
import { validateHostname } from '../../lib/inventory/naming.js';
import { type DrainSettings, drainOptionGroup, drainSettingsOf } from '../../lib/ops/node/drain-options.js';
import { clusterHost, requireNodeRole } from '../../lib/ops/node/inventory.js';

/** The old nodes' VMs are deleted: their emptyDir data is evicted, not refused. */
const DRAIN = drainOptionGroup({
  timeoutOption: 'drain-timeout',
  timeoutDescribe: 'Deadline for draining each old node',
  offer: ['retry-interval', 'force-unmanaged'],
  fixed: { deleteEmptyDirData: true },
});

const CAPACITY_TIMEOUT: DurationSpec = { default: 30 * 60_000, min: 1000, max: 24 * 3600_000 };

interface Args extends DrainSettings {
  clusterName: string;
  role: string;
  flavor?: string;
  image?: string;
  network?: string;
  hostnames: string[];
  onlyOutdated: boolean;
  maxSurge: number;
  maxUnavailable: number;
  capacityTimeoutMs: number;
  reportPath?: string;
}

export default defineCookbook<Args>({
  summary: 'Replace the nodes of a role by new ones on a new image or flavor, surge first (rolling, resumable)',
  description:
    'Up to --max-surge new nodes (the role\'s next indices, on --image/--flavor) are added and Ready with their labels and taints before old ones are drained and removed as k8s.remove-node does; the role\'s Ready schedulable count never drops below its start minus --max-unavailable. Before anything changes the image and flavor must exist and the OpenStack quotas (instances, cores, RAM) and the role\'s server group must hold the surge: each refusal names the quota or rule (exit 2). --dry-run prints the waves of adds and removes with an ETA. Control nodes are refused until the control-plane rules (load balancer, etcd) exist.',
  options: {
    'cluster-name': clusterNameOption,
    role: { type: 'string', demandOption: true, requiresArg: true, describe: 'Role whose nodes are replaced (worker, worker_nfs, ingress)' },
    ...vmOverrideOptions,
    'max-surge': { type: 'number', default: 1, describe: 'New nodes added beyond the role\'s size at once' },
    'max-unavailable': { type: 'number', default: 0, describe: 'Ready schedulable nodes the role may lose below its start' },
    hostname: { type: 'string', array: true, requiresArg: true, describe: 'Replace only these nodes of the role (repeatable)' },
    'only-outdated': { type: 'boolean', default: false, describe: 'Replace only nodes whose VM image or flavor differs from the target' },
    'capacity-timeout': durationOption('How long a removal waits for the new nodes to be Ready and schedulable', CAPACITY_TIMEOUT),
    report: { type: 'string', requiresArg: true, describe: 'Write a self-contained HTML report (timeline and table) to this file' },
    ...DRAIN.options,
  },
  examples: [
    ['cookbook k8s.roll-nodes --cluster-name toolsbeta --role worker --image debian-13 --max-surge 2', 'Move every worker to a new image, two new nodes at a time'],
    ['cookbook k8s.roll-nodes --cluster-name toolsbeta --role worker --image debian-13 --only-outdated --dry-run', 'What is left to do, with an ETA'],
  ],
  parse(raw) {
    const hostnames = argList(raw, 'hostname').map((h) => {
      try {
        return validateHostname(h, 'hostname');
      } catch (err) {
        throw new UsageError(`--hostname: ${(err as Error).message}`, { context: { option: 'hostname' } });
      }
    });
    const maxSurge = argInt(raw, 'max-surge', { min: 0, max: 100, default: 1 })!;
    const maxUnavailable = argInt(raw, 'max-unavailable', { min: 0, max: 100, default: 0 })!;
    if (maxSurge === 0 && maxUnavailable === 0) {
      throw new UsageError('--max-surge 0 with --max-unavailable 0: the roll could neither add a node nor remove one', {
        context: { option: 'max-surge', maxSurge, maxUnavailable },
        hint: 'allow a surge (--max-surge 1, the default) or some unavailability (--max-unavailable 1)',
      });
    }
    return frozen({
      clusterName: argString(raw, 'cluster-name', { required: true }),
      role: argString(raw, 'role', { required: true }),
      ...argVmOverrides(raw),
      hostnames: [...new Set(hostnames)],
      onlyOutdated: argFlag(raw, 'only-outdated'),
      maxSurge,
      maxUnavailable,
      capacityTimeoutMs: argDuration(raw, 'capacity-timeout', CAPACITY_TIMEOUT)!,
      reportPath: argString(raw, 'report'),
      ...DRAIN.parse(raw),
    });
  },
  validate(cluster, args) {
    const role = requireNodeRole(cluster, args.role);
    if (role.node === 'control-plane') {
      throw new InputError(`--role ${args.role}: control nodes are not rolled yet`, {
        context: { cluster: cluster.name, role: args.role },
        hint: `control nodes must roll one at a time under the load balancer and etcd membership rules of the control-plane work, which has not landed; replace them one by one with: cookbook k8s.replace-node --cluster-name ${cluster.name} --hostname HOST`,
      });
    }
    for (const h of args.hostnames) clusterHost(cluster, h, args.role);
  },
  async run(ctx, args) {
    // The roll's modules load clients: import them only when a run begins (`cookbook list` stays light).
    const { rollNodes } = await import('../../lib/ops/roll/index.js');
    return rollNodes(ctx, {
      role: args.role,
      overrides: { image: args.image, flavor: args.flavor, network: args.network },
      hostnames: args.hostnames,
      onlyOutdated: args.onlyOutdated,
      maxSurge: args.maxSurge,
      maxUnavailable: args.maxUnavailable,
      drain: drainSettingsOf(args),
      capacityTimeoutMs: args.capacityTimeoutMs,
      reportPath: args.reportPath,
    });
  },
});
