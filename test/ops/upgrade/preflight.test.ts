// The certificate rows k8s.upgrade's preflight reads from `kubeadm certs check-expiration`, table-driven.
import assert from 'node:assert/strict';
import { parseCertExpiry } from '../../../lib/ops/upgrade/preflight.js';

describe('k8s.upgrade preflight: kubeadm certs check-expiration', () => {
  it('reads each certificate and its expiry, skipping headers, CAs without a date and blank lines', () => {
    const text = [
      '[check-expiration] Reading configuration from the cluster...',
      '',
      'CERTIFICATE                EXPIRES                  RESIDUAL TIME   CERTIFICATE AUTHORITY   EXTERNALLY MANAGED',
      'admin.conf                 Dec 01, 2026 09:30 UTC   23h             ca                      no',
      'apiserver                  Nov 30, 2027 10:00 UTC   364d            ca                      no',
      '',
      'CERTIFICATE AUTHORITY   EXPIRES                  RESIDUAL TIME   EXTERNALLY MANAGED',
      'ca                      Nov 28, 2035 10:00 UTC   8y              no',
    ].join('\n');
    const cases: [string, number][] = [
      ['admin.conf', Date.UTC(2026, 11, 1, 9, 30)],
      ['apiserver', Date.UTC(2027, 10, 30, 10, 0)],
      ['ca', Date.UTC(2035, 10, 28, 10, 0)],
    ];
    const got = parseCertExpiry(text);
    assert.deepEqual(got, cases.map(([name, expires]) => ({ name, expires })));
    assert.deepEqual(parseCertExpiry('no table here\n'), []);
  });
});
