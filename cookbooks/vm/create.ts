// vm.create: a VM for a role, named by the naming rules, in the role's server group, ACTIVE and reachable
// over SSH with its host key verified against the console log.
import { type NewHostArgs, argNewHost, newHostOptions } from '../../lib/core/args.js';
import { defineCookbook } from '../../lib/core/cookbook.js';
import { getRole } from '../../lib/inventory/naming.js';
import { chooseNewHostname, clusterHost } from '../../lib/ops/node/inventory.js';
import { checkVmSettingsUnlessCreated, ensureVm, serverSummary } from '../../lib/ops/node/vm.js';

type Args = NewHostArgs;

export default defineCookbook<Args>({
  summary: 'Create a VM for a role (named, grouped, ACTIVE, SSH key verified)',
  options: newHostOptions('Inventory role (worker, worker_nfs, control, ingress, etcd)', 'Host name (default: the next name of the role)'),
  examples: [['cookbook vm.create --cluster-name toolsbeta --role worker', 'Create the next worker VM']],
  parse: argNewHost,
  validate(cluster, args) {
    getRole(cluster, args.role);
    if (args.hostname) clusterHost(cluster, args.hostname, args.role);
  },
  async run(ctx, args) {
    const hostname = await chooseNewHostname(ctx, args.role, args.hostname);
    // An unknown flavor, image or network is bad input: refused before anything is created.
    await checkVmSettingsUnlessCreated(ctx, args.role, hostname, args);
    ctx.log.info(`VM: ${hostname}`);
    const server = await ensureVm(ctx, args.role, hostname, args);
    return { hostname, server: serverSummary(server) };
  },
});
