// The connection pool against the lab's SSH hosts (lab/ssh, ssh2 servers on loopback, no cluster): one row per
// scenario → how many connections were opened, whether the pool reused one, and what a refused one is.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { nullLog } from '../../lib/core/log.js';
import type { ResolvedHost } from '../../lib/remote/address.js';
import { ConnectionPool, type ConnectionSettings, type HostConnection } from '../../lib/remote/connection.js';
import { HostKeyUnknownError, RemoteHostError } from '../../lib/remote/errors.js';
import { KnownHosts } from '../../lib/remote/known-hosts.js';
import { generateEd25519, knownHostsLine } from '../../lab/ssh/keys.js';
import { freshHost, provisionInitial } from '../../lab/ssh/host.js';
import { SshFleet } from '../../lab/ssh/server.js';
import type { LabHost } from '../../lab/world.js';
import { testWorld } from '../lab/ssh/helpers.js';

describe('remote/connection: the pool (lab SSH hosts)', function () {
  this.timeout(30_000);
  let dir: string;
  let fleet: SshFleet;
  let known: LabHost;
  let unknown: LabHost;
  const operator = generateEd25519('operator@test');
  let settings: ConnectionSettings;
  let dials: number;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cc-pool-'));
    const world = testWorld(50);
    fleet = await SshFleet.start(world, { authorizedKey: operator.publicBase64 });
    const add = async (name: string): Promise<LabHost> => {
      const spec = freshHost({ name, role: 'worker', address: await fleet.allocateAddress(), port: fleet.port });
      provisionInitial(spec, world);
      return world.addHost(spec);
    };
    known = await add('local-k8s-worker-1');
    unknown = await add('local-k8s-worker-2');
    await fleet.settled();
    // Only the first host's key is known.
    writeFileSync(join(dir, 'known_hosts'), `${knownHostsLine(known.address, known.port, known.hostKey.publicBase64)}\n`);
    const identity = ssh2.utils.parseKey(operator.privateKey);
    settings = {
      user: 'root',
      identity: Array.isArray(identity) ? identity[0] : (identity as never),
      knownHosts: new KnownHosts([join(dir, 'known_hosts')]),
      connectTimeoutMs: 5000,
      keepaliveIntervalMs: 15_000,
      keepaliveCountMax: 3,
      maxChannels: 2,
      // Every connection the pool opens logs "connected": that is what the rows count.
      log: { ...nullLog, debug: (m: string) => void (m.startsWith('ssh: connected') && dials++) },
    };
  });
  after(async () => {
    await fleet?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const target = (h: LabHost, port = h.port): ResolvedHost => ({ host: h.name, address: h.address, port });

  const rows: [string, (pool: ConnectionPool) => Promise<unknown>, { dials: number; same?: boolean; error?: new (...a: never[]) => Error; message?: RegExp }][] = [
    ['one host asked twice: one connection, reused', async (p) => [await p.get(target(known)), await p.get(target(known))], { dials: 1, same: true }],
    ['asked five times at once: one connection shared', (p) => Promise.all(Array.from({ length: 5 }, () => p.get(target(known)))), { dials: 1, same: true }],
    ['dropped in between (after a reboot): a fresh one', async (p) => [await p.get(target(known)), await p.drop(known.name, 'rebooting').then(() => p.get(target(known)))], { dials: 2, same: false }],
    ['a connection that died in between: replaced', async (p) => {
      const first = await p.get(target(known));
      first.end('gone');
      return [first, await p.get(target(known))];
    }, { dials: 2, same: false }],
    ['a host key not in known_hosts: refused before authentication', (p) => p.get(target(unknown)), { dials: 0, error: HostKeyUnknownError, message: /is not in .*known_hosts: it offered ssh-ed25519 SHA256:/ }],
    ['after closeAll: refused', async (p) => {
      await p.get(target(known));
      await p.closeAll();
      return p.get(target(known));
    }, { dials: 1, error: RemoteHostError, message: /SSH client is closed/ }],
  ];
  for (const [title, scenario, want] of rows) {
    it(`${title} → ${want.error ? want.error.name : `${want.dials} connection(s)`}`, async () => {
      dials = 0;
      const pool = new ConnectionPool(settings);
      try {
        const got = await scenario(pool).catch((e: unknown) => e);
        assert.equal(dials, want.dials);
        if (want.error) {
          assert.ok(got instanceof want.error, String(got));
          return assert.match((got as Error).message, want.message!);
        }
        const conns = got as HostConnection[];
        assert.equal(new Set(conns).size === 1, want.same);
        assert.ok(conns.at(-1)!.alive);
        assert.equal(await pool.peek(known.name), conns.at(-1), 'peek sees the live connection');
      } finally {
        await pool.closeAll();
      }
    });
  }

  it('a connection runs at most maxChannels commands at once; a released slot lets the next one in', async () => {
    const pool = new ConnectionPool(settings);
    try {
      const conn = await pool.get(target(known));
      const a = await conn.acquire();
      await conn.acquire();
      let third = false;
      const waiting = conn.acquire().then(() => (third = true));
      await new Promise((r) => setImmediate(r));
      assert.equal(third, false, 'the third waits');
      a();
      await waiting;
      assert.equal(third, true);
    } finally {
      await pool.closeAll();
    }
  });
});
