// Where things live: the package's own directories (found from this file, whatever the build's outDir) and
// the operator's XDG state directory.
import { type Stats, existsSync, mkdtempSync, rmdirSync, statSync } from 'node:fs';
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

/**
 * Why files cannot be created in `dir` (created if missing), or undefined when they can. Nothing is left
 * behind: the check creates and removes a probe directory in the nearest existing ancestor.
 */
export function unwritableDirReason(dir: string): string | undefined {
  const target = resolve(dir);
  let p = target;
  for (;;) {
    let st: Stats;
    try {
      st = statSync(p);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // ENOTDIR: a part of the path is a file; the walk up finds and names it.
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        const parent = dirname(p);
        if (parent === p) return 'no part of the path exists';
        p = parent;
        continue;
      }
      return `${p} cannot be read (${code ?? (err as Error).message})`;
    }
    if (!st.isDirectory()) return p === target ? 'it exists and is not a directory' : `${p} is a file, not a directory`;
    break;
  }
  try {
    rmdirSync(mkdtempSync(join(p, '.cc-probe-')));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return `cannot create anything in ${p} (${code ?? (err as Error).message})`;
  }
  return undefined;
}

/** Why `file` cannot be written (atomically: temp file + rename in its directory), or undefined when it can. */
export function unwritableFileReason(file: string): string | undefined {
  const target = resolve(file);
  try {
    if (statSync(target).isDirectory()) return 'it is a directory';
  } catch {
    // Missing (or hidden behind a file in its path): the directory check below names the reason.
  }
  const reason = unwritableDirReason(dirname(target));
  return reason && `its directory is not writable: ${reason}`;
}
