// etcd.remove-member: refuses when the removal would leave the cluster unable to survive what it survives
// today minus one; takes the member out of every apiserver and kubeadm-config first, moves leadership away,
// `member remove`, stops etcd and deletes the VM.
import { defineCookbook } from '../../lib/core/cookbook.js';
import { type MemberArgs, memberArgs } from '../../lib/etcd/cookbook-args.js';
import { removeMemberSteps } from '../../lib/etcd/membership.js';
import { planRemoval } from '../../lib/etcd/plan.js';

/** What a removal does, for its confirmation. */
export function removalDetails(hostname: string): string[] {
  return [
    `remove ${hostname}'s client URL from every apiserver's --etcd-servers and from kubeadm-config`,
    `move etcd leadership away from ${hostname} if it leads`,
    `etcdctl member remove ${hostname}`,
    `stop etcd on ${hostname} and delete its VM: its data is gone for good`,
  ];
}

export default defineCookbook<MemberArgs>({
  summary: 'Remove an etcd member (the oldest by default), never below quorum safety',
  description:
    'Refuses when the removal would leave the cluster unable to survive the loss it survives today minus one (in a 3-member cluster: while any other member is unhealthy), or below the role minimum. Takes the member out of every apiserver (one control node at a time, /readyz in between) and kubeadm-config first, moves leadership away if it leads, removes it, stops etcd and deletes the VM.',
  ...memberArgs('Member host to remove (default: the oldest member)'),
  examples: [
    ['cookbook etcd.remove-member --cluster-name tools', 'Remove the oldest member'],
    ['cookbook etcd.remove-member --cluster-name tools --hostname tools-k8s-etcd-22 --dry-run', 'Would removing this member be safe?'],
  ],
  async run(ctx, args) {
    const { hostname, row } = await planRemoval(ctx, args.hostname);
    await ctx.confirm(`Remove etcd member ${hostname} from ${ctx.cluster.name} and delete its VM.`, { destructive: true, details: removalDetails(hostname) });
    return removeMemberSteps(ctx, hostname, row);
  },
});
