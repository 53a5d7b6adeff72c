// vm.force-reboot: hard reboot through OpenStack (for a host that no longer answers), then wait for a new
// boot id over SSH, so "it came back" means it really rebooted.
import { argDuration, argHostname, argString, clusterNameOption, frozen, hostnameOption } from '../../lib/core/args.js';
import { defineCookbook } from '../../lib/core/cookbook.js';
import { InputError, messageOf } from '../../lib/core/errors.js';
import { isPlanned } from '../../lib/core/gate.js';
import { nodeBootId } from '../../lib/k8s/nodes.js';
import { clusterHost } from '../../lib/ops/nodes.js';

interface Args {
  clusterName: string;
  hostname: string;
  timeoutMs: number;
}

export default defineCookbook<Args>({
  summary: 'Hard-reboot a VM through OpenStack and wait for a new boot id',
  options: {
    'cluster-name': clusterNameOption,
    hostname: hostnameOption('VM to reboot'),
    timeout: { type: 'string', default: '15m', describe: 'How long to wait for the host to come back' },
  },
  examples: [['cookbook vm.force-reboot --cluster-name toolsbeta --hostname toolsbeta-test-k8s-worker-3', 'Hard-reboot a hung worker']],
  parse: (raw) =>
    frozen({ clusterName: argString(raw, 'cluster-name', { required: true }), hostname: argHostname(raw, 'hostname', { required: true }), timeoutMs: argDuration(raw, 'timeout', 900_000)! }),
  validate(cluster, args) {
    clusterHost(cluster, args.hostname);
  },
  async run(ctx, args) {
    const host = args.hostname;
    const os = await ctx.openstack();
    const remote = await ctx.remote();
    const kube = await ctx.k8s();
    const server = await os.findServer(host);
    if (!server) throw new InputError(`no VM named ${host} in cluster ${ctx.cluster.name}`, { context: { hostname: host } });
    await ctx.confirm(`Hard-reboot ${host} on ${ctx.cluster.name}.`);
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
