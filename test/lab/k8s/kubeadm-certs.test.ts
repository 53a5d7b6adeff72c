// kubeadm's formatting of certificate expiry, table-driven: the RESIDUAL TIME column (apimachinery's
// ShortHumanDuration) and the EXPIRES column.
import assert from 'node:assert/strict';
import { kubeadmDate, shortHumanDuration } from '../../../lab/k8s/kubeadm-certs.js';

const S = 1000;
const D = 86400 * S;

describe('lab kubeadm certs: RESIDUAL TIME as ShortHumanDuration', () => {
  const rows: [string, number, string][] = [
    ['long expired', -5 * S, '<invalid>'],
    ['just expired', -1 * S, '0s'],
    ['seconds', 59 * S, '59s'],
    ['minutes', 61 * S, '1m'],
    ['hours', 25 * 60 * 60 * S - D, '1h'],
    ['23 hours', 23.9 * 3600 * S, '23h'],
    ['one day', D, '1d'],
    ['ten days less a moment', 10 * D - 5 * S, '9d'],
    ['a year less a day', 364 * D, '364d'],
    ['a year', 365 * D, '1y'],
    ['ten years', 10 * 365 * D - D, '9y'],
  ];
  for (const [what, ms, want] of rows) it(`${what}: ${want}`, () => assert.equal(shortHumanDuration(ms), want));
});

describe('lab kubeadm certs: EXPIRES', () => {
  const rows: [string, string][] = [
    ['2026-08-19T09:03:59Z', 'Aug 19, 2026 09:03 UTC'],
    ['2027-01-02T00:00:00Z', 'Jan 02, 2027 00:00 UTC'],
  ];
  for (const [iso, want] of rows) it(`${iso}: ${want}`, () => assert.equal(kubeadmDate(new Date(iso)), want));
});
