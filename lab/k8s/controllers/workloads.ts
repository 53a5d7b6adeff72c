// The workload controllers: ReplicaSets keep their pod count; Deployments roll ReplicaSets (RollingUpdate
// with maxSurge/maxUnavailable, or Recreate); StatefulSets keep ordered pods `<name>-<i>` (OrderedReady or
// Parallel, recreated under the same name with a new UID, rolling updates from the highest ordinal);
// DaemonSets keep one pod on every eligible node (nodeSelector, affinity, taints with the DaemonSet's automatic
// tolerations, including node.kubernetes.io/unschedulable). All write through the object API as internal actions.
import type { NameSource } from '../names.js';
import { intOrPercent, templateHash } from '../names.js';
import type { ObjectApi } from '../rest.js';
import type { ResourceSpec } from '../resources.js';
import type { StoreEvent } from '../store.js';
import { WorkQueue, type LabTimers } from '../timers.js';
import { clone, controllerOf, isPodActive, isPodReady, isPodTerminated, jsonEqual, k8sTime, type KObject } from '../types.js';
import { compareRank, deletionRank, nodeSelectorMatches, ownerRef, podFromTemplate, untoleratedTaint, type Toleration } from './podutil.js';

const DS_TOLERATIONS: Toleration[] = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
];

type Key = string; // `ns/name`

function split(key: Key): [string, string] {
  const i = key.indexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
}

/** All workload controllers, sharing one change subscription. */
export class WorkloadControllers {
  private readonly rsQ: WorkQueue;
  private readonly deployQ: WorkQueue;
  private readonly stsQ: WorkQueue;
  private readonly dsQ: WorkQueue;
  private readonly s: Record<'pods' | 'rs' | 'deploy' | 'sts' | 'ds' | 'nodes', ResourceSpec>;

  /** Rollout progress per Deployment: what was last seen, and whether the deadline passed since. */
  private readonly progress = new Map<Key, { sig: string; exceeded: boolean }>();

  constructor(
    private readonly api: ObjectApi,
    private readonly names: NameSource,
    private readonly timers?: LabTimers,
  ) {
    this.s = {
      pods: api.res('', 'pods'),
      rs: api.res('apps', 'replicasets'),
      deploy: api.res('apps', 'deployments'),
      sts: api.res('apps', 'statefulsets'),
      ds: api.res('apps', 'daemonsets'),
      nodes: api.res('', 'nodes'),
    };
    this.rsQ = new WorkQueue('replicaset', (k) => this.syncReplicaSet(k));
    this.deployQ = new WorkQueue('deployment', (k) => this.syncDeployment(k));
    this.stsQ = new WorkQueue('statefulset', (k) => this.syncStatefulSet(k));
    this.dsQ = new WorkQueue('daemonset', (k) => this.syncDaemonSet(k));
    api.store.on('change', (ev) => this.onChange(ev));
  }

  private onChange(ev: StoreEvent): void {
    const o = ev.object;
    const key = `${o.metadata.namespace}/${o.metadata.name}`;
    switch (ev.spec.kind) {
      case 'ReplicaSet':
        if (ev.type !== 'DELETED') this.rsQ.add(key);
        this.enqueueOwner(o);
        break;
      case 'Deployment':
        if (ev.type !== 'DELETED') this.deployQ.add(key);
        else this.progress.delete(key);
        break;
      case 'StatefulSet':
        if (ev.type !== 'DELETED') this.stsQ.add(key);
        break;
      case 'DaemonSet':
        if (ev.type !== 'DELETED') this.dsQ.add(key);
        break;
      case 'Pod':
        this.enqueueOwner(o);
        if (ev.old && ev.type === 'MODIFIED') {
          const prev = controllerOf(ev.old);
          if (prev && prev.uid !== controllerOf(o)?.uid) this.enqueueOwner(ev.old);
        }
        break;
      case 'Node':
        if (ev.type === 'MODIFIED' && ev.old && jsonEqual(ev.old.spec, o.spec) && jsonEqual(ev.old.metadata.labels, o.metadata.labels) && nodeReady(ev.old) === nodeReady(o)) break;
        for (const ds of this.api.store.scan(this.s.ds)) this.dsQ.add(`${ds.metadata.namespace}/${ds.metadata.name}`);
        break;
    }
  }

  private enqueueOwner(o: KObject): void {
    const ref = controllerOf(o);
    if (!ref) return;
    const key = `${o.metadata.namespace}/${ref.name}`;
    if (ref.kind === 'ReplicaSet') this.rsQ.add(key);
    else if (ref.kind === 'Deployment') this.deployQ.add(key);
    else if (ref.kind === 'StatefulSet') this.stsQ.add(key);
    else if (ref.kind === 'DaemonSet') this.dsQ.add(key);
  }

  private ownedPods(owner: KObject): KObject[] {
    return this.api.store
      .dependents(owner.metadata.uid!)
      .filter((d) => d.spec.kind === 'Pod' && controllerOf(d.object)?.uid === owner.metadata.uid)
      .map((d) => d.object);
  }

  private createPod(owner: KObject, name: string, extraLabels: Record<string, string>, mutate?: (pod: KObject) => void): void {
    const pod = podFromTemplate(owner.spec.template, owner.metadata.namespace!, name, owner, extraLabels);
    mutate?.(pod);
    try {
      this.api.create(this.s.pods, owner.metadata.namespace, pod, { internal: true });
    } catch (e) {
      // A name collision or a terminating namespace: the next sync tries again.
      if ((e as { code?: number }).code !== 409 && (e as { code?: number }).code !== 403) throw e;
    }
  }

  private deletePod(pod: KObject): void {
    try {
      this.api.delete(this.s.pods, pod.metadata.namespace, pod.metadata.name, {}, { internal: true });
    } catch (e) {
      if ((e as { code?: number }).code !== 404) throw e;
    }
  }

  private writeStatus(spec: ResourceSpec, obj: KObject, status: Record<string, unknown>): void {
    if (jsonEqual(obj.status, status)) return;
    this.api.mutate(spec, obj.metadata.namespace, obj.metadata.name, (o) => {
      o.status = status;
    });
  }

  // ---- ReplicaSet ----

  private syncReplicaSet(key: Key): void {
    const [ns, name] = split(key);
    const rs = this.api.store.get(this.s.rs, ns, name);
    if (!rs || rs.metadata.deletionTimestamp) return;
    const pods = this.ownedPods(rs);
    const active = pods.filter(isPodActive);
    const want = rs.spec?.replicas ?? 1;
    const hashLabel = rs.metadata.labels?.['pod-template-hash'];
    if (active.length < want) {
      for (let i = active.length; i < want; i++) this.createPod(rs, `${name}-${this.names.suffix(5)}`, hashLabel ? { 'pod-template-hash': hashLabel } : {});
    } else if (active.length > want) {
      const victims = [...active].sort((a, b) => compareRank(deletionRank(a), deletionRank(b))).slice(0, active.length - want);
      for (const p of victims) this.deletePod(p);
    }
    for (const p of pods) if (isPodTerminated(p) && !p.metadata.deletionTimestamp) this.deletePod(p);
    const now = this.ownedPods(rs).filter(isPodActive);
    const ready = now.filter(isPodReady).length;
    this.writeStatus(this.s.rs, rs, {
      replicas: now.length,
      fullyLabeledReplicas: now.length,
      readyReplicas: ready,
      availableReplicas: ready,
      observedGeneration: rs.metadata.generation,
    });
  }

  // ---- Deployment ----

  private syncDeployment(key: Key): void {
    const [ns, name] = split(key);
    const d = this.api.store.get(this.s.deploy, ns, name);
    if (!d || d.metadata.deletionTimestamp) return;
    const all = this.api.store
      .dependents(d.metadata.uid!)
      .filter((x) => x.spec.kind === 'ReplicaSet' && controllerOf(x.object)?.uid === d.metadata.uid)
      .map((x) => x.object)
      .filter((rs) => !rs.metadata.deletionTimestamp);
    const template = d.spec.template ?? {};
    const hash = templateHash(template);
    let newRS = all.find((rs) => sameTemplate(rs.spec?.template, template));
    const old = all.filter((rs) => rs !== newRS);
    const replicas: number = d.spec.replicas ?? 1;
    const maxRevision = Math.max(0, ...all.map((rs) => Number(rs.metadata.annotations?.['deployment.kubernetes.io/revision'] ?? 0)));
    const strategy = d.spec.strategy?.type ?? 'RollingUpdate';
    const availableOf = (rs: KObject) => this.ownedPods(rs).filter((p) => isPodActive(p) && isPodReady(p)).length;
    const specReplicas = (rs: KObject) => rs.spec?.replicas ?? 0;
    const scaleRS = (rs: KObject, n: number) => {
      if (specReplicas(rs) === n) return;
      this.api.mutate(this.s.rs, ns, rs.metadata.name, (o) => {
        o.spec.replicas = n;
        o.metadata.annotations = { ...(o.metadata.annotations ?? {}), 'deployment.kubernetes.io/desired-replicas': String(replicas) };
      });
    };

    if (!d.spec.paused) {
      if (!newRS) {
        const rsName = `${name}-${hash}`;
        const labels = { ...(template.metadata?.labels ?? {}), 'pod-template-hash': hash };
        const rsTemplate = clone(template);
        rsTemplate.metadata = { ...(rsTemplate.metadata ?? {}), labels };
        const selector = clone(d.spec.selector ?? {});
        selector.matchLabels = { ...(selector.matchLabels ?? {}), 'pod-template-hash': hash };
        let initial = 0;
        if (strategy === 'RollingUpdate') {
          const surge = intOrPercent(d.spec.strategy?.rollingUpdate?.maxSurge ?? '25%', replicas, true);
          const total = old.reduce((a, rs) => a + specReplicas(rs), 0);
          initial = old.length === 0 ? replicas : Math.max(0, Math.min(replicas, replicas + surge - total));
        }
        try {
          newRS = this.api.create(
            this.s.rs,
            ns,
            {
              apiVersion: 'apps/v1',
              kind: 'ReplicaSet',
              metadata: {
                name: this.api.store.get(this.s.rs, ns, rsName) ? `${rsName}-${this.names.suffix(3)}` : rsName,
                namespace: ns,
                labels,
                annotations: {
                  'deployment.kubernetes.io/revision': String(maxRevision + 1),
                  'deployment.kubernetes.io/desired-replicas': String(replicas),
                  'deployment.kubernetes.io/max-replicas': String(replicas + intOrPercent(d.spec.strategy?.rollingUpdate?.maxSurge ?? '25%', replicas, true)),
                },
                ownerReferences: [ownerRef(d)],
              },
              spec: { replicas: initial, selector, template: rsTemplate },
            },
            { internal: true },
          );
        } catch (e) {
          if ((e as { code?: number }).code !== 409 && (e as { code?: number }).code !== 403) throw e;
          return;
        }
      } else if (Number(newRS.metadata.annotations?.['deployment.kubernetes.io/revision'] ?? 0) < maxRevision) {
        // Rolled back to an older template: it becomes the newest revision.
        this.api.mutate(this.s.rs, ns, newRS.metadata.name, (o) => {
          o.metadata.annotations = { ...(o.metadata.annotations ?? {}), 'deployment.kubernetes.io/revision': String(maxRevision + 1) };
        });
      }
      const nrs = newRS;
      if (strategy === 'Recreate') {
        for (const rs of old) scaleRS(rs, 0);
        const oldPods = old.flatMap((rs) => this.ownedPods(rs));
        if (oldPods.length === 0) scaleRS(nrs, replicas);
      } else {
        const surge = intOrPercent(d.spec.strategy?.rollingUpdate?.maxSurge ?? '25%', replicas, true);
        let maxUnavail = intOrPercent(d.spec.strategy?.rollingUpdate?.maxUnavailable ?? '25%', replicas, false);
        if (surge === 0 && maxUnavail === 0) maxUnavail = 1;
        const fresh = () => this.api.store.get(this.s.rs, ns, nrs.metadata.name) ?? nrs;
        // Scale up the new ReplicaSet within maxSurge.
        const total = all.reduce((a, rs) => a + specReplicas(rs), 0) + (all.includes(nrs) ? 0 : specReplicas(nrs));
        const cur = specReplicas(fresh());
        if (cur > replicas) scaleRS(fresh(), replicas);
        else if (cur < replicas) {
          const room = replicas + surge - total;
          if (room > 0) scaleRS(fresh(), Math.min(replicas, cur + room));
        }
        // Scale down old ReplicaSets while keeping replicas - maxUnavailable available.
        const oldLive = old.map((rs) => this.api.store.get(this.s.rs, ns, rs.metadata.name)).filter((x): x is KObject => !!x);
        if (oldLive.some((rs) => specReplicas(rs) > 0)) {
          const minAvailable = replicas - maxUnavail;
          const allPods = specReplicas(fresh()) + oldLive.reduce((a, rs) => a + specReplicas(rs), 0);
          const newUnavailable = Math.max(0, specReplicas(fresh()) - availableOf(fresh()));
          let budget = allPods - minAvailable - newUnavailable;
          // First the old pods that are not available anyway.
          for (const rs of oldLive.sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? ''))) {
            if (budget <= 0) break;
            const unhealthy = specReplicas(rs) - availableOf(rs);
            if (unhealthy > 0) {
              const n = Math.min(unhealthy, budget);
              scaleRS(rs, specReplicas(rs) - n);
              budget -= n;
            }
          }
          const available = availableOf(fresh()) + oldLive.reduce((a, rs) => a + availableOf(rs), 0);
          let down = available - minAvailable;
          for (const rs of oldLive) {
            if (down <= 0) break;
            const liveRs = this.api.store.get(this.s.rs, ns, rs.metadata.name);
            if (!liveRs) continue;
            const n = Math.min(specReplicas(liveRs), down);
            if (n > 0) {
              scaleRS(liveRs, specReplicas(liveRs) - n);
              down -= n;
            }
          }
        }
      }
      // Old ReplicaSets beyond the history limit go.
      const limit = d.spec.revisionHistoryLimit ?? 10;
      const idle = old
        .map((rs) => this.api.store.get(this.s.rs, ns, rs.metadata.name))
        .filter((rs): rs is KObject => !!rs && specReplicas(rs) === 0 && (rs.status?.replicas ?? 0) === 0);
      for (const rs of idle.slice(0, Math.max(0, idle.length - limit))) this.api.delete(this.s.rs, ns, rs.metadata.name, {}, { internal: true });
    }

    // Status from the ReplicaSets as they are now.
    const rsNow = this.api.store
      .dependents(d.metadata.uid!)
      .filter((x) => x.spec.kind === 'ReplicaSet')
      .map((x) => x.object);
    const newNow = newRS ? this.api.store.get(this.s.rs, ns, newRS.metadata.name) : undefined;
    let podsTotal = 0;
    let ready = 0;
    for (const rs of rsNow) {
      const active = this.ownedPods(rs).filter(isPodActive);
      podsTotal += active.length;
      ready += active.filter(isPodReady).length;
    }
    const updated = newNow ? this.ownedPods(newNow).filter(isPodActive).length : 0;
    const maxUnavail = strategy === 'RollingUpdate' ? intOrPercent(d.spec.strategy?.rollingUpdate?.maxUnavailable ?? '25%', replicas, false) : 0;
    const prev = d.status ?? {};
    const cond = (type: string, status: string, reason: string, message: string) => {
      const p = (prev.conditions ?? []).find((c: { type: string }) => c.type === type);
      const now = k8sTime();
      return { type, status, lastUpdateTime: p && p.status === status && p.reason === reason ? p.lastUpdateTime : now, lastTransitionTime: p && p.status === status ? p.lastTransitionTime : now, reason, message };
    };
    const complete = updated === replicas && ready >= replicas && podsTotal === replicas;
    const status: Record<string, unknown> = {
      observedGeneration: d.metadata.generation,
      replicas: podsTotal,
      updatedReplicas: updated,
      readyReplicas: ready,
      availableReplicas: ready,
      ...(podsTotal - ready > 0 ? { unavailableReplicas: Math.max(0, podsTotal - ready) } : {}),
      conditions: [
        ready >= replicas - maxUnavail ? cond('Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.') : cond('Available', 'False', 'MinimumReplicasUnavailable', 'Deployment does not have minimum availability.'),
        complete && newNow
          ? cond('Progressing', 'True', 'NewReplicaSetAvailable', `ReplicaSet "${newNow.metadata.name}" has successfully progressed.`)
          : this.deadlineExceeded(key, d, `${d.metadata.generation}|${updated}|${ready}|${podsTotal}`)
            ? cond('Progressing', 'False', 'ProgressDeadlineExceeded', `ReplicaSet "${newNow?.metadata.name ?? name}" has timed out progressing.`)
            : cond('Progressing', 'True', 'ReplicaSetUpdated', `ReplicaSet "${newNow?.metadata.name ?? name}" is progressing.`),
      ],
    };
    for (const k of Object.keys(status)) if (status[k] === 0 && k !== 'observedGeneration') delete status[k];
    const rev = newNow?.metadata.annotations?.['deployment.kubernetes.io/revision'];
    if (rev && d.metadata.annotations?.['deployment.kubernetes.io/revision'] !== rev) {
      this.api.mutate(this.s.deploy, ns, name, (o) => {
        o.metadata.annotations = { ...(o.metadata.annotations ?? {}), 'deployment.kubernetes.io/revision': rev };
        o.status = status;
      });
    } else {
      const cur = this.api.store.get(this.s.deploy, ns, name);
      if (cur) this.writeStatus(this.s.deploy, cur, status);
    }
  }

  /**
   * True once an unfinished rollout made no progress (same generation, updated, ready and total counts) for
   * spec.progressDeadlineSeconds of lab time: the controller then reports ProgressDeadlineExceeded, as the real
   * one does. Any progress restarts the clock.
   */
  private deadlineExceeded(key: Key, d: KObject, sig: string): boolean {
    let p = this.progress.get(key);
    if (!p || p.sig !== sig) {
      const entry = { sig, exceeded: false };
      p = entry;
      this.progress.set(key, entry);
      if (this.timers && !d.spec.paused) {
        this.timers.after((d.spec.progressDeadlineSeconds ?? 600) * 1000, () => {
          if (this.progress.get(key) !== entry) return;
          entry.exceeded = true;
          this.deployQ.add(key);
        });
      }
    }
    return p.exceeded;
  }

  // ---- StatefulSet ----

  private syncStatefulSet(key: Key): void {
    const [ns, name] = split(key);
    const sts = this.api.store.get(this.s.sts, ns, name);
    if (!sts || sts.metadata.deletionTimestamp) return;
    const replicas: number = sts.spec.replicas ?? 1;
    const revision = `${name}-${templateHash(sts.spec.template ?? {})}`;
    const parallel = sts.spec.podManagementPolicy === 'Parallel';
    const podAt = (i: number) => {
      const p = this.api.store.get(this.s.pods, ns, `${name}-${i}`);
      return p && controllerOf(p)?.uid === sts.metadata.uid ? p : p ? null : undefined;
    };
    const owned = this.ownedPods(sts);
    // Create missing ordinals.
    for (let i = 0; i < replicas; i++) {
      const p = podAt(i);
      if (p === null) continue; // a foreign pod holds the name
      if (p) {
        if (isPodTerminated(p) && !p.metadata.deletionTimestamp) this.deletePod(p);
        if (!parallel && (!isPodReady(p) || p.metadata.deletionTimestamp)) break;
        continue;
      }
      this.createPod(sts, `${name}-${i}`, { 'statefulset.kubernetes.io/pod-name': `${name}-${i}`, 'apps.kubernetes.io/pod-index': String(i), 'controller-revision-hash': revision }, (pod) => {
        pod.spec.hostname = `${name}-${i}`;
        if (sts.spec.serviceName) pod.spec.subdomain = sts.spec.serviceName;
      });
      if (!parallel) break;
    }
    // Scale down from the highest ordinal.
    const extra = owned
      .filter((p) => Number(p.metadata.name.slice(name.length + 1)) >= replicas && !p.metadata.deletionTimestamp)
      .sort((a, b) => Number(b.metadata.name.slice(name.length + 1)) - Number(a.metadata.name.slice(name.length + 1)));
    const anyTerminating = owned.some((p) => p.metadata.deletionTimestamp);
    if (extra.length && (parallel || !anyTerminating)) for (const p of parallel ? extra : extra.slice(0, 1)) this.deletePod(p);
    // Rolling update: replace outdated pods from the highest ordinal, one at a time, when all are ready.
    if ((sts.spec.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate' && !extra.length) {
      const partition = sts.spec.updateStrategy?.rollingUpdate?.partition ?? 0;
      const current = Array.from({ length: replicas }, (_, i) => podAt(i));
      const allReady = current.every((p) => p && isPodReady(p) && !p.metadata.deletionTimestamp);
      if (allReady) {
        for (let i = replicas - 1; i >= partition; i--) {
          const p = current[i]!;
          if (p.metadata.labels?.['controller-revision-hash'] !== revision) {
            this.deletePod(p);
            break;
          }
        }
      }
    }
    const now = this.ownedPods(sts).filter(isPodActive);
    const ready = now.filter(isPodReady).length;
    const updated = now.filter((p) => p.metadata.labels?.['controller-revision-hash'] === revision).length;
    // currentRevision stays the old one until every replica runs the update, as the real controller reports.
    const done = updated === replicas && now.length === replicas;
    const currentRevision: string = done ? revision : (sts.status?.currentRevision ?? revision);
    this.writeStatus(this.s.sts, sts, {
      observedGeneration: sts.metadata.generation,
      replicas: now.length,
      readyReplicas: ready,
      currentReplicas: now.filter((p) => p.metadata.labels?.['controller-revision-hash'] === currentRevision).length,
      updatedReplicas: updated,
      availableReplicas: ready,
      currentRevision,
      updateRevision: revision,
      collisionCount: 0,
    });
  }

  // ---- DaemonSet ----

  private syncDaemonSet(key: Key): void {
    const [ns, name] = split(key);
    const ds = this.api.store.get(this.s.ds, ns, name);
    if (!ds || ds.metadata.deletionTimestamp) return;
    const template = ds.spec.template ?? {};
    const podSpec = template.spec ?? {};
    const tolerations: Toleration[] = [...(podSpec.tolerations ?? []), ...DS_TOLERATIONS];
    const revision = templateHash(template);
    const pods = this.ownedPods(ds);
    const byNode = new Map<string, KObject[]>();
    for (const p of pods) {
      const n = p.spec?.nodeName ?? '';
      if (!byNode.has(n)) byNode.set(n, []);
      byNode.get(n)!.push(p);
    }
    const nodes = [...this.api.store.scan(this.s.nodes)];
    let desired = 0;
    let scheduled = 0;
    let misscheduled = 0;
    let readyCount = 0;
    let updatedCount = 0;
    const outdated: KObject[] = [];
    for (const node of nodes) {
      const nn = node.metadata.name;
      const selects = nodeSelectorMatches(podSpec, node);
      const shouldRun = selects && !untoleratedTaint(node.spec?.taints, tolerations, ['NoSchedule', 'NoExecute']) && !node.metadata.deletionTimestamp;
      const mayContinue = selects && !untoleratedTaint(node.spec?.taints, tolerations, ['NoExecute']);
      const mine = (byNode.get(nn) ?? []).filter((p) => !p.metadata.deletionTimestamp);
      byNode.delete(nn);
      if (shouldRun) desired++;
      if (mine.length === 0) {
        if (shouldRun) this.createDaemonPod(ds, nn, revision, tolerations);
        continue;
      }
      if (!mayContinue && !shouldRun) {
        misscheduled++;
        for (const p of mine) this.deletePod(p);
        continue;
      }
      scheduled++;
      const [keep, ...dups] = mine.sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? ''));
      for (const p of dups) this.deletePod(p);
      if (isPodTerminated(keep!)) {
        this.deletePod(keep!);
        continue;
      }
      if (isPodReady(keep!)) readyCount++;
      if (keep!.metadata.labels?.['controller-revision-hash'] === revision) updatedCount++;
      else outdated.push(keep!);
    }
    // Pods on nodes that no longer exist (the pod GC also removes them).
    for (const [node, ps] of byNode) if (node) for (const p of ps) if (!p.metadata.deletionTimestamp) this.deletePod(p);
    if ((ds.spec.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate' && outdated.length) {
      const maxUnavailable = Math.max(1, intOrPercent(ds.spec.updateStrategy?.rollingUpdate?.maxUnavailable ?? 1, desired, true) || 1);
      const unavailable = pods.filter((p) => !isPodReady(p) || p.metadata.deletionTimestamp).length;
      const budget = maxUnavailable - unavailable;
      const order = [...outdated].sort((a, b) => Number(isPodReady(a)) - Number(isPodReady(b)));
      for (const p of order.slice(0, Math.max(0, budget))) this.deletePod(p);
    }
    this.writeStatus(this.s.ds, ds, {
      currentNumberScheduled: scheduled,
      desiredNumberScheduled: desired,
      numberMisscheduled: misscheduled,
      numberReady: readyCount,
      numberAvailable: readyCount,
      ...(desired - readyCount > 0 ? { numberUnavailable: desired - readyCount } : {}),
      updatedNumberScheduled: updatedCount,
      observedGeneration: ds.metadata.generation,
    });
  }

  private createDaemonPod(ds: KObject, node: string, revision: string, tolerations: Toleration[]): void {
    this.createPod(ds, `${ds.metadata.name}-${this.names.suffix(5)}`, { 'controller-revision-hash': revision, 'pod-template-generation': String(ds.metadata.generation ?? 1) }, (pod) => {
      pod.spec.tolerations = dedupeTolerations(tolerations);
      pod.spec.affinity = {
        ...(pod.spec.affinity ?? {}),
        nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [node] }] }] } },
      };
      pod.spec.nodeName = node;
    });
  }

  /** Stops the controllers. */
  stop(): void {
    for (const q of [this.rsQ, this.deployQ, this.stsQ, this.dsQ]) q.stop();
  }
}

function nodeReady(n: KObject): string | undefined {
  return n.status?.conditions?.find((c: { type: string }) => c.type === 'Ready')?.status;
}

function dedupeTolerations(ts: Toleration[]): Toleration[] {
  const out: Toleration[] = [];
  for (const t of ts) if (!out.some((o) => jsonEqual(o, t))) out.push(t);
  return out;
}

/** A ReplicaSet's template without its pod-template-hash label (cached per stored template: never changed in place). */
const strippedTemplates = new WeakMap<object, unknown>();

/** True when a ReplicaSet's template is the Deployment's (the pod-template-hash label aside). */
function sameTemplate(rsTemplate: KObject['spec'] | undefined, template: unknown): boolean {
  const t = rsTemplate ?? {};
  let stripped = strippedTemplates.get(t);
  if (stripped === undefined) {
    const c = clone(t);
    if (c.metadata?.labels) delete c.metadata.labels['pod-template-hash'];
    strippedTemplates.set(t, (stripped = c));
  }
  return jsonEqual(stripped, template);
}
