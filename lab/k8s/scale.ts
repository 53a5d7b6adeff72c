// Scale helpers for benches and tests: fill a lab API through HTTPS with client-node (nodes, namespaces,
// Kyverno-style policies, pods) and read everything back with paged lists, the way our own client layer does.
import * as k8s from '@kubernetes/client-node';
import type { KubeApiHandle } from './index.js';
import { keepAliveMiddleware } from '../../lib/k8s/transport.js';

/** How much to create. */
export interface ScaleSpec {
  nodes: number;
  namespaces: number;
  policies: number;
  pods: number;
  /** Requests in flight at once (default 32). */
  concurrency?: number;
}

/** Clients for one lab API, built from its kubeconfig. */
export function clientsFor(api: KubeApiHandle): { kc: k8s.KubeConfig; core: k8s.CoreV1Api; custom: k8s.CustomObjectsApi } {
  const kc = new k8s.KubeConfig();
  kc.loadFromString(api.kubeconfig('scale'));
  // One kept-alive TLS agent for all requests (client-node alone opens a connection per request).
  const config = k8s.createConfiguration({
    baseServer: new k8s.ServerConfiguration(kc.getCurrentCluster()!.server, {}),
    authMethods: { default: kc },
    promiseMiddleware: [keepAliveMiddleware(64)],
  });
  return { kc, core: new k8s.CoreV1Api(config), custom: new k8s.CustomObjectsApi(config) };
}

async function pool(n: number, concurrency: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(concurrency, n) }, async () => {
    for (;;) {
      const i = next++;
      if (i >= n) return;
      await fn(i);
    }
  });
  await Promise.all(workers);
}

/** Node names the scale helper creates. */
export function scaleNodeName(i: number): string {
  return `scale-node-${String(i).padStart(3, '0')}`;
}

/** Creates nodes, namespaces, policies and pods through the API; resolves when every pod is bound. */
export async function populate(api: KubeApiHandle, spec: ScaleSpec): Promise<void> {
  const { core, custom } = clientsFor(api);
  const c = spec.concurrency ?? 32;
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  await pool(spec.nodes, c, (i) =>
    core.createNode({
      body: {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: scaleNodeName(i), labels: { 'kubernetes.io/hostname': scaleNodeName(i), 'kubernetes.io/os': 'linux' } },
        status: {
          capacity: { cpu: '64', memory: '256Gi', pods: '250' },
          allocatable: { cpu: '64', memory: '256Gi', pods: '250' },
          conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: now as unknown as Date, lastTransitionTime: now as unknown as Date }],
          nodeInfo: { bootID: `boot-${i}`, kubeletVersion: 'v1.29.4', architecture: 'amd64', containerRuntimeVersion: 'containerd://1.6.20', kernelVersion: '6.1.0', kubeProxyVersion: 'v1.29.4', machineID: `m${i}`, operatingSystem: 'linux', osImage: 'Debian GNU/Linux 12 (bookworm)', systemUUID: `u${i}` },
        },
      },
    }),
  );
  const nsName = (i: number) => `tenant-${String(i).padStart(4, '0')}`;
  await pool(spec.namespaces, c, (i) => core.createNamespace({ body: { metadata: { name: nsName(i), labels: { 'toolforge.org/tenant': 'true' } } } }));
  await pool(spec.policies, c, (i) =>
    custom.createNamespacedCustomObject({
      group: 'kyverno.io',
      version: 'v1',
      namespace: nsName(i % spec.namespaces),
      plural: 'policies',
      body: {
        apiVersion: 'kyverno.io/v1',
        kind: 'Policy',
        metadata: { name: `policy-${i}`, namespace: nsName(i % spec.namespaces) },
        spec: {
          validationFailureAction: 'Enforce',
          background: false,
          rules: [{ name: 'restrict-image-registries', match: { any: [{ resources: { kinds: ['Pod'] } }] }, validate: { message: 'Unknown image registry.', pattern: { spec: { containers: [{ image: 'docker-registry.lab.internal/*' }] } } } }],
        },
      },
    }),
  );
  await pool(spec.pods, c, (i) =>
    core.createNamespacedPod({
      namespace: nsName(i % spec.namespaces),
      body: {
        metadata: { name: `pod-${i}`, labels: { app: `tool-${i % 50}`, 'toolforge.org/tool': 'true' } },
        spec: { containers: [{ name: 'main', image: 'docker-registry.lab.internal/tool:1.0', resources: { requests: { cpu: '10m', memory: '32Mi' } } }] },
      },
    }),
  );
}

/** Lists every pod with limit/continue paging; returns the count. */
export async function listAllPods(core: k8s.CoreV1Api, limit = 500): Promise<number> {
  let count = 0;
  let cont: string | undefined;
  do {
    const page = await core.listPodForAllNamespaces({ limit, _continue: cont });
    count += page.items.length;
    cont = page.metadata?._continue || undefined;
  } while (cont);
  return count;
}
