// component.deploy's engine: render → validate (server-side dry-run) → diff → record a pending revision →
// apply (SSA + ApplySet, prune) → wait → deployed → tests; on a failed rollout or failed tests, roll back to the
// last good revision, wait, re-test and fail naming the tests. A pending revision left by a dead run is
// resolved (adopted when its objects are exactly what is live and rendered, else marked failed) and logged.
import type { Context } from '../core/context.js';
import { CookbookError, InterruptedError, messageOf } from '../core/errors.js';
import { type BatsRun, type BatsTest, formatTests } from './bats.js';
import { type DeployPlan, formatPlan, planDeploy } from './diff.js';
import { type FieldConflictError, TestsFailedError } from './errors.js';
import { type KObject, contentHash, objectKey, stamped, HASH_ANNOTATION } from './objects.js';
import type { Kube } from '../k8s/index.js';
import type { ComponentKube } from './client.js';
import { type Prepared, componentKube, renderCache, prepareComponent, runTestsAgainst, testsFor, withRepository } from './prepare.js';
import { type Release, latestRevision, lastGoodRelease, currentRelease, strandedPending } from './release.js';
import type { Repository } from './repository.js';
import { type Env, applyRevision, liveNow, pruneHistory, setStatus } from './revision.js';
import { rollbackTo } from './rollback.js';
import { checkParent, liveMembers, memberKinds, parentOf, readReleases, ensureNamespace, writeRelease } from './state.js';
import { crdKindsChanging, validatePlan } from './validate.js';

/** Options of a deploy. */
export interface DeployOptions {
  component: string;
  /** Where the repository comes from; `commit` pins a git source to one commit of the branch. */
  source: { repo: string; branch?: string; commit?: string };
  runTests: boolean;
  filterTags: readonly string[];
  noRollback: boolean;
  force: boolean;
  forceConflicts: boolean;
  /** Rollout timeout; default: component.yaml's waitTimeout, else 5 minutes. */
  timeoutMs?: number;
  concurrency?: number;
  /** Prefix of this deploy's journal keys (a second cluster in the same run). */
  memoPrefix?: string;
}

/** What a deploy reports. */
export interface DeployResult {
  component: string;
  cluster: string;
  changed: boolean;
  revision?: number;
  status?: string;
  repo: { url: string; branch?: string; sha: string };
  plan: DeployPlan['counts'];
  /** The diff as printed (created, changed with their changed fields, pruned; Secret data masked). */
  diff: string;
  tests?: BatsRun['results'];
  rolledBackTo?: number;
  resolved?: string[];
}

/** Parses waitTimeout of component.yaml (90s, 5m) into ms. */
export function waitTimeoutMs(text: string | undefined): number | undefined {
  const m = text && /^(\d+)(ms|s|m|h)$/.exec(text);
  if (!m) return undefined;
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
}

/** Deploys a component from a repository to the run's cluster. */
export async function deployComponent(ctx: Context, options: DeployOptions): Promise<DeployResult> {
  const { component, ...rest } = options;
  return (await deployComponents(ctx, [component], rest))[0]!;
}

/**
 * Deploys several components from one repository checkout, one after another, each to the end (rollout, tests,
 * rollback) before the next. Every component is loaded, rendered and its tests selected before the first is
 * deployed, so bad input in any of them is refused with nothing written. The first failure stops the run; its
 * error names the components deployed before it and those not attempted.
 */
export async function deployComponents(ctx: Context, components: readonly string[], options: Omit<DeployOptions, 'component'>): Promise<DeployResult[]> {
  return withRepository(options.source, async (repo) => {
    const cache = renderCache(ctx);
    const prepared = components.map((c) => prepareComponent(repo, c, ctx.cluster.name, cache));
    const tests = prepared.map((p) => (options.runTests ? testsFor(repo, p.source, options.filterTags) : []));
    const clients = await componentKube(ctx);
    const done: DeployResult[] = [];
    try {
      // Every component is validated before the first one writes anything.
      const pendingKinds = new Set<string>();
      const planned: PlannedDeploy[] = [];
      for (const p of prepared) planned.push(await planPrepared(ctx, repo, p, { ...options, component: p.source.name }, clients, pendingKinds));
      for (const [i, p] of prepared.entries()) {
        try {
          done.push(await deployPlanned(ctx, repo, planned[i]!, tests[i]!, { ...options, component: p.source.name }));
        } catch (err) {
          if (components.length === 1 || err instanceof InterruptedError) throw err;
          const before = done.map((d) => d.component);
          const after = components.slice(i + 1);
          throw withNote(err, `component ${p.source.name} failed (${i + 1} of ${components.length}); deployed before it: ${before.join(', ') || 'none'}; not attempted: ${after.join(', ') || 'none'}`, { deployed: before, notAttempted: after });
        }
      }
    } finally {
      await clients.kube.close();
    }
    return done;
  });
}

function sameObjects(a: readonly KObject[], b: readonly KObject[]): boolean {
  const sig = (xs: readonly KObject[]): string => xs.map((o) => `${objectKey(o)}=${o.metadata.annotations?.[HASH_ANNOTATION] ?? contentHash(o)}`).sort().join('\n');
  return sig(a) === sig(b);
}

/** A component read from the cluster, planned and validated: what its deploy works from. */
interface PlannedDeploy {
  prepared: Prepared;
  releases: Release[];
  desired: KObject[];
  live: Map<string, KObject>;
  plan: DeployPlan;
  /** Custom resources of a CRD this run creates or changes: validated once it is served (before other writes). */
  deferred: KObject[];
  base: DeployResult;
  env: Env;
}

/**
 * Reads a component's state, plans its deploy and validates what it would write (dryRun=All). `pendingKinds`
 * carries the kinds of CRDs that components planned before it in the same run create or change (this one's are
 * added): their custom resources are deferred, not refused as unknown kinds.
 */
async function planPrepared(ctx: Context, repo: Repository, prepared: Prepared, options: DeployOptions, clients: { kube: ComponentKube; k8s: () => Promise<Kube> }, pendingKinds: Set<string>): Promise<PlannedDeploy> {
  const { source, rendered } = prepared;
  const { kube, k8s } = clients;
  const ns = source.namespace;
  const p = parentOf(source.name, ns);
  const parent = await kube.read({ apiVersion: 'v1', kind: 'Secret', metadata: { name: p.name, namespace: ns } });
  checkParent(parent, p.id);
  const releases = await readReleases(kube, source.name, ns);
  const desired = rendered.objects.map((o) => stamped(o, p.id));
  const live = await liveMembers(kube, p.id, memberKinds(parent, desired));
  const plan = planDeploy(desired, live);
  for (const k of crdKindsChanging(desired, plan)) pendingKinds.add(k);
  const onConflict = (err: FieldConflictError): void => {
    // A dry-run goes on to plan the rest; its verdict says the real run would stop here.
    if (!ctx.dryRun) throw err;
    ctx.planProblem({ kind: 'fail', step: 'validate', node: String(err.context.object ?? source.name), reason: err.message });
  };
  const deferred = await validatePlan(kube, desired, plan, options.forceConflicts, ns, onConflict, options.concurrency, pendingKinds);
  ctx.print(`${source.name} on ${ctx.cluster.name} (${repo.url}${repo.branch ? ` ${repo.branch}` : ''} @ ${repo.sha.slice(0, 12)}):\n${formatPlan(plan)}`);
  if (deferred.length) ctx.print(`${deferred.length} custom resources of CRDs this deploy creates or changes are validated once those CRDs are served, before anything else is written`);
  const base: DeployResult = { component: source.name, cluster: ctx.cluster.name, changed: false, repo: { url: repo.url, branch: repo.branch, sha: repo.sha }, plan: plan.counts, diff: formatPlan(plan) };
  const env: Env = {
    ctx,
    kube,
    k8s,
    component: source.name,
    namespace: ns,
    setId: p.id,
    forceConflicts: options.forceConflicts,
    timeoutMs: options.timeoutMs ?? waitTimeoutMs(source.waitTimeout) ?? 5 * 60_000,
    concurrency: options.concurrency,
    memoPrefix: options.memoPrefix ?? '',
  };
  return { prepared, releases, desired, live, plan, deferred, base, env };
}

async function deployPlanned(ctx: Context, repo: Repository, planned: PlannedDeploy, tests: readonly BatsTest[], options: DeployOptions): Promise<DeployResult> {
  const { prepared, releases, desired, live, plan, base, env } = planned;
  const { source, rendered } = prepared;
  const { kube, k8s } = env;
  const ns = source.namespace;

  // A pending revision is ours to finish when this run resumes the run that wrote it; any other is a dead run's.
  const memoKey = `${options.memoPrefix ?? ''}${source.name}:revision`;
  const resumed = ctx.recall<number>(memoKey);
  const changed = plan.counts.create + plan.counts.change + plan.counts.prune > 0;
  const stranded = strandedPending(releases, ctx.runId).filter((r) => r.revision !== resumed);
  const adopt = !changed ? stranded.filter((r) => sameObjects(r.objects, desired)).at(-1) : undefined;
  const resolved: string[] = [];
  for (const r of stranded) {
    if (r === adopt) continue;
    const note = `revision ${r.revision} was left pending by run ${r.runId}, which is gone (this run ${ctx.runId} holds the cluster lock): marked failed`;
    ctx.log.warn(`component ${source.name}: ${note}`);
    resolved.push(note);
    await setStatus(env, releases, r, 'failed', note);
  }

  if (!changed && !options.force && resumed === undefined && !adopt) {
    ctx.print(`${source.name}: nothing changed; revision ${currentRelease(releases)?.revision ?? '(none)'} stays`);
    const result: DeployResult = { ...base, revision: currentRelease(releases)?.revision, status: currentRelease(releases)?.status, resolved };
    if (tests.length && !ctx.dryRun) {
      const run = await runTestsAgainst(k8s, repo, tests, ctx.signal);
      result.tests = run.results;
      ctx.print(formatTests(run));
      if (!run.passed) throw new TestsFailedError(`${source.name}: tests failed: ${run.failed.join(', ')} (nothing was deployed)`, { context: { component: source.name, failed: run.failed }, hint: 'the live revision fails its tests; look at the cluster' });
    }
    return result;
  }
  await ctx.confirm(`Deploy ${source.name} to ${ctx.cluster.name}: ${plan.counts.create} to create, ${plan.counts.change} to change, ${plan.counts.prune} to prune`, {
    details: plan.entries.filter((e) => e.action !== 'unchanged').map((e) => `${e.action} ${e.name}`),
  });
  const revision = resumed ?? adopt?.revision ?? latestRevision(releases) + 1;
  ctx.remember(memoKey, revision);
  let release: Release = releases.find((r) => r.revision === revision) ?? {
    component: source.name,
    revision,
    status: 'pending',
    namespace: ns,
    repo: base.repo,
    values: source.values,
    manifest: rendered.manifest,
    objects: desired,
    who: `${ctx.audit.operator}@${ctx.audit.host}`,
    when: new Date(ctx.clock.now()).toISOString(),
    reason: ctx.reason,
    runId: ctx.runId,
    description: releases.some((r) => r.status === 'deployed' || r.status === 'superseded') ? 'Upgrade' : 'Install',
  };
  if (adopt) {
    const note = `revision ${adopt.revision} was left pending by run ${adopt.runId}, which is gone; its objects are all live: finishing it`;
    ctx.log.warn(`component ${source.name}: ${note}`);
    resolved.push(note);
    release = { ...adopt, notes: [...(adopt.notes ?? []), note] };
  }
  await ctx.step(`record revision ${revision} of ${source.name} pending`, {
    apply: async () => {
      await ensureNamespace(kube, ns);
      await writeRelease(kube, { ...release, status: 'pending' });
      return true;
    },
  });
  if (!releases.some((r) => r.revision === revision)) releases.push(release);

  let testRun: BatsRun | undefined;
  try {
    await applyRevision(env, desired, live, { force: options.force, validateFirst: planned.deferred });
    await setStatus(env, releases, release, 'deployed');
    await pruneHistory(env, releases);
    if (tests.length && ctx.dryRun) ctx.print(`would run ${tests.length} tests: ${tests.map((t) => t.name).join(', ')}`);
    if (tests.length && !ctx.dryRun) {
      testRun = await runTestsAgainst(k8s, repo, tests, ctx.signal);
      release.tests = { passed: testRun.passed, results: testRun.results };
      ctx.print(formatTests(testRun));
      await ctx.step(`record test results of revision ${revision}`, { apply: async () => (await writeRelease(kube, release), true) });
      if (!testRun.passed) {
        const details = testRun.failed.map((n) => `${n}: ${(testRun!.diagnostics[n] ?? []).slice(0, 3).join(' / ')}`);
        throw new TestsFailedError(`${source.name} revision ${revision}: tests failed: ${testRun.failed.join(', ')}`, { context: { component: source.name, revision, failed: testRun.failed, details }, hint: 'see the failed tests above' });
      }
    }
    return { ...base, changed: true, revision, status: ctx.dryRun ? 'planned' : 'deployed', tests: testRun?.results, resolved };
  } catch (err) {
    if (err instanceof InterruptedError) throw err;
    await setStatus(env, releases, release, 'failed', `failed: ${messageOf(err)}`);
    if (options.noRollback) {
      throw withNote(err, `revision ${revision} is left failed for debugging (--no-rollback)`);
    }
    const target = lastGoodRelease(releases, revision);
    if (!target) throw withNote(err, `no earlier good revision of ${source.name} to roll back to; revision ${revision} is left failed`);
    ctx.log.warn(`component ${source.name}: revision ${revision} failed (${messageOf(err)}); rolling back to revision ${target.revision}`);
    const rb = await rollbackTo(env, releases, target, `revision ${revision} failed`, await liveNow(env, target.objects));
    let retest = '';
    if (tests.length) {
      const again = await runTestsAgainst(k8s, repo, tests, ctx.signal);
      rb.tests = { passed: again.passed, results: again.results };
      ctx.print(`after the rollback to revision ${target.revision}:\n${formatTests(again)}`);
      await ctx.step(`record test results of revision ${rb.revision}`, { apply: async () => (await writeRelease(kube, rb), true) });
      retest = again.passed ? '; the tests pass again' : `; the tests still fail after the rollback: ${again.failed.join(', ')}`;
    }
    throw withNote(err, `rolled back to revision ${target.revision} (as revision ${rb.revision})${retest}`, { rolledBackTo: target.revision, rollbackRevision: rb.revision });
  }
}

/** Adds what happened afterwards to a deploy's error (message and context), keeping its class and exit code. */
function withNote(err: unknown, note: string, context: Record<string, unknown> = {}): Error {
  if (err instanceof CookbookError) {
    const Cls = err.constructor as new (m: string, o: object) => CookbookError;
    return new Cls(`${err.message}; ${note}`, { context: { ...err.context, ...context }, cause: err.cause ?? err, hint: err.hint });
  }
  return new CookbookError(`${messageOf(err)}; ${note}`, { context, cause: err });
}
