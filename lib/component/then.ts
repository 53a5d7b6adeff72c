// component.deploy --then CLUSTER: once the first cluster deployed and passed its tests, the same commit goes to
// the next cluster (the toolsbeta-then-tools routine), under that cluster's own lock: a git source is cloned
// again and checked out at the first deploy's commit, even if the branch moved meanwhile.
import type { Context } from '../core/context.js';
import { InputError, LockHeldError } from '../core/errors.js';
import { dirname } from 'node:path';
import type { ClusterConfig } from '../inventory/schema.js';
import { type DeployOptions, type DeployResult, deployComponents } from './deploy.js';
import type { ComponentArgs } from './options.js';
import { isGitUrl } from './repository.js';

/** The deploy cookbook's arguments (see cookbooks/component/deploy.ts); `components`: every --component, in order. */
export interface DeployArgs extends ComponentArgs {
  components: string[];
  runTests: boolean;
  filterTags: string[];
  noRollback: boolean;
  force: boolean;
  forceConflicts: boolean;
  timeoutMs?: number;
  concurrency: number;
  then?: string;
}

function optionsOf(args: DeployArgs, source: { repo: string; branch?: string }): Omit<DeployOptions, 'component'> {
  return { source, runTests: args.runTests, filterTags: args.filterTags, noRollback: args.noRollback, force: args.force, forceConflicts: args.forceConflicts, timeoutMs: args.timeoutMs, concurrency: args.concurrency };
}

/**
 * The --then cluster, looked up exactly as the CLI looked up --cluster-name: in the run's inventory
 * directories (every --inventory given, else the package's inventory/ and COOKBOOK_INVENTORY), then running
 * labs. (A context without them, built outside the CLI, falls back to the first cluster's directory.)
 */
async function resolveNext(ctx: Context, name: string): Promise<ClusterConfig> {
  const dirs = ctx.inventoryDirs ? [...ctx.inventoryDirs] : [dirname(ctx.cluster.source)];
  const { resolveCluster } = await import('../runner/clients.js');
  try {
    return await resolveCluster(name, { inventory: dirs }, (m) => ctx.log.info(m));
  } catch (err) {
    if (err instanceof InputError) throw new InputError(`--then: ${err.message}`, { context: { ...err.context, option: 'then', inventory: dirs }, cause: err, hint: `${err.hint ?? ''}; --then looks where --cluster-name was found: ${dirs.join(', ')} (add the next cluster's directory with another --inventory DIR)` });
    throw err;
  }
}

/** One cluster's outcome: the component's result, or with several --component, every component's in order. */
export type ClusterDeploy = DeployResult | { components: DeployResult[] };

/** Deploys to the run's cluster, then (with --then) the same commit to the next one. */
export async function deployWithThen(ctx: Context, args: DeployArgs): Promise<ClusterDeploy | { first: ClusterDeploy; then: ClusterDeploy }> {
  const shape = (results: DeployResult[]): ClusterDeploy => (args.components.length === 1 ? results[0]! : { components: results });
  const { repoSource } = await import('./prepare.js');
  const source = repoSource(ctx, args.repo, args.gitBranch);
  // Resolved before the first deploy: an unknown cluster is bad input, refused before anything is written.
  const next = args.then ? await resolveNext(ctx, args.then) : undefined;
  const firsts = await deployComponents(ctx, args.components, optionsOf(args, source));
  const first = firsts[0]!;
  if (!next || ctx.dryRun) return shape(firsts);
  ctx.log.info(`component ${args.components.join(', ')}: ${ctx.cluster.name} passed; deploying ${first.repo.sha.slice(0, 12)} to ${next.name}`);
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
    // A directory cannot be pinned (it is used as it is); a git source is checked out at the first deploy's commit.
    const local = first.repo.sha.startsWith('tree:') || !(isGitUrl(first.repo.url) || first.repo.branch);
    const pinned = local ? source : { repo: first.repo.url, branch: first.repo.branch, commit: first.repo.sha };
    const thens = await deployComponents(inner, args.components, { ...optionsOf(args, pinned), memoPrefix: `${next.name}:` });
    const then = thens[0]!;
    if (then.repo.sha !== first.repo.sha) ctx.log.warn(`component ${args.components.join(', ')}: ${next.name} got ${then.repo.sha.slice(0, 12)}, not ${first.repo.sha.slice(0, 12)} (the directory changed in between)`);
    await Promise.all(inner.builtClients().map(async (p) => (await p as { close?: () => Promise<void> }).close?.()));
    return { first: shape(firsts), then: shape(thens) };
  } finally {
    await lock.release();
  }
}
