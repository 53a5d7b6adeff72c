// The Kubernetes client layer (@kubernetes/client-node 1.x): typed helpers for what cookbooks do to a
// cluster: nodes, cordon/uncordon that remember who cordoned (node-ops.ts), pods on a node (never a
// cluster-wide pod list), evictions, workload readiness, cluster health, server-side apply and Leases
// (leases.ts). Every method is declared read or mutate and every mutation goes through the gate. A drain is
// not a method: it composes these (drain.ts, `drainNode(kube, node, options)`).
import { PatchStrategy, type KubeConfig, type KubernetesObject, type V1Lease, type V1Node, type V1Pod, type V1PodDisruptionBudget } from '@kubernetes/client-node';
import type { ClientContext } from '../core/client.js';
import type { Clock } from '../core/clock.js';
import { InputError } from '../core/errors.js';
import type { Gate, OperationTable, Planned } from '../core/gate.js';
import type { Log } from '../core/log.js';
import { waitFor } from '../core/retry.js';
import { KubeApiError, KubeConfigError } from './errors.js';
import { type ReadyzResult, checkReadyz } from './health.js';
import { LeanKubeTransport } from './lean.js';
import { createLease, deleteLease, getLease, replaceLease } from './leases.js';
import { type CordonBy, type CordonResult, type NodeOpsDeps, type TaintSpec, cordonNode, deleteNode, ensureLabelsAndTaints, getNode, requireNode, uncordonNode } from './node-ops.js';
import { isCordoned, isNodeReady, nodeBootId } from './nodes.js';
import { matchesSelector } from './pods.js';
import { type KubeRetryPolicy, KubeRequester } from './requests.js';
import { type KubeApis, loadKubeConfig, makeApis } from './transport.js';
import { type WorkloadRef, type WorkloadStatus, readWorkloadStatus, workloadOwners } from './workloads.js';

export * from './errors.js';
export * from './nodes.js';
export { type DrainOptions, type DrainResult, defaultDrainOptions, drainNode, planNodeDrain } from './drain.js';
export type { DrainFilterOptions, DrainPlan } from './drain-plan.js';
export type { CordonBy, CordonResult, TaintSpec } from './node-ops.js';
export type { KubeRetryPolicy, RequestKind } from './requests.js';
export type { ReadyzResult } from './health.js';
export type { WorkloadRef, WorkloadStatus } from './workloads.js';

/** What a Kube client needs: the gate, a log, and optionally a clock, the run's signal and a retry policy. */
export interface KubeDeps {
  gate: Gate;
  log: Log;
  clock?: Clock;
  signal?: AbortSignal;
  /** Retries of transient API failures (default: 60 s per call, see requests.ts). */
  retry?: Partial<KubeRetryPolicy>;
}

/** The Kubernetes client of a run. */
export class Kube {
  static readonly operations: OperationTable<Kube> = {
    version: 'read',
    getNode: 'read',
    requireNode: 'read',
    listNodes: 'read',
    listPodsOnNode: 'read',
    listPodsOnNodeWithVersion: 'read',
    getPod: 'read',
    daemonSetExists: 'read',
    listPdbs: 'read',
    pdbsForPod: 'read',
    workloadStatus: 'read',
    ownersOf: 'read',
    waitWorkloadsReady: 'read',
    waitNodeReady: 'read',
    readyz: 'read',
    readyzCheck: 'read',
    retryCount: 'read',
    clusterHealth: 'read',
    getLease: 'read',
    requestCount: 'read',
    countRequest: 'read',
    close: 'read',
    cordon: 'mutate',
    uncordon: 'mutate',
    evictPod: 'mutate',
    deleteNode: 'mutate',
    ensureNodeLabelsAndTaints: 'mutate',
    apply: 'mutate',
    createLease: 'mutate',
    replaceLease: 'mutate',
    deleteLease: 'mutate',
  };

  readonly gate: Gate;
  /** The run's clock (drains and waits measure time with it); undefined: the system clock. */
  readonly clock: Clock | undefined;
  /** The run's signal: everything this client sends is cancelled with it. */
  readonly signal: AbortSignal | undefined;
  private readonly apis: KubeApis;
  private readonly log: Log;
  private readonly req: KubeRequester;
  /** What the operation modules (node-ops, leases) need. */
  private readonly ops: NodeOpsDeps;
  private extraRequests = 0;
  /** Plain JSON requests for the bulk reads and evictions of drains and rollouts; built on first use. */
  private leanTransport: LeanKubeTransport | undefined;
  /** ReplicaSet UID → the workload that owns it (see workloadOwners). */
  private readonly ownerCache = new Map<string, Promise<WorkloadRef>>();

  constructor(kc: KubeConfig, deps: KubeDeps) {
    this.apis = makeApis(kc);
    this.gate = deps.gate;
    this.log = deps.log;
    this.clock = deps.clock;
    this.signal = deps.signal;
    this.req = new KubeRequester({ log: deps.log, clock: deps.clock, signal: deps.signal, retry: deps.retry });
    this.ops = { req: this.req, apis: this.apis, gate: this.gate, get: this.jsonGet };
  }

  /**
   * The lean JSON path (lean.ts) for the requests a drain or a rollout makes by the thousand (a node's pod
   * list, evictions, workload reads): client-node's model (de)serializer and fetch stack cost several times
   * the request itself there. Same requests, same retries and typed errors (KubeRequester, toKubeError).
   */
  private lean(): LeanKubeTransport {
    return (this.leanTransport ??= new LeanKubeTransport(this.apis.kc));
  }

  private readonly jsonGet = <T>(path: string): Promise<T> => this.lean().request<T>('GET', path);

  /** Retries of transient API failures made so far. */
  retryCount(): number {
    return this.req.retries;
  }

  /** The kubeconfig in use (for watches). */
  get kubeConfig(): KubeConfig {
    return this.apis.kc;
  }

  /** Requests sent so far (all methods, including watches). */
  requestCount(): number {
    const lean = this.leanTransport ? Object.values(this.leanTransport.counts).reduce((a, b) => a + b, 0) : 0;
    return Object.values(this.apis.counts).reduce((a, b) => a + b, 0) + lean + this.extraRequests;
  }

  /** Counts a request made outside the generated clients (watches). */
  countRequest(_kind: string): void {
    this.extraRequests++;
  }

  /** The server's version (`/version`). */
  async version(): Promise<{ gitVersion: string; minor: string }> {
    const { VersionApi } = await import('@kubernetes/client-node');
    const v = await this.req.call('GET /version', () => this.apis.kc.makeApiClient(VersionApi).getCode());
    return { gitVersion: v.gitVersion, minor: v.minor };
  }

  /** A node, or undefined when it does not exist. */
  async getNode(name: string): Promise<V1Node | undefined> {
    return getNode(this.ops, name);
  }

  /** A node, or NodeNotFoundError naming it. */
  async requireNode(name: string): Promise<V1Node> {
    return requireNode(this.ops, name);
  }

  /** Every node (optionally by label selector), paged. */
  async listNodes(labelSelector?: string): Promise<V1Node[]> {
    const out: V1Node[] = [];
    let cont: string | undefined;
    do {
      const page = await this.req.call('LIST nodes', () => this.apis.core.listNode({ labelSelector, limit: 500, _continue: cont }));
      out.push(...page.items);
      cont = page.metadata?._continue || undefined;
    } while (cont);
    return out;
  }

  /** The pods bound to a node (`spec.nodeName` field selector, paged; never a cluster-wide list). */
  async listPodsOnNode(node: string): Promise<V1Pod[]> {
    return (await this.listPodsOnNodeWithVersion(node)).pods;
  }

  /** The pods bound to a node and the list's resourceVersion (to start a watch from). */
  async listPodsOnNodeWithVersion(node: string, options: { signal?: AbortSignal } = {}): Promise<{ pods: V1Pod[]; resourceVersion: string }> {
    const pods: V1Pod[] = [];
    let cont: string | undefined;
    let rv = '';
    do {
      // The lean path: the answer is only JSON.parse'd (client-node's model deserializer cost three times the
      // parse on these lists; a rolling reboot lists every node's pods each round). Timestamps stay strings:
      // every reader copes with both.
      const page = await this.req.call(
        `LIST pods on node ${node}`,
        () => this.lean().request<{ items: V1Pod[]; metadata?: { continue?: string; resourceVersion?: string } }>('GET', '/api/v1/pods', { query: { fieldSelector: `spec.nodeName=${node}`, limit: 500, continue: cont } }),
        { context: { node }, signal: options.signal },
      );
      pods.push(...page.items);
      cont = page.metadata?.continue || undefined;
      rv = page.metadata?.resourceVersion ?? rv;
    } while (cont);
    return { pods, resourceVersion: rv };
  }

  /** A pod, or undefined. */
  async getPod(namespace: string, name: string, options: { signal?: AbortSignal } = {}): Promise<V1Pod | undefined> {
    return this.req.readOptional(`GET pod ${namespace}/${name}`, () => this.apis.core.readNamespacedPod({ namespace, name }), { signal: options.signal });
  }

  /** Whether a DaemonSet exists. */
  async daemonSetExists(namespace: string, name: string): Promise<boolean> {
    return (await this.req.readOptional(`GET daemonset ${namespace}/${name}`, () => this.apis.apps.readNamespacedDaemonSet({ namespace, name }))) !== undefined;
  }

  /** PodDisruptionBudgets of a namespace (or all). */
  async listPdbs(namespace?: string, options: { signal?: AbortSignal } = {}): Promise<V1PodDisruptionBudget[]> {
    const list = namespace
      ? await this.req.call(`LIST pdbs in ${namespace}`, () => this.apis.policy.listNamespacedPodDisruptionBudget({ namespace }), options)
      : await this.req.call('LIST pdbs', () => this.apis.policy.listPodDisruptionBudgetForAllNamespaces({}), options);
    return list.items;
  }

  /** Names of the PDBs that select a pod. */
  async pdbsForPod(namespace: string, name: string, options: { signal?: AbortSignal } = {}): Promise<string[]> {
    const pod = await this.getPod(namespace, name, options);
    if (!pod) return [];
    const pdbs = await this.listPdbs(namespace, options);
    return pdbs.filter((p) => matchesSelector(p.spec?.selector, pod.metadata?.labels)).map((p) => p.metadata?.name ?? '?');
  }

  /** Cordons a node (idempotent), recording that we did. */
  async cordon(name: string, by: CordonBy): Promise<CordonResult | Planned> {
    return cordonNode(this.ops, name, by);
  }

  /** Uncordons a node (idempotent); refuses one that someone else cordoned unless `force` (see node-ops.ts). */
  async uncordon(name: string, options: { force?: boolean; cordonPlanned?: boolean } = {}): Promise<CordonResult | Planned> {
    return uncordonNode(this.ops, name, options);
  }

  /** Evicts a pod (policy/v1) with its UID as precondition, or deletes it when `deleteInstead`. */
  async evictPod(namespace: string, name: string, options: { uid?: string; gracePeriodSeconds?: number; deleteInstead?: boolean; signal?: AbortSignal } = {}): Promise<true | Planned> {
    const deleteOptions = {
      ...(options.uid ? { preconditions: { uid: options.uid } } : {}),
      ...(options.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: options.gracePeriodSeconds } : {}),
    };
    const action = options.deleteInstead ? 'delete pod' : 'evict pod';
    return this.gate.mutate({ system: 'k8s', target: `pod/${namespace}/${name}`, action }, async () => {
      const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}`;
      if (options.deleteInstead) {
        await this.req.call(`delete pod ${namespace}/${name}`, () => this.lean().request('DELETE', path, { body: deleteOptions, discardBody: true }), {
          kind: 'write',
          context: { pod: `${namespace}/${name}` },
          signal: options.signal,
        });
      } else {
        await this.req.call(
          `evict pod ${namespace}/${name}`,
          () => this.lean().request('POST', `${path}/eviction`, { body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace }, deleteOptions }, discardBody: true }),
          { kind: 'eviction', context: { pod: `${namespace}/${name}` }, signal: options.signal },
        );
      }
      return true as const;
    });
  }

  /** Deletes a Node object (idempotent: absent is fine). */
  async deleteNode(name: string): Promise<boolean | Planned> {
    return deleteNode(this.ops, name);
  }

  /** Adds the labels and taints a node must carry (idempotent); returns whether it changed anything. */
  async ensureNodeLabelsAndTaints(name: string, labels: Record<string, string>, taints: readonly TaintSpec[]): Promise<boolean | Planned> {
    return ensureLabelsAndTaints(this.ops, name, labels, taints);
  }

  /** Server-side apply of manifests (fieldManager cluster-cookbooks, force). */
  async apply(objects: KubernetesObject[], options: { fieldManager?: string } = {}): Promise<KubernetesObject[] | Planned> {
    const names = objects.map((o) => `${o.kind}/${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name}`);
    return this.gate.mutate({ system: 'k8s', target: names.join(', '), action: 'server-side apply' }, async () => {
      const out: KubernetesObject[] = [];
      for (const obj of objects) {
        out.push(
          await this.req.call(
            `apply ${obj.kind} ${obj.metadata?.name}`,
            () => this.apis.objects.patch(obj, undefined, undefined, options.fieldManager ?? 'cluster-cookbooks', true, PatchStrategy.ServerSideApply),
            { kind: 'write' },
          ),
        );
      }
      return out;
    });
  }

  /** Readiness of workloads: Deployments, StatefulSets, DaemonSets (ReplicaSets by their own counts). */
  async workloadStatus(refs: readonly WorkloadRef[]): Promise<WorkloadStatus[]> {
    return readWorkloadStatus(this.req, this.jsonGet, refs);
  }

  /** The workloads that own pods (ReplicaSets resolved to their Deployment), deduplicated. */
  async ownersOf(pods: readonly V1Pod[]): Promise<WorkloadRef[]> {
    return workloadOwners(this.req, this.jsonGet, pods, this.ownerCache);
  }

  /** Waits until every workload is back to its desired ready replicas. */
  async waitWorkloadsReady(refs: readonly WorkloadRef[], options: { timeoutMs: number }): Promise<WorkloadStatus[]> {
    if (refs.length === 0) return [];
    return waitFor(
      async () => {
        const st = await this.workloadStatus(refs);
        return st.every((s) => s.isReady) ? st : undefined;
      },
      { what: `workloads ready: ${refs.map((r) => `${r.kind}/${r.namespace}/${r.name}`).join(', ')}`, timeoutMs: options.timeoutMs, signal: this.signal, clock: this.clock, gate: this.gate },
    );
  }

  /** Waits until a node is Ready (and, with `notBootId`, reports a different boot id). */
  async waitNodeReady(name: string, options: { timeoutMs: number; notBootId?: string }): Promise<V1Node> {
    return waitFor(
      async () => {
        const node = await this.getNode(name);
        if (!node || !isNodeReady(node)) return undefined;
        if (options.notBootId && nodeBootId(node) === options.notBootId) return undefined;
        return node;
      },
      {
        what: `node ${name} Ready${options.notBootId ? ' with a new boot id' : ''}`,
        timeoutMs: options.timeoutMs,
        signal: this.signal,
        clock: this.clock,
        gate: this.gate,
        backoff: { initialMs: 200, maxMs: 2000 },
      },
    );
  }

  /** The API server's /readyz (false when it is not ready or cannot be reached; see readyzCheck for why). */
  async readyz(): Promise<boolean> {
    const r = await this.readyzCheck();
    if (!r.ready) this.log.debug(`kubernetes: /readyz: ${r.error?.message ?? 'not ready'}`, { status: r.status, cause: r.error?.cause instanceof Error ? r.error.cause.message : undefined });
    return r.ready;
  }

  /** /readyz with the reason when it is not ready: the HTTP status and body, or the typed error and its cause. */
  async readyzCheck(): Promise<ReadyzResult> {
    return checkReadyz(this.apis.kc, { timeoutMs: 5000, signal: this.signal });
  }

  /** Cluster health: /readyz answers (and why not) and which nodes are not Ready. */
  async clusterHealth(): Promise<{ readyz: boolean; readyzError?: string; nodes: number; notReady: string[]; cordoned: string[] }> {
    const [readyz, nodes] = await Promise.all([this.readyzCheck(), this.listNodes()]);
    return {
      readyz: readyz.ready,
      ...(readyz.error ? { readyzError: readyz.error.message } : {}),
      nodes: nodes.length,
      notReady: nodes.filter((n) => !isNodeReady(n)).map((n) => n.metadata?.name ?? '?'),
      cordoned: nodes.filter(isCordoned).map((n) => n.metadata?.name ?? '?'),
    };
  }

  /** A Lease, or undefined. */
  async getLease(namespace: string, name: string): Promise<V1Lease | undefined> {
    return getLease(this.ops, namespace, name);
  }

  /** Creates a Lease (409 when it exists). */
  async createLease(namespace: string, lease: V1Lease): Promise<V1Lease | Planned> {
    return createLease(this.ops, namespace, lease);
  }

  /** Replaces a Lease (409 on a stale resourceVersion). */
  async replaceLease(namespace: string, lease: V1Lease): Promise<V1Lease | Planned> {
    return replaceLease(this.ops, namespace, lease);
  }

  /** Deletes a Lease with preconditions (idempotent). */
  async deleteLease(namespace: string, name: string, preconditions: { uid?: string; resourceVersion?: string } = {}): Promise<boolean | Planned> {
    return deleteLease(this.ops, namespace, name, preconditions);
  }

  /** Closes the kept-alive API connections. */
  async close(): Promise<void> {
    this.log.debug(`kubernetes: ${this.requestCount()} requests`);
    this.apis.close();
    this.leanTransport?.close();
  }
}

/** Builds the run's Kubernetes client from the cluster's inventory entry. */
export async function create(ctx: ClientContext): Promise<Kube> {
  const k = ctx.cluster.kubernetes;
  let kc: KubeConfig;
  try {
    kc = loadKubeConfig({ kubeconfig: k.kubeconfig, context: k.context });
  } catch (err) {
    if (err instanceof KubeConfigError) throw err;
    throw new InputError(`cannot load the kubeconfig for cluster ${ctx.cluster.name}: ${(err as Error).message}`, {
      cause: err,
      context: { cluster: ctx.cluster.name, kubeconfig: k.kubeconfig },
      hint: 'set kubernetes.kubeconfig/context in the inventory or KUBECONFIG',
    });
  }
  return new Kube(kc, { gate: ctx.gate, log: ctx.log, clock: ctx.clock, signal: ctx.signal });
}

/** Builds a client straight from a kubeconfig file (tools, tests, the lock backend). */
export function kubeFromFile(path: string, deps: KubeDeps & { context?: string }): Kube {
  return new Kube(loadKubeConfig({ kubeconfig: path, context: deps.context }), deps);
}

export { KubeApiError };
