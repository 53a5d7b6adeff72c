// The cluster as the cookbooks judge it: one row per member (host, URLs, learner, healthy, leader), quorum
// and failure tolerance, and the refusals every change is gated on (exit 2, nothing written).
import type { Context } from '../core/context.js';
import { InputError } from '../core/errors.js';
import { getRole, hostsOfRole } from '../inventory/naming.js';
import { type ClusterView, ETCD_ROLE, type Etcd, type EtcdMember, failureTolerance, quorumOf, removalKeepsQuorum } from './index.js';

/** One member, judged. */
export interface MemberRow {
  id: string;
  name: string;
  /** The member host it runs on (undefined: no VM of the etcd role matches it). */
  host: string | undefined;
  peerUrl: string;
  clientUrl: string;
  learner: boolean;
  /** Started (has a name and a client URL) and answering `endpoint health`. */
  healthy: boolean;
  leader: boolean;
  raftIndex?: number;
  dbSize?: number;
  revision?: number;
  errors: string[];
  /** Why it is not healthy. */
  problem?: string;
}

/** The whole cluster, judged. */
export interface ClusterSummary {
  rows: MemberRow[];
  voters: number;
  healthyVoters: number;
  learners: number;
  quorum: number;
  /** How many more voter failures the cluster survives now. */
  tolerance: number;
  leader: MemberRow | undefined;
  /** Client URLs of healthy voters: where reconfigurations go (a learner refuses them). */
  endpoints: string[];
  /** The member host reads ran on. */
  via: string;
  /** Hosts of the etcd role that have a VM. */
  hosts: string[];
}

/** Judges a view: health by endpoint, leader by id, hosts by name. */
export function summarize(etcd: Etcd, view: ClusterView, hosts: string[], addresses: ReadonlyMap<string, string> = new Map()): ClusterSummary {
  const rows: MemberRow[] = view.members.map((m: EtcdMember) => {
    const clientUrl = m.clientUrls[0] ?? '';
    const h = view.health.find((x) => m.clientUrls.includes(x.endpoint));
    const st = view.status.find((x) => x.memberId === m.id);
    const started = m.name !== '' && clientUrl !== '';
    // A learner refuses the linearizable read `endpoint health` makes: it is healthy when its status answers.
    const healthy = started && (m.isLearner ? st !== undefined : (h?.health ?? false));
    const errors = st?.errors ?? [];
    return {
      id: m.id,
      name: m.name,
      host: etcd.hostOf(m, hosts, addresses),
      peerUrl: m.peerUrls[0] ?? '',
      clientUrl,
      learner: m.isLearner,
      healthy: healthy && errors.length === 0,
      leader: m.id === view.leaderId,
      ...(st ? { raftIndex: st.raftIndex, dbSize: st.dbSize, revision: st.revision } : {}),
      errors,
      ...(!started ? { problem: 'not started' } : !healthy ? { problem: h?.error ?? 'no answer' } : errors.length ? { problem: errors.join('; ') } : {}),
    };
  });
  const voters = rows.filter((r) => !r.learner);
  const healthyVoters = voters.filter((r) => r.healthy).length;
  return {
    rows,
    voters: voters.length,
    healthyVoters,
    learners: rows.length - voters.length,
    quorum: quorumOf(voters.length),
    tolerance: failureTolerance(voters.length, healthyVoters),
    leader: rows.find((r) => r.leader),
    endpoints: rows.filter((r) => r.clientUrl && !r.learner && r.healthy).map((r) => r.clientUrl),
    via: view.via,
    hosts,
  };
}

/** Reads and judges the cluster. */
export async function readCluster(ctx: Context): Promise<{ etcd: Etcd; summary: ClusterSummary }> {
  const etcd = await ctx.client<Etcd>('etcd');
  const hosts = await etcd.memberHosts();
  const [view, addresses] = await Promise.all([etcd.view(), etcd.addresses(hosts)]);
  return { etcd, summary: summarize(etcd, view, hosts, addresses) };
}

/** The row of a member host, if it is a member. */
export function rowOf(summary: ClusterSummary, host: string): MemberRow | undefined {
  return summary.rows.find((r) => r.host === host);
}

/** Refuses a membership change unless every member is healthy (`except`: a member this run itself is adding). */
export function refuseUnlessAllHealthy(ctx: Context, summary: ClusterSummary, action: string, except?: string): void {
  const bad = summary.rows.filter((r) => !r.healthy && r.host !== except);
  if (bad.length === 0) return;
  throw new InputError(`refusing to ${action}: ${bad.map((r) => `${r.name || r.peerUrl} is unhealthy (${r.problem ?? 'no answer'})`).join('; ')}`, {
    context: { cluster: ctx.cluster.name, unhealthy: bad.map((r) => ({ id: r.id, name: r.name, peerUrl: r.peerUrl, problem: r.problem })) },
    hint: `every member must be healthy first (cookbook etcd.status --cluster-name ${ctx.cluster.name}); to replace a broken member use cookbook etcd.replace-member --hostname <host>`,
  });
}

/** Refuses an add while a learner other than `ours` is pending: etcd allows one. */
export function refusePendingLearner(ctx: Context, summary: ClusterSummary, ours: string): void {
  const other = summary.rows.find((r) => r.learner && r.host !== ours);
  if (!other) return;
  throw new InputError(`refusing to add ${ours}: learner ${other.name || other.peerUrl} (${other.id}) is still pending, and etcd allows one learner at a time`, {
    context: { cluster: ctx.cluster.name, learner: { id: other.id, name: other.name, peerUrl: other.peerUrl } },
    hint: `finish that addition first (run the etcd.add-member command that created it again), or remove it with: cookbook etcd.remove-member --cluster-name ${ctx.cluster.name} --hostname ${other.host ?? other.name}`,
  });
}

/**
 * Refuses a removal that would leave the cluster unable to survive what it survives today minus one, or the
 * role below its inventory minimum. The member's own health counts: removing a dead member costs nothing.
 */
export function refuseUnsafeRemoval(ctx: Context, summary: ClusterSummary, row: MemberRow, options: { replacing?: boolean } = {}): void {
  if (!row.learner) {
    const q = removalKeepsQuorum(summary.voters, summary.healthyVoters, row.healthy);
    if (!q.ok) {
      const others = summary.rows.filter((r) => r !== row && !r.learner && !r.healthy).map((r) => r.name || r.peerUrl);
      throw new InputError(
        `refusing to remove ${row.name}: the cluster survives ${q.today} more failure(s) today and would survive ${q.after} after it${others.length ? ` (${others.join(', ')} ${others.length > 1 ? 'are' : 'is'} unhealthy)` : ''}; quorum would be at risk`,
        {
          context: { cluster: ctx.cluster.name, member: row.name, voters: summary.voters, healthyVoters: summary.healthyVoters, toleranceToday: q.today, toleranceAfter: q.after, unhealthy: others },
          hint: others.length ? `bring ${others.join(', ')} back first, or replace it: cookbook etcd.replace-member --cluster-name ${ctx.cluster.name} --hostname ${others[0]}` : 'add a member first (cookbook etcd.add-member)',
        },
      );
    }
  }
  const min = getRole(ctx.cluster, ETCD_ROLE).min;
  const remaining = hostsOfRole(ctx.cluster, ETCD_ROLE, summary.rows.filter((r) => r !== row && r.host).map((r) => r.host!)).length;
  // A replacement removed first is followed by its successor: the minimum holds again at the end.
  if (!row.learner && remaining < min && !options.replacing) {
    throw new InputError(`refusing to remove ${row.name}: role ${ETCD_ROLE} would have ${remaining} member(s), below its minimum of ${min}`, {
      context: { cluster: ctx.cluster.name, member: row.name, remaining, min },
      hint: `add a member first (cookbook etcd.add-member --cluster-name ${ctx.cluster.name}), or replace this one (cookbook etcd.replace-member --cluster-name ${ctx.cluster.name} --hostname ${row.host ?? row.name})`,
    });
  }
}

/** Text of `etcd.status`: one line per member, then leader and quorum. */
export function renderStatus(cluster: string, s: ClusterSummary): string {
  const mb = (n?: number): string => (n === undefined ? '-' : `${(n / 1024 / 1024).toFixed(1)} MiB`);
  const rows = s.rows.map((r) =>
    [
      (r.name || '(not started)').padEnd(28),
      r.id.padEnd(17),
      (r.learner ? 'learner' : 'voter').padEnd(8),
      (r.healthy ? 'healthy' : `UNHEALTHY (${r.problem ?? '?'})`).padEnd(22),
      (r.leader ? 'leader' : '').padEnd(7),
      String(r.raftIndex ?? '-').padEnd(9),
      mb(r.dbSize).padEnd(10),
      r.errors.length ? r.errors.join('; ') : '-',
      `  peer ${r.peerUrl} client ${r.clientUrl || '-'}`,
    ].join(' '),
  );
  return [
    `etcd of ${cluster}: ${s.rows.length} member(s), ${s.voters} voter(s), ${s.learners} learner(s)`,
    `${'NAME'.padEnd(28)} ${'ID'.padEnd(17)} ${'ROLE'.padEnd(8)} ${'HEALTH'.padEnd(22)} ${'LEADER'.padEnd(7)} ${'RAFT IDX'.padEnd(9)} ${'DB SIZE'.padEnd(10)} ALARMS`,
    ...rows,
    `leader: ${s.leader?.name ?? 'NONE'}; quorum ${s.quorum} of ${s.voters}; ${s.healthyVoters} healthy voter(s); survives ${Math.max(0, s.tolerance)} more failure(s)${s.tolerance < 0 ? ' (QUORUM LOST)' : ''}`,
  ].join('\n');
}

/** The member host to act on: the one asked for (refused unless it is a member), else the oldest member. */
export function chooseMember(ctx: Context, s: ClusterSummary, requested: string | undefined, action: string): MemberRow {
  if (requested) {
    const row = rowOf(s, requested);
    if (row) return row;
    const members = s.rows.map((r) => r.host ?? r.name).filter(Boolean);
    throw new InputError(`${requested} is not an etcd member of cluster ${ctx.cluster.name} (members: ${members.join(', ') || 'none'})`, {
      context: { cluster: ctx.cluster.name, hostname: requested, members },
      hint: `check the name with: cookbook etcd.status --cluster-name ${ctx.cluster.name}`,
    });
  }
  const byHost = s.rows.filter((r) => r.host);
  const oldest = hostsOfRole(ctx.cluster, ETCD_ROLE, byHost.map((r) => r.host!))[0];
  const row = byHost.find((r) => r.host === oldest);
  if (!row) throw new InputError(`cluster ${ctx.cluster.name} has no etcd member on a host of role ${ETCD_ROLE} to ${action}`, { context: { cluster: ctx.cluster.name }, hint: 'name the member with --hostname' });
  return row;
}
