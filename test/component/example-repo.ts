// Builds a git repository from the shipped example (components-example/) with branches v1..v4 for the deploy
// tests: v2 changes the web image and drops web-extra, v3 makes a web test fail, v4's image never becomes
// ready (the lab's `never-ready` image tag convention). Real git, in a temp directory.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { $ } from 'zx';
import { packageRoot } from '../../lib/core/paths.js';
import { tempDir } from '../helpers/cli.js';

/** The shipped example repository. */
export const EXAMPLE = join(packageRoot(), 'components-example');

/** A plain copy of the example (no git) with values files for `clusters`, made synchronously (for static test tables). */
export function exampleDirFor(clusters: readonly string[]): string {
  // Not a tempDir(): a table built at load time must outlive other suites' cleanupTempDirs(); removed at exit.
  const top = mkdtempSync(join(tmpdir(), 'cc-example-'));
  process.on('exit', () => rmSync(top, { recursive: true, force: true }));
  const dir = join(top, 'components');
  cpSync(EXAMPLE, dir, { recursive: true });
  addClusterValues(dir, clusters);
  return dir;
}

function addClusterValues(dir: string, clusters: readonly string[]): void {
  for (const c of clusters) {
    for (const comp of ['web', 'widgets', 'tool-policies']) writeFileSync(join(dir, 'components', comp, 'values', `${c}.yaml`), comp === 'web' ? `web:\n  host: web.${c}.example.org\n` : '{}\n');
  }
}

/** A git repository with branches v1..v4; `clusters` get a values file for every component. */
export async function exampleGitRepo(clusters: readonly string[] = []): Promise<string> {
  const dir = join(tempDir('cc-repo-'), 'components');
  cpSync(EXAMPLE, dir, { recursive: true });
  addClusterValues(dir, clusters);
  const git = $({ cwd: dir, quiet: true, env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.org', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.org' } });
  const common = join(dir, 'components', 'web', 'values', 'common.yaml');
  const setWeb = (key: string, value: string): void => writeFileSync(common, readFileSync(common, 'utf8').replace(new RegExp(`^(  ${key}: ).*$`, 'm'), `$1${value}`));
  await git`git init -q -b v1 .`;
  await git`git add -A`;
  await git`git commit -q -m v1`;
  await git`git checkout -q -b v2`;
  setWeb('image', 'registry.example/web:1.1');
  rmSync(join(dir, 'components', 'web', 'manifests', 'extra.yaml'));
  await git`git commit -q -am v2`;
  await git`git checkout -q -b v3`;
  setWeb('healthy', '"false"');
  await git`git commit -q -am v3`;
  await git`git checkout -q v2`;
  await git`git checkout -q -b v4`;
  setWeb('image', 'registry.example/web:never-ready');
  await git`git commit -q -am v4`;
  await git`git checkout -q v1`;
  return dir;
}
