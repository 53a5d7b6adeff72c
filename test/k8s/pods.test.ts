// Pod facts shared by drain, rollout facts and blockers: one table of inputs → verdicts per function.
import { strict as assert } from 'node:assert';
import type { V1LabelSelector, V1Pod } from '@kubernetes/client-node';
import { type LabelSelector, matchesSelector, podFinished, podKey, requirementsOf } from '../../lib/k8s/pods.js';

const pod = (phase: string | undefined, namespace?: string, name?: string): V1Pod => ({ metadata: { namespace, name }, status: phase ? { phase } : undefined });

describe('k8s pods: podFinished', () => {
  const rows: [string | undefined, boolean][] = [
    ['Succeeded', true],
    ['Failed', true],
    ['Running', false],
    ['Pending', false],
    ['Unknown', false],
    [undefined, false],
  ];
  for (const [phase, want] of rows) it(`phase ${phase ?? '(none)'} → ${want}`, () => assert.equal(podFinished(pod(phase)), want));
});

describe('k8s pods: podKey', () => {
  const rows: [string | undefined, string | undefined, string][] = [
    ['ns', 'web', 'ns/web'],
    [undefined, 'web', 'default/web'],
    ['ns', undefined, 'ns/?'],
  ];
  for (const [ns, name, want] of rows) it(`${ns}/${name} → ${want}`, () => assert.equal(podKey(pod('Running', ns, name)), want));
});

describe('k8s pods: matchesSelector (API form, as PDBs carry it)', () => {
  const rows: [string, V1LabelSelector | undefined, Record<string, string> | undefined, boolean][] = [
    ['matchLabels equal', { matchLabels: { app: 'web' } }, { app: 'web', x: 'y' }, true],
    ['matchLabels differ', { matchLabels: { app: 'web' } }, { app: 'db' }, false],
    ['matchLabels missing', { matchLabels: { app: 'web' } }, undefined, false],
    ['In holds', { matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }] }, { tier: 'b' }, true],
    ['In on a missing label', { matchExpressions: [{ key: 'tier', operator: 'In', values: ['a'] }] }, {}, false],
    ['NotIn on a missing label', { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['a'] }] }, {}, true],
    ['NotIn on a listed value', { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['a'] }] }, { tier: 'a' }, false],
    ['Exists', { matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, { tier: '' }, true],
    ['DoesNotExist on a present label', { matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] }, { tier: 'b' }, false],
    ['unknown operator matches nothing', { matchExpressions: [{ key: 'tier', operator: 'Near' }] }, { tier: 'b' }, false],
    ['labels and expressions both required', { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, { app: 'web' }, false],
    ['an empty selector selects every pod', {}, { any: 'thing' }, true],
    ['no selector selects nothing', undefined, { any: 'thing' }, false],
  ];
  for (const [title, sel, labels, want] of rows) it(`${title} → ${want}`, () => assert.equal(matchesSelector(sel, labels), want));
});

describe('k8s pods: matchesSelector (parsed form, as --block-on-pod gives it)', () => {
  const sel = (...requirements: LabelSelector['requirements']): LabelSelector => ({ text: 't', requirements });
  const rows: [string, LabelSelector, Record<string, string>, boolean][] = [
    ['= holds', sel({ key: 'app', op: '=', value: 'web' }), { app: 'web' }, true],
    ['!= on a missing label', sel({ key: 'app', op: '!=', value: 'web' }), {}, true],
    ['!= on the value', sel({ key: 'app', op: '!=', value: 'web' }), { app: 'web' }, false],
    ['in', sel({ key: 'env', op: 'in', values: ['a', 'b'] }), { env: 'c' }, false],
    ['notin', sel({ key: 'env', op: 'notin', values: ['a', 'b'] }), { env: 'c' }, true],
    ['!exists', sel({ key: 'legacy', op: '!exists' }), { legacy: 'x' }, false],
    ['every requirement', sel({ key: 'app', op: '=', value: 'web' }, { key: 'backup', op: 'exists' }), { app: 'web' }, false],
  ];
  for (const [title, s, labels, want] of rows) it(`${title} → ${want}`, () => assert.equal(matchesSelector(s, labels), want));
});

describe('k8s pods: requirementsOf', () => {
  it('turns matchLabels and matchExpressions into requirements, in that order', () =>
    assert.deepEqual(requirementsOf({ matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['db'] }, { key: 'x', operator: 'DoesNotExist' }] }), [
      { key: 'app', op: '=', value: 'web' },
      { key: 'tier', op: 'notin', values: ['db'] },
      { key: 'x', op: '!exists' },
    ]));
});
