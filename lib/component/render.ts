// Rendering a component for a cluster: every template through the strict engine, each YAML document an
// object; namespaced objects default to the component's namespace and may only go elsewhere where
// component.yaml allows it.
import { parseAllDocuments } from 'yaml';
import { ComponentInputError } from './errors.js';
import { type KObject, displayName, groupKind, isClusterScoped, namespaceAllowed, objectKey } from './objects.js';
import type { ComponentSource } from './repository.js';
import { renderTemplate } from './template.js';
import { fastParseAll } from './yaml-fast.js';

/** The documents of a rendered text through `yaml` (the reference parser): its errors name the line. */
function* referenceParse(text: string, file: string, component: string): Generator<unknown> {
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) {
      const e = doc.errors[0]!;
      throw new ComponentInputError(`${file}: the rendered text is not valid YAML (line ${e.linePos?.[0]?.line ?? '?'}): ${e.message.split('\n')[0]}`, {
        context: { component, file, line: e.linePos?.[0]?.line },
        hint: 'render it with: cookbook component.diff (the template produces broken YAML)',
      });
    }
    yield doc.toJS();
  }
}

/** A rendered component: its objects in apply order, and the namespaces they use. */
export interface Rendered {
  objects: KObject[];
  /** The text of every rendered template, in file order (stored with the revision). */
  manifest: string;
  namespaces: string[];
}

/** Apply order: CRDs and namespaces first, then config, then workloads, custom resources last. */
const ORDER = ['CustomResourceDefinition', 'Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'Secret', 'ConfigMap', 'Service', 'PersistentVolumeClaim', 'Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'Ingress'];

/** The rank of a kind in apply order (unknown kinds, i.e. custom resources, go last). */
export function applyRank(kind: string): number {
  const i = ORDER.indexOf(kind);
  return i < 0 ? ORDER.length : i;
}

/** Renders every template of a component for a cluster into validated objects. */
export function renderComponent(c: ComponentSource, cluster: string): Rendered {
  const scope = { values: c.values, component: { name: c.name, namespace: c.namespace }, cluster: { name: cluster } };
  const docs: { obj: KObject; file: string }[] = [];
  const texts: string[] = [];
  for (const t of c.templates) {
    const text = renderTemplate(t.source, t.file, scope);
    texts.push(`# Source: ${t.file}\n${text.trimEnd()}\n`);
    for (const value of fastParseAll(text) ?? referenceParse(text, t.file, c.name)) {
      const obj = value as KObject | null | undefined;
      if (obj === null || obj === undefined) continue;
      if (typeof obj !== 'object' || !obj.apiVersion || !obj.kind || !obj.metadata?.name) {
        throw new ComponentInputError(`${t.file}: a document lacks apiVersion, kind or metadata.name`, { context: { component: c.name, file: t.file }, hint: 'every document is one Kubernetes object' });
      }
      docs.push({ obj, file: t.file });
    }
  }
  const crdScopes = new Map<string, string>();
  for (const { obj } of docs) {
    if (obj.kind !== 'CustomResourceDefinition') continue;
    const spec = obj.spec as { group?: string; names?: { kind?: string }; scope?: string } | undefined;
    if (spec?.group && spec.names?.kind) crdScopes.set(`${spec.names.kind}.${spec.group}`, spec.scope ?? 'Namespaced');
  }
  const seen = new Map<string, string>();
  const namespaces = new Set<string>();
  for (const { obj, file } of docs) {
    if (isClusterScoped(obj, crdScopes)) {
      delete obj.metadata.namespace;
    } else {
      obj.metadata.namespace ??= c.namespace;
      const ns = obj.metadata.namespace;
      if (!namespaceAllowed(ns, c.namespace, c.allowNamespaces)) {
        throw new ComponentInputError(`${file}: ${displayName(obj)} is outside the component's namespace ${c.namespace}`, {
          context: { component: c.name, file, object: displayName(obj), namespace: ns },
          hint: `add the namespace (or a glob such as "tool-*") to allowNamespaces in components/${c.name}/component.yaml`,
        });
      }
      namespaces.add(ns);
    }
    const key = objectKey(obj);
    if (seen.has(key)) {
      throw new ComponentInputError(`${file}: ${displayName(obj)} is rendered twice (also in ${seen.get(key)})`, { context: { component: c.name, file, object: displayName(obj) }, hint: 'object names must be unique per kind and namespace' });
    }
    seen.set(key, file);
  }
  const objects = docs.map((d) => d.obj).sort((a, b) => applyRank(a.kind) - applyRank(b.kind) || groupKind(a).localeCompare(groupKind(b)));
  return { objects, manifest: texts.join('---\n'), namespaces: [...namespaces].sort() };
}
