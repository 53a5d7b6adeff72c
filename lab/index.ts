// startLab(): one lab in this process. It builds the World for a cluster (roles and prefix from its inventory
// entry), starts the Kubernetes API, the OpenStack API, the SSH hosts and the admin endpoint on 127.0.0.1,
// creates the initial cluster (one Nova server and one SSH host per node, Kubernetes roles provisioned and
// joined), seeds the workload and writes the state directory. Tests use it directly; the daemon wraps it.
import { randomBytes } from 'node:crypto';
import { LabError } from '../lib/core/errors.js';
import type { ClusterConfig } from '../lib/inventory/schema.js';
import { type AdminHandle, startAdmin } from './admin.js';
import { LabEtcd, etcdMissing } from './etcd/cluster.js';
import { withExternalEndpoints } from './etcd/config.js';
import { type LabLoadBalancers, apiEndpoints, startLoadBalancers } from './haproxy/index.js';
import { type KubeApiHandle, seedWorkload, startKubeApi } from './k8s/index.js';
import { type OpenStackHandle, startOpenStack } from './openstack/index.js';
import { freshHost, provisionInitial, roleOfHost } from './ssh/host.js';
import { generateEd25519, knownHostsLine } from './ssh/keys.js';
import { probeBind } from './ssh/addresses.js';
import { SshFleet } from './ssh/server.js';
import {
  type LabInfo,
  STATE_FILES,
  deriveCluster,
  ensureStateDir,
  labStateDir,
  renderCloudsYaml,
  renderInventory,
  renderKubeconfig,
  writeStateFile,
} from './state.js';
import { type LabFaults, type LabRole, type LabTimings, World } from './world.js';
import type { ClusterSnapshot } from '../lib/twin/types.js';

export type { LabInfo } from './state.js';
export { findLabInventoryDir, listRunningLabs } from './running.js';

/** Options of startLab. Counts are per inventory role. */
export interface LabOptions {
  clusterName?: string;
  stateDir?: string;
  control?: number;
  workers?: number;
  workersNfs?: number;
  ingress?: number;
  etcd?: number;
  /** Load balancer hosts running real HAProxy in front of the control nodes' API endpoints (default 0). */
  loadbalancer?: number;
  speed?: number;
  seed?: number;
  kubernetesVersion?: string;
  faults?: LabFaults;
  timings?: Partial<LabTimings>;
  /** The inventory entry to model (default: inventory/local.yaml, renamed for other cluster names). */
  cluster?: ClusterConfig;
  /** Tenant namespaces of the seeded workload (default 3). */
  namespaces?: number;
  /** Skip the starting workload (tests that only need hosts). */
  seedWorkload?: boolean;
  /** Model this many hypervisors (anti-affinity groups cannot grow beyond it). Default 24. */
  hypervisors?: number;
  /** Log sink (the daemon's log file). */
  log?: (message: string) => void;
  /** Called by the admin endpoint's POST /shutdown. */
  onShutdown?: () => void;
  /**
   * When the real etcd members start: 'lazy' (default) on first use (an etcdctl, a systemctl on a member, or
   * lab.etcd.start()), so labs that never touch etcd start no process; 'eager' at start (the lab daemon).
   */
  etcdStart?: 'lazy' | 'eager';
  /** The initial hosts by name and inventory role (gaps in the numbering allowed); default: the role counts. */
  hosts?: { name: string; role: string }[];
  /**
   * Start a twin: the cluster of this snapshot (a file written by `cookbook lab snapshot`, or the object) with
   * its names, roles, hosts, workloads, PDBs and timings (lab/twin). Options given explicitly still win.
   */
  fromSnapshot?: string | ClusterSnapshot;
  /** The haproxy binary for the load balancers (default Debian's /usr/sbin/haproxy; tests model a machine without it). */
  haproxyBin?: string;
}

/** A running lab. */
export interface LabHandle {
  world: World;
  /** The lab.json content (kept current when hosts change). */
  info: LabInfo;
  stateDir: string;
  kube: KubeApiHandle;
  openstack: OpenStackHandle;
  ssh: SshFleet;
  admin: AdminHandle;
  /** The real etcd members (absent without Debian's etcd or without an etcd role). */
  etcd?: LabEtcd;
  /** The load balancer hosts and their real HAProxy (hosts empty unless `loadbalancer` asked for some). */
  loadBalancers: LabLoadBalancers;
  /** Closes every server and connection and cancels timers. */
  stop(): Promise<void>;
}

/** Initial host counts per inventory role, from the options. */
function roleCounts(o: LabOptions): Record<string, number> {
  return { control: o.control ?? 3, worker: o.workers ?? 4, worker_nfs: o.workersNfs ?? 2, ingress: o.ingress ?? 1, etcd: o.etcd ?? 3, loadbalancer: o.loadbalancer ?? 0 };
}

/** World roles from an inventory entry. */
export function worldRoles(cluster: ClusterConfig): Record<string, LabRole> {
  return Object.fromEntries(
    Object.entries(cluster.roles).map(([name, r]) => [name, { prefix: r.prefix, node: r.node, labels: { ...r.labels }, taints: r.taints.map((t) => ({ ...t })) }]),
  );
}

/** Starts a lab in this process. */
export async function startLab(options: LabOptions = {}): Promise<LabHandle> {
  const twin = options.fromSnapshot !== undefined ? (await import('./twin/plan.js')).twinPlan(options.fromSnapshot) : undefined;
  const clusterName = options.clusterName ?? twin?.clusterName ?? 'local';
  const cluster = options.cluster ?? twin?.cluster ?? deriveCluster(clusterName);
  const kubernetesVersion = options.kubernetesVersion ?? twin?.kubernetesVersion ?? '1.29.4';
  const m = /^1\.(\d+)\.\d+$/.exec(kubernetesVersion);
  if (!m || Number(m[1]) < 27 || Number(m[1]) > 33) {
    throw new LabError(`lab: Kubernetes version ${kubernetesVersion} is not supported (1.27.x to 1.33.x)`, { hint: 'pass --k8s-version 1.29.4 or another 1.27-1.33 version' });
  }
  const speed = options.speed ?? 1;
  const seed = options.seed ?? 1;
  const stateDir = labStateDir(clusterName, options.stateDir);
  const log = options.log ?? (() => {});
  const world = new World({
    clusterName,
    prefix: cluster.prefix,
    roles: worldRoles(cluster),
    kubernetesVersion,
    speed,
    seed,
    timings: { ...twin?.timings, ...options.timings },
    faults: options.faults,
  });

  const stops: (() => Promise<void> | void)[] = [() => world.shutdown()];
  const stopAll = async (): Promise<void> => {
    for (const s of stops.splice(0).reverse()) {
      try {
        await s();
      } catch (err) {
        log(`lab stop: ${(err as Error).message}`);
      }
    }
  };

  try {
    ensureStateDir(stateDir);
    const operator = generateEd25519(`cookbook-lab@${clusterName}`);
    const fleet = await SshFleet.start(world, { authorizedKey: operator.publicBase64, log });
    stops.push(() => fleet.stop());
    // Every control node also serves the API on its own address (lab/k8s/endpoints.ts), one port for all.
    const kube = await startKubeApi(world, { nodeEndpoints: { probeAddress: fleet.block.first, avoidPorts: [fleet.port] }, log });
    stops.push(() => kube.stop());

    const password = randomBytes(18).toString('base64url');
    const region = cluster.openstack.region ?? 'RegionOne';
    const roles = Object.values(cluster.roles);
    const openstack = await startOpenStack(world, {
      identity: { projectName: cluster.openstack.project, username: `${clusterName}-operator`, password, region },
      cloud: {
        subnetCidr: `127.${fleet.block.a}.0.0/16`,
        flavors: roles.map((r) => r.flavor),
        images: roles.map((r) => r.image),
        networks: [...new Set(roles.map((r) => r.network))],
        securityGroups: roles.flatMap((r) => r.securityGroups),
        serverGroups: roles.flatMap((r) => (r.serverGroup ? [r.serverGroup] : [])),
        hypervisors: options.hypervisors ?? twin?.hypervisors,
      },
      hosts: {
        port: fleet.port,
        allocateAddress: () => fleet.allocateAddress(),
        newHost: (o) => freshHost(o),
        roleOf: (name) => roleOfHost(world, name),
      },
      log,
    });
    stops.push(() => openstack.stop());

    // The initial cluster: every node is a Nova server and an SSH host, provisioned as add-node would have.
    const counts = roleCounts(options);
    const initial =
      options.hosts ?? twin?.hosts ?? Object.entries(cluster.roles).flatMap(([role, r]) => Array.from({ length: counts[role] ?? 0 }, (_, i) => ({ name: `${cluster.prefix}-${r.prefix}-${i + 1}`, role })));
    for (const { name, role: roleName } of initial) {
      const role = cluster.roles[roleName];
      if (!role) throw new LabError(`lab: host ${name} has role ${roleName}, which the cluster ${clusterName} does not define`, { hint: `roles: ${Object.keys(cluster.roles).join(', ')}` });
      {
        const spec = freshHost({ name, role: roleName, address: await fleet.allocateAddress(), port: fleet.port });
        provisionInitial(spec, world);
        twin?.applyHostFacts(spec);
        const rec = openstack.cloud.addInitialServer({
          name,
          flavor: role.flavor,
          image: role.image,
          network: role.network,
          securityGroups: [...role.securityGroups],
          serverGroup: role.serverGroup?.name,
          metadata: { ...role.metadata },
          address: spec.address,
          hostKey: spec.hostKey,
        });
        spec.serverId = rec.id;
        world.addHost(spec);
      }
    }
    await fleet.settled();
    await kube.endpoints?.settled();
    const etcd = await startEtcd(world, kube, fleet.block.first, [fleet.port], stateDir, log);
    if (etcd) {
      stops.push(() => etcd.stop());
      if (options.etcdStart === 'eager') await etcd.start();
    }
    // lab.json lists the HAProxy PIDs; it is written once `info` exists, and again whenever they change.
    let pidsChanged = (): void => {};
    const lbRole = cluster.kubernetes.loadBalancers?.role ?? 'loadbalancer';
    const lbPort = apiEndpoints(world).apiserverPort ?? (await freePort(fleet.block.first, [fleet.port, ...(etcd ? [etcd.options.clientPort, etcd.options.peerPort] : [])]));
    const lbs = await startLoadBalancers(world, { role: lbRole, port: lbPort, stateDir, bin: options.haproxyBin, log, onChange: () => pidsChanged() });
    stops.push(() => lbs.stop());
    if (twin) await (await import('./twin/seed.js')).seedFromSnapshot(world, kube, twin.snapshot, { log });
    else if (options.seedWorkload !== false) await seedWorkload(world, kube, { namespaces: options.namespaces });

    const adminToken = randomBytes(24).toString('hex');
    const info: LabInfo = {
      pid: process.pid,
      clusterName,
      stateDir,
      speed,
      seed,
      kubernetesVersion,
      startedAt: new Date().toISOString(),
      adminToken,
      endpoints: { kubernetes: kube.url, openstack: openstack.authUrl, admin: '', ...(world.apiserverPort ? { apiserverPort: world.apiserverPort } : {}) },
      ssh: { port: fleet.port },
      hosts: [],
      ...(etcd ? { etcd: { clientPort: etcd.options.clientPort, peerPort: etcd.options.peerPort } } : world.etcdUnavailable ? { etcd: { unavailable: world.etcdUnavailable } } : {}),
      ...(lbs.haproxy ? { haproxy: { port: lbs.port, pids: lbs.haproxy.pids() } } : lbs.unavailable ? { haproxy: { unavailable: lbs.unavailable } } : {}),
    };
    const apiServer = kubeServer(world, kube.url, lbs);
    const hostList = (): LabInfo['hosts'] =>
      [...world.hosts.values()].map((h) => ({ name: h.name, address: h.address, port: h.port, role: h.role })).sort((a, b) => (a.name < b.name ? -1 : 1));
    const admin = await startAdmin({
      world,
      token: adminToken,
      openstack,
      info: () => ({
        pid: info.pid,
        clusterName,
        stateDir,
        speed,
        seed,
        kubernetesVersion: world.kubernetesVersion,
        startedAt: info.startedAt,
        endpoints: info.endpoints,
        ssh: info.ssh,
      }),
      hostExtra: (h) => ({ sshListening: fleet.isListening(h.name) }),
      onShutdown: options.onShutdown,
      log,
    });
    stops.push(() => admin.stop());
    info.endpoints.admin = admin.url;
    info.hosts = hostList();

    // Secrets go into the state directory only (0600 files in a 0700 directory).
    writeStateFile(stateDir, STATE_FILES.key, operator.privateKey, 0o600);
    writeStateFile(stateDir, STATE_FILES.publicKey, operator.publicLine + '\n', 0o644);
    // Only the hosts that exist now: a VM created later must be verified against its console log.
    writeStateFile(stateDir, STATE_FILES.knownHosts, [...world.hosts.values()].map((h) => knownHostsLine(h.address, h.port, h.hostKey.publicBase64)).join('\n') + '\n', 0o644);
    writeStateFile(stateDir, STATE_FILES.kubeconfig, renderKubeconfig({ clusterName, server: apiServer, caPem: kube.caPem, token: kube.token }), 0o600);
    writeStateFile(
      stateDir,
      STATE_FILES.clouds,
      renderCloudsYaml({ cloud: cluster.openstack.cloud, authUrl: openstack.authUrl, username: openstack.identity.username, password, projectName: cluster.openstack.project, region }),
      0o600,
    );
    writeStateFile(stateDir, STATE_FILES.inventory, renderInventory(cluster, { stateDir, apiServer, kubernetesVersion, sshPort: fleet.port, region, apiserverPort: world.apiserverPort }), 0o644);
    const writeInfo = (): void => writeStateFile(stateDir, STATE_FILES.labJson, JSON.stringify(info, null, 2) + '\n', 0o600);
    writeInfo();

    // lab.json follows the host list (VMs created and deleted through OpenStack).
    let pending = false;
    const onHostsChanged = (): void => {
      if (pending) return;
      pending = true;
      queueMicrotask(() => {
        pending = false;
        info.hosts = hostList();
        try {
          writeInfo();
        } catch (err) {
          log(`lab.json: ${(err as Error).message}`);
        }
      });
    };
    pidsChanged = () => {
      if (lbs.haproxy) info.haproxy = { port: lbs.port, pids: lbs.haproxy.pids() };
      onHostsChanged();
    };
    world.on('host-added', onHostsChanged);
    world.on('host-removed', onHostsChanged);
    stops.push(() => {
      world.off('host-added', onHostsChanged);
      world.off('host-removed', onHostsChanged);
    });

    let stopping: Promise<void> | undefined;
    return {
      world,
      info,
      stateDir,
      kube,
      openstack,
      ssh: fleet,
      admin,
      ...(etcd ? { etcd } : {}),
      loadBalancers: lbs,
      stop: () => (stopping ??= stopAll()),
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/**
 * Real etcd for a lab whose cluster has an etcd role: two ports of the lab's block (every member listens on its
 * own address), the initial members' /etc/default/etcd, the apiserver manifests and kubeadm's external endpoints.
 * Without Debian's etcd the world remembers what to install (etcdctl and the etcd cookbooks say it).
 */
async function startEtcd(world: World, kube: KubeApiHandle, firstAddress: string, taken: number[], stateDir: string, log: (m: string) => void): Promise<LabEtcd | undefined> {
  if (!Object.keys(world.roles).includes('etcd')) return undefined;
  const missing = etcdMissing();
  if (missing) {
    world.etcdUnavailable = missing;
    log(`etcd: ${missing}`);
    return undefined;
  }
  const ports: number[] = [];
  while (ports.length < 2) {
    const p = await probeBind(firstAddress, 0);
    if (!taken.includes(p) && !ports.includes(p)) ports.push(p);
  }
  const etcd = new LabEtcd(world, { stateDir, clientPort: ports[0]!, peerPort: ports[1]!, log });
  world.etcd = etcd;
  const endpoints = etcd.provisionInitial([...world.hosts.values()]);
  const res = kube.api.res('', 'configmaps');
  const cm = kube.api.get(res, 'kube-system', 'kubeadm-config');
  const data = (cm as unknown as { data: Record<string, string> }).data;
  kube.api.update(res, 'kube-system', 'kubeadm-config', { ...cm, data: { ...data, ClusterConfiguration: withExternalEndpoints(data.ClusterConfiguration ?? '', endpoints) } }, { internal: true });
  return etcd;
}

/** A port free on the lab's first address that none of `taken` uses (the load balancers' port without per-node APIs). */
async function freePort(address: string, taken: number[]): Promise<number> {
  for (;;) {
    const p = await probeBind(address, 0);
    if (!taken.includes(p)) return p;
  }
}

/**
 * Where the lab's kubeconfig and inventory point: the first load balancer when its HAProxy runs in front of
 * per-node API endpoints; without HAProxy, the first control node's own endpoint; else the lab's API listener.
 */
function kubeServer(world: World, fallback: string, lbs: LabLoadBalancers): string {
  const ep = apiEndpoints(world);
  if (!ep.apiserverEndpoint) return fallback;
  if (lbs.url) return lbs.url;
  if (lbs.hosts.length === 0) return fallback;
  const first = [...world.hosts.values()].filter((h) => h.kubelet.controlPlane).sort((a, b) => (a.name < b.name ? -1 : 1))[0];
  const own = first && ep.apiserverEndpoint(first.name);
  return own ? `https://${own.address}:${own.port}` : fallback;
}
