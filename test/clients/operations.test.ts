// Every client declares every public method as read or mutate, and in dry-run every mutating method of the
// Kubernetes client plans instead of writing (the other clients' walks live beside their modules: remote,
// openstack, alerting, etcd lock). Which methods are public is read from the TypeScript source itself, so a
// method added later without an entry in its class's table fails here.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { AlertmanagerClient } from '../../lib/alerting/index.js';
import { packageRoot } from '../../lib/core/paths.js';
import { isPlanned } from '../../lib/core/gate.js';
import { Haproxy } from '../../lib/haproxy/client.js';
import { Kube } from '../../lib/k8s/index.js';
import { EtcdLockBackend } from '../../lib/lock/etcd.js';
import { OpenStackClient } from '../../lib/openstack/index.js';
import { Remote } from '../../lib/remote/index.js';
import { cleanupTempDirs } from '../helpers/cli.js';
import { type TestLab, startTestLab } from '../helpers/lab.js';

/** Instance methods of `className` in a source file: public ones, and those declared `private`/`protected`/`#`. */
function sourceMethods(file: string, className: string): { public: string[]; hidden: string[] } {
  const text = readFileSync(join(packageRoot(), file), 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const cls = source.statements.find((s): s is ts.ClassDeclaration => ts.isClassDeclaration(s) && s.name?.text === className);
  assert.ok(cls, `class ${className} not found in ${file}`);
  const out = { public: [] as string[], hidden: [] as string[] };
  for (const m of cls.members) {
    // Accessors are properties, not operations.
    if (!ts.isMethodDeclaration(m)) continue;
    const mods = ts.getModifiers(m) ?? [];
    if (mods.some((x) => x.kind === ts.SyntaxKind.StaticKeyword)) continue;
    const name = ts.isPrivateIdentifier(m.name) ? m.name.text : m.name.getText(source);
    const hidden = ts.isPrivateIdentifier(m.name) || mods.some((x) => x.kind === ts.SyntaxKind.PrivateKeyword || x.kind === ts.SyntaxKind.ProtectedKeyword);
    (hidden ? out.hidden : out.public).push(name);
  }
  return out;
}

describe('client operation tables', () => {
  const clients: [string, string, { prototype: object; operations: Record<string, string | undefined> }][] = [
    ['Kube', 'lib/k8s/index.ts', Kube as never],
    ['Remote', 'lib/remote/index.ts', Remote as never],
    ['OpenStackClient', 'lib/openstack/client.ts', OpenStackClient as never],
    ['AlertmanagerClient', 'lib/alerting/client.ts', AlertmanagerClient as never],
    ['EtcdLockBackend', 'lib/lock/etcd.ts', EtcdLockBackend as never],
    ['Haproxy', 'lib/haproxy/client.ts', Haproxy as never],
  ];
  for (const [name, file, cls] of clients) {
    it(`${name}: the table declares exactly its public methods, each read or mutate`, () => {
      const { public: declaredPublic, hidden } = sourceMethods(file, name);
      // The source parse must agree with the compiled class, or this test would be checking the wrong thing.
      const runtime = Object.getOwnPropertyNames(cls.prototype).filter((m) => m !== 'constructor' && typeof Object.getOwnPropertyDescriptor(cls.prototype, m)?.value === 'function');
      assert.deepEqual([...declaredPublic, ...hidden.filter((h) => runtime.includes(h))].sort(), runtime.sort(), `${file}: parsed methods match ${name}.prototype`);
      assert.ok(declaredPublic.length > 0);
      const table = Object.keys(cls.operations);
      const missing = declaredPublic.filter((m) => !table.includes(m));
      const extra = table.filter((m) => !declaredPublic.includes(m));
      assert.deepEqual(missing, [], `${name}: public methods missing from ${name}.operations`);
      assert.deepEqual(extra, [], `${name}: ${name}.operations lists what is no public method`);
      for (const [op, kind] of Object.entries(cls.operations)) assert.ok(kind === 'read' || kind === 'mutate', `${name}.${op}: ${String(kind)}`);
      assert.ok(Object.values(cls.operations).includes('mutate'), `${name} declares at least one mutation`);
    });
  }
});

describe('Kube: every mutating method in dry-run (lab)', function () {
  this.timeout(60_000);
  let lab: TestLab;
  before(async () => {
    lab = await startTestLab({ clusterName: 'ops', workers: 1, workersNfs: 0, control: 1, ingress: 0, etcd: 0, speed: 40, namespaces: 1 });
  });
  after(async () => {
    await lab?.stop();
    cleanupTempDirs();
  });

  it('plans every mutation and sends no write to the lab', async () => {
    const kube = lab.client({ dryRun: true });
    const node = 'ops-k8s-worker-1';
    const pod = (await kube.listPodsOnNode(node)).find((p) => p.metadata?.ownerReferences?.[0]?.kind !== 'DaemonSet')!;
    // Make uncordon have something to do: cordon for real first, outside the dry-run client.
    await lab.client().cordon(node, { runId: 'setup', cookbook: 'test' });
    const before = lab.counters().k8s_mutations;
    const lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'x', namespace: 'kube-system' }, spec: { holderIdentity: 'a' } };
    const probes: Record<string, () => Promise<unknown>> = {
      cordon: () => kube.cordon('ops-k8s-control-1', { runId: 'r', cookbook: 't' }),
      uncordon: () => kube.uncordon(node),
      evictPod: () => kube.evictPod(pod.metadata!.namespace!, pod.metadata!.name!, { uid: pod.metadata!.uid }),
      deleteNode: () => kube.deleteNode(node),
      ensureNodeLabelsAndTaints: () => kube.ensureNodeLabelsAndTaints(node, { a: 'b' }, [{ key: 'k', effect: 'NoSchedule' }]),
      apply: () => kube.apply([{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', namespace: 'default' }, data: { a: '1' } } as never]),
      createLease: () => kube.createLease('kube-system', lease),
      replaceLease: () => kube.replaceLease('kube-system', lease),
      deleteLease: () => kube.deleteLease('kube-system', 'x'),
    };
    const mutating = Object.entries(Kube.operations).filter(([, k]) => k === 'mutate').map(([n]) => n).sort();
    assert.deepEqual(mutating, Object.keys(probes).sort(), 'every mutating method is exercised');
    for (const [name, probe] of Object.entries(probes)) {
      const out = await probe();
      assert.ok(isPlanned(out), `${name} returned Planned`);
    }
    assert.equal(lab.counters().k8s_mutations, before, 'no write reached the lab');
    assert.ok(kube.gate.changes.length >= mutating.length);
  });
});
