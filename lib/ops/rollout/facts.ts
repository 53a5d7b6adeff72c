// Gathers what the decision needs from the cluster: every Node, the pods bound to each (per-node field
// selector lists, a few at a time; never one cluster-wide pod list) and every PodDisruptionBudget, turned into
// the planner's plain facts (evictable pods with their requests and PDBs, allocatable and requested
// resources, taints), and the health of the etcd members over SSH when control nodes are next.
import type { V1Container, V1Node, V1Pod, V1PodDisruptionBudget } from '@kubernetes/client-node';
import type { Context } from '../../core/context.js';
import { messageOf } from '../../core/errors.js';
import { mapLimit } from '../../core/pool.js';
import { clusterHostPattern, hostsOfRole, roleOf } from '../../inventory/naming.js';
import type { ClusterConfig } from '../../inventory/schema.js';
import { type DrainFilterOptions, defaultDrainFilterOptions, planDrain } from '../../k8s/drain-plan.js';
import { type Kube, isCordoned, isNodeReady } from '../../k8s/index.js';
import { matchesSelector, podFinished, podKey } from '../../k8s/pods.js';
import type { EtcdMember, HealthFacts, NodeFacts, PdbFacts, PodFacts } from './decide.js';
import { isControlNode } from './select.js';
import { type Resources, parseQuantity } from './units.js';
import type { RolloutClients } from './work.js';

/** The taints the node lifecycle controller manages: they come and go with cordons and restarts. */
const LIFECYCLE_TAINTS = new Set(['node.kubernetes.io/unschedulable', 'node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']);

/** One snapshot of the cluster. */
export interface ClusterFacts {
  nodes: V1Node[];
  byName: Map<string, V1Node>;
  /** Pods bound to each node. */
  pods: Map<string, V1Pod[]>;
  pdbs: V1PodDisruptionBudget[];
  /** The planner's view. */
  planNodes: NodeFacts[];
  planPdbs: PdbFacts[];
  readyz: boolean;
  at: number;
}

/** The requests of a pod: the sum over its containers (limits where no request is set), at least the largest init container's. */
export function podRequests(pod: V1Pod): Resources {
  const of = (c: { resources?: { requests?: Record<string, string>; limits?: Record<string, string> } }): Resources => ({
    cpu: parseQuantity(c.resources?.requests?.cpu ?? c.resources?.limits?.cpu),
    memory: parseQuantity(c.resources?.requests?.memory ?? c.resources?.limits?.memory),
  });
  const main = (pod.spec?.containers ?? []).map(of).reduce((a, b) => ({ cpu: a.cpu + b.cpu, memory: a.memory + b.memory }), { cpu: 0, memory: 0 });
  for (const init of (pod.spec?.initContainers ?? []).map(of)) {
    main.cpu = Math.max(main.cpu, init.cpu);
    main.memory = Math.max(main.memory, init.memory);
  }
  return main;
}

/** The node's own taints that keep ordinary pods away (its lifecycle taints excluded). */
export function hasOwnTaint(node: V1Node): boolean {
  return (node.spec?.taints ?? []).some((t) => (t.effect === 'NoSchedule' || t.effect === 'NoExecute') && !LIFECYCLE_TAINTS.has(t.key));
}

/** Pods a drain would evict (DaemonSet and mirror pods stay, terminating pods are on their way out). */
export function evictablePods(pods: readonly V1Pod[], filter: DrainFilterOptions, now: number): V1Pod[] {
  const alive = pods.filter((p) => !p.metadata?.deletionTimestamp);
  // Refused pods (emptyDir, unmanaged) would stop the drain; for the plan they still have to go somewhere.
  const plan = planDrain(alive, { ...filter, deleteEmptyDirData: true, forceUnmanaged: true }, { daemonSetExists: () => true, now });
  return plan.evict.map((e) => e.pod);
}

/** PodDisruptionBudgets by namespace (a pod is only ever covered by those of its own namespace). */
export type PdbIndex = { all: readonly V1PodDisruptionBudget[]; byNs: Map<string, V1PodDisruptionBudget[]>; signature: string };

function pdbIndex(pdbs: readonly V1PodDisruptionBudget[]): PdbIndex {
  const byNs = new Map<string, V1PodDisruptionBudget[]>();
  for (const b of pdbs) {
    const ns = b.metadata?.namespace ?? 'default';
    const list = byNs.get(ns);
    if (list) list.push(b);
    else byNs.set(ns, [b]);
  }
  // What the pods' facts depend on: which budgets exist and what they select (not their changing status).
  const signature = pdbs.map((b) => `${b.metadata?.namespace}/${b.metadata?.name}:${JSON.stringify(b.spec?.selector ?? null)}`).join('\n');
  return { all: pdbs, byNs, signature };
}

/** The part of a node's facts that comes from its pods alone. */
interface PodPart {
  pods: PodFacts[];
  requested: Resources;
}

/**
 * Pod parts of pod lists reused from the facts cache (gatherFacts): a list not read again this round has the
 * same facts as last round, unless the budgets or the drain filter changed. Keyed by the list itself, so a
 * list read afresh is always computed anew. Lists holding a terminating pod are not cached: its verdict
 * depends on the time (the skip-wait-for-delete filter).
 */
const podParts = new WeakMap<readonly V1Pod[], { pdbSignature: string; filter: DrainFilterOptions; part: PodPart }>();

function podPart(pods: readonly V1Pod[], pdbs: PdbIndex, filter: DrainFilterOptions, now: number): PodPart {
  const hit = podParts.get(pods);
  if (hit && hit.pdbSignature === pdbs.signature && hit.filter === filter) return hit.part;
  const evict = evictablePods(pods, filter, now);
  const podFacts: PodFacts[] = evict.map((p) => {
    const ns = p.metadata?.namespace ?? 'default';
    return {
      key: podKey(p),
      requests: podRequests(p),
      pdbs: (pdbs.byNs.get(ns) ?? []).filter((b) => matchesSelector(b.spec?.selector, p.metadata?.labels)).map((b) => `${ns}/${b.metadata?.name}`),
    };
  });
  const requested = pods
    .filter((p) => !podFinished(p))
    .map(podRequests)
    .reduce((a, b) => ({ cpu: a.cpu + b.cpu, memory: a.memory + b.memory }), { cpu: 0, memory: 0 });
  const part = { pods: podFacts, requested };
  if (!pods.some((p) => p.metadata?.deletionTimestamp)) podParts.set(pods, { pdbSignature: pdbs.signature, filter, part });
  return part;
}

/** Turns one node and its pods into the planner's facts. */
export function nodeFacts(cluster: ClusterConfig, node: V1Node, pods: readonly V1Pod[], pdbs: readonly V1PodDisruptionBudget[] | PdbIndex, filter: DrainFilterOptions, now: number): NodeFacts {
  const name = node.metadata?.name ?? '';
  const { pods: podFacts, requested } = podPart(pods, 'byNs' in pdbs ? pdbs : pdbIndex(pdbs), filter, now);
  const alloc = node.status?.allocatable ?? node.status?.capacity ?? {};
  return {
    name,
    role: roleOf(cluster, name) ?? 'unknown',
    control: isControlNode(cluster, node),
    ready: isNodeReady(node),
    cordoned: isCordoned(node),
    pods: podFacts,
    allocatable: { cpu: parseQuantity(alloc.cpu), memory: parseQuantity(alloc.memory) },
    requested,
    tainted: hasOwnTaint(node),
  };
}

const MIRROR_ANNOTATION = 'kubernetes.io/config.mirror';

/**
 * The fields of a pod that the rollout's facts read (the drain filter chain, requests, PDB and --block-on-pod
 * selectors). The pod lists of every node are kept between rounds (PodCache): full pods, with their status,
 * managed fields and environment, held ten times the memory for nothing.
 */
export function slimPod(p: V1Pod): V1Pod {
  const m = p.metadata ?? {};
  const mirror = m.annotations?.[MIRROR_ANNOTATION];
  const res = (cs: readonly V1Container[]): V1Container[] => cs.map((c) => ({ name: c.name, resources: c.resources }));
  return {
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      labels: m.labels,
      ownerReferences: m.ownerReferences,
      ...(mirror !== undefined ? { annotations: { [MIRROR_ANNOTATION]: mirror } } : {}),
      ...(m.deletionTimestamp ? { deletionTimestamp: m.deletionTimestamp } : {}),
    },
    spec: {
      nodeName: p.spec?.nodeName,
      containers: res(p.spec?.containers ?? []),
      ...(p.spec?.initContainers ? { initContainers: res(p.spec.initContainers) } : {}),
      volumes: (p.spec?.volumes ?? []).map((v) => (v.emptyDir ? { name: v.name, emptyDir: v.emptyDir } : { name: v.name })),
    },
    status: { phase: p.status?.phase },
  };
}

/** Lists the pods of many nodes, `concurrency` requests at a time (slimmed: see slimPod). */
export async function podsOfNodes(kube: Kube, names: readonly string[], concurrency = 8): Promise<Map<string, V1Pod[]>> {
  const lists = await mapLimit(names, concurrency, async (n) => (await kube.listPodsOnNode(n)).map(slimPod));
  return new Map(names.map((n, i) => [n, lists[i]!]));
}

/** Pod lists kept between planning rounds: nodes that do not matter this round are not listed again. */
export type PodCache = Map<string, { pods: V1Pod[]; at: number }>;

/** What gatherFacts may reuse. */
export interface FactsOptions {
  filter?: DrainFilterOptions;
  now: number;
  cache?: PodCache;
  /** Nodes whose pods are always listed afresh (in flight, next candidates); others are reused up to maxAgeMs. */
  fresh?: ReadonlySet<string>;
  maxAgeMs?: number;
}

/**
 * Reads a snapshot of the cluster for the planner. With a cache, only the nodes that can change this round's
 * decision (`fresh`) and stale entries are listed: the rest only feed the capacity estimate.
 */
export async function gatherFacts(kube: Kube, cluster: ClusterConfig, options: FactsOptions): Promise<ClusterFacts> {
  const [nodes, pdbs, readyz] = await Promise.all([kube.listNodes(), kube.listPdbs(), kube.readyz()]);
  const byName = new Map(nodes.map((n) => [n.metadata?.name ?? '', n]));
  const cache = options.cache;
  const maxAge = options.maxAgeMs ?? 0;
  const toList = [...byName.keys()].filter((n) => {
    const hit = cache?.get(n);
    return !hit || options.fresh?.has(n) || options.now - hit.at > maxAge;
  });
  const listed = await podsOfNodes(kube, toList);
  for (const [n, p] of listed) cache?.set(n, { pods: p, at: options.now });
  const pods = new Map<string, V1Pod[]>([...byName.keys()].map((n) => [n, listed.get(n) ?? cache?.get(n)?.pods ?? []]));
  const filter = options.filter ?? defaultDrainFilterOptions;
  const index = pdbIndex(pdbs);
  const planNodes = nodes.map((n) => nodeFacts(cluster, n, pods.get(n.metadata?.name ?? '') ?? [], index, filter, options.now));
  const planPdbs = pdbs.map((p) => ({ key: `${p.metadata?.namespace}/${p.metadata?.name}`, disruptionsAllowed: p.status?.disruptionsAllowed ?? 0 }));
  return { nodes, byName, pods, pdbs, planNodes, planPdbs, readyz, at: options.now };
}

/**
 * The etcd members of the cluster's `etcd` role (stacked etcd has none: the control nodes' Ready covers it) and
 * whether each one's etcd is active; undefined when the cluster has no etcd role.
 */
export async function etcdHealth(ctx: Context, clients: RolloutClients): Promise<HealthFacts['etcd']> {
  const etcdRole = Object.entries(ctx.cluster.roles).find(([name, r]) => r.node === 'none' && name === 'etcd');
  if (!etcdRole) return undefined;
  try {
    const os = await clients.openstack();
    const servers = await os.listServers({ name: clusterHostPattern(ctx.cluster) });
    const members: EtcdMember[] = [];
    for (const m of hostsOfRole(ctx.cluster, etcdRole[0], servers.map((s) => s.name))) {
      const r = await clients.remote.query(m, ['systemctl', 'is-active', 'etcd'], { okExitCodes: 'any', timeoutMs: 15_000 }).catch((err: unknown) => ({ stdout: messageOf(err) }));
      const out = r.stdout.trim();
      members.push(out === 'active' ? { name: m, active: true } : { name: m, active: false, detail: out.split('\n')[0] || 'not active' });
    }
    return { members };
  } catch (err) {
    return { error: messageOf(err) };
  }
}
