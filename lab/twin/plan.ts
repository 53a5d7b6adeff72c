// A twin is a lab built from a cluster snapshot (lib/twin): this module turns a snapshot into what startLab
// needs instead of its defaults: the inventory entry (the snapshot's prefix and roles, the lab's own provisioning
// commands), the hosts by name (gaps in the numbering kept), each host's facts (packages, kernel, pending
// reboot) and the timings (the snapshot's cluster-time seconds as the lab's speed-1 milliseconds).
import { LabError } from '../../lib/core/errors.js';
import type { ClusterConfig } from '../../lib/inventory/schema.js';
import { roleOf } from '../../lib/inventory/naming.js';
import { naturalCompare } from '../../lib/ops/rollout/units.js';
import { checkSnapshot, readSnapshotFile } from '../../lib/twin/file.js';
import type { ClusterSnapshot } from '../../lib/twin/types.js';
import type { NewHost } from '../ssh/host.js';
import { deriveCluster } from '../state.js';
import type { LabTimings } from '../world.js';

/** What startLab takes from a snapshot. */
export interface TwinPlan {
  snapshot: ClusterSnapshot;
  clusterName: string;
  cluster: ClusterConfig;
  kubernetesVersion: string;
  timings: Partial<LabTimings>;
  /** Initial hosts in order, with their inventory roles. */
  hosts: { name: string; role: string }[];
  /** Models of at least this many hypervisors (anti-affinity groups must fit). */
  hypervisors: number;
  /** Gives a provisioned host the snapshot's facts. */
  applyHostFacts(spec: NewHost): void;
}

/** The lab's speed-1 timings (ms) from the snapshot's timings (seconds of cluster time). */
export function twinTimings(s: ClusterSnapshot): Partial<LabTimings> {
  const t = s.timings;
  if (!t) return {};
  const ms = (x: { seconds: number } | undefined): number | undefined => (x && Number.isFinite(x.seconds) && x.seconds >= 0 ? Math.round(x.seconds * 1000) : undefined);
  const out: Partial<LabTimings> = {};
  const reboot = ms(t.nodeRebootS);
  if (reboot !== undefined) {
    // The lab's reboot is down then up: half each keeps connections refused for the first half, as a real host.
    out.rebootDownMs = Math.round(reboot / 2);
    out.rebootUpMs = reboot - out.rebootDownMs;
  }
  const set = (k: keyof LabTimings, v: number | undefined): void => {
    if (v !== undefined) out[k] = v;
  };
  set('kubeletReadyMs', ms(t.kubeletReadyS));
  set('vmBuildMs', ms(t.vmBuildS));
  set('podStartMs', ms(t.podStartS));
  // A drain's time per pod is its eviction plus the pod's termination: measured from journals, it wins.
  set('podTerminateMs', t.drainPerPodS?.source === 'journal' ? ms(t.drainPerPodS) : ms(t.podTerminateS));
  return out;
}

/** The twin's inventory entry: the snapshot's prefix and roles on the lab template (provisioning, lock). */
export function twinCluster(s: ClusterSnapshot): ClusterConfig {
  const template = deriveCluster(s.cluster.name);
  const fallback = template.roles.worker ?? Object.values(template.roles)[0]!;
  const roles = Object.fromEntries(
    Object.entries(s.cluster.roles).map(([name, r]) => {
      const base = template.roles[name] ?? fallback;
      return [name, { ...base, ...structuredClone(r), serverGroup: r.serverGroup && { ...r.serverGroup }, maxUnavailable: r.maxUnavailable, metadata: {} }];
    }),
  );
  return {
    ...template,
    name: s.cluster.name,
    description: `Twin of cluster ${s.cluster.name} (snapshot of ${s.takenAt}): a lab on 127.0.0.0/8`,
    prefix: s.cluster.prefix,
    ...(s.cluster.domain ? { domain: s.cluster.domain } : {}),
    roles,
  } as ClusterConfig;
}

/** The twin's hosts: every Node, server and SSH-reachable host of the snapshot that fits a role, by name. */
export function twinHosts(s: ClusterSnapshot, cluster: ClusterConfig): { name: string; role: string }[] {
  const names = new Set<string>([...s.nodes.map((n) => n.name), ...s.hosts.map((h) => h.name), ...(s.openstack?.servers ?? []).map((v) => v.name)]);
  const out: { name: string; role: string }[] = [];
  for (const name of [...names].sort(naturalCompare)) {
    const role = roleOf(cluster, name);
    if (role) out.push({ name, role });
  }
  return out;
}

/** Builds the plan from a snapshot object or file. */
export function twinPlan(from: string | ClusterSnapshot): TwinPlan {
  const snapshot = typeof from === 'string' ? readSnapshotFile(from) : checkSnapshot(from);
  const v = snapshot.cluster.kubernetesVersion;
  const m = /^1\.(\d+)\.\d+$/.exec(v);
  if (!m || Number(m[1]) < 27 || Number(m[1]) > 33) {
    throw new LabError(`twin: the snapshot's Kubernetes version ${v} is outside what the lab models (1.27.x to 1.33.x)`, { context: { cluster: snapshot.cluster.name }, hint: 'a twin needs a cluster on 1.27-1.33' });
  }
  const cluster = twinCluster(snapshot);
  const hosts = twinHosts(snapshot, cluster);
  const facts = new Map(snapshot.hosts.map((h) => [h.name, h]));
  const nodes = new Map(snapshot.nodes.map((n) => [n.name, n]));
  return {
    snapshot,
    clusterName: snapshot.cluster.name,
    cluster,
    kubernetesVersion: v,
    timings: twinTimings(snapshot),
    hosts,
    hypervisors: Math.max(24, hosts.length),
    applyHostFacts(spec) {
      const h = facts.get(spec.name);
      if (h?.reachable) {
        for (const [p, version] of Object.entries(h.packages)) if (spec.packages.has(p) || p === 'etcd-server') spec.packages.set(p, version);
        if (h.rebootRequired) spec.files.set('/var/run/reboot-required', '*** System restart required ***\n');
        for (const [path, content] of Object.entries(h.files ?? {})) spec.files.set(path, content);
        if (h.kernel?.running) spec.kernel = { running: h.kernel.running, installed: h.kernel.installed.length ? [...h.kernel.installed] : [h.kernel.running] };
      }
      // The kubelet runs the version its Node reports (an upgrade half done stays half done).
      const kv = nodes.get(spec.name)?.kubeletVersion.replace(/^v/, '');
      if (kv && spec.kubelet.joined) spec.kubelet.version = kv;
    },
  };
}
