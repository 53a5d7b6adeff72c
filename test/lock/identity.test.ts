// The cluster lock is keyed on the cluster's identity (its API server), not on the inventory's name for it.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { InputError, LockHeldError } from '../../lib/core/errors.js';
import type { ClusterConfig } from '../../lib/inventory/schema.js';
import { createFileLockBackend, lockFileName } from '../../lib/lock/file.js';
import { CLUSTER_LEASE_NAME, clusterIdentity, clusterLockScope, inventoryClusterScope, lockScopeFor } from '../../lib/lock/identity.js';
import { leaseName } from '../../lib/lock/kubernetes.js';
import type { LockHolder } from '../../lib/lock/types.js';
import { cleanupTempDirs, tempDir } from '../helpers/cli.js';

const cluster = (name: string, apiServer: string): ClusterConfig => ({ name, kubernetes: { apiServer } }) as unknown as ClusterConfig;
const holder = (runId: string): LockHolder => ({ user: 'op', host: 'bastion', pid: process.pid, cookbook: 'k8s.add-node', runId, since: '2026-11-30T06:00:00Z' });

describe('lock identity of a cluster', () => {
  after(cleanupTempDirs);

  it('is the API server as host:port, whatever the inventory calls the cluster', () => {
    assert.equal(clusterIdentity(cluster('a', 'https://API.Example.org')), 'api.example.org:443');
    assert.equal(clusterIdentity(cluster('b', 'https://api.example.org:443/')), 'api.example.org:443');
    assert.equal(clusterIdentity(cluster('c', 'https://10.0.0.1:6443')), '10.0.0.1:6443');
    assert.equal(clusterLockScope(cluster('old-name', 'https://k8s.tb:6443')), clusterLockScope(cluster('new-name', 'https://k8s.tb:6443')));
    assert.notEqual(clusterLockScope(cluster('x', 'https://k8s.tb:6443')), clusterLockScope(cluster('x', 'https://k8s.tools:6443')));
    assert.throws(() => clusterIdentity(cluster('bad', 'not a url')), (err: unknown) => err instanceof InputError && /kubernetes\.apiServer/.test(err.message));
  });

  it("maps the runner's cluster scope to the identity scope and leaves other scopes alone", () => {
    const c = cluster('toolsbeta', 'https://k8s.tb:6443');
    assert.equal(lockScopeFor(inventoryClusterScope('toolsbeta'), c), 'cluster/k8s.tb:6443');
    assert.equal(lockScopeFor('cookbook-k8s.drain', c), 'cookbook-k8s.drain');
    assert.equal(lockScopeFor(inventoryClusterScope('toolsbeta'), undefined), 'cluster-toolsbeta');
    // The Lease of the whole cluster has one fixed name; other scopes keep their own Lease.
    assert.equal(leaseName(lockScopeFor(inventoryClusterScope('toolsbeta'), c)), CLUSTER_LEASE_NAME);
    assert.equal(leaseName('cluster-a'), 'cluster-cookbooks-cluster-a');
  });

  it('file lock: two inventory names for one cluster share one lock file', async () => {
    const dir = tempDir();
    const oldName = createFileLockBackend(cluster('old', 'https://k8s.tb:6443'), dir);
    const newName = createFileLockBackend(cluster('new', 'https://k8s.tb:6443'), dir);
    const other = createFileLockBackend(cluster('other', 'https://k8s.tools:6443'), dir);
    const held = await oldName.acquire(inventoryClusterScope('old'), holder('r1'), { ttlMs: 10_000 });
    assert.ok(existsSync(join(dir, lockFileName('cluster/k8s.tb:6443'))));
    await assert.rejects(newName.acquire(inventoryClusterScope('new'), holder('r2'), { ttlMs: 10_000 }), (err: unknown) => {
      assert.ok(err instanceof LockHeldError);
      assert.match(err.message, /^lock cluster-new is held by op@bastion \(pid \d+\) running k8s\.add-node since 2026-11-30T06:00:00Z$/);
      return true;
    });
    assert.equal((await newName.inspect(inventoryClusterScope('new')))?.runId, 'r1');
    // Another cluster is not held up.
    const free = await other.acquire(inventoryClusterScope('other'), holder('r3'), { ttlMs: 10_000 });
    await free.release();
    await held.release();
    const next = await newName.acquire(inventoryClusterScope('new'), holder('r4'), { ttlMs: 10_000 });
    await next.release();
  });
});
