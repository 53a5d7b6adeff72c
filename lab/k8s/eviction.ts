// The pods/eviction subresource (policy/v1 Eviction): a delete guarded by PodDisruptionBudgets, with the API
// server's answers: 404 gone, 409 UID precondition, 429 budget exhausted, 500 more than one PDB, 201 evicted.
import { badRequest, conflict, internalError, tooManyRequests } from './errors.js';
import type { DisruptionController } from './controllers/disruption.js';
import { computePdb, pdbsForPod } from './pdb.js';
import type { DeleteOptions, ObjectApi, WriteOptions } from './rest.js';
import { isPodReady, isPlainObject, type KObject } from './types.js';

/** The success body of an eviction. */
export const evictionSuccess = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 } as const;

/** Evicts a pod; throws ApiError with the real server's code and message when it may not. */
export function evictPod(api: ObjectApi, disruption: DisruptionController, ns: string, name: string, body: unknown, opts: WriteOptions): KObject {
  if (!isPlainObject(body)) throw badRequest('the body of an eviction must be a policy/v1 Eviction');
  const ev = body as KObject;
  if (ev.kind !== undefined && ev.kind !== 'Eviction') throw badRequest(`Eviction in version "v1" cannot be handled as a ${String(ev.kind)}`);
  if (ev.metadata?.name && ev.metadata.name !== name) throw badRequest(`name in URL does not match name in Eviction object`);
  const podSpec = api.res('', 'pods');
  const pod = api.get(podSpec, ns, name);
  const deleteOptions: DeleteOptions = isPlainObject(ev.deleteOptions) ? (ev.deleteOptions as DeleteOptions) : {};
  const pre = deleteOptions.preconditions;
  if (pre?.uid && pre.uid !== pod.metadata.uid) {
    throw conflict(podSpec, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${pod.metadata.uid}`);
  }
  if (pre?.resourceVersion && pre.resourceVersion !== pod.metadata.resourceVersion) {
    throw conflict(podSpec, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in meta: ${pod.metadata.resourceVersion}`);
  }
  const phase = pod.status?.phase;
  // Terminating, finished or never-started pods can go without consulting any budget.
  if (pod.metadata.deletionTimestamp || phase === 'Succeeded' || phase === 'Failed' || phase === 'Pending') {
    return api.delete(podSpec, ns, name, deleteOptions, opts).object;
  }
  const pdbs = pdbsForPod(api.store, pod);
  if (pdbs.length > 1) throw internalError('This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.');
  if (pdbs.length === 0) return api.delete(podSpec, ns, name, deleteOptions, opts).object;
  const pdb = pdbs[0]!;
  const n = computePdb(api.store, pdb, disruption.disruptedFor(pdb));
  if (!isPodReady(pod)) {
    const policy = pdb.spec?.unhealthyPodEvictionPolicy ?? 'IfHealthyBudget';
    if (policy === 'AlwaysAllow' || (n.currentHealthy >= n.desiredHealthy && n.desiredHealthy > 0)) {
      return api.delete(podSpec, ns, name, deleteOptions, opts).object;
    }
  }
  if (n.disruptionsAllowed <= 0) {
    throw tooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", undefined, [
      { reason: 'DisruptionBudget', message: `The disruption budget ${pdb.metadata.name} needs ${n.desiredHealthy} healthy pods and has ${n.currentHealthy} currently` },
    ]);
  }
  if (opts.dryRun) return pod;
  const result = api.delete(podSpec, ns, name, deleteOptions, opts).object;
  disruption.markDisrupted(pdb, name);
  return result;
}
