// The layering rule of docs/ARCHITECTURE.md: lib/ and cookbooks/ reach the lab only through lab/api.ts, and
// cookbooks never import ssh2 or client-node (they go through the Context's clients).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(root, join(e.parentPath, e.name)));
}

/** Every import specifier of a file, resolved to a repository path when relative. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) {
    const spec = m[1]!;
    out.push(spec.startsWith('.') ? relative(root, resolve(root, dirname(file), spec)) : spec);
  }
  return out;
}

describe('layering', () => {
  const lib = sources('lib');
  const cookbooks = sources('cookbooks');

  it('finds the sources it checks', () => {
    assert.ok(lib.length > 50, `only ${lib.length} files under lib/`);
    assert.ok(cookbooks.length >= 10, `only ${cookbooks.length} files under cookbooks/`);
  });

  it('lib/ and cookbooks/ import the lab only through lab/api.ts', () => {
    const offending = [...lib, ...cookbooks].flatMap((f) => importsOf(f).filter((i) => i.startsWith('lab/') && i !== 'lab/api.js').map((i) => `${f} imports ${i}`));
    assert.deepEqual(offending, []);
    const users = lib.filter((f) => importsOf(f).includes('lab/api.js'));
    assert.ok(users.length >= 1, 'nothing imports lab/api.ts: the check would be looking at the wrong paths');
  });

  it('cookbooks never import ssh2 or @kubernetes/client-node', () => {
    const offending = cookbooks.flatMap((f) => importsOf(f).filter((i) => i === 'ssh2' || i.startsWith('@kubernetes/client-node')).map((i) => `${f} imports ${i}`));
    assert.deepEqual(offending, []);
  });
});
