// The disruption controller: keeps every PodDisruptionBudget's status computed (expectedPods, desiredHealthy,
// currentHealthy, disruptionsAllowed, disruptedPods, the DisruptionAllowed condition) and remembers pods the
// eviction subresource has just disrupted, so they stop counting as healthy at once (the DisruptedPods map).
import type { World } from '../../world.js';
import type { ObjectApi } from '../rest.js';
import type { StoreEvent } from '../store.js';
import { computePdb } from '../pdb.js';
import { LabTimers, WorkQueue } from '../timers.js';
import { k8sTime, type KObject } from '../types.js';

/** How long (lab ms) an eviction stays in DisruptedPods when the pod does not go away. */
const DISRUPTED_TTL_MS = 120_000;

/** The PDB status controller. */
export class DisruptionController {
  private readonly queue: WorkQueue;
  /** pdb uid -> pod name -> eviction time (ms). */
  private readonly disrupted = new Map<string, Map<string, number>>();

  constructor(
    private readonly api: ObjectApi,
    private readonly timers: LabTimers,
    private readonly world: World,
  ) {
    this.queue = new WorkQueue('disruption', (ns) => this.sync(ns));
    api.store.on('change', (ev) => this.onChange(ev));
  }

  private onChange(ev: StoreEvent): void {
    const kind = ev.spec.kind;
    if (kind === 'Pod') {
      if (ev.type === 'DELETED') for (const m of this.disrupted.values()) m.delete(ev.object.metadata.name);
      this.queue.add(ev.object.metadata.namespace!);
    } else if (kind === 'PodDisruptionBudget') {
      if (ev.type === 'DELETED') this.disrupted.delete(ev.object.metadata.uid!);
      else if (ev.type === 'ADDED' || ev.old?.metadata.generation !== ev.object.metadata.generation) this.queue.add(ev.object.metadata.namespace!);
    } else if (kind === 'Deployment' || kind === 'StatefulSet' || kind === 'ReplicaSet') {
      if (ev.type !== 'MODIFIED' || ev.old?.spec?.replicas !== ev.object.spec?.replicas) this.queue.add(ev.object.metadata.namespace!);
    }
  }

  /** Pods recently evicted under this PDB (still present). */
  disruptedFor(pdb: KObject): Set<string> {
    const m = this.disrupted.get(pdb.metadata.uid!);
    if (!m) return new Set();
    const now = Date.now();
    const ttl = this.world.scaled(DISRUPTED_TTL_MS);
    for (const [pod, at] of m) if (now - at > ttl) m.delete(pod);
    return new Set(m.keys());
  }

  /** Records an eviction under a PDB and refreshes its status at once. */
  markDisrupted(pdb: KObject, podName: string): void {
    const uid = pdb.metadata.uid!;
    if (!this.disrupted.has(uid)) this.disrupted.set(uid, new Map());
    this.disrupted.get(uid)!.set(podName, Date.now());
    this.syncOne(pdb);
    this.timers.after(DISRUPTED_TTL_MS + 10, () => this.queue.add(pdb.metadata.namespace!));
  }

  private sync(ns: string): void {
    const spec = this.api.res('policy', 'poddisruptionbudgets');
    for (const pdb of [...this.api.store.scan(spec, ns)]) this.syncOne(pdb);
  }

  private syncOne(pdb: KObject): void {
    const spec = this.api.res('policy', 'poddisruptionbudgets');
    const disrupted = this.disruptedFor(pdb);
    const n = computePdb(this.api.store, pdb, disrupted);
    this.api.mutate(spec, pdb.metadata.namespace, pdb.metadata.name, (o) => {
      const old = o.status ?? {};
      const allowed = n.disruptionsAllowed > 0;
      const prevCond = (old.conditions ?? []).find((c: { type: string }) => c.type === 'DisruptionAllowed');
      const status = allowed ? 'True' : 'False';
      const cond = {
        type: 'DisruptionAllowed',
        status,
        reason: allowed ? 'SufficientPods' : 'InsufficientPods',
        message: '',
        observedGeneration: o.metadata.generation,
        lastTransitionTime: prevCond && prevCond.status === status ? prevCond.lastTransitionTime : k8sTime(),
      };
      const dp: Record<string, string> = {};
      const m = this.disrupted.get(pdb.metadata.uid!);
      for (const name of disrupted) dp[name] = k8sTime(m?.get(name));
      o.status = {
        observedGeneration: o.metadata.generation,
        ...(Object.keys(dp).length ? { disruptedPods: dp } : {}),
        disruptionsAllowed: n.disruptionsAllowed,
        currentHealthy: n.currentHealthy,
        desiredHealthy: n.desiredHealthy,
        expectedPods: n.expectedPods,
        conditions: [cond],
      };
    });
  }

  /** Stops the controller. */
  stop(): void {
    this.queue.stop();
  }
}
