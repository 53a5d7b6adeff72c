// Server-side validation before anything is written: every object the deploy would create or change goes
// through a dry-run apply (dryRun=All), so the server's own validation and admission name what is wrong.
// Custom resources whose CRD is rendered but not served yet cannot be validated before their CRD exists; they
// are validated when applied.
import type { ComponentKube } from './client.js';
import { FieldConflictError, ObjectRejectedError } from './errors.js';
import type { DeployPlan } from './diff.js';
import { type KObject, groupKind, objectKey } from './objects.js';

/** Validates created/changed objects with a server-side dry-run, `concurrency` at a time. */
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
): Promise<void> {
  const byKey = new Map(desired.map((o) => [objectKey(o), o]));
  const pendingCrds = new Set<string>();
  for (const e of plan.entries) {
    const o = byKey.get(e.key);
    if (o?.kind === 'CustomResourceDefinition' && e.action === 'create') {
      const spec = o.spec as { group?: string; names?: { kind?: string } };
      pendingCrds.add(`${spec.names?.kind}.${spec.group}`);
    }
  }
  const queue = plan.entries.filter((e) => e.action === 'create' || e.action === 'change').map((e) => byKey.get(e.key)!).filter((o) => !pendingCrds.has(groupKind(o)));
  // Only the namespaces of objects that will be written matter; one list answers for thousands of them.
  const wanted = new Set(queue.map((o) => o.metadata.namespace).filter((n): n is string => !!n));
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
  const worker = async (): Promise<void> => {
    for (let o = queue.shift(); o; o = queue.shift()) {
      try {
        // The server cannot dry-run into a namespace that does not exist yet (the component's own, on its first
        // deploy): such objects are checked in "default" instead, which validates everything but the namespace.
        const target = missing.has(o.metadata.namespace ?? '') ? { ...o, metadata: { ...o.metadata, namespace: 'default' } } : o;
        await kube.validate(target, { forceConflicts, as: o });
      } catch (err) {
        if (err instanceof FieldConflictError) onConflict(err);
        else throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
}
