// How the runner builds what a run needs lazily: the cluster entry (starting the lab for lab clusters), the
// lock backend and the client loaders. Client modules are imported only when a cookbook first asks for them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClientContext } from '../core/client.js';
import type { ClientLoader } from '../core/context.js';
import { InputError } from '../core/errors.js';
import type { ClusterConfig } from '../inventory/schema.js';
import type { LockBackend } from '../lock/types.js';

/** Imports one of our own lib modules by path relative to lib/ (keeps heavy modules out of start-up). */
async function importLib<T>(rel: string): Promise<T> {
  return (await import(new URL(`../${rel}`, import.meta.url).href)) as T;
}

/** Loads the inventory and returns the named cluster; for a lab cluster, starts the lab and uses its entry. */
export async function resolveCluster(name: string, globals: { inventory: string[] }, note: (message: string) => void): Promise<ClusterConfig> {
  const { loadClusterFile } = await import('../inventory/load.js');
  const cluster = (await import('../inventory/resolve.js')).findCluster(name, globals.inventory);
  if (!cluster.lab) return cluster;
  if (cluster.lab.stateDir && cluster.kubernetes.kubeconfig) {
    // A lab's own generated entry: its process must still be there (it may run inside a test process).
    if (!labProcessAlive(cluster.lab.stateDir)) {
      throw new InputError(`the lab for cluster ${cluster.name} is not running (state dir ${cluster.lab.stateDir})`, {
        context: { cluster: cluster.name, stateDir: cluster.lab.stateDir },
        hint: `start it with: cookbook lab up --cluster-name ${cluster.name} --state-dir ${cluster.lab.stateDir}`,
      });
    }
    return cluster;
  }
  const lab = await import('../../lab/api.js');
  const info = await lab.ensureLab({ clusterName: cluster.name, stateDir: cluster.lab.stateDir, onStart: note });
  return loadClusterFile(join(info.stateDir, 'inventory.yaml'));
}

function labProcessAlive(stateDir: string): boolean {
  try {
    const info = JSON.parse(readFileSync(join(stateDir, 'lab.json'), 'utf8')) as { pid?: number };
    if (!info.pid) return false;
    process.kill(info.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The lock backend the cluster's inventory asks for (file when there is no cluster). */
export async function lockBackendFor(cluster: ClusterConfig | undefined, stateDir: string): Promise<LockBackend> {
  const backend = cluster?.lock.backend ?? 'file';
  if (backend === 'file') {
    // Keyed on the cluster's API server, not the inventory name: two names for one cluster share one lock.
    const { createFileLockBackend } = await import('../lock/file.js');
    return createFileLockBackend(cluster, join(stateDir, 'locks'));
  }
  if (backend === 'kubernetes') {
    const mod = await importLib<{ createKubernetesLockBackend(c: ClusterConfig): Promise<LockBackend> }>('lock/kubernetes.js');
    return mod.createKubernetesLockBackend(cluster!);
  }
  const mod = await importLib<{ createEtcdLockBackend(c: ClusterConfig): Promise<LockBackend> }>('lock/etcd.js');
  return mod.createEtcdLockBackend(cluster!);
}

/** Lazy loaders of every client, keyed by the name cookbooks use with ctx.client(). */
export function clientLoaders(): Record<string, ClientLoader> {
  type Factory = { create(ctx: ClientContext, deps?: unknown): Promise<unknown> };
  const loaders: Record<string, ClientLoader> = {
    k8s: async (ctx) => (await importLib<Factory>('k8s/index.js')).create(ctx),
    openstack: async (ctx) => (await importLib<Factory>('openstack/index.js')).create(ctx),
    alerting: async (ctx) => (await importLib<Factory>('alerting/index.js')).create(ctx),
  };
  // The component engine's any-kind client: without client-node when the kubeconfig allows (lib/component/client.ts).
  loaders.component = async (ctx, peer) => (await importLib<{ create(ctx: ClientContext, k8s: () => Promise<unknown>): Promise<unknown> }>('component/client.js')).create(ctx, () => peer('k8s'));
  loaders.etcd = async (ctx, peer) => (await importLib<Factory>('etcd/index.js')).create(ctx, { remote: await peer('remote'), openstack: await peer('openstack') });
  loaders.remote = async (ctx, peer) => {
    const remote = await importLib<Factory>('remote/index.js');
    return remote.create(ctx, { resolveHost: hostResolver(ctx, () => peer('openstack')) });
  };
  return loaders;
}

/** Resolves a host name to its SSH address the way the cluster's inventory says. */
export function hostResolver(
  ctx: ClientContext,
  openstack: () => Promise<{ serverAddress(name: string): Promise<string> }>,
): (name: string) => Promise<{ address: string; port: number }> {
  const { ssh, domain } = ctx.cluster;
  if (ssh.addresses === 'dns') {
    return async (name) => ({ address: domain ? `${name}.${domain}` : name, port: ssh.port });
  }
  return async (name) => ({ address: await (await openstack()).serverAddress(name), port: ssh.port });
}
