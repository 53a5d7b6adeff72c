// k8s.uncordon: put a node back into service; refuses a node someone else cordoned unless --force.
import { argFlag, argHostname, argString, clusterNameOption, frozen, hostnameOption } from '../../lib/core/args.js';
import { defineCookbook } from '../../lib/core/cookbook.js';
import { clusterHost, requireClusterNode } from '../../lib/ops/node/inventory.js';
import { uncordonStep } from '../../lib/ops/node/steps.js';

interface Args {
  clusterName: string;
  hostname: string;
  force: boolean;
}

export default defineCookbook<Args>({
  summary: 'Uncordon a node that this tool cordoned',
  description:
    'Refuses to uncordon a node that was cordoned by someone else (no cluster-cookbooks annotation): an admin may have cordoned it on purpose. --force overrides.',
  options: {
    'cluster-name': clusterNameOption,
    hostname: hostnameOption('Node to uncordon'),
    force: { type: 'boolean', default: false, describe: 'Uncordon even a node this tool did not cordon' },
  },
  examples: [
    ['cookbook k8s.uncordon --cluster-name toolsbeta --hostname toolsbeta-test-k8s-worker-nfs-1', 'Uncordon a node we cordoned'],
    ['cookbook k8s.uncordon --cluster-name toolsbeta --hostname toolsbeta-test-k8s-worker-2 --force', "Uncordon an admin's cordon"],
  ],
  parse: (raw) =>
    frozen({ clusterName: argString(raw, 'cluster-name', { required: true }), hostname: argHostname(raw, 'hostname', { required: true }), force: argFlag(raw, 'force') }),
  validate(cluster, args) {
    clusterHost(cluster, args.hostname);
  },
  async run(ctx, args) {
    const kube = await ctx.k8s();
    await requireClusterNode(kube, ctx.cluster, args.hostname);
    await uncordonStep(ctx, kube, args.hostname, { force: args.force });
    return { node: args.hostname };
  },
});
