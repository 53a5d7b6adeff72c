// The lab's one entry point for lib/: the runner starts the `local` lab on demand (`--cluster-name local`),
// runs `cookbook lab ...`, and inventory resolution finds running labs by name. Everything else in lab/ is
// the lab's own business; lib/ must import nothing else from it (test/runner/layering.test.ts checks).
// Heavy modules load only when a function that needs them is called, so start-up stays light.
import type { LabInfo } from './state.js';
import type { DaemonOptions } from './daemon.js';
import { defaultTimings as LAB_DEFAULT_TIMINGS_MS } from './world.js';

export type { LabInfo } from './state.js';
// Light (fs and paths only): inventory loading may ask it on every run.
export { findLabInventoryDir } from './running.js';

/** Options of ensureLab. */
export interface EnsureLabOptions {
  clusterName: string;
  stateDir?: string;
  onStart?: (message: string) => void;
  options?: Partial<DaemonOptions>;
}

/** The running lab of a cluster, started (with default sizes) when it is not running. */
export async function ensureLab(o: EnsureLabOptions): Promise<LabInfo> {
  return (await import('./cli.js')).ensureLab(o);
}

/** `cookbook lab up|down|status ...`; returns the exit code. */
export async function labMain(argv: string[]): Promise<number> {
  return (await import('./cli.js')).labMain(argv);
}

/** Stops the lab daemon of a state directory and removes the directory (simulate's fallback twin). */
export async function stopLabDir(clusterName: string, stateDir: string): Promise<void> {
  const { stopLab } = await import('./stop.js');
  await stopLab(clusterName, stateDir, { stderr: () => {} });
}

/** The counters of the lab daemon of a state directory (requests, mutations, PDB violations, most nodes down). */
export async function labCountersOf(stateDir: string): Promise<import('./world.js').LabCounters> {
  const { LabClient } = await import('./client.js');
  return LabClient.fromStateDir(stateDir).counters();
}

/**
 * A lab's timings in seconds of cluster time (its speed-1 timings: a lab at speed 40 is a cluster whose reboot
 * takes these, run 40 times faster), named as a snapshot names them: the defaults of a lab target's snapshot.
 */
export function labTimingDefaults(): Record<'nodeRebootS' | 'kubeletReadyS' | 'drainPerPodS' | 'vmBuildS' | 'podStartS' | 'podTerminateS', number> {
  const t = LAB_DEFAULT_TIMINGS_MS;
  return {
    nodeRebootS: (t.rebootDownMs + t.rebootUpMs) / 1000,
    kubeletReadyS: t.kubeletReadyMs / 1000,
    drainPerPodS: t.podTerminateMs / 1000,
    vmBuildS: t.vmBuildMs / 1000,
    podStartS: t.podStartMs / 1000,
    podTerminateS: t.podTerminateMs / 1000,
  };
}

export type { TwinHandle, TwinOptions } from './twin/start.js';

/**
 * A twin of a snapshotted cluster (`cookbook lab snapshot`): a lab daemon with the cluster's names, roles,
 * workloads, PDBs and timings (divided by `speed`), and an inventory dir holding only its inventory.yaml.
 */
export async function startTwin(o: import('./twin/start.js').TwinOptions): Promise<import('./twin/start.js').TwinHandle> {
  return (await import('./twin/start.js')).startTwin(o);
}

/** A synthetic snapshot of the model cluster (default 60 nodes, 3,500 namespaces, 4,000 policies, 10,000 pods). */
export async function modelSnapshot(spec: import('./twin/model.js').ModelSpec = {}): Promise<import('../lib/twin/types.js').ClusterSnapshot> {
  return (await import('./twin/model.js')).modelSnapshot(spec);
}
