// Applying many objects against the lab's API: bounded concurrency (the lab's in-flight gauge), 429 with
// Retry-After absorbed by the retry policy, and the /readyz watch: an unhealthy API server pauses the workers
// and, past the limit, stops the apply with an error naming the progress. The health signal is the test's
// input (the lab's /readyz fails only with its real etcd down); the objects go to the lab for real.
import { strict as assert } from 'node:assert';
import { GateViolation } from '../../lib/core/errors.js';
import { Gate } from '../../lib/core/gate.js';
import { MemoryLog } from '../../lib/core/log.js';
import { KubeNotFoundError } from '../../lib/k8s/errors.js';
import { LeanKubeTransport } from '../../lib/k8s/lean.js';
import { leanEndpoint } from '../../lib/k8s/lean-config.js';
import { loadKubeConfig } from '../../lib/k8s/transport.js';
import { applyObjects } from '../../lib/component/apply.js';
import { ComponentKube } from '../../lib/component/client.js';
import { ApplyError, ObjectRejectedError } from '../../lib/component/errors.js';
import type { KObject } from '../../lib/component/objects.js';
import { cleanupTempDirs } from '../helpers/cli.js';
import { type TestLab, startTestLab } from '../helpers/lab.js';

const configMaps = (prefix: string, n: number): KObject[] =>
  Array.from({ length: n }, (_, i) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${prefix}-${i}`, namespace: 'default' }, data: { i: String(i) } }));

describe('component apply: concurrency, 429 + Retry-After, /readyz pause and stop (lab)', function () {
  this.timeout(60_000);
  let lab: TestLab;
  let kube: ComponentKube;
  before(async () => {
    lab = await startTestLab({ clusterName: 'capply', workers: 1, workersNfs: 0, control: 1, ingress: 0, etcd: 0, speed: 100, namespaces: 1, seedWorkload: false });
    kube = new ComponentKube(loadKubeConfig({ kubeconfig: lab.kubeconfig }), { gate: new Gate({ dryRun: false }), log: new MemoryLog(), retry: { backoff: { initialMs: 20, maxMs: 200 } } });
  });
  after(async () => {
    await kube?.close();
    await lab?.stop();
    cleanupTempDirs();
  });
  const stored = (prefix: string): number => [...lab.kube.store.scan(lab.kube.api.res('', 'configmaps'))].filter((o) => (o as KObject).metadata.name.startsWith(`${prefix}-`)).length;

  it('applies with at most N requests in flight and rides out 429s', async () => {
    lab.world.counters.k8s_peak_inflight = 0;
    lab.world.faults.k8s429Rate = 0.15;
    try {
      const r = await applyObjects(kube, configMaps('burst', 20), { concurrency: 4 });
      assert.equal(r.applied, 20);
    } finally {
      lab.world.faults.k8s429Rate = 0;
    }
    assert.equal(stored('burst'), 20, 'every object is in the lab');
    assert.ok(kube.retryCount() > 0, 'some requests were refused with 429 and retried');
    assert.ok(lab.world.counters.k8s_peak_inflight <= 4, `peak in flight ${lab.world.counters.k8s_peak_inflight} <= 4`);
  });

  it('lists every member across pages, custom kinds included (more than one page of 500)', async () => {
    // A custom kind's list is the case client-node mangles (it drops metadata.continue): both must page.
    for (const [group, plural, apiVersion, kind] of [['', 'configmaps', 'v1', 'ConfigMap'], ['kyverno.io', 'policies', 'kyverno.io/v1', 'Policy']] as const) {
      const res = lab.kube.api.res(group, plural);
      for (let i = 0; i < 520; i++) lab.kube.api.create(res, 'default', { apiVersion, kind, metadata: { name: `paged-${i}`, namespace: 'default', labels: { set: 'paged' } }, spec: {} }, { internal: true });
      const listed = await kube.list(apiVersion, kind, { labelSelector: 'set=paged' });
      assert.equal(new Set(listed.map((o) => o.metadata.name)).size, 520, `${kind}: every object listed once`);
    }
  });

  it('pauses while /readyz fails and resumes when it recovers', async () => {
    let probes = 0;
    const events: string[] = [];
    const r = await applyObjects(kube, configMaps('pause', 6), {
      concurrency: 2,
      healthEveryMs: 0,
      healthy: async () => ++probes > 3, // unhealthy for the first three probes
      onHealth: (state) => events.push(state),
    });
    assert.equal(r.applied, 6);
    assert.equal(r.pauses, 1);
    assert.deepEqual(events, ['paused', 'resumed']);
    assert.equal(stored('pause'), 6);
  });

  it('stops when /readyz stays unhealthy past the limit, naming how far it got', async () => {
    await assert.rejects(
      applyObjects(kube, configMaps('stop', 5), { concurrency: 1, healthEveryMs: 0, stopAfterMs: 300, healthy: async () => false }),
      (e: unknown) => e instanceof ApplyError && /stopped applying: the API server stayed unhealthy \(\/readyz\) for .* \(0 of 5 objects applied\)/.test(e.message),
    );
    assert.equal(stored('stop'), 0, 'nothing applied while unhealthy');
  });

  it('the lean path keeps the gate: a write outside gate.mutate is refused unsent, a dryRun=All request passes and stores nothing', async () => {
    const [obj] = configMaps('gated', 1);
    const sent = lab.world.counters.requests.k8s;
    await kube.validate(obj!);
    assert.ok(lab.world.counters.requests.k8s > sent, 'the dry-run reached the API server');
    assert.equal(stored('gated'), 0, 'a dry-run stores nothing');
    const lean = new LeanKubeTransport(loadKubeConfig({ kubeconfig: lab.kubeconfig }));
    try {
      const before = lab.world.counters.requests.k8s;
      await assert.rejects(lean.request('PATCH', '/api/v1/namespaces/default/configmaps/gated-0', { query: { fieldManager: 'test' }, body: obj, contentType: 'application/apply-patch+yaml' }), GateViolation);
      assert.equal(lab.world.counters.requests.k8s, before, 'the refused write never reached the API server');
      assert.deepEqual(lean.counts, {});
    } finally {
      lean.close();
    }
    assert.equal(stored('gated'), 0);
  });

  it('the kubeconfig read without client-node reaches the lab (TLS, token): /readyz is ready there, and not ready where nothing answers', async () => {
    const endpoint = leanEndpoint({ kubeconfig: lab.kubeconfig });
    assert.ok(endpoint, "the lab's kubeconfig is plain: read without client-node");
    const deps = { gate: new Gate({ dryRun: false }), log: new MemoryLog() };
    const lean = new ComponentKube(endpoint, deps);
    const nowhere = new ComponentKube({ server: 'https://127.0.0.1:1', connection: endpoint.connection }, deps);
    try {
      const before = lab.world.counters.requests.k8s;
      assert.equal(await lean.readyz(), true);
      assert.ok((await lean.list('v1', 'Namespace')).some((n) => n.metadata.name === 'default'));
      assert.equal(lab.world.counters.requests.k8s, before + 3, '/readyz, discovery and the list reached the lab');
      assert.equal(await nowhere.readyz(), false);
    } finally {
      await lean.close();
      await nowhere.close();
    }
  });

  it('the lean path answers as the typed client: a missing object, a kind the server does not serve, a rejected object', async () => {
    assert.equal(await kube.read({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'absent', namespace: 'default' } }), undefined);
    assert.deepEqual(await kube.list('nope.example.org/v1', 'Nope'), [], 'an unserved kind lists as empty');
    const nope: KObject = { apiVersion: 'nope.example.org/v1', kind: 'Nope', metadata: { name: 'n', namespace: 'default' } };
    await assert.rejects(kube.validate(nope), (e: unknown) => e instanceof ObjectRejectedError && /the API server rejects Nope\/default\/n: .*Nope/.test(e.message) && e.cause instanceof KubeNotFoundError);
    const bad: KObject = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'bad', namespace: 'default' }, spec: { replicas: 'many' } };
    await assert.rejects(kube.validate(bad), (e: unknown) => e instanceof ObjectRejectedError && /the API server rejects Deployment\/default\/bad: /.test(e.message));
  });
});
