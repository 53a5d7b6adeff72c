// The lab's one world model. Three protocol front ends (Kubernetes API, OpenStack API, SSH hosts) read and
// change this state; they couple only through it: host lifecycle events, the kubeadm backend and counters.
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';

/** Every counter `cookbook lab status --json` reports under `counters`. */
export interface LabCounters {
  k8s_mutations: number;
  openstack_mutations: number;
  ssh_mutations: number;
  pdb_violations: number;
  max_unavailable_nodes: number;
  /** Gauge: the most Kubernetes API requests (watches and log streams excepted) in flight at once. */
  k8s_peak_inflight: number;
  requests: { k8s: number; openstack: number; ssh: number; admin: number };
  bytes: { k8s: number; openstack: number; ssh: number };
}

/** A fresh, zeroed set of counters. */
export function zeroCounters(): LabCounters {
  return {
    k8s_mutations: 0,
    openstack_mutations: 0,
    ssh_mutations: 0,
    pdb_violations: 0,
    max_unavailable_nodes: 0,
    k8s_peak_inflight: 0,
    requests: { k8s: 0, openstack: 0, ssh: 0, admin: 0 },
    bytes: { k8s: 0, openstack: 0, ssh: 0 },
  };
}

/** Injected faults; set at `lab up` or at run time through the admin endpoint. All optional. */
export interface LabFaults {
  /** Fraction (0..1) of Kubernetes API requests answered 500 / 429. */
  k8sErrorRate?: number;
  k8s429Rate?: number;
  /** Fraction (0..1) of /readyz answers that report the API server not ready (500, a failed etcd check). */
  k8sReadyzFailRate?: number;
  /** Fraction of OpenStack API requests answered 503. */
  openstackErrorRate?: number;
  /** Pod lists and watches answered 500 after this many (counted from when the faults were set). */
  k8sPodListFailAfter?: number;
  /** Extra delay (ms, unscaled) before an eviction is answered. */
  slowEvictionMs?: number;
  /** Pods (`namespace/name`) that never finish terminating. */
  stuckPods?: string[];
  /** Hosts that go down on reboot and never come back. */
  hostsNeverReturn?: string[];
  /** Server names whose build ends in ERROR (`*` for every new server). */
  vmBuildErrors?: string[];
  /** Hosts whose `kubeadm join` fails. */
  joinFailures?: string[];
  /** `kubeadm upgrade apply` fails its CreateJob health check (the Job does not complete within 15 s); 1 or true turns it on. */
  upgradeHealthJobTimeout?: boolean | number;
  /** Control-plane hosts whose kube-apiserver static pod does not come back after `kubeadm upgrade apply|node`. */
  upgradeStaticPodStuck?: string[];
  /** Control hosts whose kube-apiserver static pod crash-loops whenever it (re)starts: their own endpoint refuses connections. */
  apiserverCrashLoop?: string[];
}

/** Timings at speed 1, in milliseconds; the lab divides them by its speed. */
export interface LabTimings {
  vmBuildMs: number;
  rebootDownMs: number;
  rebootUpMs: number;
  kubeletReadyMs: number;
  podStartMs: number;
  podTerminateMs: number;
  nodeNotReadyMs: number;
  /** How long a deleted Nova server stays visible (task_state deleting) before it is gone (404). */
  vmDeleteMs: number;
  /** From a kube-apiserver static pod start to its /readyz passing (its endpoint fails /readyz meanwhile). */
  apiserverStartMs?: number;
  /** From a static pod manifest leaving /etc/kubernetes/manifests to the kubelet having stopped that pod. */
  staticPodStopMs?: number;
}

/** Defaults: a reboot takes a few seconds at speed 1. */
export const defaultTimings: LabTimings = Object.freeze({
  vmBuildMs: 4000,
  rebootDownMs: 1500,
  rebootUpMs: 1500,
  kubeletReadyMs: 1000,
  podStartMs: 800,
  podTerminateMs: 600,
  nodeNotReadyMs: 300,
  vmDeleteMs: 500,
  apiserverStartMs: 1000,
  staticPodStopMs: 500,
});

/** Lifecycle of a lab host (the machine behind an SSH address and, maybe, a Nova server and a Node). */
export type HostState = 'building' | 'up' | 'rebooting' | 'down' | 'deleted';

/** One lab host. */
export interface LabHost {
  name: string;
  /** Inventory role of the host (worker, worker_nfs, control, ingress, etcd). */
  role: string;
  /** 127.x.y.z address its SSH server listens on. */
  address: string;
  port: number;
  state: HostState;
  bootId: string;
  bootedAt: number;
  /** SSH host key: OpenSSH private key text, public key blob in base64 (as in known_hosts), SHA256 fingerprint. */
  hostKey: { privateKey: string; publicBase64: string; fingerprintSha256: string };
  /** Installed Debian packages: name -> version. */
  packages: Map<string, string>;
  /** Files the interpreter knows about (e.g. /var/run/reboot-required). */
  files: Map<string, string>;
  /** systemd units: name -> active? */
  services: Map<string, boolean>;
  /** Kubernetes side of the host: whether kubelet joined a cluster and as what. */
  kubelet: { joined: boolean; controlPlane: boolean; version?: string };
  kernel: { running: string; installed: string[] };
  /** Nova server id when the host is backed by a server. */
  serverId?: string;
  /** Permission bits of entries in `files` (absent: 0644). Kept by the SSH side (SFTP, chmod, redirections). */
  fileModes?: Map<string, number>;
  /** Directories created on the host beyond the implied parents of `files` (SFTP mkdir, `mkdir -p`). */
  dirs?: Set<string>;
  /** systemd units enabled at boot (`systemctl enable`). */
  enabledServices?: Set<string>;
  /** Packages on hold (`apt-mark hold`). */
  heldPackages?: Set<string>;
  /** The Kubernetes repository minor the last `apt-get update` indexed (lab/ssh/commands/apt.ts). */
  k8sRepoIndexed?: number;
  /** Files in `files` whose content is binary (one char per byte, latin1), e.g. etcd snapshots. */
  binaryFiles?: Set<string>;
}

/** The real etcd processes behind hosts of role etcd (lab/etcd), as the SSH side and the Kubernetes API use them. */
export interface EtcdBackend {
  /** Runs the real etcdctl for a host (argument array, the host's environment); the real exit code and output. */
  etcdctl(host: LabHost, args: string[], env: Map<string, string>): Promise<{ code: number; stdout: string; stderr: string }>;
  /** The etcd check of the API server's /readyz: healthy when a member it is configured with answers /health. */
  health(): Promise<{ ok: boolean; reason?: string }>;
}

/** What the Kubernetes side offers to `kubeadm` run on a lab host (implemented in lab/k8s). */
export interface KubeadmBackend {
  /** Creates a bootstrap token (a kube-system Secret) and returns it with the join command kubeadm prints. */
  tokenCreate(ttlSeconds: number, description?: string): { token: string; joinCommand: string };
  /** Deletes a token by id or full token; false when it did not exist. */
  tokenDelete(tokenOrId: string): boolean;
  /** Lists tokens as `kubeadm token list` prints them. */
  tokenList(): string;
  /** Uploads control-plane certificates, returns the certificate key (64 hex chars), valid for two hours. */
  uploadCerts(): string;
  /** Joins the host; throws an Error whose message kubeadm would print when the token, hash or key is wrong. */
  join(host: LabHost, args: { apiServer: string; token: string; caCertHash: string; controlPlane: boolean; certificateKey?: string }): void;
  /** `kubeadm reset -f`: the host leaves (the Node object stays, as in real kubeadm). */
  reset(host: LabHost): void;
  /** `kubeadm upgrade plan|apply|node` output or an Error. */
  upgrade(host: LabHost, action: 'plan' | 'apply' | 'node', version?: string, options?: { ignorePreflightErrors?: string[] }): string;
  /** `kubeadm certs check-expiration` / `kubeadm certs renew WHAT`; `output` json|yaml for check-expiration. */
  certs(host: LabHost, action: 'check-expiration' | 'renew', what?: string, options?: { output?: string }): string;
  /** Writes the kubeadm PKI of a host that joins (the CA on every node; on control nodes its own certificates and kubeconfigs). */
  writePki?(host: LabHost, controlPlane: boolean): void;
  /** Test hook: re-issues a control node's certificate `name` (or `all`) to expire in N days, and the running apiserver serves it. */
  setCertificateExpiry?(host: LabHost, name: string, expiresInDays: number): { name: string; notAfter: string; serial: string }[];
}

/** Events the world emits; front ends subscribe. */
export interface WorldEvents {
  'host-added': [LabHost];
  'host-up': [LabHost];
  'host-down': [LabHost];
  'host-removed': [LabHost];
  'kubelet-changed': [LabHost];
  /** systemctl started, stopped or restarted a host's etcd unit. */
  'etcd-unit': [LabHost, { active: boolean; restart: boolean }];
  /** Counters were zeroed (`lab status --reset-counters`): gauges like max_unavailable_nodes re-measure now. */
  'counters-reset': [];
}

/** What the world knows of an inventory role: how its hosts join Kubernetes and their labels and taints. */
export interface LabRole {
  prefix: string;
  node: 'worker' | 'control-plane' | 'none';
  labels: Record<string, string>;
  taints: { key: string; value?: string; effect: string }[];
}

/** Options for a World. */
export interface WorldOptions {
  clusterName: string;
  /** Host name prefix of the cluster (`<prefix>-<role prefix>-<N>`). */
  prefix: string;
  /** Roles by inventory role name. */
  roles: Record<string, LabRole>;
  /** Kubernetes version the lab pretends to run, e.g. 1.29.4 (minor 27..33). */
  kubernetesVersion?: string;
  speed?: number;
  seed?: number;
  timings?: Partial<LabTimings>;
  faults?: LabFaults;
}

/** The shared state of one lab. */
export class World extends EventEmitter<WorldEvents> {
  readonly clusterName: string;
  readonly prefix: string;
  readonly roles: Record<string, LabRole>;
  kubernetesVersion: string;
  speed: number;
  /** The seed the lab was started with (front ends derive their own deterministic generators from it). */
  readonly seed: number;
  readonly timings: LabTimings;
  faults: LabFaults;
  counters: LabCounters = zeroCounters();
  readonly hosts = new Map<string, LabHost>();
  /** Set by the Kubernetes side when it starts. */
  kubeadm: KubeadmBackend | undefined;
  /** Set when the lab runs real etcd (Debian's etcd-server and etcd-client installed). */
  etcd: EtcdBackend | undefined;
  /** Why there is no real etcd (the packages to install), when the lab has none. */
  etcdUnavailable: string | undefined;
  /** The port every control node's own kube-apiserver listens on, on the node's address (unset: no per-node endpoints). */
  apiserverPort: number | undefined;
  private rng: () => number;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(options: WorldOptions) {
    super();
    this.clusterName = options.clusterName;
    this.prefix = options.prefix;
    this.roles = options.roles;
    this.kubernetesVersion = options.kubernetesVersion ?? '1.29.4';
    this.speed = options.speed && options.speed > 0 ? options.speed : 1;
    this.timings = { ...defaultTimings, ...options.timings };
    this.faults = { ...options.faults };
    this.seed = options.seed ?? 1;
    this.rng = mulberry32(this.seed);
  }

  /** Deterministic random number in [0, 1) from the lab's seed. */
  random(): number {
    return this.rng();
  }

  /** A timing scaled by the lab's speed. */
  scaled(ms: number): number {
    return Math.max(0, Math.round(ms / this.speed));
  }

  /** Runs `fn` after a scaled delay; timers are cancelled by shutdown(). */
  after(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, this.scaled(ms));
    timer.unref?.();
    this.timers.add(timer);
  }

  /** Adds a host in state `building` or `up`. */
  addHost(host: Omit<LabHost, 'bootId' | 'bootedAt' | 'state'> & { state?: HostState }): LabHost {
    if (this.hosts.has(host.name)) throw new Error(`lab host ${host.name} exists already`);
    const full: LabHost = { ...host, state: host.state ?? 'up', bootId: randomUUID(), bootedAt: Date.now() };
    this.hosts.set(full.name, full);
    this.emit('host-added', full);
    if (full.state === 'up') this.emit('host-up', full);
    return full;
  }

  /** Marks a building host as booted (first boot). */
  bootHost(name: string): void {
    const host = this.requireHost(name);
    host.state = 'up';
    host.bootId = randomUUID();
    host.bootedAt = Date.now();
    this.emit('host-up', host);
  }

  /**
   * Reboots a host: it goes down at once (connections drop), comes back after rebootDownMs + rebootUpMs with a
   * new boot id, unless a fault says it never returns. Hard reboots skip the orderly shutdown but behave alike.
   */
  rebootHost(name: string): void {
    const host = this.requireHost(name);
    if (host.state === 'deleted') return;
    host.state = 'rebooting';
    this.emit('host-down', host);
    if (this.faults.hostsNeverReturn?.includes(name)) {
      this.after(this.timings.rebootDownMs, () => {
        if (host.state === 'rebooting') host.state = 'down';
      });
      return;
    }
    this.after(this.timings.rebootDownMs + this.timings.rebootUpMs, () => {
      if (host.state !== 'rebooting') return;
      host.state = 'up';
      host.bootId = randomUUID();
      host.bootedAt = Date.now();
      host.files.delete('/var/run/reboot-required');
      const newest = [...host.kernel.installed].sort().at(-1);
      if (newest) host.kernel.running = newest;
      this.emit('host-up', host);
    });
  }

  /** Removes a host for good (its server was deleted). */
  removeHost(name: string): void {
    const host = this.hosts.get(name);
    if (!host) return;
    host.state = 'deleted';
    this.hosts.delete(name);
    this.emit('host-removed', host);
  }

  /** The API endpoint of a control node (its own kube-apiserver), or undefined for other hosts and labs without per-node endpoints. */
  apiserverEndpoint(name: string): { address: string; port: number } | undefined {
    const host = this.hosts.get(name);
    if (!host || this.apiserverPort === undefined) return undefined;
    if (this.roles[host.role]?.node !== 'control-plane' && !host.kubelet.controlPlane) return undefined;
    return { address: host.address, port: this.apiserverPort };
  }

  /** The host, or an Error naming it. */
  requireHost(name: string): LabHost {
    const host = this.hosts.get(name);
    if (!host) throw new Error(`no lab host named ${name}`);
    return host;
  }

  /** Starts a new measurement: zeroes every counter and tells the front ends (they re-seed gauges). */
  resetCounters(): void {
    this.counters = zeroCounters();
    this.emit('counters-reset');
  }

  /** Cancels pending timers (lab shutdown). */
  shutdown(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}

/** Small seeded PRNG so lab runs with the same seed make the same choices. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
