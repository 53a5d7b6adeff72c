// The render cache: an unchanged component is not rendered again (the cached rendering is what comes back),
// any change to what rendering depends on renders afresh, and a component with a Secret is never written out.
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { contentHash } from '../../lib/component/objects.js';
import { renderComponentCached } from '../../lib/component/render-cache.js';
import type { ComponentSource } from '../../lib/component/repository.js';
import { cleanupTempDirs, tempDir } from '../helpers/cli.js';

function source(templates: string[], values: Record<string, unknown> = {}): ComponentSource {
  return { name: 'c', dir: 'components/c', namespace: 'own', allowNamespaces: [], templates: templates.map((t, i) => ({ file: `m${i}.yaml`, source: t })), values, valuesFiles: [], testTags: [] };
}

const CM = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {v: "{{ values.v }}"}\n';

describe('component render cache', () => {
  after(cleanupTempDirs);

  it('an identical component comes from the cache; a changed value renders afresh', () => {
    const dir = tempDir();
    const first = renderComponentCached(source([CM], { v: 'one' }), 'k', dir);
    assert.equal((first.objects[0]!.data as { v: string }).v, 'one');
    const [file] = readdirSync(dir);
    // Mark the cached rendering: getting the mark back proves the cache was used, not the template engine.
    const cached = JSON.parse(readFileSync(join(dir, file!), 'utf8')) as { rendered: { objects: { data: { v: string } }[] } };
    cached.rendered.objects[0]!.data.v = 'from-cache';
    writeFileSync(join(dir, file!), JSON.stringify(cached));
    assert.equal((renderComponentCached(source([CM], { v: 'one' }), 'k', dir).objects[0]!.data as { v: string }).v, 'from-cache');
    assert.equal((renderComponentCached(source([CM], { v: 'two' }), 'k', dir).objects[0]!.data as { v: string }).v, 'two');
    assert.equal((renderComponentCached(source([CM], { v: 'two' }), 'other-cluster', dir).objects[0]!.data as { v: string }).v, 'two');
  });

  it('a cached rendering brings its content hashes (equal to hashing afresh), so they are not computed again', () => {
    const dir = tempDir();
    const fresh = renderComponentCached(source([CM], { v: 'h' }), 'k', dir).objects[0]!;
    const cached = renderComponentCached(source([CM], { v: 'h' }), 'k', dir).objects[0]!;
    assert.notEqual(cached, fresh);
    assert.equal(contentHash(cached), contentHash(structuredClone(fresh)));
    // A stored hash is taken as it is: changing it in the file shows it is read, not recomputed.
    const [file] = readdirSync(dir);
    const doc = JSON.parse(readFileSync(join(dir, file!), 'utf8')) as { hashes: string[] };
    doc.hashes[0] = 'f'.repeat(20);
    writeFileSync(join(dir, file!), JSON.stringify(doc));
    assert.equal(contentHash(renderComponentCached(source([CM], { v: 'h' }), 'k', dir).objects[0]!), 'f'.repeat(20));
  });

  it('a dry-run (write: false) and a secret-shaped value leave no cache file', () => {
    const dir = tempDir();
    renderComponentCached(source([CM], { v: 'x' }), 'k', dir, { write: false });
    renderComponentCached(source([CM], { v: 'password=hunter2hunter2' }), 'k', dir);
    assert.ok(!existsSync(dir) || readdirSync(dir).length === 0);
    renderComponentCached(source([CM], { v: 'x' }), 'k', dir);
    assert.equal(readdirSync(dir).length, 1);
  });

  it('a component that renders a Secret is never cached', () => {
    const dir = tempDir();
    const r = renderComponentCached(source([CM, 'apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {token: "hunter2-secret"}\n'], { v: 'x' }), 'k', dir);
    assert.equal(r.objects.length, 2);
    assert.ok(!existsSync(dir) || readdirSync(dir).length === 0);
  });
});
