// component.deploy --then CLUSTER: once the first cluster deployed and passed its tests, the same commit goes to
// the next cluster (the toolsbeta-then-tools routine), under that cluster's own lock, from the same checkout.
import type { Context } from '../core/context.js';
import { InputError, LockHeldError } from '../core/errors.js';
import { didYouMean } from '../inventory/suggest.js';
import { type DeployOptions, type DeployResult, deployComponent } from './deploy.js';
import type { ComponentArgs } from './options.js';

/** The deploy cookbook's arguments (see cookbooks/component/deploy.ts). */
export interface DeployArgs extends ComponentArgs {
  runTests: boolean;
  filterTags: string[];
  noRollback: boolean;
  force: boolean;
  forceConflicts: boolean;
  timeoutMs?: number;
  concurrency: number;
  then?: string;
}

function optionsOf(args: DeployArgs, source: { repo: string; branch?: string }): DeployOptions {
  return { component: args.component, source, runTests: args.runTests, filterTags: args.filterTags, noRollback: args.noRollback, force: args.force, forceConflicts: args.forceConflicts, timeoutMs: args.timeoutMs, concurrency: args.concurrency };
}

/** Deploys to the run's cluster, then (with --then) the same commit to the next one. */
export async function deployWithThen(ctx: Context, args: DeployArgs): Promise<DeployResult | { first: DeployResult; then: DeployResult }> {
  const { repoSource } = await import('./prepare.js');
  const source = repoSource(ctx, args.repo, args.gitBranch);
  const next = args.then ? ctx.inventory?.clusters.get(args.then) : undefined;
  if (args.then && !next) {
    const known = [...(ctx.inventory?.clusters.keys() ?? [])];
    throw new InputError(`--then: no cluster ${args.then} in the inventory${didYouMean(args.then, known)}`, { context: { option: 'then', known }, hint: `clusters: ${known.join(', ')}` });
  }
  const first = await deployComponent(ctx, optionsOf(args, source));
  if (!next || ctx.dryRun) return first;
  // The same commit: a git source is cloned again at the recorded SHA's branch; a directory is used as it is.
  ctx.log.info(`component ${args.component}: ${ctx.cluster.name} passed; deploying ${first.repo.sha.slice(0, 12)} to ${next.name}`);
  const { lockBackendFor } = await import('../runner/clients.js');
  const backend = await lockBackendFor(next, ctx.stateDir);
  const { clusterLockScope } = await import('../lock/identity.js');
  const scope = clusterLockScope(next);
  const holder = { runId: ctx.runId, cookbook: ctx.cookbook, user: ctx.audit.operator, host: ctx.audit.host, pid: process.pid, since: new Date().toISOString() };
  let lock;
  try {
    lock = await backend.acquire(scope, holder, { ttlMs: next.lock.ttlSeconds * 1000 });
  } catch (err) {
    if (err instanceof LockHeldError) throw new LockHeldError(`--then ${next.name}: ${err.message}`, { context: err.context, cause: err, hint: `${ctx.cluster.name} is deployed; run the deploy for ${next.name} again later` });
    throw err;
  }
  try {
    const inner = ctx.forCluster(next);
    const pinned = first.repo.sha.startsWith('tree:') ? source : { repo: first.repo.url, branch: first.repo.branch };
    const then = await deployComponent(inner, { ...optionsOf(args, pinned), memoPrefix: `${next.name}:` });
    if (then.repo.sha !== first.repo.sha) ctx.log.warn(`component ${args.component}: ${next.name} got ${then.repo.sha.slice(0, 12)}, not ${first.repo.sha.slice(0, 12)} (the branch moved in between)`);
    await Promise.all(inner.builtClients().map(async (p) => (await p as { close?: () => Promise<void> }).close?.()));
    return { first, then };
  } finally {
    await lock.release();
  }
}
