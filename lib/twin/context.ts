// A snapshot outside a cookbook run (`cookbook lab snapshot`, tests): the run's client loaders on a dry-run
// gate, so that even a bug that tried to write would be refused before anything is sent.
import { setMaxListeners } from 'node:events';
import type { ClientContext } from '../core/client.js';
import { systemClock } from '../core/clock.js';
import { Gate } from '../core/gate.js';
import { type Log, nullLog } from '../core/log.js';
import type { ClusterConfig } from '../inventory/schema.js';
import type { Kube } from '../k8s/index.js';
import type { OpenStackClient } from '../openstack/index.js';
import type { Remote } from '../remote/index.js';
import { clientLoaders } from '../runner/clients.js';
import type { SnapshotContext } from './snapshot.js';

/** A SnapshotContext with its own clients; close() closes the ones that were built. */
export function standaloneSnapshotContext(cluster: ClusterConfig, o: { stateDir: string; log?: Log; signal?: AbortSignal }): SnapshotContext & { close(): Promise<void> } {
  const loaders = clientLoaders();
  const built = new Map<string, Promise<unknown>>();
  const signal = o.signal ?? new AbortController().signal;
  // Every concurrent SSH command and API call listens on the one signal.
  setMaxListeners(0, signal);
  const cc: ClientContext = { cluster, gate: new Gate({ dryRun: true }), log: o.log ?? nullLog, signal, clock: systemClock, stateDir: o.stateDir };
  const client = <T>(name: string): Promise<T> => {
    let p = built.get(name);
    if (!p) {
      p = loaders[name]!(cc, (peer) => client(peer));
      built.set(name, p);
    }
    return p as Promise<T>;
  };
  return {
    cluster,
    stateDir: o.stateDir,
    log: cc.log,
    k8s: () => client<Kube>('k8s'),
    openstack: () => client<OpenStackClient>('openstack'),
    remote: () => client<Remote>('remote'),
    async close() {
      for (const p of built.values()) {
        try {
          await ((await p) as { close?: () => Promise<void> | void }).close?.();
        } catch {
          /* closing is best effort */
        }
      }
    },
  };
}
