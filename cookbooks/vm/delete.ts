// vm.delete: delete a VM; refuses a host that is still a Ready Kubernetes node unless --force.
import { argFlag, argHostname, argString, clusterNameOption, frozen, hostnameOption } from '../../lib/core/args.js';
import { defineCookbook } from '../../lib/core/cookbook.js';
import { clusterHost } from '../../lib/ops/node/inventory.js';
import { deleteVmStep, vmDeletion } from '../../lib/ops/node/vm.js';

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
    const { details, nodeLeft } = await vmDeletion(ctx, args.hostname, args.force);
    await ctx.confirm(`Delete the VM ${args.hostname} on ${ctx.cluster.name}.`, { destructive: true, details });
    await deleteVmStep(ctx, args.hostname);
    return { hostname: args.hostname, nodeLeft };
  },
});
