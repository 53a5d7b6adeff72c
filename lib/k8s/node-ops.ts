// Node objects: reads, and the writes a cookbook makes to a node: cordon and uncordon that remember who
// cordoned (so we never put back into service a node an admin took out), labels and taints, deletion. Each
// write checks the node first (ensure-style) and goes through the gate.
import { PatchStrategy, setHeaderOptions, type V1Node } from '@kubernetes/client-node';
import type { Planned } from '../core/gate.js';
import { NodeNotFoundError, NotOurCordonError } from './errors.js';
import { CORDON_ANNOTATION, isCordoned, mergedTaints, missingLabels, ourCordon } from './nodes.js';
import type { KubeOpsDeps } from './requests.js';

/** Who is cordoning (recorded on the node). */
export interface CordonBy {
  runId: string;
  cookbook: string;
}

/** The outcome of cordon/uncordon. */
export interface CordonResult {
  node: string;
  changed: boolean;
  /** True when the cordon is (or was) ours. */
  ours: boolean;
}

/** A taint a node must carry. */
export interface TaintSpec {
  key: string;
  value?: string;
  effect: string;
}

const merge = (): ReturnType<typeof setHeaderOptions> => setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/**
 * What the node operations use; node reads go through `get`, the client's lean JSON path (a rolling reboot
 * polls every node it waits for: thousands of GETs, each costing client-node's fetch stack and model
 * deserializer more than the answer).
 */
export type NodeOpsDeps = KubeOpsDeps & { get: <T>(path: string) => Promise<T> };

/** A node, or undefined when it does not exist. */
export async function getNode(d: NodeOpsDeps, name: string): Promise<V1Node | undefined> {
  return d.req.readOptional(`GET node ${name}`, () => d.get<V1Node>(`/api/v1/nodes/${encodeURIComponent(name)}`), { context: { node: name } });
}

/** A node, or NodeNotFoundError naming it. */
export async function requireNode(d: NodeOpsDeps, name: string): Promise<V1Node> {
  const node = await getNode(d, name);
  if (!node) {
    throw new NodeNotFoundError(`node ${name} is not in the cluster`, { context: { node: name }, hint: 'check the host name (kubectl get nodes)' });
  }
  return node;
}

/** Cordons a node (idempotent), recording that we did. */
export async function cordonNode(d: NodeOpsDeps, name: string, by: CordonBy): Promise<CordonResult | Planned> {
  const node = await requireNode(d, name);
  if (isCordoned(node)) return { node: name, changed: false, ours: ourCordon(node) !== undefined };
  const value = JSON.stringify({ runId: by.runId, cookbook: by.cookbook, at: new Date().toISOString() });
  return d.gate.mutate({ system: 'k8s', target: `node/${name}`, action: 'cordon' }, async () => {
    await d.req.call(
      `cordon node ${name}`,
      () => d.apis.core.patchNode({ name, body: { spec: { unschedulable: true }, metadata: { annotations: { [CORDON_ANNOTATION]: value } } } }, merge()),
      { kind: 'write', context: { node: name } },
    );
    return { node: name, changed: true, ours: true };
  });
}

/**
 * Uncordons a node (idempotent). Refuses a node that someone else cordoned unless `force`: a node an admin
 * cordoned on purpose must not be put back into service by us.
 */
export async function uncordonNode(d: NodeOpsDeps, name: string, options: { force?: boolean; cordonPlanned?: boolean } = {}): Promise<CordonResult | Planned> {
  const node = await requireNode(d, name);
  // cordonPlanned: in dry-run our cordon was only planned, so the node is not cordoned yet; plan the uncordon it would get.
  const ours = ourCordon(node) !== undefined || (d.gate.dryRun && options.cordonPlanned === true);
  if (!isCordoned(node)) {
    if (!ours) return { node: name, changed: false, ours: false };
  } else if (!ours && !options.force) {
    throw new NotOurCordonError(`node ${name} was cordoned by someone else (no ${CORDON_ANNOTATION} annotation); not uncordoning it`, {
      context: { node: name },
      hint: 'pass --force to uncordon it anyway',
    });
  }
  return d.gate.mutate({ system: 'k8s', target: `node/${name}`, action: 'uncordon', detail: { ours } }, async () => {
    await d.req.call(
      `uncordon node ${name}`,
      () => d.apis.core.patchNode({ name, body: { spec: { unschedulable: null }, metadata: { annotations: { [CORDON_ANNOTATION]: null } } } }, merge()),
      { kind: 'write', context: { node: name } },
    );
    return { node: name, changed: isCordoned(node), ours };
  });
}

/** Deletes a Node object (idempotent: absent is fine). */
export async function deleteNode(d: NodeOpsDeps, name: string): Promise<boolean | Planned> {
  const node = await getNode(d, name);
  if (!node) return false;
  return d.gate.mutate({ system: 'k8s', target: `node/${name}`, action: 'delete node' }, async () => {
    await d.req.readOptional(`delete node ${name}`, () => d.apis.core.deleteNode({ name, body: { preconditions: { uid: node.metadata?.uid } } }), { kind: 'write', context: { node: name } });
    return true;
  });
}

/** Adds the labels and taints a node must carry (idempotent); returns whether it changed anything. */
export async function ensureLabelsAndTaints(d: NodeOpsDeps, name: string, labels: Record<string, string>, taints: readonly TaintSpec[]): Promise<boolean | Planned> {
  const node = await requireNode(d, name);
  const addLabels = missingLabels(node, labels);
  const newTaints = mergedTaints(node, taints);
  if (!addLabels && !newTaints) return false;
  return d.gate.mutate({ system: 'k8s', target: `node/${name}`, action: 'set labels and taints', detail: { labels: addLabels, taints: newTaints } }, async () => {
    const body: Record<string, unknown> = { metadata: { resourceVersion: node.metadata?.resourceVersion, ...(addLabels ? { labels: addLabels } : {}) } };
    if (newTaints) body.spec = { taints: newTaints };
    await d.req.call(`label/taint node ${name}`, () => d.apis.core.patchNode({ name, body }, merge()), {
      kind: 'write',
      context: { node: name },
      // A retry after an answer we never saw meets our own change as a resourceVersion conflict.
      confirm: async () => {
        const now = await getNode(d, name);
        return now && !missingLabels(now, labels) && !mergedTaints(now, taints) ? now : undefined;
      },
    });
    return true;
  });
}
