// Entry points of the lab's Kubernetes API: startKubeApi() serves an in-memory cluster over HTTPS for one lab
// World (and becomes its kubeadm backend); seedWorkload() fills it with a realistic starting workload.
import { randomBytes } from 'node:crypto';
import type { LabHost, World } from '../world.js';
import { type LabPki, generatePki } from './certs.js';
import { NodeEndpoints } from './endpoints.js';
import { KubeadmPki } from './kubeadm-certs.js';
import { probeBind } from '../ssh/addresses.js';
import { DisruptionController } from './controllers/disruption.js';
import { GarbageCollector } from './controllers/gc.js';
import { Kubelets } from './controllers/kubelet.js';
import { NodeLifecycle } from './controllers/nodelifecycle.js';
import { Scheduler } from './controllers/scheduler.js';
import { WorkloadControllers } from './controllers/workloads.js';
import { JobController } from './controllers/jobs.js';
import { CrdController } from './crds.js';
import { conflict, notFound } from './errors.js';
import { LabKubeadm } from './kubeadm.js';
import { NameSource } from './names.js';
import { computePdb, pdbsForPod, podHealthy } from './pdb.js';
import { defaultExtraKinds, ResourceRegistry, type ExtraKind } from './resources.js';
import { ObjectApi } from './rest.js';
import { KubeServer, type ServerDeps } from './server.js';
import { Store } from './store.js';
import type { KObject } from './types.js';
import { LabTimers } from './timers.js';

export { seedWorkload } from './seed.js';
export { NEVER_READY_ANNOTATION, NEVER_READY_IMAGE_MARK } from './controllers/kubelet.js';
export type { ExtraKind, ResourceSpec } from './resources.js';
export type { KObject } from './types.js';
export { Store } from './store.js';
export { ObjectApi } from './rest.js';
export type { LabPki } from './certs.js';
export type { NodeEndpoints, ServedApiserver } from './endpoints.js';

/** Options of startKubeApi. */
export interface KubeApiOptions {
  /** TCP port on 127.0.0.1; 0 (default) lets the OS pick. */
  port?: number;
  /** Bearer token clients must send; generated when absent. */
  token?: string;
  /** Extra kinds served by the generic store (default: Kyverno's Policy and ClusterPolicy). */
  extraKinds?: readonly ExtraKind[];
  /** Interval of watch bookmarks in real milliseconds (default 5000). */
  bookmarkIntervalMs?: number;
  /** Events kept for watches resuming from a resourceVersion (default 20000). */
  watchHistory?: number;
  /** Read-only / mutating requests in flight before 429 (defaults 400 / 200, as the apiserver; 0 = no limit). */
  maxInflight?: number;
  maxMutatingInflight?: number;
  /**
   * Serve the API once more per control node, on `<node address>:<one port>` (world.apiserverPort): the port is
   * chosen free on `probeAddress` (an address of the lab's block) and differs from `avoidPorts`; `port` forces it.
   */
  nodeEndpoints?: { probeAddress: string; avoidPorts?: number[]; port?: number };
  /** The PKI to reuse (a lab restored from a snapshot keeps its CA); generated when absent. */
  pki?: LabPki;
  /** Log sink for what the API side reports (a node's apiserver that cannot start). */
  log?: (message: string) => void;
}

/** A running lab API. */
export interface KubeApiHandle {
  /** https://127.0.0.1:PORT */
  url: string;
  /** CA certificate (PEM) that signed the serving certificate. */
  caPem: string;
  /** Bearer token clients must send. */
  token: string;
  /** `sha256:<hex>` of the CA's SubjectPublicKeyInfo, as kubeadm prints it. */
  caCertHash: string;
  /** The object store (tests and seeding read it directly). */
  store: Store;
  /** The object API the controllers write through (seeding and tests use it for setup). */
  api: ObjectApi;
  /** The kubeadm backend also installed as world.kubeadm. */
  kubeadm: LabKubeadm;
  /** The CAs, keys and the 127.0.0.1 serving certificate. */
  pki: LabPki;
  /** The per-control-node API servers (only with the nodeEndpoints option). */
  endpoints?: NodeEndpoints;
  /** Number of nodes unavailable (cordoned or not Ready) right now. */
  unavailableNodes(): number;
  /** A kubeconfig (YAML) for this API: cluster, user with the token, context; `name` defaults to the world's cluster name. */
  kubeconfig(name?: string): string;
  /** Sets (or clears) the scheduler's node preference for pods (lab/twin places pods as its snapshot had them). */
  preferNodes(fn: ((pod: KObject) => string[] | undefined) | undefined): void;
  /** Closes the server and all watches, cancels timers. */
  stop(): Promise<void>;
}

/** Starts the lab's Kubernetes API for a world. */
export async function startKubeApi(world: World, options: KubeApiOptions = {}): Promise<KubeApiHandle> {
  const pki = options.pki ?? (await generatePki(world.clusterName));
  const token = options.token ?? randomBytes(24).toString('hex');
  const registry = new ResourceRegistry(options.extraKinds ?? defaultExtraKinds);
  const store = new Store(registry, { historySize: options.watchHistory });
  const names = new NameSource(world.seed);
  const api = new ObjectApi(store, names);
  const timers = new LabTimers(world);

  // System namespaces exist from the start, as after kubeadm init.
  for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
    api.create(api.res('', 'namespaces'), undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }, { internal: true });
  }

  const disruption = new DisruptionController(api, timers, world);
  const lifecycle = new NodeLifecycle(world, api);
  const scheduler = new Scheduler(api);
  const kubelets = new Kubelets(world, api, timers);
  const workloads = new WorkloadControllers(api, names, timers);
  const gc = new GarbageCollector(api, timers);
  const jobs = new JobController(api, names);
  const crds = new CrdController(api);

  // A client deleting or evicting a healthy pod below its budget's minimum is a PDB violation.
  api.podDeleteHooks.push((pod) => {
    if (!podHealthy(pod)) return;
    for (const pdb of pdbsForPod(store, pod)) {
      const n = computePdb(store, pdb, disruption.disruptedFor(pdb));
      if (n.currentHealthy - 1 < n.desiredHealthy) world.counters.pdb_violations++;
    }
  });

  const deps: Omit<ServerDeps, 'certPem' | 'keyPem' | 'apiserverVersions' | 'nodeHealth'> = {
    world,
    api,
    disruption,
    token,
    bookmarkIntervalMs: options.bookmarkIntervalMs ?? 5000,
    maxInflight: options.maxInflight ?? 400,
    maxMutatingInflight: options.maxMutatingInflight ?? 200,
    bind: (ns, name, node, opts) => {
      const pods = api.res('', 'pods');
      const pod = api.get(pods, ns, name);
      if (!store.get(api.res('', 'nodes'), undefined, node)) throw notFound(api.res('', 'nodes'), node);
      if (pod.spec?.nodeName) throw conflict(pods, name, `pod ${name} is already assigned to node "${pod.spec.nodeName}"`);
      if (opts.dryRun) return pod;
      scheduler.bindTo(pod, node);
      return api.get(pods, ns, name);
    },
  };
  const server = new KubeServer({
    ...deps,
    certPem: pki.certPem,
    keyPem: pki.keyPem,
    // The API servers that run: a host that is up with a kube-apiserver static pod, at its image's version.
    apiserverVersions: () =>
      [...world.hosts.values()]
        .filter((h) => h.state === 'up')
        .sort((a, b) => (a.name < b.name ? -1 : 1))
        .flatMap((h) => {
          const image = store.get(api.res('', 'pods'), 'kube-system', `kube-apiserver-${h.name}`)?.spec?.containers?.[0]?.image as string | undefined;
          const m = image && /:v(\d+\.\d+\.\d+)$/.exec(image);
          return m ? [m[1]!] : [];
        }),
  });
  const port = await server.listen(options.port ?? 0);
  const address = `127.0.0.1:${port}`;
  const url = `https://${address}`;

  let endpoints: NodeEndpoints | undefined;
  if (options.nodeEndpoints) {
    const o = options.nodeEndpoints;
    let nodePort = o.port;
    while (nodePort === undefined) {
      const p = await probeBind(o.probeAddress, 0);
      if (p !== port && !(o.avoidPorts ?? []).includes(p)) nodePort = p;
    }
    world.apiserverPort = nodePort;
    endpoints = new NodeEndpoints(world, api, kubelets, deps, nodePort, options.log);
  }
  const kubeadmPki = new KubeadmPki(world, pki, url, endpoints);
  const kubeadm = new LabKubeadm(world, api, kubelets, address, pki.caCertHash, kubeadmPki, endpoints);
  world.kubeadm = kubeadm;

  // cluster-info, as kubeadm init publishes it (kubeadm join reads it).
  api.create(
    api.res('', 'configmaps'),
    'kube-public',
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'cluster-info', namespace: 'kube-public' },
      data: { kubeconfig: clusterKubeconfig(url, pki.caPem, world.clusterName) },
    },
    { internal: true },
  );
  api.create(
    api.res('', 'configmaps'),
    'kube-system',
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'kubeadm-config', namespace: 'kube-system' },
      data: { ClusterConfiguration: `apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\nclusterName: ${world.clusterName}\nkubernetesVersion: v${world.kubernetesVersion}\ncontrolPlaneEndpoint: ${address}\netcd:\n  external:\n    endpoints: []\n` },
    },
    { internal: true },
  );

  const onUp = (host: LabHost) => kubelets.hostUp(host);
  const onDown = (host: LabHost) => kubelets.hostDown(host);
  const onRemoved = (host: LabHost) => kubelets.hostDown(host);
  const onKubelet = (host: LabHost) => {
    if (!host.kubelet.joined) kubelets.kubeletStopped(host);
    else if (store.get(api.res('', 'nodes'), undefined, host.name) && host.state === 'up') {
      kubelets.refreshVersion(host);
      kubelets.hostUp(host);
    } else kubelets.hostUp(host);
  };
  world.on('host-added', onUp);
  world.on('host-up', onUp);
  world.on('host-down', onDown);
  world.on('host-removed', onRemoved);
  world.on('kubelet-changed', onKubelet);
  for (const host of world.hosts.values()) if (host.state === 'up') kubelets.hostUp(host);

  let stopped = false;
  return {
    url,
    caPem: pki.caPem,
    token,
    caCertHash: pki.caCertHash,
    store,
    api,
    kubeadm,
    pki,
    ...(endpoints ? { endpoints } : {}),
    unavailableNodes: () => lifecycle.currentUnavailable,
    preferNodes: (fn) => {
      scheduler.prefer = fn;
    },
    kubeconfig: (name = world.clusterName) => userKubeconfig(url, pki.caPem, token, name),
    async stop() {
      if (stopped) return;
      stopped = true;
      world.off('host-added', onUp);
      world.off('host-up', onUp);
      world.off('host-down', onDown);
      world.off('host-removed', onRemoved);
      world.off('kubelet-changed', onKubelet);
      if (world.kubeadm === kubeadm) world.kubeadm = undefined;
      kubeadmPki.stop();
      if (endpoints) {
        await endpoints.stop();
        if (world.apiserverPort === endpoints.port) world.apiserverPort = undefined;
      }
      timers.stop();
      for (const c of [disruption, lifecycle, scheduler, kubelets, workloads, gc, jobs, crds]) c.stop();
      await server.close();
    },
  };
}

function clusterKubeconfig(url: string, caPem: string, name: string): string {
  return [
    'apiVersion: v1',
    'clusters:',
    '- cluster:',
    `    certificate-authority-data: ${Buffer.from(caPem).toString('base64')}`,
    `    server: ${url}`,
    `  name: "${name}"`,
    'contexts: null',
    'current-context: ""',
    'kind: Config',
    'preferences: {}',
    'users: null',
    '',
  ].join('\n');
}

/** A kubeconfig with a bearer-token user for the lab API. */
export function userKubeconfig(url: string, caPem: string, token: string, name: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${name}`,
    '  cluster:',
    `    server: ${url}`,
    `    certificate-authority-data: ${Buffer.from(caPem).toString('base64')}`,
    'users:',
    `- name: ${name}-admin`,
    '  user:',
    `    token: ${token}`,
    'contexts:',
    `- name: ${name}`,
    '  context:',
    `    cluster: ${name}`,
    `    user: ${name}-admin`,
    `current-context: ${name}`,
    '',
  ].join('\n');
}
