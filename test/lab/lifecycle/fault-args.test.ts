// `lab up --fault`: several faults in one option, list faults with their items, and refusals that name the
// fault (table-driven, no lab needed).
import { strict as assert } from 'node:assert';
import { parseFaultArgs } from '../../../lab/cli.js';
import { UsageError } from '../../../lib/core/errors.js';

describe('lab up --fault parsing', () => {
  const accepted: [string[], Record<string, unknown>][] = [
    [['k8sErrorRate=0.2'], { k8sErrorRate: 0.2 }],
    [['k8sErrorRate=0.2,k8s429Rate=0.1,openstackErrorRate=0.2'], { k8sErrorRate: 0.2, k8s429Rate: 0.1, openstackErrorRate: 0.2 }],
    [['k8sErrorRate=0.2', 'slowEvictionMs=500'], { k8sErrorRate: 0.2, slowEvictionMs: 500 }],
    [['hostsNeverReturn=a,b,k8sErrorRate=0.5'], { hostsNeverReturn: ['a', 'b'], k8sErrorRate: 0.5 }],
    [['k8sPodListFailAfter=3,stuckPods=ns/p'], { k8sPodListFailAfter: 3, stuckPods: ['ns/p'] }],
    [['upgradeHealthJobTimeout=1'], { upgradeHealthJobTimeout: 1 }],
    [['upgradeStaticPodStuck=c-1,c-2,k8sErrorRate=0.1'], { upgradeStaticPodStuck: ['c-1', 'c-2'], k8sErrorRate: 0.1 }],
  ];
  for (const [args, want] of accepted) {
    it(`accepts ${args.join(' ')}`, () => {
      assert.deepEqual({ ...parseFaultArgs(args) }, want);
    });
  }

  const refused: [string[], RegExp][] = [
    [['k8sErrorRate'], /expects KEY=VALUE, got "k8sErrorRate"/],
    [['k8sErrorRate=0.2,0.3'], /expects KEY=VALUE/],
    [['=0.2'], /expects KEY=VALUE/],
    [['k8sErrorRate='], /fault "k8sErrorRate" must be a non-negative number/],
    [['k8sErrorRate=2'], /fraction between 0 and 1/],
    [['noSuchFault=1'], /unknown fault "noSuchFault"/],
  ];
  for (const [args, message] of refused) {
    it(`refuses ${args.join(' ')}`, () => {
      assert.throws(() => parseFaultArgs(args), (err: unknown) => err instanceof UsageError && message.test(err.message));
    });
  }
});
