// vm.delete: delete a VM; refuses a host that is still a Ready Kubernetes node unless --force.
import { argFlag, argHostname, argString, clusterNameOption, frozen, hostnameOption } from '../../lib/core/args.js';
import { defineCookbook } from '../../lib/core/cookbook.js';
import { InputError } from '../../lib/core/errors.js';
import { isPlanned } from '../../lib/core/gate.js';
import { isNodeReady } from '../../lib/k8s/nodes.js';
import { roleOf } from '../../lib/inventory/naming.js';
import { clusterHost } from '../../lib/ops/nodes.js';

interface Args {
  clusterName: string;
  hostname: string;
  force: boolean;
}

export default defineCookbook<Args>({
  summary: 'Delete a VM (refuses a Ready Kubernetes node unless --force)',
  options: {
    'cluster-name': clusterNameOption,
    hostname: hostnameOption('VM to delete'),
    force: { type: 'boolean', default: false, describe: 'Delete it even if it is a Ready Kubernetes node (use k8s.remove-node instead)' },
  },
  examples: [['cookbook vm.delete --cluster-name toolsbeta --hostname toolsbeta-test-k8s-worker-9', 'Delete a VM that is not a node']],
  parse: (raw) => frozen({ clusterName: argString(raw, 'cluster-name', { required: true }), hostname: argHostname(raw, 'hostname', { required: true }), force: argFlag(raw, 'force') }),
  validate(cluster, args) {
    clusterHost(cluster, args.hostname);
  },
  async run(ctx, args) {
    const kube = await ctx.k8s();
    const os = await ctx.openstack();
    const node = await kube.getNode(args.hostname);
    if (node && isNodeReady(node) && !args.force) {
      const role = roleOf(ctx.cluster, args.hostname);
      throw new InputError(`${args.hostname} is a Ready Kubernetes node; refusing to delete its VM`, {
        context: { cluster: ctx.cluster.name, hostname: args.hostname, role },
        hint: `remove it properly with: cookbook k8s.remove-node --cluster-name ${ctx.cluster.name} --role ${role} --hostname ${args.hostname} (or pass --force to delete the VM anyway)`,
      });
    }
    const server = await os.findServer(args.hostname);
    await ctx.confirm(`Delete the VM ${args.hostname} on ${ctx.cluster.name}.`, {
      destructive: true,
      details: [
        server ? `delete server ${server.name} (${server.id}, ${server.status}): its disk is gone for good` : `no VM named ${args.hostname} exists: nothing to delete`,
        ...(node ? [`the Node ${args.hostname} stays (${isNodeReady(node) ? 'Ready' : 'not Ready'}); remove it with k8s.remove-node`] : []),
      ],
    });
    await ctx.step(`delete VM ${args.hostname}`, {
      target: `server/${args.hostname}`,
      check: async () => ((await os.findServer(args.hostname)) ? undefined : true),
      apply: async () => {
        const s = await os.findServer(args.hostname);
        if (!s) return true;
        const r = await os.deleteServer(s);
        if (isPlanned(r)) return r;
        await ctx.waitFor(async () => (await os.findServer(args.hostname)) === undefined, { what: `VM ${args.hostname} deleted`, timeoutMs: 10 * 60_000 });
        return true;
      },
    });
    return { hostname: args.hostname, nodeLeft: node !== undefined };
  },
});
