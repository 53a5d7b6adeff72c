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

describe('redaction keeps messages readable', () => {
  afterEach(clearSecrets);

  // Messages the operator must read in full: none of them holds a secret.
  const survive = [
    '--hostname: invalid hostname "../../etc/passwd": must be a DNS label (lowercase letters, digits and "-", at most 63 characters)',
    "invalid hostname '/etc/passwd': must be a DNS label",
    'cannot read /etc/passwd: permission denied',
    'cannot read ./secrets/token: no such file',
    'host tools-k8s-secret-1: unreachable',
    'invalid hostname "tools-k8s-token-2": must be a DNS label',
    'Basic authentication failed for user admin',
    'the API wants Bearer authentication',
    'kubeadm token create failed: exit 1',
    'the join token must be at most 24h old',
    'the token expired; run again',
    'sha256:' + 'f'.repeat(64),
    'node tb-k8s-worker-1.toolsbeta.eqiad1.wikimedia.cloud is Ready',
  ];
  for (const text of survive) {
    it(`keeps: ${text}`, () => {
      assert.equal(redactText(text), text);
    });
  }

  // Secrets in the shapes they take in logs, URLs, JSON and environment dumps: each must go.
  const secrets: [string, string][] = [
    ['password=hunter2x', 'hunter2x'],
    ['OS_PASSWORD=hunter2x', 'hunter2x'],
    ['--password=hunter2x', 'hunter2x'],
    ['{"password": "hunter2x"}', 'hunter2x'],
    ["{'password': 'hunter2x'}", 'hunter2x'],
    ['{"apiKey":"hunter2x"}', 'hunter2x'],
    ['{"privateKey":"hunter2x","user":"a"}', 'hunter2x'],
    ['db_password: hunter2x', 'hunter2x'],
    ['client_secret=hunter2x&grant_type=x', 'hunter2x'],
    ['GET /v1/x?token=hunter2x&limit=5', 'hunter2x'],
    ['api-key: hunter2x', 'hunter2x'],
    ['password: "hunter2x"', 'hunter2x'],
    ['Authorization: Bearer eyJhbGciOiJSUzI1NiIs.abc', 'eyJhbGciOiJSUzI1NiIs'],
    ['authorization: bearer 0123456789abcdef0123', '0123456789abcdef0123'],
    ['Authorization: Basic YWRtaW46aHVudGVyMg==', 'YWRtaW46aHVudGVyMg=='],
    ['X-Auth-Token: gAAAAABhZ2V0b2tlbl9leGFtcGxl', 'gAAAAABhZ2V0b2tlbl9leGFtcGxl'],
    ['https://admin:hunter2x@example.org/x', 'hunter2x'],
    ['kubeadm join --token abcdef.0123456789abcdef', 'abcdef.0123456789abcdef'],
  ];
  for (const [text, secret] of secrets) {
    it(`masks the secret in: ${text}`, () => {
      const out = redactText(text);
      assert.ok(!out.includes(secret), out);
      assert.ok(out.includes(REDACTED), out);
    });
  }
});
