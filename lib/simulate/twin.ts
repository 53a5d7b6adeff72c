// The twin a simulation runs against: a snapshot of the target cluster (reads only, through a dry-run Context
// whose gate refuses every write) and a lab built from it at an accelerated speed (lab/api.ts startTwin). Until
// startTwin exists, a plain lab daemon of the same shape (the target lab's role counts, seed and Kubernetes
// version) stands in. Either way the twin is stopped and its state directory removed by `stop()`. Request
// counts come from the twin's counters, sampled while the run goes on for the peak rate.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Context } from '../core/context.js';
import { LabError, messageOf } from '../core/errors.js';
import type { ClusterConfig } from '../inventory/schema.js';

/** The lab counters simulate reads (a subset of the lab's LabCounters). */
export interface TwinCounters {
  requests: { k8s: number; openstack: number; ssh: number };
  pdb_violations: number;
  max_unavailable_nodes: number;
}

/** A running twin. */
export interface Twin {
  kind: 'twin' | 'lab';
  inventoryDir: string;
  clusterName: string;
  /** Lab speed of the twin: cluster time runs this many times faster than wall time. */
  speed: number;
  /** The snapshot's timings (absent for the fallback lab). */
  timings?: Record<string, { seconds: number; source: string; samples: number }>;
  /** Requests the twin has answered so far (Kubernetes, OpenStack, SSH). */
  requestCount(): Promise<number>;
  /** PDB violations and most nodes unavailable at once, when the twin can tell. */
  counters(): Promise<{ pdbViolations: number; maxUnavailableNodes: number } | undefined>;
  stop(): Promise<void>;
}

/** What a lab target's lab.json says (simulate reads only these fields). */
interface LabFacts {
  speed: number;
  seed: number;
  kubernetesVersion: string;
  hosts: { role: string }[];
}

/** The lab behind a lab cluster's inventory entry, when it is one. */
export function labFactsOf(cluster: ClusterConfig): LabFacts | undefined {
  const dir = cluster.lab?.stateDir;
  if (!dir) return undefined;
  try {
    return JSON.parse(readFileSync(join(dir, 'lab.json'), 'utf8')) as LabFacts;
  } catch {
    return undefined;
  }
}

/**
 * The twin speed for a real cluster. The accelerated clock charges this process's CPU time at 1x and the rest
 * of the wall time at the speed, which is right while the cookbook mostly waits; once its own work fills the
 * wall time (a CPU-bound process at a high speed) the twin's waits run on during that work uncounted, and the
 * prediction comes out short. The model cluster's 60-node reboot (bench/simulate.ts, 10,000 pods, ~35 s of
 * CLI CPU in the run) predicted 1,405-1,458 s at speed 10 (200 s wall), 1,260 s at 20 (126 s), 860-1,360 s
 * at 30 (median ~1,070 s, 87-109 s wall) and 522 s at 60 (59 s): 30 is the highest speed that keeps the whole
 * --simulate under 2 minutes there without the prediction collapsing, ~25% short of speed 10's; smaller
 * clusters, with less work per wall second, predict within a few percent at it (test/simulate). For a
 * closer figure on a cluster that size, pass --simulate-speed 10.
 */
export const REAL_CLUSTER_SPEED = 30;

/** The default twin speed: a lab's own speed (its cluster time is its speed-1 time), else REAL_CLUSTER_SPEED. */
export function defaultSpeed(cluster: ClusterConfig): number {
  return labFactsOf(cluster)?.speed ?? REAL_CLUSTER_SPEED;
}

type SnapshotModule = { takeSnapshot(ctx: Context, opts: Record<string, unknown>): Promise<unknown> };
type TwinApi = {
  startTwin?: (o: { snapshot: unknown; speed: number; stateDir?: string }) => Promise<{
    inventoryDir: string;
    clusterName: string;
    stop(): Promise<void>;
    requestStats(): { count: number; peakPerSecond: number } | Promise<{ count: number; peakPerSecond: number }>;
    counters?: () => Promise<{ pdbViolations: number; maxUnavailableNodes: number }>;
  }>;
};

/** Imports a module of ours by path relative to lib/, or undefined when it is not there (yet). */
async function optionalLib<T>(rel: string): Promise<T | undefined> {
  try {
    return (await import(new URL(`../${rel}`, import.meta.url).href)) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') return undefined;
    throw err;
  }
}

/** Takes the snapshot of the context's cluster (undefined when lib/twin has no takeSnapshot). */
export async function takeSnapshotOf(ctx: Context): Promise<unknown> {
  const mod = await optionalLib<SnapshotModule>('twin/snapshot.js');
  if (!mod?.takeSnapshot) return undefined;
  return mod.takeSnapshot(ctx, {});
}

/** Starts the twin of `cluster` at `speed` under `stateDir`: from the snapshot when possible, else a plain lab. */
export async function startTwinOf(cluster: ClusterConfig, snapshot: unknown, o: { speed: number; stateDir: string; note(m: string): void }): Promise<Twin> {
  const api = (await import('../../lab/api.js')) as typeof import('../../lab/api.js') & TwinApi;
  if (snapshot !== undefined && typeof api.startTwin === 'function') {
    const t = await api.startTwin({ snapshot, speed: o.speed, stateDir: join(o.stateDir, 'twin') });
    const timings = (snapshot as { timings?: Twin['timings'] }).timings;
    return {
      kind: 'twin',
      inventoryDir: t.inventoryDir,
      clusterName: t.clusterName,
      speed: o.speed,
      ...(timings ? { timings } : {}),
      requestCount: async () => (await t.requestStats()).count,
      counters: async () => (t.counters ? t.counters() : undefined),
      stop: () => t.stop(),
    };
  }
  return startFallbackLab(cluster, api, o);
}

/** A plain lab of the target's shape (names follow the lab's naming for the cluster's name). */
async function startFallbackLab(cluster: ClusterConfig, api: typeof import('../../lab/api.js'), o: { speed: number; stateDir: string; note(m: string): void }): Promise<Twin> {
  const facts = labFactsOf(cluster);
  const counts: Record<string, number> = {};
  for (const h of facts?.hosts ?? []) counts[h.role] = (counts[h.role] ?? 0) + 1;
  const dir = join(o.stateDir, 'twin');
  o.note(`no snapshot twin available: simulating on a plain lab of ${cluster.name}'s shape`);
  const info = await api.ensureLab({
    clusterName: cluster.name,
    stateDir: dir,
    options: {
      speed: o.speed,
      // As the in-process labs do: etcd members start on first use (a daemon with no etcd host otherwise fails /readyz).
      etcdStart: 'lazy',
      seed: facts?.seed ?? 1,
      kubernetesVersion: facts?.kubernetesVersion ?? '1.29.4',
      ...(facts ? { control: counts.control ?? 0, workers: counts.worker ?? 0, workersNfs: counts.worker_nfs ?? 0, ingress: counts.ingress ?? 0, etcd: counts.etcd ?? 0 } : {}),
    },
  });
  const read = async (): Promise<TwinCounters> => api.labCountersOf(info.stateDir);
  return {
    kind: 'lab',
    inventoryDir: info.stateDir,
    clusterName: cluster.name,
    speed: o.speed,
    requestCount: async () => {
      const c = await read();
      return c.requests.k8s + c.requests.openstack + c.requests.ssh;
    },
    counters: async () => {
      const c = await read();
      return { pdbViolations: c.pdb_violations, maxUnavailableNodes: c.max_unavailable_nodes };
    },
    stop: async () => {
      try {
        await api.stopLabDir(cluster.name, info.stateDir);
      } catch (err) {
        throw new LabError(`could not stop the twin lab in ${info.stateDir}: ${messageOf(err)}`, { cause: err, context: { stateDir: info.stateDir }, hint: `stop it with: cookbook lab down --state-dir ${info.stateDir}` });
      }
    },
  };
}

/**
 * Samples the twin's request count while a run goes on: the total over the run and the most requests in one
 * second (a sliding window over samples every `everyMs`). Stop it to get the figures.
 */
export function sampleRequests(twin: Twin, everyMs = 250): { stop(): Promise<{ count: number; peakPerSecond: number }> } {
  const samples: { t: number; n: number }[] = [];
  let stopped = false;
  let failure: unknown;
  const take = async (): Promise<void> => {
    try {
      samples.push({ t: Date.now(), n: await twin.requestCount() });
    } catch (err) {
      failure ??= err;
    }
  };
  const first = take();
  const loop = (async () => {
    await first;
    while (!stopped) {
      await new Promise((r) => setTimeout(r, everyMs));
      if (!stopped) await take();
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      await take();
      if (samples.length < 2) throw new LabError(`could not read the twin's request counters: ${messageOf(failure)}`, { cause: failure, hint: 'the twin stopped answering during the run: see its log' });
      // The most requests in any window of about one second: sample i against the last sample at least 1 s
      // before it (the first sample when the run was shorter).
      let peak = 0;
      for (let i = 1, k = 0; i < samples.length; i++) {
        while (k + 1 < i && samples[i]!.t - samples[k + 1]!.t >= 1000) k++;
        const dt = Math.max(1, (samples[i]!.t - samples[k]!.t) / 1000);
        peak = Math.max(peak, (samples[i]!.n - samples[k]!.n) / dt);
      }
      return { count: samples.at(-1)!.n - samples[0]!.n, peakPerSecond: Math.round(peak) };
    },
  };
}
