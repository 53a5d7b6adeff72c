// k8s.add-node: create the VM, provision it, join it with a fresh short-lived token, wait Ready, apply the
// role's labels and taints. Interrupted and run again, it finishes the same node instead of creating another.
import { type NewHostArgs, argNewHost, newHostOptions } from '../../lib/core/args.js';
import { defineCookbook } from '../../lib/core/cookbook.js';
import { addNodeSteps, preflightAddNode } from '../../lib/ops/node/add.js';
import { chooseNewHostname, clusterHost, requireNodeRole } from '../../lib/ops/node/inventory.js';

type Args = NewHostArgs;

export default defineCookbook<Args>({
  summary: 'Add a Kubernetes node of a role (VM, provision, join, Ready, labels)',
  description:
    'The new name (highest index of the role + 1, or --hostname, which must not be a node yet) is journaled before the VM is created, so a re-run after any interruption finishes that node. Before anything is created, the flavor, image and network are checked against OpenStack and the control nodes must answer over SSH with the host keys known_hosts records (a changed key stops the run). Control nodes join with a certificate key; secrets travel in a 0600 file, never on a command line. The join token lives 15 minutes and is deleted at the end, also after an interrupt; a re-run deletes tokens an interrupted run left.',
  options: newHostOptions('Role: worker, worker_nfs, ingress or control', 'Name of the new node (default: the next name of the role)'),
  examples: [
    ['cookbook k8s.add-node --cluster-name toolsbeta --role worker_nfs', 'Add the next NFS worker'],
    ['cookbook k8s.add-node --cluster-name local --role worker --yes', 'Add a worker to the local lab'],
  ],
  parse: argNewHost,
  validate(cluster, args) {
    requireNodeRole(cluster, args.role);
    if (args.hostname) clusterHost(cluster, args.hostname, args.role);
  },
  async run(ctx, args) {
    const hostname = await chooseNewHostname(ctx, args.role, args.hostname);
    // Before anything is created: the VM settings exist, the control nodes answer with the keys we know.
    const controls = await preflightAddNode(ctx, args.role, hostname, args);
    await ctx.confirm(`Add ${args.role} node ${hostname} to ${ctx.cluster.name}.`);
    ctx.log.info(`adding ${args.role} node ${hostname}`);
    return addNodeSteps(ctx, args.role, hostname, { overrides: args, controls });
  },
});
