// Store semantics of the lab API through real HTTPS with @kubernetes/client-node: auth, discovery, selectors,
// paging, conflicts, patch types, server-side apply, dryRun, watch with bookmarks, leases, generic kinds.
import assert from 'node:assert/strict';
import { request } from 'node:https';
import * as k8s from '@kubernetes/client-node';
import { bodyOf, codeOf, makeWorld, startLab, until, type Lab } from './helpers.js';

function raw(lab: Lab, path: string, token?: string): Promise<{ status: number; body: string }> {
  const u = new URL(lab.api.url + path);
  return new Promise((resolve, reject) => {
    const req = request({ hostname: u.hostname, port: u.port, path: u.pathname + u.search, ca: lab.api.caPem, headers: token ? { authorization: `Bearer ${token}` } : {} }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function pod(name: string, labels: Record<string, string> = {}, extra: Record<string, unknown> = {}): k8s.V1Pod {
  return { metadata: { name, labels }, spec: { containers: [{ name: 'c', image: 'busybox:1.36' }], ...extra } } as k8s.V1Pod;
}

describe('lab k8s API: store semantics over HTTPS', function () {
  this.timeout(60_000);
  let lab: Lab;
  before(async () => {
    lab = await startLab(makeWorld(40, { control: 1, worker: 2, worker_nfs: 0, ingress: 0, etcd: 0 }), { bookmarkIntervalMs: 100, watchHistory: 200 });
    await lab.core.createNamespace({ body: { metadata: { name: 'sem' } } });
  });
  after(async () => lab.stop());

  it('answers 401 without the token, serves /version and health anonymously', async () => {
    const noAuth = await raw(lab, '/api/v1/namespaces');
    assert.equal(noAuth.status, 401);
    assert.equal(JSON.parse(noAuth.body).reason, 'Unauthorized');
    assert.equal((await raw(lab, '/api/v1/namespaces', 'wrong')).status, 401);
    const v = JSON.parse((await raw(lab, '/version')).body);
    assert.equal(v.gitVersion, 'v1.29.4');
    assert.equal(v.minor, '29');
    assert.equal((await raw(lab, '/readyz')).body, 'ok');
    assert.match(lab.api.caCertHash, /^sha256:[0-9a-f]{64}$/);
  });

  it('serves discovery with the eviction subresource and short names', async () => {
    const v1 = JSON.parse((await raw(lab, '/api/v1', lab.api.token)).body);
    const ev = v1.resources.find((r: { name: string }) => r.name === 'pods/eviction');
    assert.deepEqual([ev.group, ev.version, ev.kind], ['policy', 'v1', 'Eviction']);
    assert.deepEqual(v1.resources.find((r: { name: string }) => r.name === 'pods').shortNames, ['po']);
    const groups = JSON.parse((await raw(lab, '/apis', lab.api.token)).body).groups.map((g: { name: string }) => g.name);
    for (const g of ['apps', 'policy', 'coordination.k8s.io', 'kyverno.io']) assert.ok(groups.includes(g), g);
  });

  it('filters lists by label and field selectors', async () => {
    await lab.core.createNamespacedPod({ namespace: 'sem', body: pod('a', { tier: 'web', env: 'prod' }) });
    await lab.core.createNamespacedPod({ namespace: 'sem', body: pod('b', { tier: 'db', env: 'prod' }) });
    await lab.core.createNamespacedPod({ namespace: 'sem', body: pod('c', { tier: 'web' }) });
    const names = async (labelSelector?: string, fieldSelector?: string) =>
      (await lab.core.listNamespacedPod({ namespace: 'sem', labelSelector, fieldSelector })).items.map((p) => p.metadata!.name).sort();
    assert.deepEqual(await names('tier=web'), ['a', 'c']);
    assert.deepEqual(await names('tier==web,env=prod'), ['a']);
    assert.deepEqual(await names('tier!=web'), ['b']);
    assert.deepEqual(await names('tier in (db, web),env'), ['a', 'b']);
    assert.deepEqual(await names('tier notin (web)'), ['b']);
    assert.deepEqual(await names('!env'), ['c']);
    assert.deepEqual(await names(undefined, 'metadata.name=b'), ['b']);
    assert.deepEqual(await names(undefined, 'metadata.name!=b'), ['a', 'c']);
    const node = await until('pods bound', async () => {
      const p = await lab.core.readNamespacedPod({ namespace: 'sem', name: 'a' });
      return p.spec?.nodeName;
    });
    const onNode = (await lab.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${node}` })).items.map((p) => p.metadata!.name);
    assert.ok(onNode.includes('a'));
    await until('pods running', async () => (await names(undefined, 'status.phase=Running')).length === 3);
    assert.deepEqual(await names(undefined, 'status.phase!=Running'), []);
    await assert.rejects(lab.core.listNamespacedPod({ namespace: 'sem', fieldSelector: 'spec.bogus=1' }), (e) => codeOf(e) === 400);
  });

  it('pages lists with limit and continue', async () => {
    for (let i = 0; i < 7; i++) await lab.core.createNamespacedConfigMap({ namespace: 'sem', body: { metadata: { name: `page-${i}` }, data: { i: String(i) } } });
    const seen: string[] = [];
    let cont: string | undefined;
    let pages = 0;
    do {
      const page = await lab.core.listNamespacedConfigMap({ namespace: 'sem', limit: 3, _continue: cont });
      seen.push(...page.items.map((c) => c.metadata!.name!));
      cont = page.metadata?._continue || undefined;
      pages++;
      assert.ok(page.metadata?.resourceVersion);
    } while (cont);
    assert.equal(pages, 3);
    assert.deepEqual(seen, [...seen].sort());
    assert.equal(new Set(seen).size, 7);
  });

  it('creates with generateName, refuses duplicates and stale updates, 404 in a missing namespace', async () => {
    const made = await lab.core.createNamespacedConfigMap({ namespace: 'sem', body: { metadata: { generateName: 'gen-' } } });
    assert.match(made.metadata!.name!, /^gen-[a-z0-9]{5}$/);
    await assert.rejects(lab.core.createNamespacedConfigMap({ namespace: 'sem', body: { metadata: { name: made.metadata!.name } } }), (e) => codeOf(e) === 409 && bodyOf(e).reason === 'AlreadyExists');
    const stale = { ...made, data: { x: '1' } };
    await lab.core.replaceNamespacedConfigMap({ namespace: 'sem', name: made.metadata!.name!, body: { ...made, data: { x: '0' } } });
    await assert.rejects(lab.core.replaceNamespacedConfigMap({ namespace: 'sem', name: made.metadata!.name!, body: stale }), (e) => codeOf(e) === 409 && bodyOf(e).reason === 'Conflict');
    await assert.rejects(lab.core.createNamespacedConfigMap({ namespace: 'nope', body: { metadata: { name: 'x' } } }), (e) => codeOf(e) === 404 && bodyOf(e).kind === 'Status');
    await assert.rejects(lab.core.createNamespacedPod({ namespace: 'sem', body: { metadata: { name: 'bad' }, spec: { containers: [] } } }), (e) => codeOf(e) === 422 && bodyOf(e).reason === 'Invalid');
  });

  it('applies merge, JSON and strategic merge patches', async () => {
    await lab.core.createNamespacedConfigMap({ namespace: 'sem', body: { metadata: { name: 'p', labels: { a: '1', b: '2' } }, data: { k: 'v' } } });
    const merge = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
    let cm = await lab.core.patchNamespacedConfigMap({ namespace: 'sem', name: 'p', body: { metadata: { labels: { a: null, c: '3' } } } }, merge);
    assert.deepEqual(cm.metadata!.labels, { b: '2', c: '3' });
    const jp = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch);
    cm = await lab.core.patchNamespacedConfigMap({ namespace: 'sem', name: 'p', body: [{ op: 'replace', path: '/data/k', value: 'w' }, { op: 'add', path: '/data/n', value: 'x' }] }, jp);
    assert.deepEqual(cm.data, { k: 'w', n: 'x' });
    await assert.rejects(lab.core.patchNamespacedConfigMap({ namespace: 'sem', name: 'p', body: [{ op: 'test', path: '/data/k', value: 'zzz' }] }, jp), (e) => codeOf(e) === 422);
    const smp = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch);
    const node = (await lab.core.listNode()).items.find((n) => !n.metadata!.labels!['node-role.kubernetes.io/control-plane'])!.metadata!.name!;
    let n = await lab.core.patchNode({ name: node, body: { spec: { unschedulable: true } } }, smp);
    assert.equal(n.spec!.unschedulable, true);
    n = await lab.core.patchNode({ name: node, body: { spec: { unschedulable: null } } }, smp);
    assert.equal(n.spec!.unschedulable, undefined);
    await lab.apps.createNamespacedDeployment({
      namespace: 'sem',
      body: { metadata: { name: 'smp' }, spec: { replicas: 0, selector: { matchLabels: { app: 'smp' } }, template: { metadata: { labels: { app: 'smp' } }, spec: { containers: [{ name: 'a', image: 'a:1' }, { name: 'b', image: 'b:1' }] } } } },
    });
    const d = await lab.apps.patchNamespacedDeployment({ namespace: 'sem', name: 'smp', body: { spec: { template: { spec: { containers: [{ name: 'b', image: 'b:2' }] } } } } }, smp);
    assert.deepEqual(d.spec!.template.spec!.containers.map((c) => `${c.name}=${c.image}`), ['a=a:1', 'b=b:2']);
  });

  it('does server-side apply with field managers, conflicts and force', async () => {
    const ssa = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply);
    const body = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ssa', namespace: 'sem' }, data: { a: '1', b: '2' } };
    const created = await lab.core.patchNamespacedConfigMap({ namespace: 'sem', name: 'ssa', body, fieldManager: 'tool-a' }, ssa);
    assert.deepEqual(created.data, { a: '1', b: '2' });
    assert.equal(created.metadata!.managedFields![0]!.manager, 'tool-a');
    // Another manager changing a field tool-a owns conflicts...
    await assert.rejects(lab.core.patchNamespacedConfigMap({ namespace: 'sem', name: 'ssa', body: { ...body, data: { a: 'other' } }, fieldManager: 'tool-b' }, ssa), (e) => codeOf(e) === 409 && /conflict with "tool-a"/.test(bodyOf(e).message));
    // ...unless forced.
    const forced = await lab.core.patchNamespacedConfigMap({ namespace: 'sem', name: 'ssa', body: { ...body, data: { a: 'other' } }, fieldManager: 'tool-b', force: true }, ssa);
    assert.equal(forced.data!.a, 'other');
    // tool-a drops b from its configuration: b goes; a now belongs to tool-b and stays.
    const again = await lab.core.patchNamespacedConfigMap({ namespace: 'sem', name: 'ssa', body: { ...body, data: {} }, fieldManager: 'tool-a' }, ssa);
    assert.deepEqual(again.data, { a: 'other' });
  });

  it('honours dryRun=All without changing anything or counting a mutation', async () => {
    const before = lab.world.counters.k8s_mutations;
    const dry = await lab.core.createNamespacedConfigMap({ namespace: 'sem', body: { metadata: { name: 'dry' } }, dryRun: 'All' });
    assert.equal(dry.metadata!.name, 'dry');
    await assert.rejects(lab.core.readNamespacedConfigMap({ namespace: 'sem', name: 'dry' }), (e) => codeOf(e) === 404);
    await lab.core.deleteNamespacedConfigMap({ namespace: 'sem', name: 'p', dryRun: 'All' });
    await lab.core.readNamespacedConfigMap({ namespace: 'sem', name: 'p' });
    assert.equal(lab.world.counters.k8s_mutations, before);
    await lab.core.createNamespacedConfigMap({ namespace: 'sem', body: { metadata: { name: 'wet' } } });
    assert.equal(lab.world.counters.k8s_mutations, before + 1);
  });

  it('streams watch events with bookmarks and resumes from a resourceVersion', async () => {
    const list = await lab.core.listNamespacedConfigMap({ namespace: 'sem' });
    const rv = list.metadata!.resourceVersion!;
    const events: { type: string; name?: string; rv?: string }[] = [];
    const watch = new k8s.Watch(lab.kc);
    const ctl = await watch.watch('/api/v1/namespaces/sem/configmaps', { resourceVersion: rv, allowWatchBookmarks: true }, (type, obj) => events.push({ type, name: obj?.metadata?.name, rv: obj?.metadata?.resourceVersion }), () => {});
    await lab.core.createNamespacedConfigMap({ namespace: 'sem', body: { metadata: { name: 'w1' } } });
    await lab.core.patchNamespacedConfigMap({ namespace: 'sem', name: 'w1', body: { data: { x: '1' } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    await lab.core.deleteNamespacedConfigMap({ namespace: 'sem', name: 'w1' });
    await until('events and a bookmark', () => events.some((e) => e.type === 'DELETED') && events.some((e) => e.type === 'BOOKMARK'));
    ctl.abort();
    assert.deepEqual(events.filter((e) => e.name === 'w1').map((e) => e.type), ['ADDED', 'MODIFIED', 'DELETED']);
    // Resuming from the first event's resourceVersion replays the rest.
    const replay: string[] = [];
    const ctl2 = await watch.watch('/api/v1/namespaces/sem/configmaps', { resourceVersion: events[0]!.rv }, (type, obj) => replay.push(`${type}:${obj.metadata?.name}`), () => {});
    await until('replay', () => replay.length >= 2);
    ctl2.abort();
    assert.deepEqual(replay.slice(0, 2), ['MODIFIED:w1', 'DELETED:w1']);
    // A resourceVersion older than the kept history is answered 410 Expired.
    for (let i = 0; i < 220; i++) await lab.core.createNamespacedConfigMap({ namespace: 'sem', body: { metadata: { name: `churn-${i}` } } });
    const errs: unknown[] = [];
    const ctl3 = await watch.watch('/api/v1/namespaces/sem/configmaps', { resourceVersion: rv }, (type, obj) => type === 'ERROR' && errs.push(obj), () => {});
    await until('410', () => errs.length > 0);
    ctl3.abort();
    assert.equal((errs[0] as { code: number }).code, 410);
  });

  it('keeps leases as a lock: AlreadyExists and stale-update conflicts', async () => {
    const coord = lab.kc.makeApiClient(k8s.CoordinationV1Api);
    const lease = await coord.createNamespacedLease({ namespace: 'sem', body: { metadata: { name: 'lock' }, spec: { holderIdentity: 'a', leaseDurationSeconds: 15 } } });
    await assert.rejects(coord.createNamespacedLease({ namespace: 'sem', body: { metadata: { name: 'lock' }, spec: { holderIdentity: 'b' } } }), (e) => codeOf(e) === 409 && bodyOf(e).reason === 'AlreadyExists');
    await coord.replaceNamespacedLease({ namespace: 'sem', name: 'lock', body: { ...lease, spec: { ...lease.spec, holderIdentity: 'a2' } } });
    await assert.rejects(coord.replaceNamespacedLease({ namespace: 'sem', name: 'lock', body: { ...lease, spec: { ...lease.spec, holderIdentity: 'b' } } }), (e) => codeOf(e) === 409 && bodyOf(e).reason === 'Conflict');
    assert.equal((await coord.readNamespacedLease({ namespace: 'sem', name: 'lock' })).spec!.holderIdentity, 'a2');
  });

  it('stores registered extra kinds generically (Kyverno policies)', async () => {
    const custom = lab.kc.makeApiClient(k8s.CustomObjectsApi);
    for (let i = 0; i < 3; i++) {
      await custom.createNamespacedCustomObject({ group: 'kyverno.io', version: 'v1', namespace: 'sem', plural: 'policies', body: { apiVersion: 'kyverno.io/v1', kind: 'Policy', metadata: { name: `pol-${i}` }, spec: { rules: [] } } });
    }
    const list = (await custom.listNamespacedCustomObject({ group: 'kyverno.io', version: 'v1', namespace: 'sem', plural: 'policies', limit: 2 })) as { items: unknown[]; metadata: { continue?: string } };
    assert.equal(list.items.length, 2);
    assert.ok(list.metadata.continue);
    await assert.rejects(custom.getNamespacedCustomObject({ group: 'kyverno.io', version: 'v1', namespace: 'sem', plural: 'policies', name: 'missing' }), (e) => codeOf(e) === 404);
  });

  it('injects 429 and 500 answers at the configured rates, read on every request', async () => {
    lab.world.faults.k8s429Rate = 1;
    await assert.rejects(lab.core.listNamespacedConfigMap({ namespace: 'sem' }), (e) => codeOf(e) === 429);
    lab.world.faults.k8s429Rate = 0;
    lab.world.faults.k8sErrorRate = 1;
    await assert.rejects(lab.core.listNamespacedConfigMap({ namespace: 'sem' }), (e) => codeOf(e) === 500);
    lab.world.faults.k8sErrorRate = 0;
    await lab.core.listNamespacedConfigMap({ namespace: 'sem' });
    assert.ok(lab.world.counters.requests.k8s > 0 && lab.world.counters.bytes.k8s > 0);
  });
});
