// The lost-answer check of a Lease write: the stored Lease is ours only with our holder and renew time.
import { strict as assert } from 'node:assert';
import type { V1Lease } from '@kubernetes/client-node';
import { sameLease } from '../../lib/k8s/leases.js';

const lease = (holderIdentity: string | undefined, renewTime: string | Date | undefined): V1Lease => ({ metadata: { name: 'l' }, spec: { holderIdentity, renewTime: renewTime as never } });
const sent = lease('me', '2026-11-30T10:00:00.000Z');

describe('k8s leases: sameLease', () => {
  const rows: [string, V1Lease | undefined, boolean][] = [
    ['no stored lease', undefined, false],
    ['same holder and renew time', lease('me', '2026-11-30T10:00:00.000Z'), true],
    ['same instant, other notation (the API answers with microseconds)', lease('me', '2026-11-30T10:00:00.000000Z'), true],
    ['same instant as a Date', lease('me', new Date('2026-11-30T10:00:00Z')), true],
    ['another holder', lease('you', '2026-11-30T10:00:00.000Z'), false],
    ['our holder, another renew time (an older write of ours)', lease('me', '2026-11-30T09:59:50.000Z'), false],
    ['no renew time', lease('me', undefined), false],
  ];
  for (const [title, stored, ours] of rows) it(`${title} → ${ours ? 'ours' : 'not ours'}`, () => assert.equal(sameLease(stored, sent) === stored && stored !== undefined, ours));
});
