// Pure Node helpers: readiness, boot id, cordon ownership and the label/taint plans, one table per function.
import { strict as assert } from 'node:assert';
import type { V1Node, V1Taint } from '@kubernetes/client-node';
import { CORDON_ANNOTATION, isCordoned, isNodeReady, isUnavailable, mergedTaints, missingLabels, nodeBootId, ourCordon } from '../../lib/k8s/nodes.js';

function node(extra: { ready?: string; unschedulable?: boolean; bootID?: string; annotation?: string; labels?: Record<string, string>; taints?: V1Taint[] } = {}): V1Node {
  return {
    metadata: { name: 'n', labels: extra.labels, annotations: extra.annotation !== undefined ? { [CORDON_ANNOTATION]: extra.annotation } : undefined },
    spec: { unschedulable: extra.unschedulable, taints: extra.taints },
    status: {
      conditions: extra.ready !== undefined ? [{ type: 'MemoryPressure', status: 'False' }, { type: 'Ready', status: extra.ready }] : undefined,
      nodeInfo: extra.bootID !== undefined ? ({ bootID: extra.bootID } as never) : undefined,
    },
  };
}

describe('k8s nodes: readiness and availability', () => {
  const rows: [string, V1Node, { ready: boolean; cordoned: boolean; unavailable: boolean }][] = [
    ['Ready, schedulable', node({ ready: 'True' }), { ready: true, cordoned: false, unavailable: false }],
    ['Ready, cordoned', node({ ready: 'True', unschedulable: true }), { ready: true, cordoned: true, unavailable: true }],
    ['NotReady', node({ ready: 'False' }), { ready: false, cordoned: false, unavailable: true }],
    ['Ready Unknown', node({ ready: 'Unknown' }), { ready: false, cordoned: false, unavailable: true }],
    ['no conditions yet', node(), { ready: false, cordoned: false, unavailable: true }],
  ];
  for (const [title, n, want] of rows) {
    it(`${title} → ready ${want.ready}, cordoned ${want.cordoned}, unavailable ${want.unavailable}`, () => {
      assert.deepEqual({ ready: isNodeReady(n), cordoned: isCordoned(n), unavailable: isUnavailable(n) }, want);
    });
  }
});

describe('k8s nodes: nodeBootId', () => {
  const rows: [string, V1Node, string | undefined][] = [
    ['reported', node({ bootID: 'b1' }), 'b1'],
    ['empty string', node({ bootID: '' }), undefined],
    ['no nodeInfo', node(), undefined],
  ];
  for (const [title, n, want] of rows) it(`${title} → ${want}`, () => assert.equal(nodeBootId(n), want));
});

describe('k8s nodes: ourCordon', () => {
  const rows: [string, V1Node, ReturnType<typeof ourCordon>][] = [
    ['no annotation: not ours', node({ unschedulable: true }), undefined],
    ['our annotation', node({ annotation: JSON.stringify({ runId: 'r', cookbook: 'c', at: 't' }) }), { runId: 'r', cookbook: 'c', at: 't' }],
    ['an unreadable annotation is still ours', node({ annotation: 'not json' }), {}],
  ];
  for (const [title, n, want] of rows) it(title, () => assert.deepEqual(ourCordon(n), want));
});

describe('k8s nodes: missingLabels', () => {
  const rows: [string, Record<string, string> | undefined, Record<string, string>, Record<string, string> | undefined][] = [
    ['all there', { a: '1', b: '2' }, { a: '1' }, undefined],
    ['one missing', { a: '1' }, { a: '1', b: '2' }, { b: '2' }],
    ['one with another value', { a: '0' }, { a: '1' }, { a: '1' }],
    ['node without labels', undefined, { a: '1' }, { a: '1' }],
    ['nothing wanted', { a: '1' }, {}, undefined],
  ];
  for (const [title, have, wanted, want] of rows) it(`${title} → ${JSON.stringify(want)}`, () => assert.deepEqual(missingLabels(node({ labels: have }), wanted), want));
});

describe('k8s nodes: mergedTaints', () => {
  const t = (key: string, effect: string, value?: string): V1Taint => ({ key, effect, value });
  const rows: [string, V1Taint[] | undefined, { key: string; value?: string; effect: string }[], V1Taint[] | undefined][] = [
    ['already carried', [t('role', 'NoSchedule', 'ingress')], [t('role', 'NoSchedule', 'ingress')], undefined],
    ['added to none', undefined, [t('role', 'NoSchedule', 'ingress')], [t('role', 'NoSchedule', 'ingress')]],
    ['others kept', [t('other', 'NoExecute')], [t('role', 'NoSchedule')], [t('other', 'NoExecute'), t('role', 'NoSchedule')]],
    ['same key and effect replaced', [t('role', 'NoSchedule', 'old')], [t('role', 'NoSchedule', 'new')], [t('role', 'NoSchedule', 'new')]],
    ['same key, other effect kept', [t('role', 'NoExecute', 'x')], [t('role', 'NoSchedule', 'x')], [t('role', 'NoExecute', 'x'), t('role', 'NoSchedule', 'x')]],
    ['no value equals an empty value', [t('role', 'NoSchedule', '')], [t('role', 'NoSchedule')], undefined],
  ];
  for (const [title, have, wanted, want] of rows) it(title, () => assert.deepEqual(mergedTaints(node({ taints: have }), wanted), want));
});
