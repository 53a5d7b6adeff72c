// The snapshot format (version 1): what `cookbook lab snapshot` captures of a cluster and what a twin is built
// from. Plain JSON. Never holds Secret data, tokens, passwords or keys: Secrets are only counted, environment
// variables and annotations are never read into it, and metadata keys that look secret are dropped. The one
// exception is deployed components (`components`): their members are kept whole, for a re-deploy to compare
// with, but every Secret value is a placeholder, and their release records are kept without their values.
import type { SnapshotTimings } from './timings.js';

/** CPU/memory quantities as the API writes them ("250m", "1Gi"). */
export type Quantities = Record<string, string>;

/** An inventory role as the twin needs it (no provisioning commands: the twin provisions as the lab does). */
export interface SnapshotRole {
  prefix: string;
  node: 'worker' | 'control-plane' | 'none';
  flavor: string;
  image: string;
  network: string;
  securityGroups: string[];
  labels: Record<string, string>;
  taints: { key: string; value?: string; effect: string }[];
  min: number;
  serverGroup?: { name: string; policy: string };
  maxUnavailable?: number | string;
}

/** One Node. */
export interface SnapshotNode {
  name: string;
  /** Inventory role by the cluster's naming rule ('' when the name fits none). */
  role: string;
  labels: Record<string, string>;
  taints: { key: string; value?: string; effect: string }[];
  unschedulable: boolean;
  conditions: { type: string; status: string; reason?: string }[];
  capacity: Quantities;
  allocatable: Quantities;
  kubeletVersion: string;
  kernelVersion?: string;
  osImage?: string;
  containerRuntimeVersion?: string;
  bootId?: string;
}

/** One container of a workload's template: image and resources only (never its environment or command). */
export interface SnapshotContainer {
  name: string;
  image: string;
  requests: Quantities;
  limits: Quantities;
}

/** A workload: Deployment, StatefulSet, DaemonSet, or a ReplicaSet no Deployment owns. */
export interface SnapshotWorkload {
  kind: 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'ReplicaSet';
  namespace: string;
  name: string;
  /** Desired replicas (a DaemonSet: the number of nodes it wants). */
  replicas: number;
  readyReplicas: number;
  labels: Record<string, string>;
  selector: { matchLabels?: Record<string, string>; matchExpressions?: unknown[] };
  template: {
    labels: Record<string, string>;
    nodeSelector?: Record<string, string>;
    tolerations?: unknown[];
    affinity?: unknown;
    priorityClassName?: string;
    hostNetwork?: boolean;
    containers: SnapshotContainer[];
    /** Volume kinds by volume name (emptyDir, persistentVolumeClaim, configMap, secret, hostPath, ...). */
    volumes: Record<string, string>;
  };
  /** StatefulSet only. */
  serviceName?: string;
}

/** One Pod. */
export interface SnapshotPod {
  namespace: string;
  name: string;
  node?: string;
  phase: string;
  ready: boolean;
  /** The workload it belongs to (a ReplicaSet's pods: its Deployment); absent for a bare pod. */
  owner?: { kind: string; name: string };
  /** A static pod's mirror (the kubelet makes it; a twin's kubelets make their own). */
  mirror?: boolean;
  labels: Record<string, string>;
  /** Summed over the containers. */
  requests: Quantities;
  volumes: string[];
  priorityClassName?: string;
}

/** One PodDisruptionBudget, with the status the disruption controller computed. */
export interface SnapshotPdb {
  namespace: string;
  name: string;
  minAvailable?: number | string;
  maxUnavailable?: number | string;
  selector: { matchLabels?: Record<string, string>; matchExpressions?: unknown[] };
  unhealthyPodEvictionPolicy?: string;
  status: { currentHealthy: number; desiredHealthy: number; disruptionsAllowed: number; expectedPods: number };
}

/** A namespace and how many objects of each kind it holds (key: `plural` or `plural.group`). */
export interface SnapshotNamespace {
  name: string;
  labels: Record<string, string>;
  counts: Record<string, number>;
}

/** A kind that is counted per namespace. */
export interface SnapshotKind {
  /** `plural` for the core group, `plural.group` otherwise (kubectl's spelling). */
  key: string;
  group: string;
  version: string;
  kind: string;
  plural: string;
}

/** A CustomResourceDefinition needed to recreate counted custom objects (names and versions; no schema). */
export interface SnapshotCrd {
  name: string;
  group: string;
  kind: string;
  plural: string;
  singular: string;
  scope: 'Namespaced' | 'Cluster';
  versions: { name: string; served: boolean; storage: boolean }[];
}

/** OpenStack objects of the cluster's project. */
export interface SnapshotOpenStack {
  servers: { name: string; status: string; flavor: string; image: string; serverGroup?: string; metadata: Record<string, string> }[];
  flavors: { name: string; vcpus: number; ram: number; disk: number }[];
  images: { name: string; status: string }[];
  serverGroups: { name: string; policy: string; members: string[] }[];
  /** Why OpenStack could not be read (the snapshot is still useful without it). */
  error?: string;
}

/** The facts cookbooks read from a host over SSH. */
export interface SnapshotHost {
  name: string;
  role: string;
  reachable: boolean;
  bootId?: string;
  rebootRequired?: boolean;
  kernel?: { running: string; installed: string[] };
  /** Versions of the packages cookbooks look at (kubeadm, kubelet, kubectl, containerd, etcd-server). */
  packages: Record<string, string>;
  /** Contents of the files cookbooks read (snapshot.ts SNAPSHOT_FILES), by path; absent files are left out. */
  files?: Record<string, string>;
  error?: string;
}

/**
 * A release record of a component as captured (lib/twin/components.ts): the record Secret's name, labels and
 * type, and the record without its values (never captured), with every Secret value in its objects and
 * manifest replaced by a placeholder and credentials removed from its repository URL.
 */
export interface SnapshotRelease {
  name: string;
  labels: Record<string, string>;
  type: string;
  record: Record<string, unknown> & { revision: number; objects: unknown[]; manifest: string };
}

/** A component deployed on the cluster: what a re-deploy reads (records, ApplySet parent, live members). */
export interface SnapshotComponent {
  component: string;
  namespace: string;
  releases: SnapshotRelease[];
  /** The ApplySet parent Secret (it holds no data: labels and annotations only). */
  parent?: { name: string; labels: Record<string, string>; annotations: Record<string, string>; type: string };
  /** Live members without status or server bookkeeping (managed fields kept); Secrets' values are placeholders. */
  members: Record<string, unknown>[];
  /** Secrets among the members and recorded objects (namespace/name): their contents are not captured. */
  maskedSecrets: string[];
}

/** A read-only capture of one cluster. */
export interface ClusterSnapshot {
  format: 1;
  takenAt: string;
  cluster: { name: string; prefix: string; domain?: string; kubernetesVersion: string; roles: Record<string, SnapshotRole> };
  nodes: SnapshotNode[];
  workloads: SnapshotWorkload[];
  pods: SnapshotPod[];
  pdbs: SnapshotPdb[];
  namespaces: SnapshotNamespace[];
  kinds: SnapshotKind[];
  crds: SnapshotCrd[];
  openstack: SnapshotOpenStack;
  hosts: SnapshotHost[];
  /** Components deployed with component.deploy (absent in snapshots taken before they were captured). */
  components?: SnapshotComponent[];
  timings: SnapshotTimings;
  /** How the capture went: its duration and the read requests it sent. */
  capture: { durationMs: number; requests: { k8s: number; openstack: number; ssh: number } };
}
