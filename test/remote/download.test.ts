// Remote.download against the lab's SFTP server: a binary file larger than the reads kept in flight (64 x 32 KiB)
// comes back byte for byte (each chunk read at its own offset, out of order), the size limit is checked before
// any byte is read, and a missing file is a RemoteHostError naming host and path.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { ClientContext } from '../../lib/core/client.js';
import { systemClock } from '../../lib/core/clock.js';
import { Gate } from '../../lib/core/gate.js';
import { MemoryLog } from '../../lib/core/log.js';
import type { ClusterConfig } from '../../lib/inventory/schema.js';
import { type Remote, create } from '../../lib/remote/index.js';
import { RemoteHostError } from '../../lib/remote/errors.js';
import * as fs from '../../lab/ssh/fs.js';
import { type TestLab, startTestLab } from '../helpers/lab.js';

describe('remote download over SFTP (parallel reads) from a lab host', function () {
  this.timeout(60_000);
  let lab: TestLab;
  let remote: Remote;
  let host: string;

  before(async () => {
    lab = await startTestLab({ speed: 50, control: 1, workers: 0, workersNfs: 0, ingress: 0, etcd: 0, seedWorkload: false });
    host = [...lab.world.hosts.keys()][0]!;
    const cluster = {
      name: lab.info.clusterName,
      source: join(lab.stateDir, 'inventory.yaml'),
      ssh: { user: 'root', port: lab.info.ssh.port, sudo: false, addresses: 'dns', knownHosts: join(lab.stateDir, 'known_hosts'), identityFile: join(lab.stateDir, 'id_ed25519') },
    } as unknown as ClusterConfig;
    const ctx: ClientContext = { cluster, gate: new Gate({ dryRun: false }), log: new MemoryLog(), signal: new AbortController().signal, clock: systemClock, stateDir: lab.stateDir };
    remote = await create(ctx, {
      resolveHost: async (name) => ({ address: lab.world.hosts.get(name)!.address, port: lab.world.hosts.get(name)!.port }),
      options: { agentSocket: null },
    });
  });

  after(async () => {
    await remote?.close();
    await lab?.stop();
  });

  it('returns a 5 MB binary file byte for byte, an odd-sized tail included', async () => {
    // 5 MiB + 12345 bytes: 160 chunks over 64 readers, and a last chunk shorter than the others.
    const data = randomBytes(5 * 1024 * 1024 + 12345);
    fs.writeBytes(lab.world.hosts.get(host)!, '/var/tmp/big.db', data, { mode: 0o600 });
    const got = await remote.download(host, '/var/tmp/big.db', { maxBytes: 8 * 1024 * 1024 });
    assert.equal(got.length, data.length);
    assert.ok(got.equals(data), 'downloaded bytes differ from the file on the host');
  });

  it('returns an empty file and a one-chunk file as they are', async () => {
    const h = lab.world.hosts.get(host)!;
    fs.writeBytes(h, '/var/tmp/empty', Buffer.alloc(0));
    assert.equal((await remote.download(host, '/var/tmp/empty')).length, 0);
    const small = randomBytes(100);
    fs.writeBytes(h, '/var/tmp/small', small);
    assert.ok((await remote.download(host, '/var/tmp/small')).equals(small));
  });

  it('refuses a file over maxBytes and a missing file with RemoteHostError naming host and path', async () => {
    fs.writeBytes(lab.world.hosts.get(host)!, '/var/tmp/over', randomBytes(2000));
    const over = await remote.download(host, '/var/tmp/over', { maxBytes: 1000 }).catch((e: unknown) => e);
    assert.ok(over instanceof RemoteHostError, String(over));
    assert.match(over.message, /\/var\/tmp\/over on .* is 2000 bytes, more than the 1000 allowed/);
    const missing = await remote.download(host, '/var/tmp/missing').catch((e: unknown) => e);
    assert.ok(missing instanceof RemoteHostError, String(missing));
    assert.match(missing.message, new RegExp(`/var/tmp/missing on ${host} failed: no such file`));
  });
});
