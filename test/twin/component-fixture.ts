// A component deployed on a test lab as component.deploy leaves it (release record, ApplySet parent, members),
// with a recognisable secret in its values, its rendered Secret and its repository URL: the snapshot tests scan
// for it, the twin tests check that a twin recreates the component.
import type { KObject } from '../../lab/k8s/types.js';
import type { LabHandle } from '../../lab/index.js';
import { type KObject as ComponentObject, stamped } from '../../lib/component/objects.js';
import { type Release, encodeRelease } from '../../lib/component/release.js';
import { parentObject, parentOf } from '../../lib/component/state.js';

/** A component's secret: in its values, its rendered Secret, its manifest and kubectl's last-applied copy. */
export const COMPONENT_SECRET = 'c0mponent-values-api-key-91d3';
/** A deploy token in the repository URL the record names. */
export const REPO_TOKEN = 'ghp-deploy-token-5e7a0c';

/**
 * A component deployed in namespace vault as component.deploy leaves it: a release record (values, objects and
 * manifest holding the secret), the ApplySet parent, and two members (a ConfigMap and the Secret).
 */
export function componentFixture(lab: LabHandle): void {
  const a = lab.kube.api;
  const secrets = a.res('', 'secrets');
  a.create(a.res('', 'namespaces'), undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'vault' } } as unknown as KObject, { internal: true });
  const p = parentOf('vault', 'vault');
  const member = (o: ComponentObject): ComponentObject => stamped(o, p.id);
  const secret = member({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'vault-key', namespace: 'vault' }, type: 'Opaque', data: { apiKey: Buffer.from(COMPONENT_SECRET).toString('base64') } });
  const config = member({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'vault-config', namespace: 'vault' }, data: { mode: 'ha' } });
  a.create(secrets, 'vault', parentObject('vault', 'vault', [secret, config]) as unknown as KObject, { internal: true });
  const live = structuredClone(secret);
  live.metadata.annotations = { ...live.metadata.annotations, 'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({ stringData: { apiKey: COMPONENT_SECRET } }) };
  // As server-side apply leaves them: our field manager owns what the deploy applied.
  const owned = (fields: Record<string, unknown>): KObject['metadata']['managedFields'] => [{ manager: 'cluster-cookbooks', operation: 'Apply', apiVersion: 'v1', time: '2026-11-01T10:00:00Z', fieldsType: 'FieldsV1', fieldsV1: fields }];
  a.create(secrets, 'vault', live as unknown as KObject, { internal: true }, owned({ 'f:data': { 'f:apiKey': {} }, 'f:type': {} }));
  a.create(a.res('', 'configmaps'), 'vault', config as unknown as KObject, { internal: true }, owned({ 'f:data': { 'f:mode': {} } }));
  const record: Release = {
    component: 'vault',
    revision: 1,
    status: 'deployed',
    namespace: 'vault',
    repo: { url: `https://deployer:${REPO_TOKEN}@git.example.org/components.git`, branch: 'main', sha: 'a'.repeat(40) },
    values: { vault: { apiKey: COMPONENT_SECRET } },
    manifest: `apiVersion: v1\nkind: Secret\nmetadata:\n  name: vault-key\nstringData:\n  apiKey: "${COMPONENT_SECRET}"\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: vault-config\ndata:\n  mode: ha\n`,
    objects: [secret, config],
    who: 'ops@bastion',
    when: '2026-11-01T10:00:00.000Z',
    runId: 'r-vault-1',
    description: 'Install',
  };
  a.create(secrets, 'vault', encodeRelease(record) as unknown as KObject, { internal: true });
}
