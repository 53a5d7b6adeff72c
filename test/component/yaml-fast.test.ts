// The fast manifest parser (js-yaml with `yaml`'s core schema) gives exactly what the reference parser (`yaml`)
// gives, or steps aside: a table of scalars and structures where the two libraries' defaults differ, and the
// example repository's rendered manifests, which must take the fast path (else a deploy would silently lose it).
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { loadComponent } from '../../lib/component/repository.js';
import { renderTemplate } from '../../lib/component/template.js';
import { fastParseAll, fastParserAvailable } from '../../lib/component/yaml-fast.js';
import { packageRoot } from '../../lib/core/paths.js';

/** What `yaml` gives, or its first error's message. */
function reference(text: string): unknown {
  return parseAllDocuments(text).map((d) => {
    if (d.errors.length) throw new Error(d.errors[0]!.message);
    return d.toJS();
  });
}

describe('component manifests: the fast YAML parser', () => {
  it('js-yaml is installed (without it every deploy renders at the reference parser\'s speed)', () => {
    assert.equal(fastParserAvailable(), true, 'js-yaml is missing: npm ci');
  });

  describe('same values as the reference parser, or the reference parser decides', () => {
    // [title, text, path]: 'fast' rows must parse fast to the reference's values; 'reference' rows must step aside.
    const cases: [string, string, 'fast' | 'reference'][] = [
      ['null forms', 'a: ~\nb: null\nc: Null\nd: NULL\ne:\n', 'fast'],
      ['YAML 1.1 words stay strings', 'a: yes\nb: on\nc: off\nd: y\ne: No\n', 'fast'],
      ['bool forms', 'a: true\nb: True\nc: FALSE\n', 'fast'],
      ['ints: decimal, 0o octal, 0x hex; no binary, no underscores, no signed hex', 'a: 0o17\nb: 017\nc: 0x1F\nd: 0b11\ne: 1_000\nf: +12\ng: -0\nh: +0x1\ni: 0o8\n', 'fast'],
      ['floats', 'a: .5\nb: +.5\nc: 1.\nd: 1e3\ne: 1.0e+3\nf: .inf\ng: -.Inf\nh: 1.50\ni: 0.1e\n', 'fast'],
      ['no timestamps, no sexagesimals', 'a: 2024-01-01\nb: 12:30:00\nc: 1:20\n', 'fast'],
      ['quoted scalars and escapes', 'a: "1"\nb: \'1\'\nc: "\\u00e9\\x41\\n"\nd: \'it\'\'s\'\n', 'fast'],
      ['block scalars', 'a: |\n  x\n  y\nb: >-\n  x\n  y\nc: |+\n  z\n\n', 'fast'],
      ['multi-line plain scalar', 'a: x\n  y\n   z\n', 'fast'],
      ['flow collections', 'a: [1, "2", three, {b: c}]\nd: {e: [f, g]}\n', 'fast'],
      ['anchors and aliases', 'a: &x {b: 1}\nc: *x\n', 'fast'],
      ['numeric and bool keys', '1: a\ntrue: b\n1.50: c\n0x1F: d\n', 'fast'],
      ['null-like keys (the reference gives "")', '~: x\n', 'reference'],
      ['merge keys (plain keys in YAML 1.2)', 'a: &x {b: 1}\nc:\n  <<: *x\n', 'reference'],
      ['tags', 'a: !!str 1\nb: !!int "2"\n', 'reference'],
      ['a directive', '%YAML 1.1\n---\na: yes\n', 'reference'],
      ['empty and comment-only documents', '---\n---\n# nothing\n---\na: 1\n...\n', 'fast'],
      ['a huge integer', 'a: 123456789012345678901\n', 'fast'],
      ['duplicate keys (an error)', 'a: 1\na: 2\n', 'reference'],
      ['broken YAML (an error)', 'a: [1, 2\nb: c\n', 'reference'],
    ];
    for (const [title, text, path] of cases) {
      it(`${title}: ${path}`, () => {
        const fast = fastParseAll(text);
        if (path === 'reference') return assert.equal(fast, undefined);
        assert.notEqual(fast, undefined, 'left the fast path');
        assert.deepEqual(fast, reference(text));
      });
    }
  });

  it("the example repository's rendered manifests take the fast path, with the reference parser's objects", () => {
    const root = join(packageRoot(), 'components-example');
    let checked = 0;
    for (const name of ['web', 'widgets', 'tool-policies']) {
      const c = loadComponent(root, name, 'local');
      const scope = { values: c.values, component: { name: c.name, namespace: c.namespace }, cluster: { name: 'local' } };
      for (const t of c.templates) {
        const text = renderTemplate(t.source, t.file, scope);
        const fast = fastParseAll(text);
        assert.notEqual(fast, undefined, `${t.file} left the fast path`);
        assert.deepEqual(fast, reference(text), t.file);
        checked++;
      }
    }
    assert.ok(checked >= 3, `only ${checked} templates checked`);
  });
});
