// Cookbook discovery over real directories: which files become which cookbook names, which root wins, and how
// a file that is no cookbook is reported. One table per function, one `it` per row.
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CookbookLoadError } from '../../lib/core/errors.js';
import { compiledRoot } from '../../lib/core/paths.js';
import { cookbookRoots, discover, loadCookbook } from '../../lib/runner/discovery.js';

const COOKBOOK = `export default { summary: 's', options: {}, examples: [], parse: () => ({}), run: async () => undefined };\n`;

describe('runner discovery: cookbookRoots', () => {
  const builtin = { dir: join(compiledRoot(), 'cookbooks'), origin: 'builtin' };
  const rows: [string, string | undefined, { dir: string; origin: string }[]][] = [
    ['no COOKBOOK_PATH: the built-in ones', undefined, [builtin]],
    ['COOKBOOK_PATH after the built-in ones, in order', '/a:/b', [builtin, { dir: '/a', origin: '/a' }, { dir: '/b', origin: '/b' }]],
    ['empty and blank entries skipped, spaces trimmed', ':/a: :/b :', [builtin, { dir: '/a', origin: '/a' }, { dir: '/b', origin: '/b' }]],
  ];
  for (const [title, path, want] of rows) it(title, () => assert.deepEqual(cookbookRoots(path === undefined ? {} : { COOKBOOK_PATH: path }), want));
});

describe('runner discovery: discover and loadCookbook', () => {
  let dir: string;
  const put = (path: string, text = COOKBOOK): void => {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  };
  let found: Map<string, { file: string; origin: string }>;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'cc-discovery-'));
    put('one/k8s/drain.js');
    put('one/site/deploy.mjs');
    put('one/site/_helper.js');
    put('one/.hidden/x.js');
    put('one/site/notes.txt');
    put('one/site/types.d.ts');
    put('one/Bad Name.js');
    put('two/k8s/drain.js');
    put('two/k8s/extra.js');
    put('two/broken/syntax.js', 'export default {\n');
    put('two/broken/empty.js', 'export const x = 1;\n');
    found = new Map(discover([{ dir: join(dir, 'one'), origin: 'one' }, { dir: join(dir, 'two'), origin: 'two' }, { dir: join(dir, 'missing'), origin: 'missing' }]).map((e) => [e.name, e]));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const rows: [string, string, { origin: string; file: string } | undefined][] = [
    ['a path becomes a dotted name', 'site.deploy', { origin: 'one', file: 'one/site/deploy.mjs' }],
    ['the first root to define a name wins', 'k8s.drain', { origin: 'one', file: 'one/k8s/drain.js' }],
    ['a later root adds new names', 'k8s.extra', { origin: 'two', file: 'two/k8s/extra.js' }],
    ['files starting with _ are helpers, not cookbooks', 'site._helper', undefined],
    ['hidden directories are skipped', '.hidden.x', undefined],
    ['only .js and .mjs files', 'site.notes', undefined],
    ['declaration files are skipped', 'site.types.d', undefined],
    ['a name with a space is not a cookbook name', 'Bad Name', undefined],
  ];
  for (const [title, name, want] of rows) {
    it(`${title}: ${name}`, () => {
      const e = found.get(name);
      assert.deepEqual(e && { origin: e.origin, file: e.file.slice(dir.length + 1) }, want);
    });
  }
  it('lists names sorted, a missing root adds nothing', () => {
    assert.deepEqual([...found.keys()], ['broken.empty', 'broken.syntax', 'k8s.drain', 'k8s.extra', 'site.deploy']);
  });

  const loads: [string, string, RegExp | undefined][] = [
    ['a cookbook definition', 'k8s.drain', undefined],
    ['no default export', 'broken.empty', /failed to load from .*empty\.js: does not export a cookbook definition as default \(missing: summary, run, parse, options, examples\)/],
    ['a syntax error', 'broken.syntax', /cookbook broken\.syntax failed to load from .*syntax\.js/],
  ];
  for (const [title, name, error] of loads) {
    it(`loadCookbook: ${title} → ${error ? 'CookbookLoadError' : 'definition'}`, async () => {
      const loaded = await loadCookbook({ name, ...found.get(name)! });
      if (!error) {
        assert.equal(loaded.error, undefined);
        return assert.equal(loaded.definition?.summary, 's');
      }
      assert.equal(loaded.definition, undefined);
      assert.ok(loaded.error instanceof CookbookLoadError);
      assert.match(loaded.error.message, error);
      assert.equal(loaded.error.context.cookbook, name);
      assert.match(String(loaded.error.hint), /COOKBOOK_PATH/);
    });
  }
});
