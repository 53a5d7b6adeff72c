// vm.force-reboot: hard reboot through OpenStack (for a host that no longer answers), then wait for a new
// boot id over SSH, so "it came back" means it really rebooted.
import type { V1Pod } from '@kubernetes/client-node';
import { type DurationSpec, argDuration, argFlag, argHostname, argString, clusterNameOption, durationOption, frozen, hostnameOption } from '../../lib/core/args.js';
import { defineCookbook } from '../../lib/core/cookbook.js';
import { InputError, messageOf } from '../../lib/core/errors.js';
import { isPlanned } from '../../lib/core/gate.js';
import { isNodeReady, nodeBootId } from '../../lib/k8s/nodes.js';
import { closeNames, clusterHost, knownHostnames } from '../../lib/ops/nodes.js';

/** 0 would fail at once after resetting the host: a wait for it to come back needs some time. */
const TIMEOUT: DurationSpec = { default: 15 * 60_000, min: 10_000, max: 24 * 3600_000 };

interface Args {
  clusterName: string;
  hostname: string;
  timeoutMs: number;
  force: boolean;
}

/** A pod a hard reset would kill without notice: not a DaemonSet's, not a mirror pod, not finished. */
function isWorkloadPod(p: V1Pod): boolean {
  if (p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') return false;
  if (p.metadata?.annotations?.['kubernetes.io/config.mirror']) return false;
  return !p.metadata?.ownerReferences?.some((o) => o.kind === 'DaemonSet');
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
    const os = await ctx.openstack();
    const remote = await ctx.remote();
    const kube = await ctx.k8s();
    const server = await os.findServer(host);
    if (!server) {
      const close = closeNames(host, [...(await knownHostnames(ctx)).names]);
      throw new InputError(`no VM named ${host} in cluster ${ctx.cluster.name}${close.length ? `; did you mean ${close.join(', ')}?` : ''}`, {
        context: { cluster: ctx.cluster.name, hostname: host, suggestions: close },
        hint: 'check the name with: openstack server list',
      });
    }
    // A hard reset kills running workloads without a drain: for a node that serves, reboot it properly.
    const node = await kube.getNode(host);
    const serving = node && isNodeReady(node) ? (await kube.listPodsOnNode(host)).filter(isWorkloadPod) : [];
    if (serving.length > 0 && !args.force) {
      throw new InputError(`${host} is a Ready Kubernetes node running ${serving.length} pod(s); refusing to hard-reset it`, {
        context: { cluster: ctx.cluster.name, hostname: host, pods: serving.slice(0, 10).map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`) },
        hint: `reboot it with a drain first: cookbook k8s.reboot --cluster-name ${ctx.cluster.name} --hostname ${host} (or pass --force to hard-reset it anyway)`,
      });
    }
    await ctx.confirm(`Hard-reboot ${host} on ${ctx.cluster.name}.`, {
      destructive: true,
      details: [
        `hard reset of server ${server.name} (${server.id}, ${server.status}): like pulling the power cord, unsaved data is lost`,
        ...(serving.length ? [`${serving.length} pod(s) on it are killed without a drain (--force)`] : []),
        `then wait up to ${Math.round(args.timeoutMs / 1000)}s for it to boot again`,
      ],
    });
    // The boot id before the reboot, journaled so a resumed run does not reboot again.
    const previous = await ctx.memo(`bootId:${host}`, async () => {
      try {
        return await remote.bootId(host, { timeoutMs: 10_000 });
      } catch (err) {
        ctx.log.warn(`cannot read the boot id of ${host} over SSH (${messageOf(err)}); using the node's`);
        const node = await kube.getNode(host);
        return (node && nodeBootId(node)) ?? null;
      }
    });
    const rebooted = await ctx.step(`hard reboot ${host}`, {
      target: `server/${host}`,
      check: async () => {
        if (!previous) return undefined;
        try {
          const now = await remote.bootId(host, { timeoutMs: 5000 });
          return now !== previous ? now : undefined;
        } catch {
          return undefined;
        }
      },
      apply: async () => {
        const r = await os.rebootServer(server, 'HARD');
        if (isPlanned(r)) return r;
        if (!previous) {
          ctx.log.warn(`no earlier boot id known for ${host}: waiting only for SSH to answer`);
          await ctx.waitFor(async () => remote.bootId(host, { timeoutMs: 5000 }).catch(() => undefined), { what: `${host} reachable`, timeoutMs: args.timeoutMs });
          return 'unknown';
        }
        const w = await remote.waitRebootSince(host, previous, { timeoutMs: args.timeoutMs });
        return w.bootId;
      },
    });
    return { hostname: host, previousBootId: previous, bootId: isPlanned(rebooted) ? 'planned' : rebooted };
  },
});
