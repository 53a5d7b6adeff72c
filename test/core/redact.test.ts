// Redaction: registered values and secret shapes are masked in text and in nested values.
import { strict as assert } from 'node:assert';
import { REDACTED, clearSecrets, redactText, redactValue, registerSecret } from '../../lib/core/redact.js';

describe('redaction', () => {
  afterEach(clearSecrets);

  it('masks registered secret values wherever they appear', () => {
    registerSecret('s3cr3t-value');
    assert.equal(redactText('x s3cr3t-value y s3cr3t-value'), `x ${REDACTED} y ${REDACTED}`);
  });

  it('masks bearer tokens, private keys, kubeadm tokens and certificate keys', () => {
    const key = `-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----`;
    const text = [
      'Authorization: Bearer eyJhbGciOiJSUzI1NiIs.abc',
      key,
      'kubeadm join 10.0.0.1:6443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash sha256:' + 'f'.repeat(64),
      `--certificate-key ${'0a'.repeat(32)}`,
      'password=hunter2 token: xyz123',
      'https://admin:pa55w0rd@example.org/x',
    ].join('\n');
    const out = redactText(text);
    for (const leaked of ['eyJhbGciOiJSUzI1NiIs', 'MIIEowIBAAKCAQEA', 'abcdef.0123456789abcdef', '0a'.repeat(32), 'hunter2', 'xyz123', 'pa55w0rd']) {
      assert.ok(!out.includes(leaked), leaked);
    }
    assert.ok(out.includes('sha256:' + 'f'.repeat(64)), 'the CA hash is public and stays');
  });

  it('masks values of secret-named keys in nested objects', () => {
    const out = redactValue({ user: 'a', password: 'p', nested: [{ apiToken: 't', certificateKey: 'k' }], ok: true, secretName: '' });
    assert.deepEqual(out, { user: 'a', password: REDACTED, nested: [{ apiToken: REDACTED, certificateKey: REDACTED }], ok: true, secretName: '' });
  });
});
