#!/usr/bin/env node
// `npm run bench -- NAME [args]`: runs the compiled bench/NAME.ts. Each bench prints its figures last, as one
// JSON line starting with {"bench":"NAME".
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [name, ...rest] = process.argv.slice(2);
const dir = join(root, 'dist', 'bench');
const available = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.js')).map((f) => f.slice(0, -3)) : [];
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- NAME   (available: ${available.join(', ') || 'none; run npm run build'})`);
  process.exit(2);
}
const r = spawnSync(process.execPath, ['--expose-gc', join(dir, `${name}.js`), ...rest], { stdio: 'inherit', cwd: root });
process.exit(r.status ?? 1);
