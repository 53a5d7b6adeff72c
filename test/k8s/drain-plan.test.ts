// The pure drain filter chain, kubectl's shape: one table of pods and opt-ins → verdicts, one `it` per row.
// Rows with two objections show the chain's order (deleting, DaemonSet, mirror, emptyDir, unreplicated): the
// first filter that skips or refuses decides, evict warnings accumulate.
import { strict as assert } from 'node:assert';
import type { V1Pod } from '@kubernetes/client-node';
import { type DrainFilterOptions, type PodVerdict, classifyPod, controllerOf, defaultDrainFilterOptions, hasLocalStorage, planDrain } from '../../lib/k8s/drain-plan.js';

interface PodSpec {
  owner?: string;
  emptyDir?: boolean;
  mirror?: boolean;
  phase?: string;
  deletedAgoMs?: number;
}

const NOW = 1_000_000;

function pod(name: string, extra: PodSpec = {}): V1Pod {
  const [kind, owner] = extra.owner?.split('/') ?? [];
  return {
    metadata: {
      name,
      namespace: 'ns',
      uid: `uid-${name}`,
      ownerReferences: kind ? [{ apiVersion: 'apps/v1', kind: kind!, name: owner!, uid: 'o', controller: true }] : undefined,
      annotations: extra.mirror ? { 'kubernetes.io/config.mirror': 'abc' } : undefined,
      deletionTimestamp: extra.deletedAgoMs !== undefined ? new Date(NOW - extra.deletedAgoMs) : undefined,
    },
    spec: { containers: [], volumes: extra.emptyDir ? [{ name: 'tmp', emptyDir: {} }] : [] },
    status: { phase: extra.phase ?? 'Running' },
  };
}

// Every DaemonSet exists except `gone-ds`.
const facts = { daemonSetExists: (_ns: string, name: string) => name !== 'gone-ds', now: NOW };
const o = defaultDrainFilterOptions;

/** The expected verdict: the action, and patterns its reason and warning must match (absent: must be absent). */
interface Want {
  action: PodVerdict['action'];
  reason?: RegExp;
  warning?: RegExp;
}

const rows: [title: string, pod: PodSpec, options: Partial<DrainFilterOptions>, want: Want][] = [
  // Pods a controller recreates go.
  ['ReplicaSet pod', { owner: 'ReplicaSet/web-1' }, {}, { action: 'evict' }],
  ['StatefulSet pod', { owner: 'StatefulSet/db' }, {}, { action: 'evict' }],
  // DaemonSet filter.
  ['DaemonSet pod, default (ignored)', { owner: 'DaemonSet/calico' }, {}, { action: 'skip', reason: /DaemonSet-managed/, warning: /ignoring DaemonSet-managed pod ns\/p/ }],
  ['DaemonSet pod without --ignore-daemonsets', { owner: 'DaemonSet/calico' }, { ignoreDaemonSets: false }, { action: 'refuse', reason: /cannot delete DaemonSet-managed/ }],
  ['pod of a deleted DaemonSet', { owner: 'DaemonSet/gone-ds' }, {}, { action: 'refuse', reason: /DaemonSet gone-ds is gone.*--force-unmanaged/ }],
  ['pod of a deleted DaemonSet, forced', { owner: 'DaemonSet/gone-ds' }, { forceUnmanaged: true }, { action: 'evict', warning: /its DaemonSet gone-ds is gone/ }],
  // Mirror filter.
  ['mirror (static) pod', { mirror: true }, {}, { action: 'skip', reason: /^mirror \(static\) pod$/ }],
  // emptyDir filter.
  ['emptyDir pod', { owner: 'ReplicaSet/c', emptyDir: true }, {}, { action: 'refuse', reason: /emptyDir.*--delete-emptydir-data/ }],
  ['emptyDir pod with --delete-emptydir-data', { owner: 'ReplicaSet/c', emptyDir: true }, { deleteEmptyDirData: true }, { action: 'evict', warning: /with local storage/ }],
  // Unreplicated filter.
  ['pod without controller', {}, {}, { action: 'refuse', reason: /no controller.*--force-unmanaged/ }],
  ['pod without controller, forced', {}, { forceUnmanaged: true }, { action: 'evict', warning: /declares no controller/ }],
  // Finished pods may always go.
  ['finished (Succeeded) pod without controller', { phase: 'Succeeded' }, {}, { action: 'evict' }],
  ['finished (Failed) emptyDir pod without controller', { phase: 'Failed', emptyDir: true }, {}, { action: 'evict' }],
  // Deleting filter (off unless a skip timeout is set).
  ['terminating pod, no skip timeout', { owner: 'ReplicaSet/x', deletedAgoMs: 60_000 }, {}, { action: 'evict' }],
  ['terminating longer than the skip timeout', { owner: 'ReplicaSet/x', deletedAgoMs: 60_000 }, { skipWaitForDeleteTimeoutSeconds: 30 }, { action: 'skip', reason: /longer than the skip timeout/ }],
  ['terminating shorter than the skip timeout', { owner: 'ReplicaSet/x', deletedAgoMs: 10_000 }, { skipWaitForDeleteTimeoutSeconds: 30 }, { action: 'evict' }],
  // Order: the first objection wins.
  ['order: deleting before DaemonSet', { owner: 'DaemonSet/calico', deletedAgoMs: 60_000 }, { ignoreDaemonSets: false, skipWaitForDeleteTimeoutSeconds: 30 }, { action: 'skip', reason: /skip timeout/ }],
  ['order: deleting before unreplicated', { deletedAgoMs: 60_000 }, { skipWaitForDeleteTimeoutSeconds: 30 }, { action: 'skip', reason: /skip timeout/ }],
  ['order: DaemonSet before emptyDir', { owner: 'DaemonSet/calico', emptyDir: true }, {}, { action: 'skip', reason: /DaemonSet-managed/, warning: /ignoring/ }],
  ['order: mirror before emptyDir and unreplicated', { mirror: true, emptyDir: true }, {}, { action: 'skip', reason: /mirror/ }],
  ['order: emptyDir before unreplicated', { emptyDir: true }, { forceUnmanaged: true }, { action: 'refuse', reason: /emptyDir/ }],
  ['order: unreplicated after an allowed emptyDir', { emptyDir: true }, { deleteEmptyDirData: true }, { action: 'refuse', reason: /no controller/ }],
  ['order: both opt-ins, both warnings', { emptyDir: true }, { deleteEmptyDirData: true, forceUnmanaged: true }, { action: 'evict', warning: /local storage.*; .*declares no controller/ }],
];

describe('k8s drain-plan: classifyPod', () => {
  for (const [title, spec, options, want] of rows) {
    it(`${title} → ${want.action}`, () => {
      const v = classifyPod(pod('p', spec), { ...o, ...options }, facts);
      assert.equal(v.action, want.action);
      const reason = 'reason' in v ? v.reason : undefined;
      const warning = 'warning' in v ? v.warning : undefined;
      if (want.reason) assert.match(String(reason), want.reason);
      else assert.equal(reason, undefined);
      if (want.warning) assert.match(String(warning), want.warning);
      else assert.equal(warning, undefined);
    });
  }
});

describe('k8s drain-plan: pod facts', () => {
  const controllers: [string, PodSpec, ReturnType<typeof controllerOf>][] = [
    ['a ReplicaSet', { owner: 'ReplicaSet/web-1' }, { kind: 'ReplicaSet', name: 'web-1' }],
    ['none', {}, undefined],
  ];
  for (const [title, spec, want] of controllers) it(`controllerOf: ${title}`, () => assert.deepEqual(controllerOf(pod('p', spec)), want));
  const storage: [string, V1Pod, boolean][] = [
    ['an emptyDir volume', pod('p', { emptyDir: true }), true],
    ['no volumes', pod('p'), false],
    ['only a configMap volume', { ...pod('p'), spec: { containers: [], volumes: [{ name: 'c', configMap: { name: 'c' } }] } }, false],
  ];
  for (const [title, p, want] of storage) it(`hasLocalStorage: ${title} → ${want}`, () => assert.equal(hasLocalStorage(p), want));
});

describe('k8s drain-plan: planDrain', () => {
  it('groups pods by verdict in input order and collects the warnings to show', () => {
    const plan = planDrain([pod('a', { owner: 'ReplicaSet/r' }), pod('b', { owner: 'DaemonSet/d' }), pod('c'), pod('m', { mirror: true })], o, facts);
    assert.deepEqual(plan.evict.map((p) => p.key), ['ns/a']);
    assert.deepEqual(plan.skip.map((p) => p.key), ['ns/b', 'ns/m']);
    assert.deepEqual(plan.refuse.map((p) => p.key), ['ns/c']);
    assert.deepEqual(plan.warnings, ['ignoring DaemonSet-managed pod ns/b']);
  });
});
