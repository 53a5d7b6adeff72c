// etcd.add-member: refuses unless every member is healthy; creates the VM, provisions etcd, adds it as a
// learner, starts it with exactly what `member add` printed, promotes it once caught up, then adds its client
// URL to every apiserver (one control node at a time, /readyz in between) and to kubeadm's ClusterConfiguration.
import { defineCookbook } from '../../lib/core/cookbook.js';
import { type MemberArgs, memberArgs } from '../../lib/etcd/cookbook-args.js';
import { readCluster } from '../../lib/etcd/members.js';
import { addMemberSteps } from '../../lib/etcd/membership.js';
import { chooseHostToAdd, refuseUnsafeAdd } from '../../lib/etcd/plan.js';
import { checkVmSettingsUnlessCreated } from '../../lib/ops/node/vm.js';

export default defineCookbook<MemberArgs>({
  summary: 'Add an etcd member (learner first, promoted once caught up; apiservers updated)',
  description:
    'Refuses unless every member is healthy and no learner is pending. Creates the VM (role etcd) and provisions it, runs `member add --learner` with its peer URL, starts etcd with exactly the ETCD_INITIAL_CLUSTER and state "existing" that add printed, promotes it once it has caught up, then adds its client URL to every apiserver\'s --etcd-servers (one control node at a time, /readyz in between) and to kubeadm-config. Interrupted anywhere, the same command finishes the same member.',
  ...memberArgs('Name of the new member (default: the next free name of the etcd role)'),
  examples: [
    ['cookbook etcd.add-member --cluster-name tools', 'Add the next etcd member'],
    ['cookbook etcd.add-member --cluster-name tools --dry-run', 'Plan it and say whether it would succeed'],
  ],
  async run(ctx, args) {
    const { summary } = await readCluster(ctx);
    const hostname = await chooseHostToAdd(ctx, summary, args.hostname);
    refuseUnsafeAdd(ctx, summary, hostname);
    await checkVmSettingsUnlessCreated(ctx, 'etcd', hostname);
    ctx.log.info(`adding etcd member ${hostname} (cluster has ${summary.voters} voter(s), all healthy)`);
    return addMemberSteps(ctx, hostname, summary);
  },
});
