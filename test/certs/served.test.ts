// The served certificate read by a real TLS handshake (a node:https server on 127.0.0.1 with openssl-made
// certificates), the /readyz probe, X.509 facts of PEM files, and the findings of a check (pure, one row each).
import { strict as assert } from 'node:assert';
import { type Server, createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { ServedCertError } from '../../lib/certs/errors.js';
import { probeEndpoint, servedCertificate } from '../../lib/certs/served.js';
import { type NodeCerts, SERVED, findingsOf, renderCheck } from '../../lib/certs/report.js';
import { certFacts, daysLeft, normalizeSerial, parsePemCertificates } from '../../lib/certs/x509.js';
import { type TestPki, makePki } from './pki.js';

const DAY = 86_400_000;

describe('certs: the served certificate (TLS handshake) and the check findings', function () {
  this.timeout(30_000);
  let pki: TestPki;
  let server: Server;
  let port: number;
  let status = 200;
  let leaf: { certPem: string; keyPem: string };

  before(async () => {
    pki = makePki();
    leaf = pki.leaf('127.0.0.1', 10);
    server = createServer({ cert: leaf.certPem, key: leaf.keyPem }, (_req, res) => {
      res.statusCode = status;
      res.end(status === 200 ? 'ok' : 'not ready');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    await new Promise<void>((r) => server?.close(() => r()));
    pki?.dispose();
  });

  it('reads the leaf the server presents: serial, NotAfter and fingerprint equal the PEM file\'s, verified against the CA', async () => {
    const served = await servedCertificate('127.0.0.1', port, { ca: pki.caPem });
    const disk = certFacts(parsePemCertificates(leaf.certPem)[0]!);
    assert.equal(served.fingerprint256, disk.fingerprint256);
    assert.equal(served.serial, disk.serial);
    assert.equal(served.notAfter, disk.notAfter);
    assert.equal(daysLeft(served.notAfter, Date.now()), 9, 'issued for 10 days: 9 whole days left');
    assert.equal(served.trusted, true, served.verifyError);
    assert.equal(served.endpoint, `127.0.0.1:${port}`);
  });

  it('still reports a certificate that does not verify (another CA, or no CA given)', async () => {
    const otherPki = makePki();
    try {
      const served = await servedCertificate('127.0.0.1', port, { ca: otherPki.caPem });
      assert.equal(served.trusted, false);
      assert.match(served.verifyError ?? '', /UNABLE_TO|SELF_SIGNED|LOCAL_ISSUER/);
      assert.equal(served.serial, certFacts(parsePemCertificates(leaf.certPem)[0]!).serial);
    } finally {
      otherPki.dispose();
    }
    assert.equal((await servedCertificate('127.0.0.1', port)).trusted, false);
  });

  it('a closed port is a ServedCertError naming the endpoint, with a hint', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const p = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    await assert.rejects(servedCertificate('127.0.0.1', p, { timeoutMs: 2000 }), (e: unknown) => e instanceof ServedCertError && e.message.includes(`127.0.0.1:${p}`) && /ECONNREFUSED/.test(e.message) && !!e.hint);
    const probe = await probeEndpoint('127.0.0.1', p, { timeoutMs: 2000 });
    assert.equal(probe.readyz, undefined);
    assert.equal(probe.error, 'ECONNREFUSED');
  });

  it('the /readyz probe returns the status and the certificate of the same connection', async () => {
    status = 500;
    const down = await probeEndpoint('127.0.0.1', port, { ca: pki.caPem });
    assert.equal(down.readyz, 500);
    status = 200;
    const up = await probeEndpoint('127.0.0.1', port, { ca: pki.caPem });
    assert.equal(up.readyz, 200);
    assert.equal(up.served?.fingerprint256, certFacts(parsePemCertificates(leaf.certPem)[0]!).fingerprint256);
    assert.equal(up.served?.trusted, true);
  });

  it('PEM bundles: every certificate in order, keys skipped; serials compared without padding', () => {
    const certs = parsePemCertificates(`${leaf.keyPem}${leaf.certPem}# comment\n${pki.caPem}`);
    assert.deepEqual(certs.map((c) => certFacts(c).subject), ['CN=kube-apiserver', 'CN=test-ca']);
    assert.deepEqual(certFacts(certs[0]!).sans, ['IP Address:127.0.0.1', 'DNS:localhost']);
    assert.equal(normalizeSerial('00:0a:FF'), 'AFF');
    assert.equal(normalizeSerial('0'), '0');
    assert.throws(() => parsePemCertificates('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', 'apiserver.crt'), /apiserver.crt: certificate 1/);
  });

  describe('findings', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    const facts = (serial: string, days: number) => ({ subject: 'CN=kube-apiserver', issuer: 'CN=kubernetes', serial, notBefore: new Date(now - DAY).toISOString(), notAfter: new Date(now + days * DAY).toISOString(), fingerprint256: `FP:${serial}`, sans: [] });
    const kubeadm = (days: number, extra: Partial<{ missing: boolean }> = {}) => ({
      format: 'json' as const,
      certificates: [{ name: 'apiserver', notAfter: extra.missing ? null : new Date(now + days * DAY).toISOString(), residualSeconds: days * 86400, caName: 'ca', externallyManaged: false, missing: !!extra.missing, authority: false }],
      authorities: [{ name: 'ca', notAfter: new Date(now + 3000 * DAY).toISOString(), residualSeconds: 0, caName: '', externallyManaged: false, missing: false, authority: true }],
    });
    const node = (n: Partial<NodeCerts>): NodeCerts => ({ node: 'c1', endpoint: '127.0.1.1:6443', errors: [], ...n });
    const rows: { title: string; nodes: NodeCerts[]; expect: [string, string, boolean][] }[] = [
      { title: 'all far from expiry, served = disk: nothing', nodes: [node({ kubeadm: kubeadm(300), disk: facts('A', 300), served: { ...facts('A', 300), endpoint: 'e', trusted: true } })], expect: [] },
      {
        title: 'served certificate within the window: expiring, fails, names the node',
        nodes: [node({ kubeadm: kubeadm(300), disk: facts('A', 300), served: { ...facts('A', 10), fingerprint256: 'FP:A', endpoint: 'e', trusted: true } })],
        expect: [[SERVED, 'expiring', true]],
      },
      {
        title: 'renewed on disk, old one served: differs (a warning) and the served one expiring (fails)',
        nodes: [node({ kubeadm: kubeadm(365), disk: facts('B', 365), served: { ...facts('A', 10), endpoint: 'e', trusted: true } })],
        expect: [[SERVED, 'expiring', true], [SERVED, 'served-differs', false]],
      },
      { title: 'expired on disk', nodes: [node({ kubeadm: kubeadm(-1), disk: facts('A', -1), served: { ...facts('A', -1), endpoint: 'e', trusted: false, verifyError: 'CERT_HAS_EXPIRED' } })], expect: [[SERVED, 'expired', true], ['apiserver', 'expired', true]] },
      { title: 'missing file', nodes: [node({ kubeadm: kubeadm(0, { missing: true }) })], expect: [['apiserver', 'missing', true]] },
      { title: 'an unreachable node fails the check', nodes: [node({ errors: ['no certificate from 127.0.1.1:6443: ECONNREFUSED'] })], expect: [['-', 'unreadable', true]] },
      { title: 'not verifiable against the CA, not expired: a warning', nodes: [node({ served: { ...facts('A', 300), endpoint: 'e', trusted: false, verifyError: 'ERR_TLS_CERT_ALTNAME_INVALID' } })], expect: [[SERVED, 'untrusted', false]] },
    ];
    for (const row of rows) {
      it(row.title, () => {
        const found = findingsOf(row.nodes, now, 30);
        assert.deepEqual(found.map((f) => [f.certificate, f.kind, f.fails]), row.expect);
        for (const f of found) assert.ok(f.message.startsWith('c1: '), f.message);
        const text = renderCheck(row.nodes, found, now, 30);
        if (found.some((f) => f.fails)) assert.match(text, /problem\(s\) \(warning window 30 days\)/);
        else assert.match(text, /OK: no certificate expires within 30 days/);
      });
    }
  });
});
