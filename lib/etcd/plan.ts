// The decisions of the membership cookbooks, made once per run (journaled) and before anything changes:
// which host, and the refusals (exit 2) that make quorum-losing accidents impossible.
import type { Context } from '../core/context.js';
import { nextHostname } from '../inventory/naming.js';
import { ETCD_ROLE } from './index.js';
import { type ClusterSummary, type MemberRow, chooseMember, readCluster, refusePendingLearner, refuseUnlessAllHealthy, refuseUnsafeRemoval, rowOf } from './members.js';

/**
 * The host an add creates: the one asked for; else a pending learner's host (an earlier add that did not
 * finish: the same command converges); else the next free name of the role.
 */
export async function chooseHostToAdd(ctx: Context, summary: ClusterSummary, requested?: string, memoKey = 'etcd:add-host'): Promise<string> {
  return ctx.memo(memoKey, async () => {
    if (requested) return requested;
    const pending = summary.rows.find((r) => r.learner && r.host);
    if (pending) return pending.host!;
    const os = await ctx.openstack();
    const names = (await os.listServers({ name: `^${ctx.cluster.prefix}-` })).map((s) => s.name);
    return nextHostname(ctx.cluster, ETCD_ROLE, [...names, ...summary.hosts]);
  });
}

/** Refuses an add unless every member is healthy and no other learner is pending (reads only). */
export function refuseUnsafeAdd(ctx: Context, summary: ClusterSummary, hostname: string): void {
  refusePendingLearner(ctx, summary, hostname);
  refuseUnlessAllHealthy(ctx, summary, `add ${hostname}`, hostname);
}

/** The member a removal acts on and whether it is safe: the journaled choice survives a resume. */
export async function planRemoval(ctx: Context, requested: string | undefined): Promise<{ hostname: string; row: MemberRow | undefined; summary: ClusterSummary }> {
  const { summary } = await readCluster(ctx);
  const hostname = await ctx.memo('etcd:remove-host', async () => chooseMember(ctx, summary, requested, 'remove').host!);
  const row = rowOf(summary, hostname);
  // A resumed removal whose member is gone only finishes the leftovers (VM, etcd stopped).
  if (row) refuseUnsafeRemoval(ctx, summary, row);
  return { hostname, row, summary };
}
