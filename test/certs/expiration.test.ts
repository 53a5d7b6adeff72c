// kubeadm certs check-expiration in its three forms (table before 1.30, -o json and -o yaml from 1.30) read into
// one list: one `it` per row of the table below, plus the version rule and the old kubeadm's refusal of -o.
import { strict as assert } from 'node:assert';
import { checkExpirationCommand, hasStructuredOutput, parseCheckExpiration, parseTableDate, rejectedOutputFlag } from '../../lib/certs/expiration.js';
import { KubeadmCertsOutputError } from '../../lib/certs/errors.js';

const NOW = Date.parse('2025-08-24T09:03:00Z');

// Real kubeadm 1.31 output (tabwriter columns, trailing spaces kept).
const TABLE = `[check-expiration] Reading configuration from the "kubeadm-config" ConfigMap in namespace "kube-system"...
[check-expiration] Use 'kubeadm init phase upload-config --config your-config-file' to re-upload it.

CERTIFICATE                EXPIRES                  RESIDUAL TIME   CERTIFICATE AUTHORITY   EXTERNALLY MANAGED
admin.conf                 Aug 19, 2026 09:03 UTC   360d            ca                      no      
apiserver                  Sep 03, 2025 09:03 UTC   10d             ca                      no      
apiserver-etcd-client      Aug 19, 2026 09:03 UTC   360d            etcd-ca                 no      
!MISSING! front-proxy-client                                                                        
scheduler.conf             Aug 19, 2026 09:03 UTC   360d            ca                      yes     

CERTIFICATE AUTHORITY   EXPIRES                  RESIDUAL TIME   EXTERNALLY MANAGED
ca                      Aug 17, 2035 09:03 UTC   9y              no      
etcd-ca                 Aug 17, 2035 09:03 UTC   9y              yes     
`;

// The shape of output.kubeadm.k8s.io/v1alpha3 CertificateExpirationInfo.
const JSON_OUT = JSON.stringify({
  kind: 'CertificateExpirationInfo',
  apiVersion: 'output.kubeadm.k8s.io/v1alpha3',
  certificates: [
    { name: 'admin.conf', expirationDate: '2026-08-19T09:03:12Z', residualTime: 31103412, externallyManaged: false, caName: 'ca', missing: false },
    { name: 'apiserver', expirationDate: '2025-09-03T09:03:00Z', residualTime: 864000, externallyManaged: false, caName: 'ca', missing: false },
    { name: 'front-proxy-client', expirationDate: null, residualTime: 0, externallyManaged: false, caName: 'front-proxy-ca', missing: true },
  ],
  certificateAuthorities: [{ name: 'ca', expirationDate: '2035-08-17T09:03:12Z', residualTime: 315000000, externallyManaged: false, missing: false }],
});

const YAML_OUT = `apiVersion: output.kubeadm.k8s.io/v1alpha3
certificateAuthorities:
- expirationDate: "2035-08-17T09:03:12Z"
  externallyManaged: false
  missing: false
  name: ca
  residualTime: 315000000
certificates:
- caName: ca
  expirationDate: "2025-09-03T09:03:00Z"
  externallyManaged: false
  missing: false
  name: apiserver
  residualTime: 864000
kind: CertificateExpirationInfo
`;

interface Row {
  title: string;
  stdout: string;
  format: 'json' | 'yaml' | 'text';
  names: string[];
  authorities: string[];
  apiserver: { notAfter: string; residualSeconds: number; caName: string };
  missing: string[];
  externallyManaged: string[];
}

const rows: Row[] = [
  {
    title: 'the table of kubeadm before 1.30 (a !MISSING! row, externally managed yes/no, minute dates)',
    stdout: TABLE,
    format: 'text',
    names: ['admin.conf', 'apiserver', 'apiserver-etcd-client', 'front-proxy-client', 'scheduler.conf'],
    authorities: ['ca', 'etcd-ca'],
    apiserver: { notAfter: '2025-09-03T09:03:00.000Z', residualSeconds: 10 * 86400, caName: 'ca' },
    missing: ['front-proxy-client'],
    externallyManaged: ['scheduler.conf', 'etcd-ca'],
  },
  {
    title: '-o json (v1alpha3), with progress lines before it',
    stdout: `[check-expiration] Reading configuration from the cluster...\n${JSON_OUT}\n`,
    format: 'json',
    names: ['admin.conf', 'apiserver', 'front-proxy-client'],
    authorities: ['ca'],
    apiserver: { notAfter: '2025-09-03T09:03:00.000Z', residualSeconds: 864000, caName: 'ca' },
    missing: ['front-proxy-client'],
    externallyManaged: [],
  },
  {
    title: '-o yaml (v1alpha3)',
    stdout: YAML_OUT,
    format: 'yaml',
    names: ['apiserver'],
    authorities: ['ca'],
    apiserver: { notAfter: '2025-09-03T09:03:00.000Z', residualSeconds: 864000, caName: 'ca' },
    missing: [],
    externallyManaged: [],
  },
];

describe('certs: kubeadm certs check-expiration output', () => {
  for (const row of rows) {
    it(row.title, () => {
      const list = parseCheckExpiration(row.stdout, NOW);
      assert.equal(list.format, row.format);
      assert.deepEqual(list.certificates.map((c) => c.name), row.names);
      assert.deepEqual(list.authorities.map((c) => c.name), row.authorities);
      assert.ok(list.authorities.every((c) => c.authority) && list.certificates.every((c) => !c.authority));
      const api = list.certificates.find((c) => c.name === 'apiserver')!;
      assert.deepEqual({ notAfter: api.notAfter, residualSeconds: api.residualSeconds, caName: api.caName }, row.apiserver);
      const all = [...list.certificates, ...list.authorities];
      assert.deepEqual(all.filter((c) => c.missing).map((c) => c.name), row.missing);
      assert.ok(all.filter((c) => c.missing).every((c) => c.notAfter === null), 'a missing certificate has no date');
      assert.deepEqual(all.filter((c) => c.externallyManaged).map((c) => c.name), row.externallyManaged);
    });
  }

  it('refuses output it cannot read, naming the command and quoting the output', () => {
    for (const bad of ['error: something went wrong\n', '{"kind":"CertificateExpirationInfo"}', '{not json', 'CERTIFICATE   EXPIRES   RESIDUAL TIME   CERTIFICATE AUTHORITY   EXTERNALLY MANAGED\napiserver     tomorrow  1d              ca                      no\n']) {
      assert.throws(() => parseCheckExpiration(bad, NOW), (e: unknown) => e instanceof KubeadmCertsOutputError && /check-expiration/.test(e.message) && typeof e.hint === 'string' && 'output' in e.context, bad);
    }
  });

  it('table dates: kubeadm\'s "Jan 02, 2006 15:04 MST" in UTC', () => {
    assert.equal(parseTableDate('Feb 01, 2026 00:07 UTC'), '2026-02-01T00:07:00.000Z');
    assert.equal(parseTableDate('Dec 31, 2030 23:59 GMT'), '2030-12-31T23:59:00.000Z');
    assert.equal(parseTableDate('soon'), null);
  });

  it('-o json from kubeadm 1.30 on; an older kubeadm refusing -o is recognised', () => {
    assert.deepEqual([hasStructuredOutput('v1.29.9'), hasStructuredOutput('1.30.0'), hasStructuredOutput('v1.33.1'), hasStructuredOutput('2.0.0'), hasStructuredOutput(undefined)], [false, true, true, true, true]);
    assert.deepEqual(checkExpirationCommand(true), ['kubeadm', 'certs', 'check-expiration', '-o', 'json']);
    assert.deepEqual(checkExpirationCommand(false), ['kubeadm', 'certs', 'check-expiration']);
    assert.equal(rejectedOutputFlag("unknown shorthand flag: 'o' in -o\nTo see the stack trace of this error execute with --v=5 or higher"), true);
    assert.equal(rejectedOutputFlag('unknown flag: --output'), true);
    assert.equal(rejectedOutputFlag('error execution phase: open /etc/kubernetes/pki/ca.crt: no such file or directory'), false);
  });
});
