// The components of a twin, from its snapshot (lib/twin/components.ts): release records, ApplySet parents and
// live members as the cluster had them, so a deploy on the twin reads what it would read on the cluster (a
// re-deploy finds its revision and its members; an unchanged one changes nothing). Members keep their managed
// fields, so server-side apply on the twin meets the same field owners. Secrets hold the snapshot's
// placeholder values: a deploy that renders them sees them as changed. Internal writes: no counters move.
import { gzipSync } from 'node:zlib';
import type { ClusterSnapshot } from '../../lib/twin/types.js';
import type { KubeApiHandle } from '../k8s/index.js';
import type { KObject } from '../k8s/types.js';

/**
 * Which members to create: CRDs and Namespaces first (served kinds and namespaces must exist before the
 * objects in them; a Namespace member made by the twin's own namespace seeding would lack the member's
 * annotations), then the rest.
 */
export type ComponentStage = 'early' | 'objects';

const isEarly = (o: { apiVersion?: unknown; kind?: unknown }): boolean => (o.kind === 'CustomResourceDefinition' && String(o.apiVersion).startsWith('apiextensions.k8s.io/')) || (o.kind === 'Namespace' && o.apiVersion === 'v1');

/** Creates the snapshot's components in the twin (one stage); returns how many objects it created. */
export function seedComponents(kube: KubeApiHandle, s: ClusterSnapshot, stage: ComponentStage, skipped: string[]): number {
  const a = kube.api;
  let made = 0;
  const create = (o: KObject, managedFields?: KObject['metadata']['managedFields']): void => {
    const spec = kube.store.registry.byKind(o.apiVersion, o.kind);
    if (!spec) {
      skipped.push(`component object ${o.kind}/${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name} (kind not served by the twin)`);
      return;
    }
    const ns = spec.namespaced ? o.metadata.namespace : undefined;
    if (kube.store.get(spec, ns, o.metadata.name)) return;
    try {
      a.create(spec, ns, o, { internal: true }, managedFields);
      made++;
    } catch (err) {
      skipped.push(`component object ${o.kind}/${o.metadata.name} (${(err as Error).message.split('\n')[0]})`);
    }
  };
  const namespaces = a.res('', 'namespaces');
  for (const c of s.components ?? []) {
    for (const m of c.members as unknown as KObject[]) {
      if (isEarly(m) !== (stage === 'early')) continue;
      const ns = m.metadata.namespace;
      if (ns && !kube.store.get(namespaces, undefined, ns)) create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } } as KObject);
      const { managedFields, ...metadata } = m.metadata;
      create({ ...m, metadata } as KObject, managedFields);
    }
    if (stage === 'early') continue;
    if (!kube.store.get(namespaces, undefined, c.namespace)) create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: c.namespace } } as KObject);
    if (c.parent) create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: c.parent.name, namespace: c.namespace, labels: { ...c.parent.labels }, annotations: { ...c.parent.annotations } }, type: c.parent.type } as KObject);
    for (const r of c.releases) {
      // The record as the component code reads it back: gzipped JSON; values were never captured.
      const record = { ...r.record, values: {} };
      create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: r.name, namespace: c.namespace, labels: { ...r.labels } }, type: r.type, data: { release: gzipSync(Buffer.from(JSON.stringify(record), 'utf8')).toString('base64') } } as KObject);
    }
  }
  return made;
}
