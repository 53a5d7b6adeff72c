// One Kubernetes API endpoint per control node, as a cluster behind a load balancer has: every control host
// that is up, joined as control plane and has its kube-apiserver static pod manifest in place runs "its own"
// apiserver, an HTTPS server on <host address>:<world.apiserverPort> backed by the one world, serving the
// certificate it read from the host's /etc/kubernetes/pki/apiserver.crt|.key when the pod (re)started.
// The kubelet side of static pods lives here too: a manifest moved out of /etc/kubernetes/manifests stops its
// pod after staticPodStopMs (the kubelet polls the directory, as its file source does), moved back starts it.
// /readyz and /livez fail while the apiserver starts (apiserverStartMs) and while its node is not Ready;
// nothing listens while the host is down, deleted, reset or the pod is stopped (connection refused).
import type { LabHost, World } from '../world.js';
import { APISERVER_MANIFEST } from '../etcd/config.js';
import type { Kubelets } from './controllers/kubelet.js';
import type { ObjectApi } from './rest.js';
import { KubeServer, type ServerDeps } from './server.js';
import { nodeReadyStatus } from './types.js';
import { certificateInfo } from './x509.js';

const COMPONENTS = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] as const;
type Component = (typeof COMPONENTS)[number];
const APISERVER_CRT = '/etc/kubernetes/pki/apiserver.crt';
const APISERVER_KEY = '/etc/kubernetes/pki/apiserver.key';
/** How often (lab ms) the kubelets look at their manifest directories. */
const MANIFEST_POLL_MS = 250;
/** How long (real ms) a stopping apiserver lets requests in flight finish before it cuts their connections. */
const GRACE_MS = 1000;

/** The manifest of a control-plane component's static pod. */
export function manifestPath(component: string): string {
  return component === 'kube-apiserver' ? APISERVER_MANIFEST : `/etc/kubernetes/manifests/${component}.yaml`;
}

/** What a node's apiserver serves now. */
export interface ServedApiserver {
  phase: 'starting' | 'running';
  address: string;
  port: number;
  certPem: string;
  serial: string;
  notAfter: string;
}

interface Instance {
  /** Bumped on every stop; async starts check it. */
  epoch: number;
  server?: KubeServer;
  phase: 'stopped' | 'starting' | 'running';
  certPem?: string;
  /** Static pods running on this host. */
  pods: Set<Component>;
  /** Stops scheduled after a manifest left, per component. */
  stopping: Map<Component, () => void>;
  starting?: Promise<void>;
  lastError?: string;
}

/** The per-control-node API servers and the static pods behind them. */
export class NodeEndpoints {
  private readonly instances = new Map<string, Instance>();
  /** Servers shutting down gracefully (lab stop cuts them). */
  private readonly closing = new Set<KubeServer>();
  private readonly poll: NodeJS.Timeout;
  private stopped = false;
  private readonly listeners: [string, (h: LabHost) => void][];

  constructor(
    private readonly world: World,
    private readonly api: ObjectApi,
    private readonly kubelets: Kubelets,
    private readonly baseDeps: Omit<ServerDeps, 'certPem' | 'keyPem' | 'nodeHealth' | 'apiserverVersions'>,
    readonly port: number,
    private readonly log: (message: string) => void = () => {},
  ) {
    const sync = (h: LabHost): void => this.reconcile(h);
    // The machine went away: its connections die with it.
    const gone = (h: LabHost): void => this.stopAll(h.name, { forget: true, abrupt: true });
    this.listeners = [
      ['host-added', sync],
      ['host-up', sync],
      ['host-down', gone],
      ['host-removed', gone],
      ['kubelet-changed', sync],
    ];
    for (const [ev, fn] of this.listeners) world.on(ev as 'host-up', fn);
    this.poll = setInterval(() => {
      for (const h of world.hosts.values()) this.reconcile(h);
    }, Math.max(20, world.scaled(MANIFEST_POLL_MS)));
    this.poll.unref();
    for (const h of world.hosts.values()) this.reconcile(h);
  }

  private instance(name: string): Instance {
    let i = this.instances.get(name);
    if (!i) this.instances.set(name, (i = { epoch: 0, phase: 'stopped', pods: new Set(), stopping: new Map() }));
    return i;
  }

  /** A host runs static pods when it is up and joined as control plane. */
  private runsStaticPods(h: LabHost): boolean {
    return h.state === 'up' && h.kubelet.joined && h.kubelet.controlPlane && this.world.hosts.get(h.name) === h;
  }

  /** Brings a host's static pods in line with its state and manifests. */
  private reconcile(h: LabHost): void {
    if (this.stopped) return;
    if (!this.runsStaticPods(h)) {
      const gone = h.state !== 'up' || !this.world.hosts.has(h.name);
      const inst = this.instances.get(h.name);
      // Nothing runs any more (a reset host the kubelet keeps looking at): nothing to stop.
      if (inst && (gone || inst.phase !== 'stopped' || inst.pods.size > 0 || inst.stopping.size > 0)) this.stopAll(h.name, { forget: gone, abrupt: gone });
      return;
    }
    const inst = this.instance(h.name);
    for (const c of COMPONENTS) {
      const present = h.files.has(manifestPath(c));
      if (present) {
        inst.stopping.get(c)?.();
        inst.stopping.delete(c);
        if (!inst.pods.has(c)) this.startPod(h, inst, c);
      } else if (inst.pods.has(c) && !inst.stopping.has(c)) {
        // The kubelet notices the manifest is gone, then stops the pod (graceful termination).
        const timer = setTimeout(() => {
          inst.stopping.delete(c);
          if (!h.files.has(manifestPath(c))) this.stopPod(h.name, inst, c);
        }, this.world.scaled(this.world.timings.staticPodStopMs ?? 500));
        timer.unref();
        inst.stopping.set(c, () => clearTimeout(timer));
      }
    }
  }

  private startPod(h: LabHost, inst: Instance, c: Component): void {
    if (c !== 'kube-apiserver') {
      inst.pods.add(c);
      this.kubelets.staticPodStarted(h.name, c);
      return;
    }
    if (inst.starting) return;
    if (this.world.faults.apiserverCrashLoop?.includes(h.name)) {
      // The container exits at once and the kubelet backs off; the next look starts it again.
      this.noteError(h.name, inst, `kube-apiserver on ${h.name} exits at once (fault apiserverCrashLoop)`);
      return;
    }
    const cert = h.files.get(APISERVER_CRT);
    const key = h.files.get(APISERVER_KEY);
    if (!cert || !key || !certificateInfo(cert)) {
      // As a real apiserver without its serving certificate: it exits at once and the kubelet retries.
      this.noteError(h.name, inst, `kube-apiserver on ${h.name} cannot start: ${APISERVER_CRT} or its key is missing or invalid`);
      return;
    }
    const epoch = inst.epoch;
    const server = new KubeServer({
      ...this.baseDeps,
      certPem: cert,
      keyPem: key,
      apiserverVersions: () => [this.versionOf(h.name)],
      nodeHealth: () => this.health(h.name),
    });
    inst.phase = 'starting';
    inst.certPem = cert;
    inst.pods.add(c);
    this.kubelets.staticPodStarted(h.name, c);
    inst.starting = server
      .listen(this.port, h.address)
      .then(
        () => {
          if (inst.epoch !== epoch || this.stopped) return server.close();
          inst.server = server;
          inst.lastError = undefined;
          const t = setTimeout(() => {
            if (inst.epoch === epoch && inst.phase === 'starting') inst.phase = 'running';
          }, this.world.scaled(this.world.timings.apiserverStartMs ?? 1000));
          t.unref();
          return undefined;
        },
        (err: Error) => {
          if (inst.epoch !== epoch) return;
          inst.phase = 'stopped';
          inst.pods.delete(c);
          this.noteError(h.name, inst, `kube-apiserver on ${h.name} cannot listen on ${h.address}:${this.port}: ${err.message}`);
        },
      )
      .finally(() => {
        inst.starting = undefined;
      });
  }

  private noteError(name: string, inst: Instance, message: string): void {
    if (inst.lastError !== message) this.log(message);
    inst.lastError = message;
  }

  private stopPod(name: string, inst: Instance, c: Component): void {
    inst.pods.delete(c);
    if (this.world.hosts.get(name)?.state === 'up') this.kubelets.staticPodStopped(name, c);
    if (c !== 'kube-apiserver') return;
    inst.epoch++;
    inst.phase = 'stopped';
    const server = inst.server;
    inst.server = undefined;
    inst.certPem = undefined;
    this.closeGracefully(server);
  }

  private closeGracefully(server: KubeServer | undefined): void {
    if (!server) return;
    this.closing.add(server);
    void server.close({ graceMs: GRACE_MS }).finally(() => this.closing.delete(server));
  }

  /**
   * Stops every static pod of a host at once: `abrupt` when the host went down or away (connections cut),
   * else (reset, restart) gracefully; `forget` drops its state.
   */
  private stopAll(name: string, o: { forget: boolean; abrupt: boolean }): void {
    const inst = this.instances.get(name);
    if (!inst) return;
    for (const cancel of inst.stopping.values()) cancel();
    inst.stopping.clear();
    inst.pods.clear();
    inst.epoch++;
    inst.phase = 'stopped';
    const server = inst.server;
    inst.server = undefined;
    inst.certPem = undefined;
    if (o.abrupt) void server?.close();
    else this.closeGracefully(server);
    if (o.forget) this.instances.delete(name);
  }

  private versionOf(name: string): string {
    const image = this.api.store.get(this.api.res('', 'pods'), 'kube-system', `kube-apiserver-${name}`)?.spec?.containers?.[0]?.image as string | undefined;
    const m = image && /:v(\d+\.\d+\.\d+)$/.exec(image);
    return m ? m[1]! : (this.kubelets.controlPlaneVersions.get(name) ?? this.world.kubernetesVersion);
  }

  private health(name: string): { ok: true } | { ok: false; check: string; reason: string } {
    const inst = this.instances.get(name);
    if (!inst || inst.phase !== 'running') return { ok: false, check: 'poststarthook/start-apiextensions-controllers', reason: `kube-apiserver on ${name} is starting` };
    const node = this.api.store.get(this.api.res('', 'nodes'), undefined, name);
    if (!node || nodeReadyStatus(node) !== 'True') return { ok: false, check: 'lab-node-ready', reason: `node ${name} is not Ready` };
    return { ok: true };
  }

  /** The apiserver a control node runs now (phase, address, the certificate it serves), or undefined when none runs. */
  served(name: string): ServedApiserver | undefined {
    const inst = this.instances.get(name);
    const host = this.world.hosts.get(name);
    if (!inst || !host || inst.phase === 'stopped' || !inst.certPem) return undefined;
    const info = certificateInfo(inst.certPem)!;
    return { phase: inst.phase, address: host.address, port: this.port, certPem: inst.certPem, serial: info.serial, notAfter: info.notAfter.toISOString() };
  }

  /** Why a node's kube-apiserver last failed to start (missing certificate, port taken, a fault), if it did since it last ran. */
  problem(name: string): string | undefined {
    return this.instances.get(name)?.lastError;
  }

  /**
   * Makes a running apiserver serve the certificate now on its disk, as if it had been issued that way (test
   * hooks); a real renewal needs a static pod restart instead.
   */
  reloadCertificate(name: string): void {
    const inst = this.instances.get(name);
    const host = this.world.hosts.get(name);
    const cert = host?.files.get(APISERVER_CRT);
    const key = host?.files.get(APISERVER_KEY);
    if (!inst || inst.phase === 'stopped' || !cert || !key) return;
    inst.certPem = cert;
    inst.server?.setCertificate(cert, key);
  }

  /** Restarts a node's static pods now (kubeadm upgrade rewrites the manifests): the apiserver reloads its files. */
  restart(name: string): void {
    const host = this.world.hosts.get(name);
    if (!host || !this.instances.has(name)) return;
    this.stopAll(name, { forget: false, abrupt: false });
    this.reconcile(host);
  }

  /** Resolves when no apiserver is still binding its port. */
  async settled(): Promise<void> {
    for (;;) {
      const pending = [...this.instances.values()].flatMap((i) => (i.starting ? [i.starting] : []));
      if (pending.length === 0) return;
      await Promise.all(pending);
    }
  }

  /** Closes every node's server and stops watching the hosts. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.poll);
    for (const [ev, fn] of this.listeners) this.world.off(ev as 'host-up', fn);
    // A server still binding closes itself when its bind completes (stopped is set); wait for that first.
    await this.settled();
    const servers = [...this.instances.values()].flatMap((i) => (i.server ? [i.server] : []));
    for (const i of this.instances.values()) {
      for (const cancel of i.stopping.values()) cancel();
      i.epoch++;
    }
    this.instances.clear();
    for (const s of this.closing) s.abortConnections();
    await Promise.all(servers.map((s) => s.close()));
  }
}
