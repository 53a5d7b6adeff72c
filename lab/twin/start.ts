// startTwin: a twin of a snapshotted cluster as a lab daemon in the background (its own process: a model-scale
// twin holds 10,000 pods, and the simulated run should not share a heap or an event loop with it). Its root
// directory holds the lab's state dir, an inventory dir with only the twin's inventory.yaml (so a run can be
// pointed at it with --inventory), and the snapshot file the daemon reads. stop() stops it and removes them.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { LabError, messageOf } from '../../lib/core/errors.js';
import { writeSnapshotFile } from '../../lib/twin/file.js';
import type { ClusterSnapshot } from '../../lib/twin/types.js';
import { startLabProcess } from '../cli.js';
import { LabClient } from '../client.js';
import { STATE_FILES, type LabInfo } from '../state.js';
import { stopLab } from '../stop.js';

/** Options of startTwin. */
export interface TwinOptions {
  /** The snapshot, or the path of a snapshot file. */
  snapshot: ClusterSnapshot | string;
  /** Divide the snapshot's timings by this (default 30). */
  speed?: number;
  /** The twin's root directory (default: a new temporary directory). */
  stateDir?: string;
  /** How long the twin may take to start (default 180 s). */
  timeoutMs?: number;
}

/** A running twin. */
export interface TwinHandle {
  clusterName: string;
  /** A directory holding only the twin's inventory.yaml: pass it as --inventory. */
  inventoryDir: string;
  /** The twin lab's state directory. */
  stateDir: string;
  info: LabInfo;
  /** Kubernetes API requests the twin served (watches included) and the most in one second (sampled each second). */
  requestStats(): Promise<{ count: number; peakPerSecond: number }>;
  /** The twin's PDB violations and the most nodes unavailable at once since it started. */
  counters(): Promise<{ pdbViolations: number; maxUnavailableNodes: number }>;
  /** Stops the twin and removes its directories. */
  stop(): Promise<void>;
}

/** The pods a twin will hold: the snapshot's, or its workloads' replicas (a model snapshot lists workloads only). */
export function podsOf(s: Pick<ClusterSnapshot, 'pods' | 'workloads'>): number {
  return s.pods.length || s.workloads.reduce((n, w) => n + w.replicas, 0);
}

/**
 * The V8 heap cap of a twin's daemon: 256 MiB plus 25 KiB per pod. On the model cluster (10,000 pods) the live
 * set is about 160 MiB, but uncapped V8 let the heap grow to 450-600 MiB between major collections, which took
 * a simulation (CLI and twin) over 1 GiB; capped at 512 MiB the same run took ~670-800 MiB and as long.
 */
export function twinHeapMb(pods: number): number {
  return 256 + Math.ceil((pods * 25) / 1024);
}

/** Starts a twin lab daemon from a snapshot; resolves once it is seeded and answering. */
export async function startTwin(o: TwinOptions): Promise<TwinHandle> {
  const root = resolve(o.stateDir ?? mkdtempSync(join(tmpdir(), 'cc-twin-')));
  mkdirSync(root, { recursive: true, mode: 0o700 });
  const labDir = join(root, 'lab');
  const inventoryDir = join(root, 'inventory');
  let snapshotFile: string;
  let clusterName: string;
  let podCount: number;
  if (typeof o.snapshot === 'string') {
    snapshotFile = resolve(o.snapshot);
    const read = (await import('../../lib/twin/file.js')).readSnapshotFile(snapshotFile);
    clusterName = read.cluster.name;
    podCount = podsOf(read);
  } else {
    snapshotFile = join(root, 'snapshot.json');
    writeSnapshotFile(snapshotFile, o.snapshot);
    clusterName = o.snapshot.cluster.name;
    podCount = podsOf(o.snapshot);
  }
  const cleanup = (): void => {
    rmSync(inventoryDir, { recursive: true, force: true });
    if (snapshotFile === join(root, 'snapshot.json')) rmSync(snapshotFile, { force: true });
    rmSync(labDir, { recursive: true, force: true });
    try {
      rmdirSync(root);
    } catch {
      /* someone else's files are in it: left in place */
    }
  };
  let info: LabInfo;
  try {
    // etcd members start on first use, as in-process labs: an eager start with no etcd host fails /readyz forever.
    ({ info } = await startLabProcess({ clusterName, stateDir: labDir, speed: o.speed ?? 30, fromSnapshot: snapshotFile, etcdStart: 'lazy', timeoutMs: o.timeoutMs, maxHeapMb: twinHeapMb(podCount) }));
  } catch (err) {
    await stopLab(clusterName, labDir, { stderr: () => {} }).catch(() => undefined);
    cleanup();
    throw err instanceof LabError ? err : new LabError(`twin of ${clusterName} did not start: ${messageOf(err)}`, { cause: err, context: { stateDir: labDir }, hint: `see ${join(labDir, STATE_FILES.log)}` });
  }
  mkdirSync(inventoryDir, { recursive: true, mode: 0o700 });
  copyFileSync(join(labDir, STATE_FILES.inventory), join(inventoryDir, 'inventory.yaml'));

  const client = new LabClient(info);
  // The peak rate: requests counted by the lab, sampled once a second from here.
  let last = (await client.counters()).requests.k8s;
  let peak = 0;
  const sampler = setInterval(() => {
    client.counters().then(
      (c) => {
        peak = Math.max(peak, c.requests.k8s - last);
        last = c.requests.k8s;
      },
      () => undefined,
    );
  }, 1000);
  sampler.unref();
  let stopping: Promise<void> | undefined;
  return {
    clusterName,
    inventoryDir,
    stateDir: labDir,
    info,
    async requestStats() {
      const c = await client.counters();
      peak = Math.max(peak, c.requests.k8s - last);
      return { count: c.requests.k8s, peakPerSecond: peak };
    },
    async counters() {
      const c = await client.counters();
      return { pdbViolations: c.pdb_violations, maxUnavailableNodes: c.max_unavailable_nodes };
    },
    stop: () =>
      (stopping ??= (async () => {
        clearInterval(sampler);
        try {
          await stopLab(clusterName, labDir, { stderr: () => {} });
        } finally {
          cleanup();
        }
      })()),
  };
}
