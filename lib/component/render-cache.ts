// A cache of rendered components in the state dir: an unchanged re-deploy of thousands of objects spends most
// of its time in the template engine and the YAML parser producing exactly what the last run produced. The
// key covers everything rendering depends on (templates, values, namespace rules, cluster, and the code and
// libraries that render); one file per component and cluster, overwritten. Components that render a Secret,
// or anything secret-shaped (what the redactor would mask), are never cached: secret values stay out of files.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { redactText } from '../core/redact.js';
import { contentHash, rememberContentHash } from './objects.js';
import { type Rendered, renderComponent } from './render.js';
import type { ComponentSource } from './repository.js';

/** Bump when the cached form changes. */
const FORMAT = 2;

let codeId: string | undefined;

/** Identifies the rendering code: our render/template/objects modules and the template and YAML libraries. */
function renderingCode(): string {
  if (codeId !== undefined) return codeId;
  const require = createRequire(import.meta.url);
  const files = ['./render.js', './template.js', './objects.js', './yaml-fast.js'].map((f) => fileURLToPath(new URL(f, import.meta.url)));
  for (const lib of ['liquidjs', 'yaml', 'js-yaml']) {
    try {
      files.push(require.resolve(lib));
    } catch {
      files.push(lib); // not resolvable from here: its name alone (the key still changes with our code)
    }
  }
  codeId = files
    .map((f) => {
      try {
        const s = statSync(f);
        return `${f}:${s.size}:${s.mtimeMs}`;
      } catch {
        return f;
      }
    })
    .join('|');
  return codeId;
}

/** The cache key of rendering `c` for `cluster`. */
export function renderKey(c: ComponentSource, cluster: string): string {
  const input = JSON.stringify({ FORMAT, code: renderingCode(), cluster, name: c.name, namespace: c.namespace, allow: c.allowNamespaces, templates: c.templates, values: c.values });
  return createHash('sha256').update(input).digest('hex');
}

/**
 * Renders `c` for `cluster`, reusing the last rendering from `cacheDir` when nothing it depends on changed;
 * `write: false` (a dry-run) reads the cache but never writes it.
 */
export function renderComponentCached(c: ComponentSource, cluster: string, cacheDir: string | undefined, options: { write?: boolean } = {}): Rendered {
  if (!cacheDir) return renderComponent(c, cluster);
  const file = join(cacheDir, `${encodeURIComponent(c.name)}@${encodeURIComponent(cluster)}.json`);
  const key = renderKey(c, cluster);
  try {
    const cached = JSON.parse(readFileSync(file, 'utf8')) as { key?: string; rendered?: Rendered; hashes?: unknown };
    if (cached.key === key && cached.rendered && Array.isArray(cached.rendered.objects)) {
      // The objects' content hashes were computed when the cache was written: an unchanged re-deploy of
      // thousands of objects need not hash them again.
      const { objects } = cached.rendered;
      const hashes = Array.isArray(cached.hashes) && cached.hashes.length === objects.length ? (cached.hashes as unknown[]) : [];
      hashes.forEach((h, i) => typeof h === 'string' && /^[0-9a-f]{20}$/.test(h) && rememberContentHash(objects[i]!, h));
      return cached.rendered;
    }
  } catch {
    // No cache yet, or a torn one: render.
  }
  const rendered = renderComponent(c, cluster);
  if (options.write === false || rendered.objects.some((o) => o.kind === 'Secret')) return rendered;
  const text = JSON.stringify({ key, rendered, hashes: rendered.objects.map(contentHash) });
  if (redactText(text) !== text) return rendered;
  try {
    mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, text, { mode: 0o600 });
    renameSync(tmp, file);
  } catch {
    // A cache that cannot be written only costs the next run a render.
  }
  return rendered;
}
