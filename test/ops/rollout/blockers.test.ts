// Blockers of a rollout, pure: --block-on-pod selectors parsed and matched against a node's pods, and
// --block-on-alert specs made per node.
import { strict as assert } from 'node:assert';
import type { V1Pod } from '@kubernetes/client-node';
import { UsageError } from '../../../lib/core/errors.js';
import type { Requirement } from '../../../lib/k8s/pods.js';
import { alertSpecFor, parseLabelSelector, perNodeSpec, podBlocker } from '../../../lib/ops/rollout/blockers.js';

describe('rollout blockers: parseLabelSelector', () => {
  const rows: [string, Requirement[]][] = [
    ['app=web', [{ key: 'app', op: '=', value: 'web' }]],
    ['app==web', [{ key: 'app', op: '=', value: 'web' }]],
    ['tier!=db', [{ key: 'tier', op: '!=', value: 'db' }]],
    ['env in (a, b)', [{ key: 'env', op: 'in', values: ['a', 'b'] }]],
    ['env notin (a)', [{ key: 'env', op: 'notin', values: ['a'] }]],
    ['backup', [{ key: 'backup', op: 'exists' }]],
    ['!legacy', [{ key: 'legacy', op: '!exists' }]],
    ['example.org/role=batch,env in (a,b)', [{ key: 'example.org/role', op: '=', value: 'batch' }, { key: 'env', op: 'in', values: ['a', 'b'] }]],
  ];
  for (const [text, requirements] of rows) it(`"${text}"`, () => assert.deepEqual(parseLabelSelector(text), { text, requirements }));

  const bad: [string, RegExp][] = [
    ['', /it is empty/],
    ['app=we b', /cannot read "app=we b"/],
    ['-app=web', /bad key or value in "-app=web"/],
    ['env in (a,-b)', /bad key or value/],
  ];
  for (const [text, why] of bad) {
    it(`refuses "${text}" (exit 2, the option named)`, () =>
      assert.throws(() => parseLabelSelector(text), (err: unknown) => err instanceof UsageError && err.message.startsWith(`--block-on-pod: "${text}" is not a label selector`) && why.test(err.message)));
  }
});

describe('rollout blockers: podBlocker', () => {
  const pod = (name: string, labels: Record<string, string>, phase = 'Running'): V1Pod => ({ metadata: { namespace: 'ns', name, labels }, status: { phase } });
  const backup = parseLabelSelector('app=backup');
  const rows: [string, V1Pod[], string | undefined][] = [
    ['no matching pod', [pod('web-1', { app: 'web' })], undefined],
    ['a running match holds the node', [pod('web-1', { app: 'web' }), pod('backup-1', { app: 'backup' })], 'blocking pod ns/backup-1 (--block-on-pod app=backup)'],
    ['a finished match does not', [pod('backup-1', { app: 'backup' }, 'Succeeded')], undefined],
    ['many matches: three named, then "..."', ['1', '2', '3', '4'].map((i) => pod(`backup-${i}`, { app: 'backup' })), 'blocking pods ns/backup-1, ns/backup-2, ns/backup-3, ... (--block-on-pod app=backup)'],
  ];
  for (const [title, pods, want] of rows) it(title, () => assert.equal(podBlocker(pods, [backup]), want));
});

describe('rollout blockers: alert specs per node', () => {
  const rows: [string, boolean, string][] = [
    ['severity=critical', false, 'severity=critical'],
    ['alertname=NodeDown,instance=~"{node}.*"', true, 'alertname=NodeDown,instance=~"w-1.*"'],
  ];
  for (const [spec, perNode, forW1] of rows) {
    it(`${spec}: per node ${perNode}, for w-1 ${forW1}`, () => {
      assert.equal(perNodeSpec(spec), perNode);
      assert.equal(alertSpecFor(spec, 'w-1'), forW1);
    });
  }
});
