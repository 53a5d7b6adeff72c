// etcd.replace-member --hostname H: an unhealthy member is removed first and its replacement added after
// (adding first would raise the quorum while a member is down); a healthy one is added first, then removed.
import { argHostname, argString, clusterNameOption, frozen } from '../../lib/core/args.js';
import { defineCookbook } from '../../lib/core/cookbook.js';
import { requireEtcdHost } from '../../lib/etcd/cookbook-args.js';
import { chooseMember, readCluster, refuseUnlessAllHealthy, refuseUnsafeRemoval } from '../../lib/etcd/members.js';
import { addMemberSteps, removeMemberSteps } from '../../lib/etcd/membership.js';
import { chooseHostToAdd, refuseUnsafeAdd } from '../../lib/etcd/plan.js';
import { removalDetails } from './remove-member.js';

interface Args {
  clusterName: string;
  hostname: string;
}

export default defineCookbook<Args>({
  summary: 'Replace an etcd member: unhealthy ones are removed first, healthy ones added first',
  description:
    'Replaces the member on --hostname with a new VM. An unhealthy member is removed first (apiservers, member remove, VM) and the new member added after; a healthy one is added first (learner, promote, apiservers) and then removed. Every step is journaled; the same command resumes.',
  options: {
    'cluster-name': clusterNameOption,
    hostname: { type: 'string', demandOption: true, requiresArg: true, describe: 'Member host to replace' },
  },
  examples: [['cookbook etcd.replace-member --cluster-name tools --hostname tools-k8s-etcd-22', 'Replace a member']],
  parse: (raw) => frozen({ clusterName: argString(raw, 'cluster-name', { required: true }), hostname: argHostname(raw, 'hostname', { required: true }) }),
  validate: (cluster, args) => requireEtcdHost(cluster, args.hostname),
  async run(ctx, args) {
    const { summary } = await readCluster(ctx);
    const old = args.hostname;
    // Decided once: a resumed run keeps the order even after the old member is gone.
    const order = await ctx.memo('etcd:replace-order', async () => {
      const row = chooseMember(ctx, summary, old, 'replace');
      return row.healthy ? 'add-first' : 'remove-first';
    });
    const others = summary.rows.filter((r) => r.host !== old);
    const oldRow = summary.rows.find((r) => r.host === old);
    // Never the old host's name again (its VM may still exist); a pending learner of ours is taken up again.
    const newHost = await chooseHostToAdd(ctx, { ...summary, rows: summary.rows.filter((r) => r.host !== old), hosts: [...summary.hosts, old] }, undefined, 'etcd:replace-new-host');
    if (order === 'remove-first') {
      if (oldRow) refuseUnsafeRemoval(ctx, summary, oldRow, { replacing: true });
      refuseUnlessAllHealthy(ctx, { ...summary, rows: others }, `replace ${old}`);
    } else if (summary.rows.some((r) => r.host === newHost) === false) {
      refuseUnsafeAdd(ctx, summary, newHost);
    }
    await ctx.confirm(`Replace etcd member ${old} of ${ctx.cluster.name} with ${newHost} (${order}).`, { destructive: true, details: [`add ${newHost} (learner, promote, apiservers)`, ...removalDetails(old)] });
    if (order === 'remove-first') {
      const removed = await removeMemberSteps(ctx, old, oldRow);
      const added = await addMemberSteps(ctx, newHost);
      return { order, removed, added };
    }
    const added = await addMemberSteps(ctx, newHost);
    const { summary: now } = await readCluster(ctx);
    const row = now.rows.find((r) => r.host === old);
    // Its successor is a member now (or, in a dry-run, planned to be): the minimum holds.
    if (row) refuseUnsafeRemoval(ctx, now, row, { replacing: true });
    const removed = await removeMemberSteps(ctx, old, row);
    return { order, added, removed };
  },
});
