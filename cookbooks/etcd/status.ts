// etcd.status: members (name, id, URLs, learner or voter), the leader, health and status of every endpoint
// (raft index, DB size, alarms) and quorum. Exits 1 when a member is unhealthy, so it can gate other runs.
import { clusterNameOption, argString, frozen } from '../../lib/core/args.js';
import { defineCookbook } from '../../lib/core/cookbook.js';
import { EtcdVerifyError } from '../../lib/etcd/errors.js';
import { readCluster, renderStatus } from '../../lib/etcd/members.js';
import { requireEtcdRole } from '../../lib/etcd/cookbook-args.js';

interface Args {
  clusterName: string;
}

export default defineCookbook<Args>({
  summary: 'Show etcd members, leader, health and quorum (exit 1 when a member is unhealthy)',
  description:
    'Reads the member list, `endpoint health` and `endpoint status` through etcdctl on a member host: name, id, peer and client URLs, learner or voter, leader, raft index, DB size, alarms, and how many more failures the cluster survives. Exits 1 when any member is unhealthy (for monitoring and as a gate before other runs).',
  options: { 'cluster-name': clusterNameOption },
  examples: [
    ['cookbook etcd.status --cluster-name tools', 'Members, leader, health and quorum'],
    ['cookbook etcd.status --cluster-name tools --json', 'The same as JSON (result field)'],
  ],
  // Read-only and used as a gate while other runs hold the cluster lock.
  lock: 'none',
  parse: (raw) => frozen({ clusterName: argString(raw, 'cluster-name', { required: true }) }),
  validate: (cluster) => requireEtcdRole(cluster),
  async run(ctx) {
    const { summary } = await readCluster(ctx);
    ctx.print(renderStatus(ctx.cluster.name, summary));
    const bad = summary.rows.filter((r) => !r.healthy);
    const result = { members: summary.rows, leader: summary.leader?.name ?? null, voters: summary.voters, learners: summary.learners, quorum: summary.quorum, healthyVoters: summary.healthyVoters, tolerance: summary.tolerance };
    if (bad.length) {
      throw new EtcdVerifyError(`etcd of ${ctx.cluster.name} is unhealthy: ${bad.map((r) => `${r.name || r.peerUrl} ${r.problem ?? ''}`.trim()).join('; ')}`, {
        context: { cluster: ctx.cluster.name, status: result },
        hint: `start the stopped member (systemctl start etcd on its host) or replace it: cookbook etcd.replace-member --cluster-name ${ctx.cluster.name} --hostname <host>`,
      });
    }
    return result;
  },
});
