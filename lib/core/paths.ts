// Where things live: the package's own directories (found from this file, whatever the build's outDir) and
// the operator's XDG state directory.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root: the nearest directory above this module that holds package.json. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cluster-cookbooks: package.json not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

/** The compiled tree this module belongs to (dist/ or another outDir): its cookbooks/ sit beside lib/. */
export function compiledRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
}

/** The default state directory: $XDG_STATE_HOME/cluster-cookbooks or ~/.local/state/cluster-cookbooks. */
export function defaultStateDir(): string {
  const base = process.env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(base, 'cluster-cookbooks');
}

/** Expands a leading ~ and resolves a path relative to `base`. */
export function expandPath(path: string, base: string): string {
  if (path === '~') return homedir();
  if (path.startsWith('~/')) return join(homedir(), path.slice(2));
  return resolve(base, path);
}
