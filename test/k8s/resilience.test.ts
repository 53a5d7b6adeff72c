// The Kubernetes client under a failing API server (the lab's fault injection): transient errors retried
// with Retry-After and without duplicate writes, a drain whose pod list keeps failing ends with a typed
// error even without a timeout, a drain deadline cancels in-flight evictions without an unhandled rejection,
// dry-run drains report planned pods, and methods declared read never write.
import { strict as assert } from 'node:assert';
import { Gate } from '../../lib/core/gate.js';
import { MemoryLog } from '../../lib/core/log.js';
import { DrainTimeoutError, KubeApiError, type Kube, drainNode, isCordoned, kubeFromFile, planNodeDrain } from '../../lib/k8s/index.js';
import { loadKubeConfig } from '../../lib/k8s/transport.js';
import { cleanupTempDirs } from '../helpers/cli.js';
import { type TestLab, startTestLab } from '../helpers/lab.js';

const by = { runId: 'resilience', cookbook: 'test' };
const drainOpts = { retryMinMs: 50, deleteEmptyDirData: true, forceUnmanaged: true };

describe('k8s client resilience (lab faults)', function () {
  this.timeout(90_000);
  let lab: TestLab;
  before(async () => {
    lab = await startTestLab({ clusterName: 'res', workers: 4, workersNfs: 0, control: 1, ingress: 0, etcd: 0, speed: 50, namespaces: 1 });
  });
  afterEach(() => {
    if (lab) lab.world.faults = {};
  });
  after(async () => {
    await lab?.stop();
    cleanupTempDirs();
  });

  const worker = (n: number): string => `res-k8s-worker-${n}`;
  const client = (log = new MemoryLog(), retry: { timeoutMs: number } = { timeoutMs: 30_000 }, dryRun = false): Kube =>
    kubeFromFile(lab.kubeconfig, { gate: new Gate({ dryRun }), log, retry: { ...retry, backoff: { initialMs: 20, maxMs: 200 } } });

  it('retries 500s and 429s (honouring Retry-After) through cordon, drain, lease and uncordon, writing each change once', async () => {
    const log = new MemoryLog();
    const kube = client(log);
    const node = worker(1);
    const before = lab.counters().k8s_mutations;
    lab.world.faults = { k8sErrorRate: 0.2, k8s429Rate: 0.1 };
    await kube.cordon(node, by);
    const result = await drainNode(kube, node, { ...drainOpts, timeoutMs: 60_000 });
    const lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'resilience', namespace: 'kube-system' }, spec: { holderIdentity: 'me', renewTime: new Date() } };
    await kube.createLease('kube-system', lease as never);
    await kube.uncordon(node);
    lab.world.faults = {};

    assert.ok(result.evicted.length > 0, 'the drain evicted pods');
    assert.equal(isCordoned((await kube.requireNode(node))), false);
    assert.ok((await kube.getLease('kube-system', 'resilience'))?.spec?.holderIdentity === 'me');
    // cordon + one eviction per pod + the lease + uncordon: no write was sent twice.
    assert.equal(lab.counters().k8s_mutations - before, 2 + result.evicted.length + 1, 'each change reached the API exactly once');
    const retries = log.lines.filter((l) => l.level === 'debug' && /^kubernetes: .* failed .*; retry \d+ in/.test(l.message));
    assert.ok(kube.retryCount() > 0 && retries.length === kube.retryCount(), `${kube.retryCount()} retries, ${retries.length} logged`);
    assert.ok(retries.every((l) => /^kubernetes: (GET|PATCH|POST|PUT|DELETE) \/api/.test(l.message)), 'each retry names method and path');
    const throttled = retries.filter((l) => l.fields?.status === 429);
    assert.ok(throttled.length > 0, 'some 429 was retried');
    assert.ok(throttled.every((l) => l.fields?.retryAfterMs === 1000), '429 answers carry Retry-After: 1');
    for (const l of retries.filter((r) => r.fields?.retryAfterMs !== undefined)) {
      assert.ok(Number(l.fields?.delayMs) >= Number(l.fields?.retryAfterMs), `waited ${String(l.fields?.delayMs)} ms, asked ${String(l.fields?.retryAfterMs)}`);
    }
    const token = loadKubeConfig({ kubeconfig: lab.kubeconfig }).getCurrentUser()?.token;
    assert.ok(token && !JSON.stringify(log.lines).includes(token), 'the token never reaches the log');
  });

  it('a drain without timeout whose pod list keeps failing ends with a typed error naming the request', async () => {
    const kube = client(new MemoryLog(), { timeoutMs: 1500 });
    const node = worker(2);
    await kube.cordon(node, by);
    // The drain's plan lists the node's pods once; every later pod list or watch fails.
    lab.world.faults = { k8sPodListFailAfter: 1 };
    const t0 = Date.now();
    const outcome = await Promise.race([
      drainNode(kube, node, { ...drainOpts, timeoutMs: 0 }).then(
        () => 'resolved',
        (e: unknown) => e,
      ),
      new Promise((resolve) => setTimeout(() => resolve('still waiting after 20 s'), 20_000).unref()),
    ]);
    lab.world.faults = {};
    assert.ok(outcome instanceof KubeApiError, String(outcome));
    assert.equal(outcome.status, 500);
    assert.equal(outcome.context.request, 'GET /api/v1/pods');
    assert.match(outcome.message, /LIST pods on node res-k8s-worker-2: .*gave up/);
    assert.ok(outcome.cause instanceof KubeApiError);
    assert.ok(Date.now() - t0 < 10_000, `ended after ${Date.now() - t0} ms`);
    assert.ok(isCordoned(await kube.requireNode(node)), 'the node stays cordoned');
    await kube.uncordon(node);
  });

  it('a drain reaching its deadline with an eviction in flight rejects with DrainTimeoutError on time, with no unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason);
    };
    process.on('unhandledRejection', onUnhandled);
    try {
      const kube = client();
      const node = worker(3);
      await kube.cordon(node, by);
      lab.world.faults = { slowEvictionMs: 4000 };
      const t0 = Date.now();
      const err = await drainNode(kube, node, { ...drainOpts, timeoutMs: 400 }).catch((e: unknown) => e);
      const took = Date.now() - t0;
      assert.ok(err instanceof DrainTimeoutError, String(err));
      assert.match(err.message, /did not finish within 400ms/);
      assert.ok(took < 400 + 1500, `rejected after ${took} ms`);
      assert.ok((err.context.remaining as string[]).length > 0);
      // Rejections nobody handles are reported after the current macrotask: let a few pass.
      for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('a dry-run drain reports the pods it would evict, and none as evicted', async () => {
    const kube = client(new MemoryLog(), { timeoutMs: 30_000 }, true);
    const before = lab.counters().k8s_mutations;
    const r = await drainNode(kube, worker(4), { ...drainOpts, timeoutMs: 10_000 });
    assert.equal(r.planned, true);
    assert.deepEqual(r.evicted, []);
    const onNode = (await kube.listPodsOnNode(worker(4))).filter((p) => !p.metadata?.ownerReferences?.some((o) => o.kind === 'DaemonSet'));
    assert.ok(onNode.length > 0);
    assert.deepEqual([...(r.wouldEvict ?? [])].sort(), onNode.map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`).sort());
    assert.equal(lab.counters().k8s_mutations, before);
  });

  it('every method declared read runs without a single write (writes are declared mutate)', async () => {
    const { Kube: KubeClass } = await import('../../lib/k8s/index.js');
    const kube = client();
    const node = worker(4);
    const pod = (await kube.listPodsOnNode(node)).find((p) => p.metadata?.ownerReferences?.[0]?.kind === 'ReplicaSet')!;
    const ns = pod.metadata!.namespace!;
    const before = lab.counters().k8s_mutations;
    const filter = { ignoreDaemonSets: true, deleteEmptyDirData: true, forceUnmanaged: true, skipWaitForDeleteTimeoutSeconds: 0 };
    const reads: Record<string, () => Promise<unknown> | unknown> = {
      version: () => kube.version(),
      getNode: () => kube.getNode(node),
      requireNode: () => kube.requireNode(node),
      listNodes: () => kube.listNodes(),
      listPodsOnNode: () => kube.listPodsOnNode(node),
      listPodsOnNodeWithVersion: () => kube.listPodsOnNodeWithVersion(node),
      getPod: () => kube.getPod(ns, pod.metadata!.name!),
      daemonSetExists: () => kube.daemonSetExists('kube-system', 'kube-proxy'),
      listPdbs: () => kube.listPdbs(),
      pdbsForPod: () => kube.pdbsForPod(ns, pod.metadata!.name!),
      workloadStatus: async () => kube.workloadStatus(await kube.ownersOf([pod])),
      ownersOf: () => kube.ownersOf([pod]),
      waitWorkloadsReady: async () => kube.waitWorkloadsReady(await kube.ownersOf([pod]), { timeoutMs: 30_000 }),
      waitNodeReady: () => kube.waitNodeReady(node, { timeoutMs: 30_000 }),
      readyz: async () => assert.equal(await kube.readyz(), true),
      readyzCheck: async () => assert.equal((await kube.readyzCheck()).ready, true),
      clusterHealth: () => kube.clusterHealth(),
      getLease: () => kube.getLease('kube-system', 'nothing-here'),
      requestCount: () => kube.requestCount(),
      retryCount: () => kube.retryCount(),
      countRequest: () => kube.countRequest('WATCH'),
      close: () => kube.close(),
    };
    const declared = Object.entries(KubeClass.operations).filter(([, k]) => k === 'read').map(([n]) => n).sort();
    assert.deepEqual(Object.keys(reads).sort(), declared, 'every read method is exercised');
    // A drain's plan is a free function over these reads (drain.ts), and reads only as well.
    assert.ok((await planNodeDrain(kube, node, filter)).evict.length > 0);
    for (const probe of Object.values(reads)) await probe();
    assert.equal(lab.counters().k8s_mutations, before, 'no read method wrote');
    assert.deepEqual(kube.gate.changes, [], 'no read method went through the mutation gate');
  });
});
