// takeSnapshot: a read-only capture of a cluster (issue 15) through the run's own clients: Kubernetes lists
// (kube-read.ts, GET only), OpenStack lists, and per host a few read-only SSH commands (boot id, the
// pending-reboot sentinel, kernels, package versions, the Kubernetes apt source) run in parallel; the components
// deployed with component.deploy, Secret values masked (components.ts). Timings come from the journals of the
// cluster's earlier real runs (timings.ts). Nothing here can change the cluster: every Kubernetes request is
// a GET, every OpenStack call a declared read, every SSH command a query (read-only, also in dry-run).
import { getMaxListeners, setMaxListeners } from 'node:events';
import { messageOf } from '../core/errors.js';
import type { Log } from '../core/log.js';
import { mapLimit } from '../core/pool.js';
import { clusterHostPattern, roleOf } from '../inventory/naming.js';
import type { ClusterConfig } from '../inventory/schema.js';
import type { Kube } from '../k8s/index.js';
import type { OpenStackClient } from '../openstack/index.js';
import { SOURCES_LIST } from '../ops/upgrade/versions.js';
import type { Remote } from '../remote/index.js';
import { captureKubernetes } from './capture-k8s.js';
import { captureComponents } from './components.js';
import { KubeReader } from './kube-read.js';
import { type TimingName, calibrateTimings } from './timings.js';
import { labTimingDefaults } from '../../lab/api.js';
import type { ClusterSnapshot, SnapshotHost, SnapshotOpenStack, SnapshotRole } from './types.js';

export type * from './types.js';
export { DEFAULT_TIMINGS, type SnapshotTimings, type Timing, type TimingName } from './timings.js';

/** What takeSnapshot needs of a Context (a cookbook's Context has all of it). */
export interface SnapshotContext {
  readonly cluster: ClusterConfig;
  /** Where the cluster's journals are (timings). */
  readonly stateDir: string;
  readonly log: Log;
  /** The run's signal (a Context's): the parallel SSH commands each listen on it. */
  readonly signal?: AbortSignal;
  k8s(): Promise<Kube>;
  openstack(): Promise<OpenStackClient>;
  remote(): Promise<Remote>;
}

/** Options of takeSnapshot. */
export interface SnapshotOptions {
  /** SSH commands in flight at once (default 16). */
  sshConcurrency?: number;
  /** Leave out the per-host SSH facts (a cluster whose hosts are not reachable from here). */
  skipHosts?: boolean;
  /**
   * Defaults (seconds) for timings without journal history, instead of DEFAULT_TIMINGS. A lab cluster's
   * default is the lab's own speed-1 timing (its cluster time), unless given here.
   */
  defaults?: Partial<Record<TimingName, number>>;
}

/** Packages whose versions cookbooks read (upgrade skew, etcd). */
export const SNAPSHOT_PACKAGES = ['kubeadm', 'kubelet', 'kubectl', 'containerd', 'etcd-server'];

/**
 * Files cookbooks read to decide what to do, copied as they are (none holds a credential): the Kubernetes apt
 * source (an upgrade rewrites it only when it names another minor).
 */
export const SNAPSHOT_FILES = [SOURCES_LIST];

/** Metadata keys that may hold credentials: never captured. */
const SECRET_KEY = /pass|secret|token|key|cred|auth/i;

/** The inventory entry as the twin needs it (no provisioning commands, no paths to credential files). */
export function snapshotRoles(cluster: ClusterConfig): Record<string, SnapshotRole> {
  return Object.fromEntries(
    Object.entries(cluster.roles).map(([name, role]) => {
      // Provisioning commands and server metadata are the real cluster's business, not the twin's.
      const { provision: _p, metadata: _m, serverGroup, ...rest } = role;
      return [name, { ...structuredClone(rest), ...(serverGroup ? { serverGroup: { name: serverGroup.name, policy: serverGroup.policy } } : {}) }];
    }),
  );
}

/** Takes a read-only snapshot of the context's cluster. */
export async function takeSnapshot(ctx: SnapshotContext, opts: SnapshotOptions = {}): Promise<ClusterSnapshot> {
  const started = Date.now();
  const cluster = ctx.cluster;
  const kube = await ctx.k8s();
  const reader = new KubeReader(kube.kubeConfig);
  let k8s;
  let components;
  try {
    k8s = await captureKubernetes(reader, cluster, (m) => ctx.log.warn(m));
    components = await captureComponents(reader, () => reader.discover(), (m) => ctx.log.warn(m));
  } finally {
    reader.close();
  }
  ctx.log.info(`snapshot: ${k8s.nodes.length} nodes, ${k8s.pods.length} pods, ${k8s.namespaces.length} namespaces (${reader.requests} requests)`);

  const os = await captureOpenStack(ctx, cluster);
  const names = new Set<string>([...k8s.nodes.map((n) => n.name), ...os.snapshot.servers.map((s) => s.name)]);
  const hostNames = [...names].filter((n) => roleOf(cluster, n) !== undefined).sort();
  let ssh = 0;
  const hosts: SnapshotHost[] = opts.skipHosts
    ? []
    : await (async () => {
        const remote = await ctx.remote();
        const concurrency = opts.sshConcurrency ?? 16;
        // Each command in flight listens on the run's signal: not a leak, so no warning about it.
        if (ctx.signal) setMaxListeners(Math.max(getMaxListeners(ctx.signal), concurrency * 2 + 10), ctx.signal);
        return mapLimit(hostNames, concurrency, async (name) => {
          const r = await hostFacts(remote, name, roleOf(cluster, name) ?? '');
          ssh += r.commands;
          return r.host;
        });
      })();

  return {
    format: 1,
    takenAt: new Date(started).toISOString(),
    cluster: { name: cluster.name, prefix: cluster.prefix, ...(cluster.domain ? { domain: cluster.domain } : {}), kubernetesVersion: k8s.kubernetesVersion, roles: snapshotRoles(cluster) },
    nodes: k8s.nodes,
    workloads: k8s.workloads,
    pods: k8s.pods,
    pdbs: k8s.pdbs,
    namespaces: k8s.namespaces,
    kinds: k8s.kinds,
    crds: k8s.crds,
    openstack: os.snapshot,
    hosts,
    components,
    timings: calibrateTimings(ctx.stateDir, cluster.name, { ...(cluster.lab ? labTimingDefaults() : {}), ...opts.defaults }),
    capture: { durationMs: Date.now() - started, requests: { k8s: reader.requests, openstack: os.requests, ssh } },
  };
}

/** Servers (of this cluster's naming), flavors, images and server groups; an unreadable cloud is noted, not fatal. */
async function captureOpenStack(ctx: SnapshotContext, cluster: ClusterConfig): Promise<{ snapshot: SnapshotOpenStack; requests: number }> {
  const mine = new RegExp(clusterHostPattern(cluster));
  try {
    const os = await ctx.openstack();
    const [servers, flavors, images, groups] = [await os.listServers(), await os.listFlavors(), await os.listImages(), await os.listServerGroups()];
    const serverName = new Map(servers.map((s) => [s.id, s.name]));
    const imageName = new Map(images.map((i) => [i.id, i.name]));
    const flavorName = new Map(flavors.map((f) => [f.id, f.name]));
    const groupOf = new Map<string, string>();
    for (const g of groups) for (const m of g.members) groupOf.set(m, g.name);
    const ours = servers.filter((s) => mine.test(s.name));
    return {
      requests: 4,
      snapshot: {
        servers: ours.map((s) => ({
          name: s.name,
          status: String(s.status),
          flavor: String(s.flavor.original_name ?? flavorName.get(String(s.flavor.id)) ?? s.flavor.id ?? ''),
          image: s.image ? (imageName.get(s.image.id) ?? s.image.id) : '',
          ...(groupOf.has(s.id) ? { serverGroup: groupOf.get(s.id)! } : {}),
          metadata: Object.fromEntries(Object.entries(s.metadata ?? {}).filter(([k]) => !SECRET_KEY.test(k))),
        })),
        flavors: flavors.map((f) => ({ name: f.name, vcpus: f.vcpus, ram: f.ram, disk: f.disk })),
        images: images.map((i) => ({ name: i.name, status: i.status })),
        serverGroups: groups.filter((g) => g.members.some((m) => ours.some((s) => s.id === m)) || mine.test(g.name) || g.name.startsWith(cluster.prefix)).map((g) => ({ name: g.name, policy: String(g.policy), members: g.members.map((m) => serverName.get(m) ?? m) })),
      },
    };
  } catch (err) {
    ctx.log.warn(`snapshot: OpenStack could not be read: ${messageOf(err)}`);
    return { requests: 0, snapshot: { servers: [], flavors: [], images: [], serverGroups: [], error: messageOf(err) } };
  }
}

/** One host's facts with read-only commands; an unreachable host is recorded as such. */
async function hostFacts(remote: Remote, name: string, role: string): Promise<{ host: SnapshotHost; commands: number }> {
  let commands = 0;
  const q = async (argv: string[], okExitCodes: number[] = [0]) => {
    commands++;
    return remote.query(name, argv, { sudo: false, timeoutMs: 30_000, okExitCodes });
  };
  try {
    const bootId = (await q(['cat', '/proc/sys/kernel/random/boot_id'])).stdout.trim();
    const sentinel = await q(['test', '-e', '/var/run/reboot-required'], [0, 1]);
    const running = (await q(['uname', '-r'])).stdout.trim();
    const boot = await q(['ls', '/boot']);
    const installed = boot.stdout
      .split(/\s+/)
      .map((f) => /^vmlinuz-(.+)$/.exec(f.trim())?.[1])
      .filter((v): v is string => !!v);
    const pkgs = await q(['dpkg-query', '-W', '-f', '${Package}\\t${Version}\\n', ...SNAPSHOT_PACKAGES], [0, 1]);
    const packages: Record<string, string> = {};
    for (const line of pkgs.stdout.split('\n')) {
      const [p, v] = line.split('\t');
      if (p && v) packages[p.trim()] = v.trim();
    }
    const files: Record<string, string> = {};
    for (const path of SNAPSHOT_FILES) {
      const f = await q(['cat', path], [0, 1]);
      if (f.exitCode === 0) files[path] = f.stdout;
    }
    return { commands, host: { name, role, reachable: true, bootId, rebootRequired: sentinel.exitCode === 0, kernel: { running, installed }, packages, ...(Object.keys(files).length ? { files } : {}) } };
  } catch (err) {
    return { commands, host: { name, role, reachable: false, packages: {}, error: messageOf(err).split('\n')[0] } };
  }
}
