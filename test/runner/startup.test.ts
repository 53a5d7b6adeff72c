// `cookbook list` and `--help` stay light: they import no client module (ssh2, client-node, etcd3, our own
// lib/remote, lib/k8s, lib/openstack, lib/alerting, lab).
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { $ } from 'zx';
import { compiledRoot } from '../../lib/core/paths.js';
import { BIN, FIXTURE_COOKBOOKS, cleanupTempDirs, tempDir } from '../helpers/cli.js';

// The client libraries themselves and our client entry points (their pure helpers, such as lib/k8s/nodes.js,
// are fine: cookbooks use them to describe what they will do).
const HEAVY = [
  /node_modules\/ssh2\//,
  /@kubernetes\/client-node/,
  /node_modules\/etcd3\//,
  /node_modules\/winston\//,
  /node_modules\/zod\//,
  /\/lib\/(remote|k8s|openstack|alerting|lab)\/index\.js$/,
  /\/lib\/k8s\/(transport|drain-watch)\.js$/,
  /\/lib\/remote\/(connection|exec|sftp)\.js$/,
];

async function traced(args: string[]): Promise<string[]> {
  const file = join(tempDir(), 'imports.txt');
  const hook = join(compiledRoot(), 'test', 'helpers', 'trace-imports.js');
  const r = await $({ nothrow: true, quiet: true, env: { ...process.env, TRACE_IMPORTS_FILE: file, COOKBOOK_PATH: FIXTURE_COOKBOOKS } })`${process.execPath} --import ${hook} ${BIN} ${args}`;
  assert.equal(r.exitCode, 0, r.stderr);
  return readFileSync(file, 'utf8').trim().split('\n');
}

describe('start-up weight', () => {
  after(cleanupTempDirs);

  for (const args of [['list'], ['list', '--json'], ['inventory.show', '--help'], ['fixture.steps', '--help']]) {
    it(`cookbook ${args.join(' ')} imports no client module`, async () => {
      const urls = await traced(args);
      assert.ok(urls.some((u) => u.includes('/lib/runner/cli.js')), 'the trace works');
      const heavy = urls.filter((u) => HEAVY.some((re) => re.test(u)));
      assert.deepEqual(heavy, []);
    });
  }
});
