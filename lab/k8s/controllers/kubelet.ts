// The kubelets of the lab: Node objects for joined hosts (labels, taints, nodeInfo, Ready after
// kubeletReadyMs with the host's bootID), NotReady when a host goes down, and the pod lifecycle on Ready
// nodes: bound pods start (Running, then Ready after podStartMs), terminating pods go after
// min(grace, podTerminateMs) unless listed in faults.stuckPods, pods restart after a reboot, and control-plane
// nodes carry mirror pods that come back when deleted. Nodes created through the API (no lab host) behave as
// their own status says: pods on a Ready node run.
import type { LabHost, World } from '../../world.js';
import type { ObjectApi } from '../rest.js';
import type { StoreEvent } from '../store.js';
import type { LabTimers } from '../timers.js';
import { isPodReady, isPodTerminated, k8sTime, nodeReadyStatus, objectKey, type KObject } from '../types.js';
import { createHash } from 'node:crypto';
import { finishRun } from './jobs.js';

/** Annotation that keeps a pod Running but never Ready (a CrashLoopBackOff stand-in for tests). */
export const NEVER_READY_ANNOTATION = 'lab.cluster-cookbooks.io/never-ready';
/** An image whose reference contains this mark never becomes ready (and a Job pod running it fails). */
export const NEVER_READY_IMAGE_MARK = 'never-ready';

/** True when a pod is marked never ready: by the annotation, or by an image carrying the mark. */
export function isNeverReady(pod: KObject): boolean {
  if (pod.metadata.annotations?.[NEVER_READY_ANNOTATION] === 'true') return true;
  return [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].some((c: { image?: string }) => typeof c.image === 'string' && c.image.includes(NEVER_READY_IMAGE_MARK));
}
const MIRROR = 'kubernetes.io/config.mirror';
const CONTROL_PLANE_COMPONENTS = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'];

interface NodeRun {
  /** Bumped on every kubelet state change; timers check it so stale transitions do nothing. */
  epoch: number;
}

/** Simulated kubelets (and the node-status side of the node lifecycle controller). */
export class Kubelets {
  private readonly runs = new Map<string, NodeRun>();
  /** pod uid -> cancel of a pending start or termination. */
  private readonly podTimers = new Map<string, { kind: 'start' | 'stop'; at: number; cancel: () => void }>();
  private podIpCounter = 2;
  /** Control-plane component version per node (kubeadm upgrade node changes it). */
  readonly controlPlaneVersions = new Map<string, string>();
  /** `node/component` static pods the kubelet stopped (manifest moved out): no mirror pod until it starts again. */
  private readonly stoppedStaticPods = new Set<string>();

  constructor(
    private readonly world: World,
    private readonly api: ObjectApi,
    private readonly timers: LabTimers,
  ) {
    api.store.on('change', (ev) => this.onChange(ev));
  }

  private get nodes() {
    return this.api.res('', 'nodes');
  }

  private get pods() {
    return this.api.res('', 'pods');
  }

  private run(name: string): NodeRun {
    let r = this.runs.get(name);
    if (!r) this.runs.set(name, (r = { epoch: 0 }));
    return r;
  }

  private isK8sHost(host: LabHost): boolean {
    const role = this.world.roles[host.role];
    return !!role && role.node !== 'none';
  }

  private isControlPlane(host: LabHost): boolean {
    return host.kubelet.controlPlane || this.world.roles[host.role]?.node === 'control-plane';
  }

  /** A host booted or its kubelet changed: register/refresh the node and make it Ready after kubeletReadyMs. */
  hostUp(host: LabHost): void {
    if (!this.isK8sHost(host)) return;
    if (!host.kubelet.joined || host.state !== 'up') {
      if (this.api.store.get(this.nodes, undefined, host.name)) this.goNotReady(host.name, 'Kubelet stopped posting node status.');
      return;
    }
    const r = this.run(host.name);
    const epoch = ++r.epoch;
    this.ensureNodeObject(host);
    this.timers.after(this.world.timings.kubeletReadyMs, () => {
      if (r.epoch !== epoch || host.state !== 'up' || !host.kubelet.joined) return;
      this.setReady(host.name, 'True', 'KubeletReady', 'kubelet is posting ready status', host);
      this.restartPods(host.name);
      if (this.isControlPlane(host)) this.ensureMirrorPods(host.name);
    });
  }

  /** A host went down: the node goes NotReady (Unknown) after nodeNotReadyMs. */
  hostDown(host: LabHost): void {
    if (!this.isK8sHost(host)) return;
    const r = this.run(host.name);
    const epoch = ++r.epoch;
    this.cancelNodePodTimers(host.name);
    this.timers.after(this.world.timings.nodeNotReadyMs, () => {
      if (r.epoch !== epoch) return;
      this.goNotReady(host.name, 'Kubelet stopped posting node status.');
    });
  }

  /** kubeadm reset: the kubelet stops; static pods go; the node stays and turns NotReady. */
  kubeletStopped(host: LabHost): void {
    const r = this.run(host.name);
    const epoch = ++r.epoch;
    this.cancelNodePodTimers(host.name);
    for (const p of this.api.store.podsOnNode(host.name)) {
      if (p.metadata.annotations?.[MIRROR]) this.api.store.remove(this.pods, p.metadata.namespace, p.metadata.name);
    }
    this.timers.after(this.world.timings.nodeNotReadyMs, () => {
      if (r.epoch !== epoch) return;
      this.goNotReady(host.name, 'Kubelet stopped posting node status.');
    });
  }

  private kubeletVersion(host: LabHost): string {
    return `v${host.kubelet.version ?? this.world.kubernetesVersion}`;
  }

  private ensureNodeObject(host: LabHost): void {
    const role = this.world.roles[host.role]!;
    const cp = this.isControlPlane(host);
    const existing = this.api.store.get(this.nodes, undefined, host.name);
    const nodeInfo = {
      machineID: createHash('md5').update(host.name).digest('hex'),
      systemUUID: createHash('md5').update(`uuid-${host.name}`).digest('hex').replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5'),
      bootID: host.bootId,
      kernelVersion: host.kernel.running,
      osImage: 'Debian GNU/Linux 12 (bookworm)',
      containerRuntimeVersion: 'containerd://1.6.20',
      kubeletVersion: this.kubeletVersion(host),
      kubeProxyVersion: this.kubeletVersion(host),
      operatingSystem: 'linux',
      architecture: 'amd64',
    };
    const now = k8sTime();
    const conditions = [
      { type: 'MemoryPressure', status: 'False', lastHeartbeatTime: now, lastTransitionTime: now, reason: 'KubeletHasSufficientMemory', message: 'kubelet has sufficient memory available' },
      { type: 'DiskPressure', status: 'False', lastHeartbeatTime: now, lastTransitionTime: now, reason: 'KubeletHasNoDiskPressure', message: 'kubelet has no disk pressure' },
      { type: 'PIDPressure', status: 'False', lastHeartbeatTime: now, lastTransitionTime: now, reason: 'KubeletHasSufficientPID', message: 'kubelet has sufficient PID available' },
      { type: 'Ready', status: 'False', lastHeartbeatTime: now, lastTransitionTime: now, reason: 'KubeletNotReady', message: 'container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady' },
    ];
    if (!existing) {
      const labels: Record<string, string> = {
        'beta.kubernetes.io/arch': 'amd64',
        'beta.kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'kubernetes.io/hostname': host.name,
        'kubernetes.io/os': 'linux',
        ...role.labels,
      };
      const taints: { key: string; value?: string; effect: string }[] = role.taints.map((t) => ({ ...t }));
      if (cp) {
        labels['node-role.kubernetes.io/control-plane'] = '';
        labels['node.kubernetes.io/exclude-from-external-load-balancers'] = '';
        if (!taints.some((t) => t.key === 'node-role.kubernetes.io/control-plane')) taints.push({ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' });
      }
      const capacity = { cpu: '8', memory: '16Gi', pods: '110', 'ephemeral-storage': '40Gi', 'hugepages-2Mi': '0' };
      const node: KObject = {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: {
          name: host.name,
          labels,
          annotations: {
            'kubeadm.alpha.kubernetes.io/cri-socket': 'unix:///var/run/containerd/containerd.sock',
            'node.alpha.kubernetes.io/ttl': '0',
            'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
          },
        },
        spec: { podCIDR: `10.244.${this.runs.size}.0/24`, podCIDRs: [`10.244.${this.runs.size}.0/24`], ...(taints.length ? { taints } : {}) },
        status: {
          capacity,
          allocatable: { ...capacity, cpu: '8', memory: '16Gi' },
          conditions,
          addresses: [
            { type: 'InternalIP', address: host.address },
            { type: 'Hostname', address: host.name },
          ],
          daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
          nodeInfo,
        },
      };
      this.api.create(this.nodes, undefined, node, { internal: true });
      return;
    }
    this.api.mutate(this.nodes, undefined, host.name, (n) => {
      n.status ??= {};
      n.status.nodeInfo = { ...(n.status.nodeInfo ?? {}), ...nodeInfo };
      n.status.addresses = [
        { type: 'InternalIP', address: host.address },
        { type: 'Hostname', address: host.name },
      ];
      n.status.conditions = conditions;
      if (cp) {
        n.metadata.labels = { ...(n.metadata.labels ?? {}), 'node-role.kubernetes.io/control-plane': '' };
      }
    });
  }

  private setReady(name: string, status: string, reason: string, message: string, host?: LabHost): void {
    this.api.mutate(this.nodes, undefined, name, (n) => {
      const now = k8sTime();
      n.status ??= {};
      n.status.conditions = (n.status.conditions ?? []).map((c: Record<string, unknown>) => {
        if (c.type === 'Ready') return { ...c, status, reason, message, lastHeartbeatTime: now, lastTransitionTime: c.status === status ? c.lastTransitionTime : now };
        if (status === 'Unknown') return { ...c, status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.', lastTransitionTime: c.status === 'Unknown' ? c.lastTransitionTime : now };
        if (status === 'True' && c.status === 'Unknown') return { ...c, status: 'False', lastHeartbeatTime: now, lastTransitionTime: now, reason: String(c.reason ?? '').replace('NodeStatusUnknown', 'KubeletHasNoPressure') };
        return c;
      });
      if (host) {
        n.status.nodeInfo = { ...(n.status.nodeInfo ?? {}), bootID: host.bootId, kubeletVersion: this.kubeletVersion(host), kubeProxyVersion: this.kubeletVersion(host), kernelVersion: host.kernel.running };
      }
    });
  }

  private goNotReady(name: string, message: string): void {
    if (!this.api.store.get(this.nodes, undefined, name)) return;
    this.setReady(name, 'Unknown', 'NodeStatusUnknown', message);
    this.cancelNodePodTimers(name);
    // The node lifecycle controller marks the pods of an unreachable node not ready.
    for (const p of this.api.store.podsOnNode(name)) {
      if (!isPodReady(p) && p.status?.phase !== 'Running') continue;
      this.api.mutate(this.pods, p.metadata.namespace, p.metadata.name, (o) => {
        setPodReady(o, false, 'NodeNotReady');
      });
    }
  }

  /** Updates the node's kubeletVersion from the host (kubelet upgraded and restarted). */
  refreshVersion(host: LabHost): void {
    if (!this.api.store.get(this.nodes, undefined, host.name)) return;
    this.api.mutate(this.nodes, undefined, host.name, (n) => {
      n.status.nodeInfo = { ...(n.status.nodeInfo ?? {}), kubeletVersion: this.kubeletVersion(host), kubeProxyVersion: this.kubeletVersion(host) };
    });
  }

  private nodeRunning(name: string | undefined): boolean {
    if (!name) return false;
    const node = this.api.store.get(this.nodes, undefined, name);
    if (!node || nodeReadyStatus(node) !== 'True') return false;
    const host = this.world.hosts.get(name);
    if (host && (host.state !== 'up' || !host.kubelet.joined)) return false;
    return true;
  }

  private cancelNodePodTimers(node: string): void {
    for (const p of this.api.store.podsOnNode(node)) {
      const t = this.podTimers.get(p.metadata.uid!);
      if (t) {
        t.cancel();
        this.podTimers.delete(p.metadata.uid!);
      }
    }
  }

  private onChange(ev: StoreEvent): void {
    if (ev.spec.kind === 'Pod') {
      if (ev.type === 'DELETED') {
        const t = this.podTimers.get(ev.object.metadata.uid!);
        t?.cancel();
        this.podTimers.delete(ev.object.metadata.uid!);
        if (ev.object.metadata.annotations?.[MIRROR]) {
          const node = ev.object.spec?.nodeName;
          this.timers.after(this.world.timings.podStartMs / 4, () => {
            if (node && this.nodeRunning(node) && this.controlPlaneNode(node)) this.ensureMirrorPods(node);
          });
        }
        return;
      }
      this.syncPod(ev.object);
    } else if (ev.spec.kind === 'Node') {
      const before = ev.old ? nodeReadyStatus(ev.old) : undefined;
      const after = ev.type === 'DELETED' ? undefined : nodeReadyStatus(ev.object);
      if (after === 'True' && before !== 'True' && !this.world.hosts.has(ev.object.metadata.name)) {
        // An API-created node turned Ready: its pods run.
        for (const p of this.api.store.podsOnNode(ev.object.metadata.name)) this.syncPod(p);
      }
    }
  }

  private controlPlaneNode(name: string): boolean {
    const host = this.world.hosts.get(name);
    return !!host && host.kubelet.joined && this.isControlPlane(host);
  }

  /** Moves one pod along its lifecycle if its node runs. */
  syncPod(pod: KObject): void {
    const node = pod.spec?.nodeName;
    if (!node || !this.nodeRunning(node)) return;
    const uid = pod.metadata.uid!;
    const pending = this.podTimers.get(uid);
    if (pod.metadata.deletionTimestamp) {
      const key = objectKey(pod.metadata.namespace, pod.metadata.name);
      if (this.world.faults.stuckPods?.includes(key) && (pod.metadata.deletionGracePeriodSeconds ?? 1) > 0) {
        pending?.cancel();
        this.podTimers.delete(uid);
        return;
      }
      const grace = (pod.metadata.deletionGracePeriodSeconds ?? 30) * 1000;
      const delay = this.world.scaled(Math.min(grace, this.world.timings.podTerminateMs));
      const at = Date.now() + delay;
      if (pending && pending.kind === 'stop' && pending.at <= at) return;
      pending?.cancel();
      const cancel = this.timers.afterReal(delay, () => {
        this.podTimers.delete(uid);
        this.finishTermination(pod.metadata.namespace!, pod.metadata.name, uid);
      });
      this.podTimers.set(uid, { kind: 'stop', at, cancel });
      return;
    }
    if (isPodTerminated(pod) || pending) return;
    if (pod.status?.phase === 'Running' && (isPodReady(pod) || isNeverReady(pod))) return;
    this.startPod(pod, false);
  }

  private startPod(pod: KObject, restart: boolean): void {
    const uid = pod.metadata.uid!;
    const ns = pod.metadata.namespace!;
    const name = pod.metadata.name;
    const startMs = this.world.timings.podStartMs;
    const half = this.timers.after(startMs / 2, () => {
      const cur = this.api.store.get(this.pods, ns, name);
      if (!cur || cur.metadata.uid !== uid || cur.metadata.deletionTimestamp || !this.nodeRunning(cur.spec?.nodeName)) {
        this.podTimers.delete(uid);
        return;
      }
      this.api.mutate(this.pods, ns, name, (p) => this.setRunning(p, restart));
      const second = this.timers.after(startMs / 2, () => {
        this.podTimers.delete(uid);
        const again = this.api.store.get(this.pods, ns, name);
        if (!again || again.metadata.uid !== uid || again.metadata.deletionTimestamp || !this.nodeRunning(again.spec?.nodeName)) return;
        // A pod that may not restart (a Job's) runs to its end: it succeeds, unless its image is marked to fail.
        if ((again.spec?.restartPolicy ?? 'Always') !== 'Always') return void this.api.mutate(this.pods, ns, name, (p) => finishRun(p, !isNeverReady(p)));
        if (isNeverReady(again)) return;
        this.api.mutate(this.pods, ns, name, (p) => setPodReady(p, true));
      });
      this.podTimers.set(uid, { kind: 'start', at: Date.now() + this.world.scaled(startMs / 2), cancel: second });
    });
    this.podTimers.set(uid, { kind: 'start', at: Date.now() + this.world.scaled(startMs / 2), cancel: half });
  }

  private setRunning(p: KObject, restart: boolean): void {
    const now = k8sTime();
    const node = this.api.store.get(this.nodes, undefined, p.spec.nodeName);
    const hostIP = node?.status?.addresses?.find((a: { type: string }) => a.type === 'InternalIP')?.address ?? '127.0.0.1';
    p.status ??= {};
    const prev: Record<string, { restartCount?: number }> = {};
    for (const c of p.status.containerStatuses ?? []) prev[c.name] = c;
    if (!p.status.podIP) {
      const ip = p.spec.hostNetwork ? hostIP : `10.244.${Math.floor(this.podIpCounter / 250) % 250}.${(this.podIpCounter++ % 250) + 2}`;
      p.status.podIP = ip;
      p.status.podIPs = [{ ip }];
    }
    p.status.phase = 'Running';
    p.status.hostIP = hostIP;
    p.status.hostIPs = [{ ip: hostIP }];
    p.status.startTime ??= now;
    const never = isNeverReady(p) && (p.spec?.restartPolicy ?? 'Always') === 'Always';
    p.status.containerStatuses = (p.spec.containers ?? []).map((c: { name: string; image: string }) => {
      const restarts = (prev[c.name]?.restartCount ?? 0) + (restart ? 1 : 0);
      return {
        name: c.name,
        image: c.image,
        imageID: `${c.image.split(':')[0]}@sha256:${createHash('sha256').update(c.image).digest('hex')}`,
        containerID: `containerd://${createHash('sha256').update(`${p.metadata.uid}/${c.name}/${restarts}`).digest('hex')}`,
        ready: false,
        restartCount: never ? restarts + 1 : restarts,
        started: !never,
        state: never ? { waiting: { reason: 'CrashLoopBackOff', message: `back-off 10s restarting failed container=${c.name} pod=${p.metadata.name}` } } : { running: { startedAt: now } },
        ...(never ? { lastState: { terminated: { exitCode: 1, reason: 'Error', startedAt: now, finishedAt: now } } } : {}),
      };
    });
    const cond = (type: string, status: string) => ({ type, status, lastProbeTime: null, lastTransitionTime: now });
    p.status.conditions = [
      cond('PodReadyToStartContainers', 'True'),
      cond('Initialized', 'True'),
      { ...cond('Ready', 'False'), reason: 'ContainersNotReady', message: `containers with unready status: [${(p.spec.containers ?? []).map((c: { name: string }) => c.name).join(' ')}]` },
      { ...cond('ContainersReady', 'False'), reason: 'ContainersNotReady' },
      cond('PodScheduled', 'True'),
    ];
  }

  private finishTermination(ns: string, name: string, uid: string): void {
    const cur = this.api.store.get(this.pods, ns, name);
    if (!cur || cur.metadata.uid !== uid) return;
    if (this.world.faults.stuckPods?.includes(objectKey(ns, name)) && (cur.metadata.deletionGracePeriodSeconds ?? 1) > 0) return;
    if (cur.metadata.finalizers?.length) {
      this.api.mutate(this.pods, ns, name, (p) => {
        p.status = { ...(p.status ?? {}), phase: p.spec.restartPolicy === 'Never' ? 'Failed' : 'Succeeded' };
        setPodReady(p, false, 'PodCompleted');
      });
      return;
    }
    this.api.store.remove(this.pods, ns, name);
  }

  /** After a (re)boot the kubelet restarts every pod still bound to the node. */
  private restartPods(node: string): void {
    for (const p of this.api.store.podsOnNode(node)) {
      if (p.metadata.deletionTimestamp) {
        this.syncPod(p);
        continue;
      }
      if (isPodTerminated(p)) continue;
      const t = this.podTimers.get(p.metadata.uid!);
      t?.cancel();
      this.podTimers.delete(p.metadata.uid!);
      const wasRunning = p.status?.phase === 'Running';
      if (wasRunning) {
        this.api.mutate(this.pods, p.metadata.namespace, p.metadata.name, (o) => setPodReady(o, false, 'ContainersNotReady'));
      }
      const fresh = this.api.store.get(this.pods, p.metadata.namespace, p.metadata.name);
      if (fresh) this.startPod(fresh, wasRunning);
    }
  }

  /** Creates missing mirror pods of the control-plane components on a node. */
  ensureMirrorPods(node: string): void {
    const nodeObj = this.api.store.get(this.nodes, undefined, node);
    if (!nodeObj) return;
    const version = this.controlPlaneVersions.get(node) ?? this.world.kubernetesVersion;
    for (const component of CONTROL_PLANE_COMPONENTS) {
      const name = `${component}-${node}`;
      if (this.stoppedStaticPods.has(`${node}/${component}`)) continue;
      if (this.api.store.get(this.pods, 'kube-system', name)) continue;
      const image = `registry.k8s.io/${component}:v${version}`;
      const hash = createHash('md5').update(`${node}/${component}/${version}`).digest('hex');
      this.api.create(
        this.pods,
        'kube-system',
        {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: {
            name,
            namespace: 'kube-system',
            labels: { component, tier: 'control-plane' },
            annotations: { [MIRROR]: hash, 'kubernetes.io/config.hash': hash, 'kubernetes.io/config.seen': k8sTime(), 'kubernetes.io/config.source': 'file' },
            ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: node, uid: nodeObj.metadata.uid!, controller: true }],
          },
          spec: {
            nodeName: node,
            hostNetwork: true,
            priorityClassName: 'system-node-critical',
            priority: 2000001000,
            tolerations: [{ operator: 'Exists', effect: 'NoExecute' }],
            containers: [{ name: component, image, command: [component], resources: { requests: { cpu: component === 'kube-apiserver' ? '250m' : '200m' } } }],
          },
        },
        { internal: true },
      );
    }
  }

  /** The kubelet stopped a static pod (its manifest left /etc/kubernetes/manifests): its mirror pod goes. */
  staticPodStopped(node: string, component: string): void {
    this.stoppedStaticPods.add(`${node}/${component}`);
    this.api.store.remove(this.pods, 'kube-system', `${component}-${node}`);
  }

  /** The kubelet (re)started a static pod: a fresh mirror pod once the node runs. */
  staticPodStarted(node: string, component: string): void {
    // A pod that was never stopped keeps its mirror pod (boot, first start).
    if (!this.stoppedStaticPods.delete(`${node}/${component}`)) return;
    if (this.nodeRunning(node) && this.controlPlaneNode(node)) this.ensureMirrorPods(node);
  }

  /** Recreates the mirror pods of a node at a new control-plane version (kubeadm upgrade). */
  upgradeMirrorPods(node: string, version: string): void {
    this.controlPlaneVersions.set(node, version);
    for (const component of CONTROL_PLANE_COMPONENTS) this.api.store.remove(this.pods, 'kube-system', `${component}-${node}`);
  }

  /** Cancels pod timers. */
  stop(): void {
    for (const t of this.podTimers.values()) t.cancel();
    this.podTimers.clear();
  }
}

/** Sets a pod's Ready and ContainersReady conditions (and container readiness). */
export function setPodReady(p: KObject, ready: boolean, reason = 'ContainersNotReady'): void {
  const now = k8sTime();
  const status = ready ? 'True' : 'False';
  p.status ??= {};
  const conds: Record<string, unknown>[] = p.status.conditions ?? [];
  for (const type of ['Ready', 'ContainersReady']) {
    const i = conds.findIndex((c) => c.type === type);
    const next: Record<string, unknown> = { type, status, lastProbeTime: null, lastTransitionTime: i >= 0 && conds[i]!.status === status ? conds[i]!.lastTransitionTime : now };
    if (!ready) next.reason = reason;
    if (i >= 0) conds[i] = next;
    else conds.push(next);
  }
  p.status.conditions = conds;
  p.status.containerStatuses = (p.status.containerStatuses ?? []).map((c: Record<string, unknown>) => ({ ...c, ready }));
}
