// The components repository: a directory, or a git URL cloned with the real `git` into a temporary directory
// that is always removed. Layout: components/<name>/{component.yaml, manifests/*.yaml, values/common.yaml,
// values/<cluster>.yaml, tests.txt}; functional-tests/**/*.bats at the top.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { didYouMean } from '../inventory/suggest.js';
import { ComponentInputError, RepositoryError } from './errors.js';
import { type Values, mergeValues } from './values.js';

const run = promisify(execFile);

/** An opened repository: where it is on disk, where it came from, its commit. Call close() when done. */
export interface Repository {
  root: string;
  /** The URL or directory it was opened from. */
  url: string;
  branch?: string;
  /** The commit SHA (git), or `tree:<digest>` for a plain directory. */
  sha: string;
  close(): void;
}

/** True when the source is a git URL rather than a local directory. */
export function isGitUrl(source: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(source) || /^[^/\s]+@[^/\s]+:/.test(source);
}

async function git(args: string[], what: string, source: string): Promise<string> {
  try {
    const { stdout } = await run('git', args, { env: { ...process.env, GIT_TERMINAL_PROMPT: '0' }, timeout: 120_000, maxBuffer: 16 << 20 });
    return stdout.trim();
  } catch (err) {
    const stderr = String((err as { stderr?: string }).stderr ?? (err as Error).message).trim();
    const branch = /Remote branch (\S+) not found|couldn't find remote ref (\S+)/.exec(stderr);
    throw new RepositoryError(`${what}: ${branch ? `no branch ${branch[1] ?? branch[2]} in ${source}` : stderr.split('\n').filter(Boolean).at(-1) ?? 'git failed'}`, {
      context: { repo: source, command: `git ${args.filter((a) => !a.startsWith('-c')).join(' ')}` },
      cause: err,
      hint: branch ? `list the branches with: git ls-remote --heads ${source}` : 'check --repo (a directory or a git URL reachable from this host) and --git-branch',
    });
  }
}

/**
 * Opens a repository: clones a git URL (or a local git repository when a branch is asked for), else uses the
 * directory. With `commit`, that exact commit of the branch is checked out (a --then deploy of the same commit).
 */
export async function openRepository(source: string, branch?: string, commit?: string): Promise<Repository> {
  const local = !isGitUrl(source);
  const dir = local ? resolve(source) : source;
  if (local && !existsSync(dir)) {
    throw new RepositoryError(`the components repository ${dir} does not exist`, { context: { repo: dir }, hint: 'pass --repo DIR|GIT-URL, or set components.repo in the inventory' });
  }
  if (local && !branch) {
    return { root: dir, url: dir, sha: await localSha(dir), close: () => {} };
  }
  const tmp = mkdtempSync(join(tmpdir(), 'cc-components-'));
  const close = (): void => rmSync(tmp, { recursive: true, force: true });
  try {
    const from = local ? `file://${dir}` : source;
    // Shallow unless a commit is pinned: the pinned one may be behind the branch's head by now.
    const depth = commit ? [] : ['--depth', '1'];
    await git(['clone', '--quiet', ...depth, '--single-branch', ...(branch ? ['--branch', branch] : []), '--', from, join(tmp, 'repo')], `cannot clone ${source}`, source);
    if (commit) await git(['-C', join(tmp, 'repo'), 'checkout', '--quiet', '--detach', commit], `commit ${commit} is not on ${branch ?? 'the default branch'} of ${source}`, source);
    const sha = await git(['-C', join(tmp, 'repo'), 'rev-parse', 'HEAD'], `cannot read the commit of ${source}`, source);
    return { root: join(tmp, 'repo'), url: source, branch, sha, close };
  } catch (err) {
    close();
    throw err;
  }
}

/** The commit of a directory that is the top of a git work tree, else a digest of its files. */
async function localSha(dir: string): Promise<string> {
  try {
    const { stdout: top } = await run('git', ['-C', dir, 'rev-parse', '--show-toplevel']);
    if (resolve(top.trim()) === dir) return (await run('git', ['-C', dir, 'rev-parse', 'HEAD'])).stdout.trim();
  } catch {
    // Not a git work tree: fall through to the content digest.
  }
  const h = createHash('sha256');
  for (const f of walk(dir)) h.update(relative(dir, f)).update('\0').update(readFileSync(f));
  return `tree:${h.digest('hex').slice(0, 12)}`;
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (e.name === '.git') continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

const componentFile = z.strictObject({
  namespace: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'a namespace name'),
  description: z.string().optional(),
  /** How long the rollout may take (a duration like 5m). */
  waitTimeout: z.string().regex(/^\d+(ms|s|m|h)$/, 'a duration like 90s or 5m').optional(),
  /** Other namespaces the component may put objects in (globs with *). */
  allowNamespaces: z.array(z.string().min(1)).default([]),
});

/** A component as loaded from the repository (not rendered yet). */
export interface ComponentSource {
  name: string;
  dir: string;
  namespace: string;
  description?: string;
  waitTimeout?: string;
  allowNamespaces: string[];
  /** Template files, relative to the repository root, sorted. */
  templates: { file: string; source: string }[];
  values: Values;
  /** The values files used, relative to the repository root. */
  valuesFiles: string[];
  /** bats tags from tests.txt, one per line. */
  testTags: string[];
}

/** The component names of a repository (directories under components/). */
export function listComponents(root: string): string[] {
  const dir = join(root, 'components');
  if (!existsSync(dir)) {
    throw new RepositoryError(`${root} is not a components repository (no components/ directory)`, { context: { repo: root }, hint: 'the layout is components/<name>/component.yaml' });
  }
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(dir, e.name, 'component.yaml')))
    .map((e) => e.name)
    .sort();
}

function readYaml(file: string, rel: string): unknown {
  try {
    return parseYaml(readFileSync(file, 'utf8')) ?? {};
  } catch (err) {
    throw new ComponentInputError(`${rel}: not valid YAML: ${(err as Error).message.split('\n')[0]}`, { context: { file: rel }, cause: err, hint: 'fix the YAML syntax' });
  }
}

/** Loads a component for a cluster: definition, templates, merged values (the cluster's win), test tags. */
export function loadComponent(root: string, name: string, cluster: string): ComponentSource {
  const names = listComponents(root);
  if (!names.includes(name)) {
    throw new ComponentInputError(`no component ${name} in the repository${didYouMean(name, names)}`, { context: { component: name, known: names }, hint: `components: ${names.join(', ')}` });
  }
  const dir = join(root, 'components', name);
  const rel = (p: string): string => relative(root, p);
  const parsed = componentFile.safeParse(readYaml(join(dir, 'component.yaml'), rel(join(dir, 'component.yaml'))));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ComponentInputError(`${rel(join(dir, 'component.yaml'))}: ${issue.path.join('.') || '(top)'}: ${issue.message}`, {
      context: { component: name, file: rel(join(dir, 'component.yaml')) },
      hint: 'component.yaml has namespace, description, waitTimeout and allowNamespaces',
    });
  }
  const clusterValues = join(dir, 'values', `${cluster}.yaml`);
  if (!existsSync(clusterValues)) {
    throw new ComponentInputError(`component ${name} has no values for cluster ${cluster}: ${rel(clusterValues)} does not exist`, {
      context: { component: name, cluster, file: rel(clusterValues) },
      hint: `create ${rel(clusterValues)} (it may be empty) to deploy ${name} to ${cluster}`,
    });
  }
  const common = join(dir, 'values', 'common.yaml');
  const valuesFiles = [...(existsSync(common) ? [common] : []), clusterValues];
  const values = mergeValues(...valuesFiles.map((f) => readYaml(f, rel(f)) as Values));
  const mdir = join(dir, 'manifests');
  const templates = existsSync(mdir)
    ? readdirSync(mdir)
        .filter((f) => /\.ya?ml$/.test(f) && statSync(join(mdir, f)).isFile())
        .sort()
        .map((f) => ({ file: rel(join(mdir, f)), source: readFileSync(join(mdir, f), 'utf8') }))
    : [];
  const testsFile = join(dir, 'tests.txt');
  const testTags = existsSync(testsFile)
    ? readFileSync(testsFile, 'utf8')
        .split('\n')
        .map((l) => l.replace(/#.*/, '').trim())
        .filter(Boolean)
    : [];
  const c = parsed.data;
  return { name, dir, namespace: c.namespace, description: c.description, waitTimeout: c.waitTimeout, allowNamespaces: c.allowNamespaces, templates, values, valuesFiles: valuesFiles.map(rel), testTags };
}
