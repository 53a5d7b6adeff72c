// The scheduler: binds Pending pods to nodes that are Ready-tainted-free, schedulable (or tolerated), match the
// nodeSelector/required affinity and have room for the pod's requests; spreads a workload's pods across nodes.
// Pods that fit nowhere stay Pending with PodScheduled=False (reason Unschedulable), retried when nodes or
// capacity change. Node usage is kept incrementally from pod events, so binding 10,000 pods stays cheap.
import type { ObjectApi } from '../rest.js';
import type { StoreEvent } from '../store.js';
import { WorkQueue } from '../timers.js';
import { controllerOf, isPodTerminated, k8sTime, objectKey, type KObject } from '../types.js';
import { allocatable, nodeSelectorMatches, podRequests, untoleratedTaint } from './podutil.js';

interface Usage {
  cpu: number;
  memory: number;
  pods: number;
}

/** The default scheduler. */
export class Scheduler {
  private readonly queue: WorkQueue;
  private readonly fresh = new Set<string>();
  private readonly unschedulable = new Set<string>();
  private retryAll = false;
  private readonly usage = new Map<string, Usage>();
  /** A node to prefer for a pod when it fits there (a twin placing pods where its snapshot had them); unset: none. */
  prefer: ((pod: KObject) => string[] | undefined) | undefined;

  constructor(private readonly api: ObjectApi) {
    this.queue = new WorkQueue('scheduler', () => this.run());
    api.store.on('change', (ev) => this.onChange(ev));
  }

  private contribution(pod: KObject | undefined): { node: string; cpu: number; memory: number } | undefined {
    if (!pod || !pod.spec?.nodeName || isPodTerminated(pod)) return undefined;
    return { node: pod.spec.nodeName, ...podRequests(pod) };
  }

  private account(c: { node: string; cpu: number; memory: number } | undefined, sign: 1 | -1): void {
    if (!c) return;
    let u = this.usage.get(c.node);
    if (!u) this.usage.set(c.node, (u = { cpu: 0, memory: 0, pods: 0 }));
    u.cpu += sign * c.cpu;
    u.memory += sign * c.memory;
    u.pods += sign;
  }

  private onChange(ev: StoreEvent): void {
    if (ev.spec.kind === 'Pod') {
      const before = ev.type === 'ADDED' ? undefined : ev.old;
      const after = ev.type === 'DELETED' ? undefined : ev.object;
      const cb = this.contribution(before);
      const ca = this.contribution(after);
      if (cb?.node !== ca?.node || cb?.cpu !== ca?.cpu || cb?.memory !== ca?.memory) {
        this.account(cb, -1);
        this.account(ca, 1);
        if (cb && !ca) this.retryAll = true; // capacity freed
      }
      const key = objectKey(ev.object.metadata.namespace, ev.object.metadata.name);
      if (after && !after.spec?.nodeName && !after.metadata.deletionTimestamp && (after.spec?.schedulerName ?? 'default-scheduler') === 'default-scheduler') {
        if (!this.unschedulable.has(key)) this.fresh.add(key);
      } else {
        this.fresh.delete(key);
        this.unschedulable.delete(key);
      }
      if (this.fresh.size || (this.retryAll && this.unschedulable.size)) this.queue.add('run');
    } else if (ev.spec.kind === 'Node') {
      if (ev.type === 'DELETED') this.usage.delete(ev.object.metadata.name);
      this.retryAll = true;
      if (this.unschedulable.size || this.fresh.size) this.queue.add('run');
    }
  }

  private run(): void {
    const podSpec = this.api.res('', 'pods');
    const nodes = [...this.api.store.scan(this.api.res('', 'nodes'))];
    const keys = [...this.fresh, ...(this.retryAll ? this.unschedulable : [])];
    this.fresh.clear();
    this.retryAll = false;
    for (const key of keys) {
      const slash = key.indexOf('/');
      const pod = this.api.store.get(podSpec, key.slice(0, slash), key.slice(slash + 1));
      if (!pod || pod.spec?.nodeName || pod.metadata.deletionTimestamp) {
        this.unschedulable.delete(key);
        continue;
      }
      const result = this.pick(pod, nodes);
      if (typeof result === 'string') {
        this.unschedulable.delete(key);
        this.bind(pod, result);
      } else {
        this.unschedulable.add(key);
        this.markUnschedulable(pod, result.message);
      }
    }
  }

  /** Chooses a node for a pod, or explains why none fits. */
  pick(pod: KObject, nodes: KObject[]): string | { message: string } {
    const req = podRequests(pod);
    const reasons = new Map<string, number>();
    const note = (r: string) => reasons.set(r, (reasons.get(r) ?? 0) + 1);
    const ps = pod.spec ?? {};
    const feasible: KObject[] = [];
    for (const node of nodes) {
      if (node.metadata.deletionTimestamp) continue;
      if (node.spec?.unschedulable && !(ps.tolerations ?? []).some((t: { key?: string; operator?: string; effect?: string }) => (t.key === 'node.kubernetes.io/unschedulable' || (!t.key && t.operator === 'Exists')) && (!t.effect || t.effect === 'NoSchedule'))) {
        note('node(s) were unschedulable');
        continue;
      }
      const taint = untoleratedTaint(node.spec?.taints, ps.tolerations, ['NoSchedule', 'NoExecute']);
      if (taint) {
        note(`node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}`);
        continue;
      }
      if (!nodeSelectorMatches(ps, node)) {
        note("node(s) didn't match Pod's node affinity/selector");
        continue;
      }
      const cap = allocatable(node);
      const used = this.usage.get(node.metadata.name) ?? { cpu: 0, memory: 0, pods: 0 };
      if (used.pods + 1 > cap.pods) {
        note('Too many pods');
        continue;
      }
      if (used.cpu + req.cpu > cap.cpu + 1e-9) {
        note('Insufficient cpu');
        continue;
      }
      if (used.memory + req.memory > cap.memory) {
        note('Insufficient memory');
        continue;
      }
      feasible.push(node);
    }
    const wanted = this.prefer?.(pod);
    const preferred = wanted?.length ? feasible.find((n) => wanted.includes(n.metadata.name)) : undefined;
    if (preferred) return preferred.metadata.name;
    if (!feasible.length) {
      const parts = [...reasons].map(([r, n]) => `${n} ${r}`).sort();
      const n = nodes.length;
      return { message: `0/${n} nodes are available: ${parts.join(', ')}${parts.length ? '. ' : ''}preemption: 0/${n} nodes are available: ${n} Preemption is not helpful for scheduling.` };
    }
    const owner = controllerOf(pod)?.uid;
    const sameOwner = new Map<string, number>();
    if (owner) {
      for (const d of this.api.store.dependents(owner)) {
        const nn = d.object.spec?.nodeName;
        if (d.spec.kind === 'Pod' && nn && !d.object.metadata.deletionTimestamp) sameOwner.set(nn, (sameOwner.get(nn) ?? 0) + 1);
      }
    }
    let best: KObject | undefined;
    let bestScore: number[] = [];
    for (const node of feasible) {
      const cap = allocatable(node);
      const used = this.usage.get(node.metadata.name) ?? { cpu: 0, memory: 0, pods: 0 };
      const score = [sameOwner.get(node.metadata.name) ?? 0, Number.isFinite(cap.cpu) ? (used.cpu + req.cpu) / cap.cpu : 0, used.pods];
      if (!best || lexLess(score, bestScore) || (lexEqual(score, bestScore) && node.metadata.name < best.metadata.name)) {
        best = node;
        bestScore = score;
      }
    }
    return best!.metadata.name;
  }

  private bind(pod: KObject, node: string): void {
    this.api.mutate(this.api.res('', 'pods'), pod.metadata.namespace, pod.metadata.name, (p) => {
      if (p.spec.nodeName) return false;
      p.spec.nodeName = node;
      p.status ??= {};
      p.status.conditions = [...(p.status.conditions ?? []).filter((c: { type: string }) => c.type !== 'PodScheduled'), { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: k8sTime() }];
      return true;
    });
  }

  private markUnschedulable(pod: KObject, message: string): void {
    const cur = (pod.status?.conditions ?? []).find((c: { type: string }) => c.type === 'PodScheduled');
    if (cur && cur.status === 'False' && cur.message === message) return;
    this.api.mutate(this.api.res('', 'pods'), pod.metadata.namespace, pod.metadata.name, (p) => {
      p.status ??= {};
      p.status.phase ??= 'Pending';
      p.status.conditions = [
        ...(p.status.conditions ?? []).filter((c: { type: string }) => c.type !== 'PodScheduled'),
        { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message, lastProbeTime: null, lastTransitionTime: k8sTime() },
      ];
    });
  }

  /** Binds a pod to a named node (the binding subresource). */
  bindTo(pod: KObject, node: string): void {
    this.bind(pod, node);
  }

  /** Stops the scheduler. */
  stop(): void {
    this.queue.stop();
  }
}

function lexLess(a: number[], b: number[]): boolean {
  for (let i = 0; i < a.length; i++) {
    if (a[i]! < b[i]! - 1e-12) return true;
    if (a[i]! > b[i]! + 1e-12) return false;
  }
  return false;
}

function lexEqual(a: number[], b: number[]): boolean {
  return !lexLess(a, b) && !lexLess(b, a);
}
