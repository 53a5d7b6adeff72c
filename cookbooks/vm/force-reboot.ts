// vm.force-reboot: hard reboot through OpenStack (for a host that no longer answers), then wait for a new
// boot id over SSH, so "it came back" means it really rebooted.
import { type DurationSpec, argDuration, argFlag, argHostname, argString, clusterNameOption, durationOption, frozen, hostnameOption } from '../../lib/core/args.js';
import { defineCookbook } from '../../lib/core/cookbook.js';
import { unlessPlanned } from '../../lib/core/gate.js';
import { bootIdBefore, hardRebootStep, refuseServingNode, requireVm } from '../../lib/ops/node/hard-reboot.js';
import { clusterHost } from '../../lib/ops/node/inventory.js';

/** 0 would fail at once after resetting the host: a wait for it to come back needs some time. */
const TIMEOUT: DurationSpec = { default: 15 * 60_000, min: 10_000, max: 24 * 3600_000 };

interface Args {
  clusterName: string;
  hostname: string;
  timeoutMs: number;
  force: boolean;
}

export default defineCookbook<Args>({
  summary: 'Hard-reboot a VM through OpenStack and wait for a new boot id (refuses a node running pods unless --force)',
  options: {
    'cluster-name': clusterNameOption,
    hostname: hostnameOption('VM to reboot'),
    timeout: durationOption('How long to wait for the host to come back', TIMEOUT),
    force: { type: 'boolean', default: false, describe: 'Hard-reset even a Ready node that runs pods (use k8s.reboot for those)' },
  },
  examples: [['cookbook vm.force-reboot --cluster-name toolsbeta --hostname toolsbeta-test-k8s-worker-3', 'Hard-reboot a hung worker']],
  parse: (raw) =>
    frozen({
      clusterName: argString(raw, 'cluster-name', { required: true }),
      hostname: argHostname(raw, 'hostname', { required: true }),
      timeoutMs: argDuration(raw, 'timeout', TIMEOUT)!,
      force: argFlag(raw, 'force'),
    }),
  validate(cluster, args) {
    clusterHost(cluster, args.hostname);
  },
  async run(ctx, args) {
    const host = args.hostname;
    const server = await requireVm(ctx, host);
    // A hard reset kills running workloads without a drain: for a node that serves, reboot it properly.
    const serving = await refuseServingNode(ctx, host, args.force);
    await ctx.confirm(`Hard-reboot ${host} on ${ctx.cluster.name}.`, {
      destructive: true,
      details: [
        `hard reset of server ${server.name} (${server.id}, ${server.status}): like pulling the power cord, unsaved data is lost`,
        ...(serving.length ? [`${serving.length} pod(s) on it are killed without a drain (--force)`] : []),
        `then wait up to ${Math.round(args.timeoutMs / 1000)}s for it to boot again`,
      ],
    });
    const previous = await bootIdBefore(ctx, host);
    const rebooted = await hardRebootStep(ctx, host, { previousBootId: previous, waitTimeoutMs: args.timeoutMs });
    return { hostname: host, previousBootId: previous, bootId: unlessPlanned(rebooted, 'planned') };
  },
});
