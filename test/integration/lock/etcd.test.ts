// Integration tests of the etcd lock backend against a real 3-member etcd 3.4 cluster on loopback, started by
// scripts/servers/etcd.ts. Contention and SIGKILL use separate node processes (fixtures/contender.ts).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LockError, LockHeldError } from '../../../lib/core/errors.js';
import { Gate } from '../../../lib/core/gate.js';
import { MemoryLog } from '../../../lib/core/log.js';
import type { ClusterConfig } from '../../../lib/inventory/schema.js';
import { EtcdLockBackend, LOCK_PREFIX, create, createEtcdLockBackend, lockKey } from '../../../lib/lock/etcd.js';
import type { LockHolder } from '../../../lib/lock/types.js';
import { startEtcdCluster, type EtcdCluster } from '../../../scripts/servers/etcd.js';

const contender = fileURLToPath(new URL('./fixtures/contender.js', import.meta.url));

function holderFor(cookbook: string): LockHolder {
  return { user: userInfo().username, host: hostname(), pid: process.pid, cookbook, runId: `run-${cookbook}`, since: new Date().toISOString() };
}

interface Event {
  event: string;
  name: string;
  pid: number;
  at: number;
  message?: string;
  leaseId?: string;
}

/** A contender process with its parsed output lines. */
class Contender {
  readonly child: ChildProcess;
  readonly events: Event[] = [];
  readonly exited: Promise<number | null>;
  private stderr = '';
  constructor(args: Record<string, unknown>) {
    this.child = spawn(process.execPath, [contender, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let buffer = '';
    this.child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
        this.events.push(JSON.parse(buffer.slice(0, i)) as Event);
        buffer = buffer.slice(i + 1);
      }
    });
    this.child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }
  async waitForAny(events: string[], timeoutMs = 15_000): Promise<Event> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find((e) => events.includes(e.event));
      if (found) return found;
      if (Date.now() > until) assert.fail(`contender never reported ${events.join('/')}: ${JSON.stringify(this.events)} ${this.stderr}`);
      await sleep(20);
    }
  }
  async waitFor(event: string, timeoutMs = 15_000): Promise<Event> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find((e) => e.event === event);
      if (found) return found;
      if (Date.now() > until) assert.fail(`contender never reported ${event}: ${JSON.stringify(this.events)} ${this.stderr}`);
      await sleep(20);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function keyValue(cluster: EtcdCluster, key: string): Promise<{ value: string; lease: string } | undefined> {
  const raw = await cluster.etcdctl(['get', key, '-w', 'json']);
  const out = JSON.parse(raw) as { kvs?: { value: string }[] };
  const kv = out.kvs?.[0];
  if (!kv) return undefined;
  // Lease ids are int64: JSON.parse would round them, so read the digits from the text.
  const lease = /"lease":(\d+)/.exec(raw)?.[1] ?? '0';
  return { value: Buffer.from(kv.value, 'base64').toString('utf8'), lease };
}

/** The lease ids `etcdctl lease list` shows, as decimal strings (it prints them as zero-padded hex, %016x). */
async function leaseIds(cluster: EtcdCluster): Promise<string[]> {
  return (await cluster.etcdctl(['lease', 'list']))
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^[0-9a-f]+$/.test(l))
    .map((hex) => BigInt(`0x${hex}`).toString());
}

/**
 * The lease list once it satisfies `settled` (or as it is after 5 s). etcd serves `lease list` from the member
 * etcdctl reached, without a read barrier: a follower may not have applied a grant or revoke the leader just
 * committed, so a single look could see the past.
 */
async function leasesWhen(cluster: EtcdCluster, settled: (ids: string[]) => boolean): Promise<string[]> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const ids = await leaseIds(cluster);
    if (settled(ids) || Date.now() > deadline) return ids;
    await sleep(100);
  }
}

async function leaseIsListed(cluster: EtcdCluster, decimalId: string, expected = true): Promise<boolean> {
  const id = BigInt(decimalId).toString();
  return (await leasesWhen(cluster, (ids) => ids.includes(id) === expected)).includes(id);
}

describe('etcd lock against a real 3-member etcd cluster', function () {
  this.timeout(60_000);
  let cluster: EtcdCluster;
  const backends: EtcdLockBackend[] = [];
  const children: Contender[] = [];

  function backend(dryRun = false, log = new MemoryLog()): EtcdLockBackend {
    const b = new EtcdLockBackend({ endpoints: cluster.endpoints, gate: new Gate({ dryRun }), log });
    backends.push(b);
    return b;
  }

  before(async () => {
    cluster = await startEtcdCluster();
  });

  afterEach(async () => {
    for (const c of children.splice(0)) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
    for (const b of backends.splice(0)) await b.close().catch(() => undefined);
  });

  after(async () => {
    await cluster?.stop();
  });

  it('runs 3 healthy members on loopback', async () => {
    assert.equal(cluster.members.length, 3);
    for (const m of cluster.members) {
      assert.match(m.clientUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.ok(m.running);
    }
    const health = JSON.parse(await cluster.etcdctl(['endpoint', 'health', '-w', 'json'])) as { endpoint: string; health: boolean }[];
    assert.deepEqual(health.map((h) => h.health), [true, true, true]);
    assert.deepEqual(health.map((h) => h.endpoint).sort(), [...cluster.endpoints].sort());
  });

  it('takes the lock with the holder JSON under a lease, refuses a second taker, releases (delete + revoke)', async () => {
    const a = backend();
    const b = backend();
    const holder = holderFor('k8s.reboot');
    const handle = await a.acquire('cluster/alpha', holder, { ttlMs: 5000 });
    const key = lockKey('cluster/alpha');
    assert.equal(key, `${LOCK_PREFIX}cluster/alpha`);
    const kv = await keyValue(cluster, key);
    assert.ok(kv, 'the key exists');
    assert.deepEqual(JSON.parse(kv.value), holder);
    assert.equal(kv.lease, handle.leaseId);
    assert.ok(await leaseIsListed(cluster, handle.leaseId!), `lease ${handle.leaseId} is listed`);
    assert.deepEqual(await b.inspect('cluster/alpha'), holder);

    await assert.rejects(b.acquire('cluster/alpha', holderFor('k8s.drain'), { ttlMs: 5000 }), (err: unknown) => {
      assert.ok(err instanceof LockHeldError);
      assert.equal(err.exitCode, 3);
      for (const part of [holder.user, holder.host, `pid ${holder.pid}`, 'k8s.reboot', holder.since]) {
        assert.ok(err.message.includes(part), `"${err.message}" names ${part}`);
      }
      assert.deepEqual(err.context.holder, holder);
      return true;
    });
    // The refused taker revoked its own lease: only the holder's lease is left.
    const mine = BigInt(handle.leaseId!).toString();
    const leases = await leasesWhen(cluster, (ids) => ids.length === 1 && ids[0] === mine);
    assert.deepEqual(leases, [mine]);

    // Renewal keeps it beyond its TTL.
    await sleep(6000);
    assert.ok(!handle.lost.aborted, `renewal kept the lock (lost: ${String(handle.lost.reason)})`);
    assert.deepEqual(await b.inspect('cluster/alpha'), holder);

    await handle.release();
    await handle.release();
    assert.equal(await keyValue(cluster, key), undefined);
    assert.equal(await leaseIsListed(cluster, handle.leaseId!, false), false);
    assert.equal(await b.inspect('cluster/alpha'), undefined);
    const again = await b.acquire('cluster/alpha', holderFor('k8s.drain'), { ttlMs: 5000 });
    await again.release();
  });

  it('lets exactly one of two contending processes proceed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cc-etcd-race-'));
    try {
      for (let round = 0; round < 3; round++) {
        const scope = `cluster/contend-${round}`;
        // Both start the race only once both are connected, and the winner holds until the loser has its answer:
        // conditions, not timings, so a slow machine cannot turn the race into two turns.
        const goFile = join(dir, `go-${round}`);
        const releaseFile = join(dir, `release-${round}`);
        const pair = ['p1', 'p2'].map((name) => new Contender({ endpoints: cluster.endpoints, scope, ttlMs: 5000, holdMs: 0, goFile, releaseFile, name }));
        children.push(...pair);
        await Promise.all(pair.map((c) => c.waitFor('ready', 30_000)));
        writeFileSync(goFile, '');
        await Promise.all(pair.map((c) => c.waitForAny(['acquired', 'held', 'error'], 30_000)));
        const outcomes = pair.map((c) => c.events.find((e) => e.event !== 'ready'));
        const winners = outcomes.filter((e) => e?.event === 'acquired');
        const losers = outcomes.filter((e) => e?.event === 'held');
        assert.equal(winners.length, 1, `round ${round}: ${JSON.stringify(outcomes)}`);
        assert.equal(losers.length, 1, `round ${round}: ${JSON.stringify(outcomes)}`);
        // The loser names the winner's process.
        assert.ok(losers[0]!.message!.includes(`pid ${winners[0]!.pid}`), losers[0]!.message);
        writeFileSync(releaseFile, '');
        const codes = await Promise.all(pair.map((c) => c.exited));
        assert.deepEqual([...codes].sort(), [0, 3]);
        assert.ok(pair.some((c) => c.events.some((e) => e.event === 'released')));
        assert.equal(await keyValue(cluster, lockKey(scope)), undefined);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives the lock to another run once a SIGKILLed holder’s TTL has passed (holder on another host)', async () => {
    const ttlMs = 2000;
    // A holder on another operator host: we cannot see its process, only its lease expiring.
    const victim = new Contender({ endpoints: cluster.endpoints, scope: 'cluster/killed', ttlMs, holdMs: -1, name: 'victim', host: 'other-operator-host' });
    children.push(victim);
    const acquired = await victim.waitFor('acquired');
    victim.child.kill('SIGKILL');
    await victim.exited;
    const killedAt = Date.now();
    const mine = backend();
    await assert.rejects(mine.acquire('cluster/killed', holderFor('k8s.add-node'), { ttlMs }), (err: unknown) => {
      assert.ok(err instanceof LockHeldError);
      assert.ok(err.message.includes(`pid ${acquired.pid}`), err.message);
      return true;
    });
    let handle;
    for (;;) {
      try {
        handle = await mine.acquire('cluster/killed', holderFor('k8s.add-node'), { ttlMs });
        break;
      } catch (err) {
        if (!(err instanceof LockHeldError)) throw err;
        assert.ok(Date.now() - killedAt < ttlMs + 5000, 'the dead holder’s lock expired within TTL + 5 s');
        await sleep(100);
      }
    }
    const waited = Date.now() - killedAt;
    // The lease may have been renewed just before the kill, so it lives for up to one TTL after it.
    assert.ok(waited > 500, `got the lock only after the TTL (${waited} ms)`);
    assert.equal((await mine.inspect('cluster/killed'))?.pid, process.pid);
    await handle.release();
  });

  it('takes over at once from a holder killed on this same host', async () => {
    const ttlMs = 30_000;
    const victim = new Contender({ endpoints: cluster.endpoints, scope: 'cluster/killed-here', ttlMs, holdMs: -1, name: 'victim-here' });
    children.push(victim);
    await victim.waitFor('acquired');
    victim.child.kill('SIGKILL');
    await victim.exited;
    const started = Date.now();
    const handle = await backend().acquire('cluster/killed-here', holderFor('k8s.add-node'), { ttlMs });
    assert.ok(Date.now() - started < 5000, 'no need to wait out the 30 s TTL of a dead local process');
    assert.equal((await backend().inspect('cluster/killed-here'))?.pid, process.pid);
    await handle.release();
  });

  it('fires lost when the lease is revoked behind the holder’s back', async () => {
    const log = new MemoryLog();
    const b = backend(false, log);
    const handle = await b.acquire('cluster/revoked', holderFor('k8s.upgrade'), { ttlMs: 3000 });
    await cluster.etcdctl(['lease', 'revoke', BigInt(handle.leaseId!).toString(16)]);
    const reason = await new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('lost never fired')), 10_000);
      handle.lost.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve(handle.lost.reason);
      });
    });
    assert.ok(reason instanceof LockError);
    assert.match(reason.message, /lock cluster\/revoked lost/);
    assert.ok(log.lines.some((l) => l.level === 'error' && l.message.includes('lost')));
    // Releasing a lost lock is harmless and does not touch a successor's key.
    const successor = await backend().acquire('cluster/revoked', holderFor('next'), { ttlMs: 3000 });
    await handle.release();
    assert.equal((await backend().inspect('cluster/revoked'))?.cookbook, 'next');
    await successor.release();
  });

  it('keeps working with one member stopped: acquire, renew, release', async () => {
    const status = JSON.parse(await cluster.etcdctl(['endpoint', 'status', '-w', 'json'])) as { Endpoint: string; Status: { header: { member_id: number }; leader: number } }[];
    const leaderUrl = status.find((s) => s.Status.header.member_id === s.Status.leader)?.Endpoint;
    const leader = cluster.members.find((m) => m.clientUrl === leaderUrl) ?? cluster.members[0]!;
    const b = backend();
    const held = await b.acquire('cluster/failover', holderFor('k8s.reboot'), { ttlMs: 2000 });
    // Stop the leader while a lock is held: an election follows, and renewal must survive it.
    await cluster.stopMember(leader.name);
    try {
      assert.equal(leader.running, false);
      await sleep(5000);
      assert.ok(!held.lost.aborted, `lock was kept through the leader stop: ${String(held.lost.reason)}`);
      const other = backend();
      assert.equal((await other.inspect('cluster/failover'))?.cookbook, 'k8s.reboot');
      await assert.rejects(other.acquire('cluster/failover', holderFor('x'), { ttlMs: 2000 }), LockHeldError);
      await held.release();
      assert.equal(await other.inspect('cluster/failover'), undefined);
      const second = await other.acquire('cluster/failover', holderFor('k8s.drain'), { ttlMs: 2000 });
      await sleep(3000);
      assert.ok(!second.lost.aborted);
      await second.release();
    } finally {
      await cluster.startMember(leader.name);
    }
    assert.ok(leader.running);
  });

  it('fires lost when renewal fails because the cluster lost its quorum', async () => {
    const b = backend();
    const handle = await b.acquire('cluster/quorum', holderFor('k8s.reboot'), { ttlMs: 2000 });
    const stopped = cluster.members.slice(0, 2).map((m) => m.name);
    const t0 = Date.now();
    for (const name of stopped) await cluster.stopMember(name);
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('lost never fired')), 8000);
        handle.lost.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      const after = Date.now() - t0;
      // Our watchdog fires before etcd3's own 2 x TTL, i.e. before another run could take the lock.
      assert.ok(after < 2000 + 1500, `lost fired after ${after} ms`);
      assert.ok(handle.lost.reason instanceof LockError);
    } finally {
      for (const name of stopped) await cluster.startMember(name);
    }
    // With the quorum back, the lease has expired (no renewals) or is revoked by release: the lock is free again.
    await handle.release().catch(() => undefined);
    const until = Date.now() + 10_000;
    while ((await backend().inspect('cluster/quorum')) !== undefined) {
      assert.ok(Date.now() < until, 'the lock key went away');
      await sleep(200);
    }
  });

  it('close() releases the locks it holds', async () => {
    const b = new EtcdLockBackend({ endpoints: cluster.endpoints, gate: new Gate({ dryRun: false }) });
    const handle = await b.acquire('cluster/closing', holderFor('k8s.cordon'), { ttlMs: 10_000 });
    await b.close();
    assert.equal(await keyValue(cluster, lockKey('cluster/closing')), undefined);
    assert.equal(await leaseIsListed(cluster, handle.leaseId!, false), false);
    await assert.rejects(b.inspect('cluster/closing'), LockError);
  });

  it('dry-run: acquire writes nothing, but still reports a held lock', async () => {
    const gate = new Gate({ dryRun: true });
    const dry = new EtcdLockBackend({ endpoints: cluster.endpoints, gate });
    backends.push(dry);
    const mutations = Object.entries(EtcdLockBackend.operations).filter(([, kind]) => kind === 'mutate').map(([n]) => n);
    assert.deepEqual(mutations, ['acquire']);
    const before = await cluster.etcdctl(['get', '--prefix', LOCK_PREFIX, '-w', 'json']);
    const leasesBefore = await cluster.etcdctl(['lease', 'list']);
    const handle = await dry.acquire('cluster/dry', holderFor('k8s.reboot'), { ttlMs: 5000 });
    assert.equal(handle.planned, true);
    assert.equal(handle.leaseId, undefined);
    await handle.release();
    assert.equal(await keyValue(cluster, lockKey('cluster/dry')), undefined);
    assert.equal(await cluster.etcdctl(['lease', 'list']), leasesBefore);
    const header = (s: string): unknown => (JSON.parse(s) as { kvs?: unknown }).kvs ?? [];
    assert.deepEqual(header(await cluster.etcdctl(['get', '--prefix', LOCK_PREFIX, '-w', 'json'])), header(before));
    assert.equal(gate.changes.length, 1);
    assert.equal(gate.changes[0]!.planned, true);
    assert.equal(gate.changes[0]!.action, 'acquire lock');

    const real = await backend().acquire('cluster/dry', holderFor('k8s.drain'), { ttlMs: 5000 });
    await assert.rejects(dry.acquire('cluster/dry', holderFor('k8s.reboot'), { ttlMs: 5000 }), /held by .*k8s\.drain/);
    await real.release();
  });

  it('create() and createEtcdLockBackend() read the endpoints from the inventory and refuse a cluster without any', async () => {
    const base = { name: 'c1', source: '/tmp/c1.yaml', lock: { backend: 'etcd', namespace: 'kube-system', ttlSeconds: 60 } };
    const ctx = (cluster: unknown) => ({
      cluster: cluster as ClusterConfig,
      gate: new Gate({ dryRun: false }),
      log: new MemoryLog(),
      signal: new AbortController().signal,
      clock: { now: () => Date.now(), sleep: (ms: number) => sleep(ms) },
      stateDir: '/tmp',
    });
    const fromLock = await create(ctx({ ...base, lock: { ...base.lock, etcdEndpoints: cluster.endpoints } }));
    backends.push(fromLock);
    assert.deepEqual(fromLock.endpoints, cluster.endpoints);
    assert.equal(await fromLock.inspect('cluster/none'), undefined);
    await assert.rejects(create(ctx(base)), (err: unknown) => err instanceof LockError && /lock\.etcdEndpoints/.test(err.hint ?? ''));
    // The runner's entry point: from the inventory alone, falling back to etcd.endpoints.
    const forRunner = await createEtcdLockBackend({ ...base, etcd: { endpoints: cluster.endpoints } } as unknown as ClusterConfig);
    backends.push(forRunner);
    assert.equal(forRunner.name, 'etcd');
    const handle = await forRunner.acquire('cluster/runner', holderFor('k8s.reboot'), { ttlMs: 5000 });
    assert.equal((await fromLock.inspect('cluster/runner'))?.cookbook, 'k8s.reboot');
    await handle.release();
    await assert.rejects(createEtcdLockBackend(base as unknown as ClusterConfig), LockError);
  });

  it('keys the cluster lock on the API server: two inventory names for one cluster exclude each other', async () => {
    const entry = (name: string, apiServer: string): ClusterConfig =>
      ({ name, source: `/tmp/${name}.yaml`, kubernetes: { apiServer }, lock: { backend: 'etcd', namespace: 'kube-system', ttlSeconds: 60, etcdEndpoints: cluster.endpoints } }) as unknown as ClusterConfig;
    const oldName = await createEtcdLockBackend(entry('old', 'https://k8s.tb:6443'));
    const newName = await createEtcdLockBackend(entry('new', 'https://K8S.tb:6443/'));
    const other = await createEtcdLockBackend(entry('other', 'https://k8s.tools:6443'));
    backends.push(oldName, newName, other);
    const handle = await oldName.acquire('cluster-old', holderFor('k8s.add-node'), { ttlMs: 5000 });
    const key = `${LOCK_PREFIX}cluster/k8s.tb:6443`;
    assert.equal(JSON.parse((await keyValue(cluster, key))!.value).cookbook, 'k8s.add-node', `the lock lives at ${key}`);
    await assert.rejects(newName.acquire('cluster-new', holderFor('k8s.add-node'), { ttlMs: 5000 }), (err: unknown) => {
      assert.ok(err instanceof LockHeldError);
      assert.match(err.message, /^lock cluster-new is held by .* running k8s\.add-node since /);
      assert.equal(err.context.key, key);
      return true;
    });
    const unrelated = await other.acquire('cluster-other', holderFor('k8s.drain'), { ttlMs: 5000 });
    await unrelated.release();
    await handle.release();
  });
});
