// Everything a component cookbook does before touching the cluster: open the repository (always closed),
// load and render the component, select its tests. Any failure here is bad input (exit 2, nothing written).
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Context } from '../core/context.js';
import { InputError } from '../core/errors.js';
import { registerSecret } from '../core/redact.js';
import type { Kube } from '../k8s/index.js';
import { type BatsRun, type BatsTest, runBats, selectTests } from './bats.js';
import type { ComponentKube } from './client.js';
import { ComponentInputError } from './errors.js';
import type { Rendered } from './render.js';
import { renderComponentCached } from './render-cache.js';
import { type ComponentSource, type Repository, loadComponent, openRepository } from './repository.js';

/** Where the repository comes from: the options, else the cluster's inventory. */
export function repoSource(ctx: Context, repo?: string, branch?: string): { repo: string; branch?: string } {
  const inv = ctx.cluster.components;
  const source = repo ?? inv?.repo;
  if (!source) {
    throw new InputError(`no components repository for cluster ${ctx.cluster.name}`, { context: { cluster: ctx.cluster.name }, hint: 'pass --repo DIR|GIT-URL or set components.repo in the inventory' });
  }
  return { repo: source, branch: branch ?? (repo ? undefined : inv?.branch) };
}

/** Opens the repository, runs `fn` with it, and always removes a clone. */
export async function withRepository<T>(source: { repo: string; branch?: string; commit?: string }, fn: (repo: Repository) => Promise<T>): Promise<T> {
  const repo = await openRepository(source.repo, source.branch, source.commit);
  try {
    return await fn(repo);
  } finally {
    repo.close();
  }
}

/** A loaded and rendered component. */
export interface Prepared {
  source: ComponentSource;
  rendered: Rendered;
}

/** Loads and renders a component for the run's cluster (`cache`: reuse an identical earlier rendering, see render-cache.ts). */
export function prepareComponent(repo: Repository, component: string, cluster: string, cache?: { dir: string; write: boolean }): Prepared {
  const source = loadComponent(repo.root, component, cluster);
  const rendered = renderComponentCached(source, cluster, cache?.dir, { write: cache?.write });
  // Rendered Secret values never reach a log or an error message (a server message may quote a value).
  for (const o of rendered.objects.filter((x) => x.kind === 'Secret')) {
    for (const v of Object.values((o.stringData ?? {}) as Record<string, unknown>)) registerSecret(String(v));
    for (const v of Object.values((o.data ?? {}) as Record<string, unknown>)) {
      registerSecret(String(v));
      registerSecret(Buffer.from(String(v), 'base64').toString('utf8'));
    }
  }
  return { source, rendered };
}

/** Where rendered components are cached for this run's state dir (a dry-run reads it, never writes it). */
export function renderCache(ctx: Context): { dir: string; write: boolean } {
  return { dir: join(ctx.stateDir, 'component-render'), write: !ctx.dryRun };
}

/** The tests a deploy runs: --filter-tags if given, else the component's tests.txt lines; a filter that selects nothing is bad input. */
export function testsFor(repo: Repository, source: ComponentSource, filterTags: readonly string[]): BatsTest[] {
  const filters = filterTags.length ? filterTags : source.testTags;
  if (filters.length === 0) return [];
  for (const f of filters) {
    if (selectTests(repo.root, [f]).length === 0) {
      throw new ComponentInputError(`the test tag filter "${f}"${filterTags.length ? '' : ` (components/${source.name}/tests.txt)`} selects no test in functional-tests/`, {
        context: { component: source.name, filter: f },
        hint: 'check the tags in the # bats file_tags= / test_tags= lines of functional-tests/**/*.bats',
      });
    }
  }
  return selectTests(repo.root, filters);
}

/** The engine's client for the run's cluster (sharing the run's gate, log, clock and signal), and the full client on demand. */
export async function componentKube(ctx: Context): Promise<{ kube: ComponentKube; k8s: () => Promise<Kube> }> {
  // The run's `component` client; the full Kubernetes client (client-node) only when bats needs its kubeconfig.
  return { kube: await ctx.client<ComponentKube>('component'), k8s: () => ctx.k8s() };
}

/** Runs bats with a private copy of the run's kubeconfig (its context pinned), removed afterwards. */
export async function runTestsAgainst(k8s: () => Promise<Kube>, repo: Repository, tests: readonly BatsTest[], signal?: AbortSignal): Promise<BatsRun> {
  const dir = mkdtempSync(join(tmpdir(), 'cc-bats-'));
  try {
    const file = join(dir, 'kubeconfig');
    writeFileSync(file, (await k8s()).kubeConfig.exportConfig(), { mode: 0o600 });
    return await runBats(repo.root, tests, { kubeconfig: file, signal });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
