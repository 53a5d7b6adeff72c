// Cookbook discovery: files under the package's cookbooks/ plus the directories in COOKBOOK_PATH. A
// cookbook's dotted name is its path (k8s/add-node.js = k8s.add-node). A file that fails to load is kept with
// its error so `list` and a run of it report it instead of dropping it silently.
import { readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CookbookDefinition } from '../core/cookbook.js';
import { CookbookLoadError, messageOf } from '../core/errors.js';
import { compiledRoot } from '../core/paths.js';

/** A discovered cookbook file. */
export interface CookbookEntry {
  name: string;
  file: string;
  /** Where it was found: `builtin` or a COOKBOOK_PATH directory. */
  origin: string;
}

/** A cookbook after loading: its definition or its load error. */
export type LoadedCookbook = CookbookEntry & ({ definition: CookbookDefinition<object>; error?: undefined } | { definition?: undefined; error: CookbookLoadError });

/** The cookbook roots in search order: the package's own, then COOKBOOK_PATH's. */
export function cookbookRoots(env: NodeJS.ProcessEnv = process.env): { dir: string; origin: string }[] {
  const roots = [{ dir: join(compiledRoot(), 'cookbooks'), origin: 'builtin' }];
  for (const dir of (env.COOKBOOK_PATH ?? '').split(':')) {
    if (dir.trim()) roots.push({ dir: dir.trim(), origin: dir.trim() });
  }
  return roots;
}

function walk(dir: string, out: string[]): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names.sort()) {
    if (name.startsWith('.') || name.startsWith('_')) continue;
    const path = join(dir, name);
    let st;
    try {
      st = statSync(path);
    } catch {
      continue;
    }
    if (st.isDirectory()) walk(path, out);
    else if (/\.(m?js)$/.test(name) && !name.endsWith('.d.ts')) out.push(path);
  }
}

/** Every cookbook file in the roots; the first root to define a name wins. */
export function discover(roots = cookbookRoots()): CookbookEntry[] {
  const found = new Map<string, CookbookEntry>();
  for (const root of roots) {
    const files: string[] = [];
    walk(root.dir, files);
    for (const file of files) {
      const name = relative(root.dir, file).replace(/\.m?js$/, '').split(sep).join('.');
      if (!/^[a-z0-9][a-z0-9._-]*$/i.test(name) || found.has(name)) continue;
      found.set(name, { name, file, origin: root.origin });
    }
  }
  return [...found.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** Imports a cookbook file and checks it exports a definition. */
export async function loadCookbook(entry: CookbookEntry): Promise<LoadedCookbook> {
  try {
    const mod = (await import(pathToFileURL(entry.file).href)) as { default?: unknown };
    const def = mod.default as Partial<CookbookDefinition<object>> | undefined;
    const missing = ['summary', 'run', 'parse', 'options', 'examples'].filter((k) => def?.[k as keyof CookbookDefinition<object>] === undefined);
    if (!def || missing.length > 0) {
      throw new Error(`does not export a cookbook definition as default (missing: ${missing.join(', ')})`);
    }
    return { ...entry, definition: def as CookbookDefinition<object> };
  } catch (err) {
    return {
      ...entry,
      error: new CookbookLoadError(`cookbook ${entry.name} failed to load from ${entry.file}: ${messageOf(err)}`, {
        cause: err,
        context: { cookbook: entry.name, file: entry.file },
        hint: 'fix the file or remove it from COOKBOOK_PATH',
      }),
    };
  }
}
