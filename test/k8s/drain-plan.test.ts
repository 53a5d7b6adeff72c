// The pure drain filter chain, pod by pod, in kubectl's order.
import { strict as assert } from 'node:assert';
import type { V1Pod } from '@kubernetes/client-node';
import { classifyPod, defaultDrainFilterOptions, planDrain } from '../../lib/k8s/drain-plan.js';
import { matchesSelector as selectorMatches } from '../../lib/k8s/pods.js';

function pod(name: string, extra: { owner?: string; emptyDir?: boolean; mirror?: boolean; phase?: string; deletedAgoMs?: number } = {}): V1Pod {
  const [kind, owner] = extra.owner?.split('/') ?? [];
  return {
    metadata: {
      name,
      namespace: 'ns',
      uid: `uid-${name}`,
      ownerReferences: kind ? [{ apiVersion: 'apps/v1', kind: kind!, name: owner!, uid: 'o', controller: true }] : undefined,
      annotations: extra.mirror ? { 'kubernetes.io/config.mirror': 'abc' } : undefined,
      deletionTimestamp: extra.deletedAgoMs !== undefined ? new Date(1_000_000 - extra.deletedAgoMs) : undefined,
    },
    spec: { containers: [], volumes: extra.emptyDir ? [{ name: 'tmp', emptyDir: {} }] : [] },
    status: { phase: extra.phase ?? 'Running' },
  };
}

const facts = { daemonSetExists: (_ns: string, name: string) => name !== 'gone-ds', now: 1_000_000 };
const o = defaultDrainFilterOptions;

describe('drain filter chain', () => {
  it('evicts controller-managed pods', () => {
    assert.deepEqual(classifyPod(pod('web', { owner: 'ReplicaSet/web-1' }), o, facts), { action: 'evict' });
    assert.deepEqual(classifyPod(pod('db-0', { owner: 'StatefulSet/db' }), o, facts), { action: 'evict' });
  });

  it('skips DaemonSet pods by default and refuses them without --ignore-daemonsets', () => {
    const ds = pod('calico', { owner: 'DaemonSet/calico' });
    assert.equal(classifyPod(ds, o, facts).action, 'skip');
    const v = classifyPod(ds, { ...o, ignoreDaemonSets: false }, facts);
    assert.equal(v.action, 'refuse');
  });

  it('a pod of a deleted DaemonSet is refused unless forced', () => {
    const ds = pod('orphan', { owner: 'DaemonSet/gone-ds' });
    assert.equal(classifyPod(ds, o, facts).action, 'refuse');
    assert.equal(classifyPod(ds, { ...o, forceUnmanaged: true }, facts).action, 'evict');
  });

  it('skips mirror pods silently', () => {
    const v = classifyPod(pod('kube-apiserver-n1', { mirror: true }), o, facts);
    assert.deepEqual(v, { action: 'skip', reason: 'mirror (static) pod' });
  });

  it('refuses emptyDir pods unless --delete-emptydir-data, then warns', () => {
    const p = pod('cache', { owner: 'ReplicaSet/c', emptyDir: true });
    assert.match((classifyPod(p, o, facts) as { reason: string }).reason, /emptyDir/);
    const v = classifyPod(p, { ...o, deleteEmptyDirData: true }, facts);
    assert.equal(v.action, 'evict');
    assert.match(String((v as { warning?: string }).warning), /local storage/);
  });

  it('refuses unmanaged pods unless forced; finished pods may always go', () => {
    assert.equal(classifyPod(pod('bare'), o, facts).action, 'refuse');
    assert.equal(classifyPod(pod('bare'), { ...o, forceUnmanaged: true }, facts).action, 'evict');
    assert.deepEqual(classifyPod(pod('job-done', { phase: 'Succeeded' }), o, facts), { action: 'evict' });
    assert.deepEqual(classifyPod(pod('tmp-done', { phase: 'Failed', emptyDir: true }), o, facts), { action: 'evict' });
  });

  it('an unmanaged emptyDir pod needs both opt-ins (first objection wins)', () => {
    const p = pod('both', { emptyDir: true });
    assert.match((classifyPod(p, { ...o, forceUnmanaged: true }, facts) as { reason: string }).reason, /emptyDir/);
    assert.match((classifyPod(p, { ...o, deleteEmptyDirData: true }, facts) as { reason: string }).reason, /no controller/);
    assert.equal(classifyPod(p, { ...o, deleteEmptyDirData: true, forceUnmanaged: true }, facts).action, 'evict');
  });

  it('skips pods terminating for longer than the skip timeout', () => {
    const p = pod('stuck', { owner: 'ReplicaSet/x', deletedAgoMs: 60_000 });
    assert.equal(classifyPod(p, o, facts).action, 'evict');
    assert.equal(classifyPod(p, { ...o, skipWaitForDeleteTimeoutSeconds: 30 }, facts).action, 'skip');
  });

  it('planDrain groups pods and collects warnings', () => {
    const plan = planDrain([pod('a', { owner: 'ReplicaSet/r' }), pod('b', { owner: 'DaemonSet/d' }), pod('c'), pod('m', { mirror: true })], o, facts);
    assert.deepEqual(plan.evict.map((p) => p.key), ['ns/a']);
    assert.deepEqual(plan.skip.map((p) => p.key), ['ns/b', 'ns/m']);
    assert.deepEqual(plan.refuse.map((p) => p.key), ['ns/c']);
    assert.deepEqual(plan.warnings, ['ignoring DaemonSet-managed pod ns/b']);
  });

  it('matches PDB selectors', () => {
    assert.ok(selectorMatches({ matchLabels: { app: 'web' } }, { app: 'web', x: 'y' }));
    assert.ok(!selectorMatches({ matchLabels: { app: 'web' } }, { app: 'db' }));
    assert.ok(selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }] }, { tier: 'b' }));
    assert.ok(!selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] }, { tier: 'b' }));
    assert.ok(selectorMatches({}, { any: 'thing' }), 'an empty selector selects every pod');
    assert.ok(!selectorMatches(undefined, { any: 'thing' }));
  });
});
