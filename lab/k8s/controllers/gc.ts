// Garbage collection: dependents of deleted owners (Background), foreground and orphan finalizers, the
// namespace controller (a Terminating namespace empties itself, then goes), and the pod GC that force-deletes
// pods bound to nodes that no longer exist.
import type { ObjectApi } from '../rest.js';
import type { ResourceSpec } from '../resources.js';
import type { StoreEvent } from '../store.js';
import { WorkQueue } from '../timers.js';
import type { LabTimers } from '../timers.js';
import type { KObject } from '../types.js';

/** The garbage collector and namespace controller. */
export class GarbageCollector {
  private readonly ownerQ: WorkQueue;
  private readonly nsQ: WorkQueue;
  /** Owners in foreground deletion waiting for their dependents. */
  private readonly foreground = new Map<string, { spec: ResourceSpec; ns: string | undefined; name: string }>();

  constructor(
    private readonly api: ObjectApi,
    private readonly timers: LabTimers,
  ) {
    this.ownerQ = new WorkQueue('garbage-collector', (k) => this.syncOwner(k));
    this.nsQ = new WorkQueue('namespace', (ns) => this.syncNamespace(ns));
    api.store.on('change', (ev) => this.onChange(ev));
  }

  private onChange(ev: StoreEvent): void {
    const o = ev.object;
    const uid = o.metadata.uid;
    if (ev.type === 'DELETED') {
      if (uid && this.api.store.dependents(uid).length) this.ownerQ.add(`gone|${uid}`);
      for (const ref of o.metadata.ownerReferences ?? []) this.ownerQ.add(`check|${ref.uid}`);
      if (ev.spec.kind === 'Node') {
        const name = o.metadata.name;
        this.timers.after(100, () => this.podGc(name));
      }
    } else if (o.metadata.deletionTimestamp && (o.metadata.finalizers?.includes('foregroundDeletion') || o.metadata.finalizers?.includes('orphan'))) {
      this.ownerQ.add(`fin|${ev.spec.group}|${ev.spec.plural}|${o.metadata.namespace ?? ''}|${o.metadata.name}`);
    }
    if (ev.spec.kind === 'Namespace' && ev.type !== 'DELETED' && o.metadata.deletionTimestamp) this.nsQ.add(o.metadata.name);
    else if (ev.type === 'DELETED' && ev.spec.namespaced && o.metadata.namespace) {
      const ns = this.api.store.get(this.api.res('', 'namespaces'), undefined, o.metadata.namespace);
      if (ns?.metadata.deletionTimestamp) this.nsQ.add(ns.metadata.name);
    }
  }

  private exists(uid: string, dependent: KObject): boolean {
    const ref = dependent.metadata.ownerReferences?.find((r) => r.uid === uid);
    if (!ref) return false;
    const [group, version] = ref.apiVersion.includes('/') ? ref.apiVersion.split('/') : ['', ref.apiVersion];
    const spec = this.api.store.registry.byKind(ref.apiVersion, ref.kind) ?? this.api.store.registry.all.find((s) => s.group === group && s.version === version && s.kind === ref.kind);
    if (!spec) return false;
    const owner = this.api.store.get(spec, spec.namespaced ? dependent.metadata.namespace : undefined, ref.name);
    return !!owner && owner.metadata.uid === uid;
  }

  private syncOwner(key: string): void {
    const [what, ...rest] = key.split('|');
    if (what === 'gone') {
      const uid = rest[0]!;
      for (const d of this.api.store.dependents(uid)) {
        if (this.exists(uid, d.object)) continue;
        const others = (d.object.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid);
        const alive = others.filter((r) => this.exists(r.uid, d.object));
        if (alive.length) {
          this.api.mutate(d.spec, d.object.metadata.namespace, d.object.metadata.name, (o) => {
            o.metadata.ownerReferences = (o.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid);
          });
        } else if (!d.object.metadata.deletionTimestamp) {
          this.safeDelete(d.spec, d.object);
        }
      }
    } else if (what === 'fin') {
      const [group, plural, ns, name] = rest as [string, string, string, string];
      const spec = this.api.res(group, plural);
      const owner = this.api.store.get(spec, ns || undefined, name);
      if (!owner?.metadata.deletionTimestamp) return;
      const deps = this.api.store.dependents(owner.metadata.uid!);
      if (owner.metadata.finalizers?.includes('orphan')) {
        for (const d of deps) {
          this.api.mutate(d.spec, d.object.metadata.namespace, d.object.metadata.name, (o) => {
            o.metadata.ownerReferences = (o.metadata.ownerReferences ?? []).filter((r) => r.uid !== owner.metadata.uid);
            if (!o.metadata.ownerReferences.length) delete o.metadata.ownerReferences;
          });
        }
        this.removeFinalizer(spec, owner, 'orphan');
        return;
      }
      if (deps.length === 0) this.removeFinalizer(spec, owner, 'foregroundDeletion');
      else this.foreground.set(owner.metadata.uid!, { spec, ns: owner.metadata.namespace, name: owner.metadata.name });
      for (const d of deps) if (!d.object.metadata.deletionTimestamp) this.safeDelete(d.spec, d.object, 'Foreground');
    } else if (what === 'check') {
      // A dependent went: an owner waiting in foreground deletion may be done.
      const uid = rest[0]!;
      const waiting = this.foreground.get(uid);
      if (!waiting || this.api.store.dependents(uid).length) return;
      this.foreground.delete(uid);
      const o = this.api.store.get(waiting.spec, waiting.ns, waiting.name);
      if (o && o.metadata.uid === uid && o.metadata.deletionTimestamp) this.removeFinalizer(waiting.spec, o, 'foregroundDeletion');
    }
  }

  private removeFinalizer(spec: Parameters<ObjectApi['mutate']>[0], obj: KObject, fin: string): void {
    this.api.mutate(spec, obj.metadata.namespace, obj.metadata.name, (o) => {
      o.metadata.finalizers = (o.metadata.finalizers ?? []).filter((f) => f !== fin);
      if (!o.metadata.finalizers.length) delete o.metadata.finalizers;
    });
  }

  private safeDelete(spec: Parameters<ObjectApi['delete']>[0], obj: KObject, policy: 'Background' | 'Foreground' = 'Background'): void {
    try {
      this.api.delete(spec, obj.metadata.namespace, obj.metadata.name, { propagationPolicy: policy }, { internal: true });
    } catch (e) {
      if ((e as { code?: number }).code !== 404) throw e;
    }
  }

  private syncNamespace(name: string): void {
    const nsSpec = this.api.res('', 'namespaces');
    const ns = this.api.store.get(nsSpec, undefined, name);
    if (!ns?.metadata.deletionTimestamp) return;
    let remaining = 0;
    for (const spec of this.api.store.registry.all) {
      if (!spec.namespaced) continue;
      for (const o of [...this.api.store.scan(spec, name)]) {
        remaining++;
        if (!o.metadata.deletionTimestamp) this.safeDelete(spec, o);
      }
    }
    if (remaining === 0) this.api.store.remove(nsSpec, undefined, name);
  }

  private podGc(node: string): void {
    if (this.api.store.get(this.api.res('', 'nodes'), undefined, node)) return;
    const pods = this.api.res('', 'pods');
    for (const p of this.api.store.podsOnNode(node)) this.api.store.remove(pods, p.metadata.namespace, p.metadata.name);
  }

  /** Stops the controllers. */
  stop(): void {
    this.ownerQ.stop();
    this.nsQ.stop();
  }
}
