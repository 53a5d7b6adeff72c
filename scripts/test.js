#!/usr/bin/env node
// `npm test`: makes sure the real servers the integration suites need are installed (installing them as root
// when missing, or failing with the exact command), then runs mocha over the compiled tests.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const needed = ['/usr/sbin/sshd', '/usr/bin/etcd', '/usr/bin/etcdctl', '/usr/bin/prometheus-alertmanager', '/usr/sbin/haproxy', '/usr/bin/parallel-ssh', '/usr/bin/ansible', '/usr/bin/openstack', '/usr/bin/ssh', '/usr/bin/bats'];
const missing = needed.filter((p) => !existsSync(p));
if (missing.length) {
  console.error(`test: missing ${missing.join(', ')}; running scripts/setup-packages.sh`);
  const r = spawnSync('bash', [join(root, 'scripts/setup-packages.sh')], { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error('test: the Debian packages could not be installed; as root run: bash scripts/setup-packages.sh');
    process.exit(1);
  }
}
const mocha = join(root, 'node_modules', 'mocha', 'bin', 'mocha.js');
const r = spawnSync(process.execPath, [mocha, '--config', join(root, '.mocharc.json'), ...process.argv.slice(2)], { stdio: 'inherit', cwd: root });
process.exit(r.status ?? 1);
