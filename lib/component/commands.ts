// The read-mostly component cookbooks' engines: status (every component on a cluster), history, diff,
// rollback (to a revision or the last good one) and test.
import type { Context } from '../core/context.js';
import { InputError } from '../core/errors.js';
import { didYouMean } from '../inventory/suggest.js';
import { formatTests } from './bats.js';
import { formatPlan, planDeploy } from './diff.js';
import { TestsFailedError } from './errors.js';
import { stamped } from './objects.js';
import { componentKube, prepareComponent, repoSource, runTestsAgainst, testsFor, withRepository } from './prepare.js';
import { type Release, currentRelease, rollbackTarget as pickTarget } from './release.js';
import { rollbackTo } from './rollback.js';
import type { Env } from './revision.js';
import { liveNow } from './revision.js';
import { workloadReadiness, WORKLOAD_KINDS } from './rollout.js';
import { listDeployedComponents, liveMembers, memberKinds, parentOf, readReleases } from './state.js';
import { validatePlan } from './validate.js';

/** One line of component.status. */
export interface ComponentStatus {
  component: string;
  namespace: string;
  revision?: number;
  status?: string;
  sha?: string;
  deployedAt?: string;
  health: 'healthy' | 'degraded' | 'unknown';
  notReady: string[];
}

/** The deployed components of a cluster with revision, SHA and workload health. */
export async function componentStatus(ctx: Context): Promise<ComponentStatus[]> {
  const { kube } = await componentKube(ctx);
  const out: ComponentStatus[] = [];
  for (const { component, namespace } of await listDeployedComponents(kube)) {
    const releases = await readReleases(kube, component, namespace);
    const cur = currentRelease(releases) ?? releases.at(-1);
    const notReady: string[] = [];
    for (const o of cur?.objects.filter((x) => WORKLOAD_KINDS.has(x.kind)) ?? []) {
      const live = await kube.read(o);
      const r = live ? workloadReadiness(live) : { state: 'waiting' as const, why: 'missing' };
      if (r.state !== 'ready') notReady.push(`${o.kind}/${o.metadata.namespace}/${o.metadata.name}: ${'why' in r ? r.why : ''}`);
    }
    out.push({ component, namespace, revision: cur?.revision, status: cur?.status, sha: cur?.repo.sha, deployedAt: cur?.when, health: cur ? (notReady.length ? 'degraded' : 'healthy') : 'unknown', notReady });
  }
  ctx.print(
    out.length
      ? ['COMPONENT  NAMESPACE  REVISION  STATUS  SHA  HEALTH', ...out.map((s) => `${s.component}  ${s.namespace}  ${s.revision ?? '-'}  ${s.status ?? '-'}  ${s.sha?.slice(0, 12) ?? '-'}  ${s.health}${s.notReady.length ? ` (${s.notReady.join('; ')})` : ''}`)].join('\n')
      : `no components deployed on ${ctx.cluster.name}`,
  );
  return out;
}

/** The namespace a component's records live in (found on the cluster); bad input when it has none. */
async function namespaceOf(ctx: Context, component: string): Promise<string> {
  const { kube } = await componentKube(ctx);
  const deployed = await listDeployedComponents(kube);
  const found = deployed.find((c) => c.component === component);
  if (found) return found.namespace;
  const known = deployed.map((c) => c.component);
  throw new InputError(`component ${component} has no revisions on ${ctx.cluster.name}${didYouMean(component, known)}`, {
    context: { component, known },
    hint: `deployed components: ${known.join(', ') || '(none)'}; deploy it with component.deploy`,
  });
}

/** A revision as history shows it (no objects or manifest). */
export type HistoryEntry = Omit<Release, 'objects' | 'manifest' | 'values'> & { objects: number };

/** Every revision of a component, oldest first. */
export async function componentHistory(ctx: Context, component: string): Promise<HistoryEntry[]> {
  const { kube } = await componentKube(ctx);
  const releases = await readReleases(kube, component, await namespaceOf(ctx, component));
  const rows = releases.map(({ objects, manifest: _m, values: _v, ...r }) => ({ ...r, objects: objects.length }));
  ctx.print(
    rows.length
      ? ['REVISION  STATUS  WHEN  WHO  SHA  DESCRIPTION  TESTS', ...rows.map((r) => `${r.revision}  ${r.status}  ${r.when}  ${r.who}  ${r.repo.sha.slice(0, 12)}  ${r.description}  ${r.tests ? (r.tests.passed ? 'passed' : `failed: ${r.tests.results.filter((t) => !t.ok).map((t) => t.name).join(', ')}`) : '-'}`)].join('\n')
      : `component ${component} has no revisions on ${ctx.cluster.name}`,
  );
  return rows;
}

/** The diff a deploy would apply (reads and server-side dry-runs only). */
export async function componentDiff(ctx: Context, component: string, repo?: string, branch?: string, forceConflicts = false): Promise<{ plan: ReturnType<typeof planDeploy>['counts']; entries: ReturnType<typeof planDeploy>['entries'] }> {
  return withRepository(repoSource(ctx, repo, branch), async (r) => {
    const { source, rendered } = prepareComponent(r, component, ctx.cluster.name);
    const { kube } = await componentKube(ctx);
    const p = parentOf(source.name, source.namespace);
    const parent = await kube.read({ apiVersion: 'v1', kind: 'Secret', metadata: { name: p.name, namespace: source.namespace } });
    const desired = rendered.objects.map((o) => stamped(o, p.id));
    const plan = planDeploy(desired, await liveMembers(kube, p.id, memberKinds(parent, desired)));
    await validatePlan(kube, desired, plan, forceConflicts, source.namespace);
    ctx.print(formatPlan(plan));
    return { plan: plan.counts, entries: plan.entries };
  });
}

/** Rolls a component back to a revision (default: the last good one below the current), as a new revision. */
export async function componentRollback(ctx: Context, component: string, toRevision: number | undefined, timeoutMs: number | undefined): Promise<{ revision: number; rolledBackTo: number }> {
  const { kube, k8s } = await componentKube(ctx);
  const namespace = await namespaceOf(ctx, component);
  const releases = await readReleases(kube, component, namespace);
  const target = pickTarget(releases, toRevision);
  if (!target) {
    const good = releases.filter((r) => r.status === 'deployed' || r.status === 'superseded').map((r) => r.revision);
    throw new InputError(toRevision ? `component ${component} has no revision ${toRevision}` : `component ${component} has no earlier good revision to roll back to`, {
      context: { component, revisions: releases.map((r) => `${r.revision}:${r.status}`) },
      hint: good.length ? `good revisions: ${good.join(', ')} (--to-revision N)` : 'deploy it first',
    });
  }
  const env: Env = { ctx, kube, k8s, component, namespace, setId: parentOf(component, namespace).id, forceConflicts: true, timeoutMs: timeoutMs ?? 5 * 60_000 };
  await ctx.confirm(`Roll ${component} on ${ctx.cluster.name} back to revision ${target.revision} (${target.repo.sha.slice(0, 12)})`);
  const live = await liveNow(env, target.objects);
  ctx.print(formatPlan(planDeploy(target.objects, live)));
  const rb = await rollbackTo(env, releases, target, `rollback to ${target.revision} asked by ${ctx.audit.operator}`, live);
  ctx.print(`${component}: revision ${rb.revision} ${ctx.dryRun ? 'would be' : ''} deployed (rollback to ${target.revision})`.replace('  ', ' '));
  return { revision: rb.revision, rolledBackTo: target.revision };
}

/** Runs a component's functional tests against the cluster and records them on its current revision. */
export async function componentTest(ctx: Context, component: string, filterTags: readonly string[], repo?: string, branch?: string): Promise<{ passed: boolean; results: unknown[] }> {
  return withRepository(repoSource(ctx, repo, branch), async (r) => {
    const { source } = prepareComponent(r, component, ctx.cluster.name);
    const tests = testsFor(r, source, filterTags);
    if (tests.length === 0) throw new InputError(`component ${component} selects no tests (empty tests.txt and no --filter-tags)`, { context: { component }, hint: 'give --filter-tags or fill components/<name>/tests.txt' });
    if (ctx.dryRun) {
      ctx.print(`would run ${tests.length} tests: ${tests.map((t) => t.name).join(', ')}`);
      return { passed: true, results: [] };
    }
    const { k8s } = await componentKube(ctx);
    const run = await runTestsAgainst(k8s, r, tests, ctx.signal);
    ctx.print(formatTests(run));
    if (!run.passed) throw new TestsFailedError(`${component}: tests failed: ${run.failed.join(', ')}`, { context: { component, failed: run.failed }, hint: 'see the failed tests above' });
    return { passed: run.passed, results: run.results };
  });
}
