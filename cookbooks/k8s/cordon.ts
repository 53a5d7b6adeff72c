// k8s.cordon: mark a node unschedulable, recording that we did (so k8s.uncordon and failed runs only ever
// undo our own cordons).
import { argHostname, argString, clusterNameOption, frozen, hostnameOption } from '../../lib/core/args.js';
import { defineCookbook } from '../../lib/core/cookbook.js';
import { clusterHost, requireClusterNode } from '../../lib/ops/node/inventory.js';
import { cordonStep } from '../../lib/ops/node/steps.js';

interface Args {
  clusterName: string;
  hostname: string;
}

export default defineCookbook<Args>({
  summary: 'Cordon a node (mark it unschedulable)',
  description: 'Idempotent: a node already cordoned is left as it is. The node is annotated as cordoned by this tool.',
  options: { 'cluster-name': clusterNameOption, hostname: hostnameOption('Node to cordon') },
  examples: [['cookbook k8s.cordon --cluster-name toolsbeta --hostname toolsbeta-test-k8s-worker-nfs-1', 'Cordon one worker']],
  parse: (raw) => frozen({ clusterName: argString(raw, 'cluster-name', { required: true }), hostname: argHostname(raw, 'hostname', { required: true }) }),
  validate(cluster, args) {
    clusterHost(cluster, args.hostname);
  },
  async run(ctx, args) {
    const kube = await ctx.k8s();
    await requireClusterNode(kube, ctx.cluster, args.hostname);
    await ctx.confirm(`Cordon ${args.hostname} on ${ctx.cluster.name}.`);
    const r = await cordonStep(ctx, kube, args.hostname);
    return { node: args.hostname, cordon: r };
  },
});
