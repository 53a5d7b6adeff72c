// The component client's kubeconfig reader without client-node (lib/k8s/lean-config.ts): plain credentials are
// read as client-node reads them (CA and client certificate from data or from files relative to the kubeconfig,
// bearer token, basic auth; secrets registered for redaction); anything else is left to client-node (undefined).
import { strict as assert } from 'node:assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { redactText } from '../../lib/core/redact.js';
import { leanEndpoint } from '../../lib/k8s/lean-config.js';
import { cleanupTempDirs, tempDir } from '../helpers/cli.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

/** A kubeconfig with one context `c` (cluster `k`, user `u`), written to a fresh directory. */
function kubeconfig(cluster: Record<string, unknown>, user: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  const dir = tempDir();
  const file = join(dir, 'config');
  writeFileSync(file, stringify({ apiVersion: 'v1', kind: 'Config', clusters: [{ name: 'k', cluster }], users: [{ name: 'u', user }], contexts: [{ name: 'c', context: { cluster: 'k', user: 'u' } }], 'current-context': 'c', ...extra }));
  return file;
}

describe('component client: kubeconfig without client-node', () => {
  after(cleanupTempDirs);

  it('reads a CA, a bearer token and the server; the token is registered as a secret', async () => {
    const token = 'lean-config-test-token-0123456789';
    const e = leanEndpoint({ kubeconfig: kubeconfig({ server: 'https://127.0.0.9:6443', 'certificate-authority-data': b64('CA PEM') }, { token }) });
    assert.ok(e, 'read without client-node');
    assert.equal(e.server, 'https://127.0.0.9:6443');
    const c = await e.connection();
    assert.equal(String(c.tls.ca), 'CA PEM');
    assert.equal(c.headers.Authorization, `Bearer ${token}`);
    assert.equal(redactText(`token ${token}`).includes(token), false);
  });

  it('reads a client certificate and key from files relative to the kubeconfig, and basic auth', async () => {
    const file = kubeconfig({ server: 'https://127.0.0.9:6443', 'insecure-skip-tls-verify': true }, { 'client-certificate': 'pki/cert.pem', 'client-key': 'pki/key.pem', username: 'admin', password: 'lean-basic-secret' });
    mkdirSync(join(file, '..', 'pki'));
    writeFileSync(join(file, '..', 'pki', 'cert.pem'), 'CERT');
    writeFileSync(join(file, '..', 'pki', 'key.pem'), 'KEY');
    const c = await leanEndpoint({ kubeconfig: file })!.connection();
    assert.equal(String(c.tls.cert), 'CERT');
    assert.equal(String(c.tls.key), 'KEY');
    assert.equal(c.tls.rejectUnauthorized, false);
    assert.equal(c.headers.Authorization, `Basic ${b64('admin:lean-basic-secret')}`);
  });

  it('a named context wins over current-context', () => {
    const file = kubeconfig({ server: 'https://127.0.0.9:6443' }, { token: 'x-token-1234' }, { 'current-context': 'missing' });
    assert.equal(leanEndpoint({ kubeconfig: file }), undefined, 'the current context does not exist');
    assert.equal(leanEndpoint({ kubeconfig: file, context: 'c' })?.server, 'https://127.0.0.9:6443');
  });

  describe('left to client-node (undefined)', () => {
    const cases: [string, () => string | undefined, string?][] = [
      ['an exec credential plugin', () => kubeconfig({ server: 'https://h:6443' }, { exec: { command: 'get-token', apiVersion: 'client.authentication.k8s.io/v1' } })],
      ['an auth provider (OIDC)', () => kubeconfig({ server: 'https://h:6443' }, { 'auth-provider': { name: 'oidc' } })],
      ['a proxy', () => kubeconfig({ server: 'https://h:6443', 'proxy-url': 'http://proxy:3128' }, { token: 't-123456' })],
      ['a TLS server name', () => kubeconfig({ server: 'https://h:6443', 'tls-server-name': 'api' }, { token: 't-123456' })],
      ['a plain http server', () => kubeconfig({ server: 'http://h:8080' }, { token: 't-123456' })],
      ['a CA file that cannot be read', () => kubeconfig({ server: 'https://h:6443', 'certificate-authority': 'nope.pem' }, { token: 't-123456' })],
      ['a missing file', () => join(tempDir(), 'absent')],
      ['not YAML', () => {
        const f = join(tempDir(), 'config');
        writeFileSync(f, 'clusters: [oops');
        return f;
      }],
    ];
    for (const [title, file] of cases) it(title, () => assert.equal(leanEndpoint({ kubeconfig: file() }), undefined));

    it('several KUBECONFIG files (client-node merges them)', () => {
      const saved = process.env.KUBECONFIG;
      try {
        const file = kubeconfig({ server: 'https://h:6443' }, { token: 't-123456' });
        process.env.KUBECONFIG = `${file}:${file}`;
        assert.equal(leanEndpoint({}), undefined);
        process.env.KUBECONFIG = file;
        assert.equal(leanEndpoint({})?.server, 'https://h:6443');
      } finally {
        if (saved === undefined) delete process.env.KUBECONFIG;
        else process.env.KUBECONFIG = saved;
      }
    });
  });
});
