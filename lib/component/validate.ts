// Server-side validation before anything is written: every object the deploy would create or change goes
// through a dry-run apply (dryRun=All), so the server's own validation and admission name what is wrong.
// Custom resources of a CRD that this run creates or changes cannot be validated against it before it is
// served: they are deferred, and validated (all of them, still with a dry-run) right after the CRDs are
// applied and Established, before anything else is written (revision.ts).
import type { ComponentKube } from './client.js';
import { FieldConflictError, ObjectRejectedError } from './errors.js';
import type { DeployPlan } from './diff.js';
import { type KObject, groupKind, objectKey } from './objects.js';

/** The kinds (`Kind.group`) of the CRDs a plan creates or changes: their custom resources wait for them. */
export function crdKindsChanging(desired: readonly KObject[], plan: DeployPlan): Set<string> {
  const byKey = new Map(desired.map((o) => [objectKey(o), o]));
  const out = new Set<string>();
  for (const e of plan.entries) {
    const o = byKey.get(e.key);
    if (o?.kind === 'CustomResourceDefinition' && (e.action === 'create' || e.action === 'change')) {
      const spec = o.spec as { group?: string; names?: { kind?: string } };
      out.add(`${spec.names?.kind}.${spec.group}`);
    }
  }
  return out;
}

/**
 * Validates created/changed objects with a server-side dry-run, `concurrency` at a time. Custom resources of
 * a CRD in `pendingKinds` (default: the CRDs this plan creates or changes) are not sent: they are returned,
 * to be validated once their CRD is served (validateObjects).
 */
export async function validatePlan(
  kube: ComponentKube,
  desired: readonly KObject[],
  plan: DeployPlan,
  forceConflicts: boolean,
  ownNamespace: string,
  onConflict: (err: FieldConflictError) => void = (err) => {
    throw err;
  },
  concurrency = 8,
  pendingKinds: ReadonlySet<string> = crdKindsChanging(desired, plan),
): Promise<KObject[]> {
  const byKey = new Map(desired.map((o) => [objectKey(o), o]));
  const writes = plan.entries.filter((e) => e.action === 'create' || e.action === 'change').map((e) => byKey.get(e.key)!);
  const deferred = writes.filter((o) => pendingKinds.has(groupKind(o)));
  const queue = writes.filter((o) => !pendingKinds.has(groupKind(o)));
  // Only the namespaces of objects that will be written matter; one list answers for thousands of them.
  const wanted = new Set(writes.map((o) => o.metadata.namespace).filter((n): n is string => !!n));
  const missing = new Set<string>();
  if (wanted.size) {
    const existing = wanted.size > 5 ? new Set((await kube.list('v1', 'Namespace')).map((n) => n.metadata.name)) : undefined;
    for (const ns of wanted) {
      const there = existing ? existing.has(ns) : (await kube.read({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } })) !== undefined;
      if (!there) missing.add(ns);
    }
  }
  for (const ns of missing) {
    if (ns === ownNamespace) continue;
    throw new ObjectRejectedError(`namespace ${ns} does not exist (objects of the component are rendered into it)`, {
      context: { namespace: ns },
      hint: 'create the namespace first, or fix the values that name it',
    });
  }
  await validateObjects(kube, queue, { forceConflicts, onConflict, concurrency, missingNamespaces: missing });
  return deferred;
}

/** Dry-runs objects (dryRun=All), `concurrency` at a time; a missing namespace's objects are checked in "default". */
export async function validateObjects(
  kube: ComponentKube,
  objects: readonly KObject[],
  options: { forceConflicts: boolean; onConflict?: (err: FieldConflictError) => void; concurrency?: number; missingNamespaces?: ReadonlySet<string> },
): Promise<void> {
  const queue = [...objects];
  const missing = options.missingNamespaces ?? new Set<string>();
  const worker = async (): Promise<void> => {
    for (let o = queue.shift(); o; o = queue.shift()) {
      try {
        // The server cannot dry-run into a namespace that does not exist yet (the component's own, on its first
        // deploy): such objects are checked in "default" instead, which validates everything but the namespace.
        const target = missing.has(o.metadata.namespace ?? '') ? { ...o, metadata: { ...o.metadata, namespace: 'default' } } : o;
        await kube.validate(target, { forceConflicts: options.forceConflicts, as: o });
      } catch (err) {
        if (err instanceof FieldConflictError && options.onConflict) options.onConflict(err);
        else throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 8, queue.length) }, worker));
}
