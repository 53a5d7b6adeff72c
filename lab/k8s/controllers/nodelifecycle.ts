// The node lifecycle controller's taints (unschedulable, not-ready, unreachable) and the lab's
// max_unavailable_nodes gauge: the highest number of Node objects that were unschedulable or not Ready at once.
import type { World } from '../../world.js';
import type { ObjectApi } from '../rest.js';
import type { StoreEvent } from '../store.js';
import { WorkQueue } from '../timers.js';
import { k8sTime, nodeReadyStatus, type KObject } from '../types.js';
import type { Taint } from './podutil.js';

const UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';
const NOT_READY = 'node.kubernetes.io/not-ready';
const UNREACHABLE = 'node.kubernetes.io/unreachable';

/** True when a node counts as unavailable (cordoned or not Ready). */
export function nodeUnavailable(node: KObject): boolean {
  return !!node.spec?.unschedulable || nodeReadyStatus(node) !== 'True';
}

/** Desired lifecycle taints of a node given its state. */
function wantedTaints(node: KObject): Taint[] {
  const out: Taint[] = [];
  if (node.spec?.unschedulable) out.push({ key: UNSCHEDULABLE, effect: 'NoSchedule' });
  const ready = nodeReadyStatus(node);
  if (ready === 'False') out.push({ key: NOT_READY, effect: 'NoSchedule' }, { key: NOT_READY, effect: 'NoExecute' });
  if (ready === 'Unknown') out.push({ key: UNREACHABLE, effect: 'NoSchedule' }, { key: UNREACHABLE, effect: 'NoExecute' });
  return out;
}

/** Keeps lifecycle taints in line with node state and measures unavailable nodes. */
export class NodeLifecycle {
  private readonly queue: WorkQueue;
  private readonly unavailable = new Set<string>();

  constructor(
    private readonly world: World,
    private readonly api: ObjectApi,
  ) {
    this.queue = new WorkQueue('node-lifecycle', (name) => this.sync(name));
    api.store.on('change', (ev) => this.onChange(ev));
    world.on('counters-reset', this.onReset);
  }

  private readonly onReset = (): void => {
    this.world.counters.max_unavailable_nodes = this.unavailable.size;
  };

  /** Number of nodes unavailable right now. */
  get currentUnavailable(): number {
    return this.unavailable.size;
  }

  private onChange(ev: StoreEvent): void {
    if (ev.spec.kind !== 'Node') return;
    const name = ev.object.metadata.name;
    if (ev.type === 'DELETED') this.unavailable.delete(name);
    else if (nodeUnavailable(ev.object)) this.unavailable.add(name);
    else this.unavailable.delete(name);
    const c = this.world.counters;
    if (this.unavailable.size > c.max_unavailable_nodes) c.max_unavailable_nodes = this.unavailable.size;
    if (ev.type !== 'DELETED') this.queue.add(name);
  }

  private sync(name: string): void {
    const spec = this.api.res('', 'nodes');
    this.api.mutate(spec, undefined, name, (node) => {
      const managed = new Set([UNSCHEDULABLE, NOT_READY, UNREACHABLE]);
      const current: Taint[] = node.spec?.taints ?? [];
      const wanted = wantedTaints(node);
      const keep = current.filter((t) => !managed.has(t.key) || wanted.some((w) => w.key === t.key && w.effect === t.effect));
      const add = wanted.filter((w) => !current.some((t) => t.key === w.key && t.effect === w.effect)).map((w) => (w.effect === 'NoExecute' ? { ...w, timeAdded: k8sTime() } : w));
      if (add.length === 0 && keep.length === current.length) return false;
      node.spec ??= {};
      const next = [...keep, ...add];
      if (next.length) node.spec.taints = next;
      else delete node.spec.taints;
      return true;
    });
  }

  /** Stops the controller. */
  stop(): void {
    this.queue.stop();
    this.world.off('counters-reset', this.onReset);
  }
}
