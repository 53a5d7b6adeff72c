// Parsing cloud-init's host key blocks out of realistic console logs (prefixes, CRLF, repeated boots).
import assert from 'node:assert/strict';
import ssh2 from 'ssh2';
import { consoleVouchesFor, hasAnchors, parseConsoleHostKeys } from '../../lib/remote/console-trust.js';
import { fingerprintMd5, fingerprintSha256 } from '../../lib/remote/known-hosts.js';

function key(): { blob: Buffer; b64: string; fp: string } {
  const [, b64] = ssh2.utils.generateKeyPairSync('ed25519').public.split(' ') as [string, string];
  const blob = Buffer.from(b64, 'base64');
  return { blob, b64, fp: fingerprintSha256(blob) };
}

function consoleLog(fps: string[], keys: string[] = [], prefix = '', eol = '\n'): string {
  return [
    '[    0.000000] Linux version 6.1.0-18-cloud-amd64',
    `${prefix}ci-info: ++++++++++++++++++++Authorized keys+++++++++++++++++++++`,
    `${prefix}#############################################################`,
    `${prefix}-----BEGIN SSH HOST KEY FINGERPRINTS-----`,
    ...fps.map((f, i) => `${prefix}${i === 0 ? 256 : 3072} ${f} root@tb-k8s-worker-7 (${i === 0 ? 'ED25519' : 'RSA'})`),
    `${prefix}-----END SSH HOST KEY FINGERPRINTS-----`,
    `${prefix}#############################################################`,
    ...(keys.length ? [`-----BEGIN SSH HOST KEY KEYS-----`, ...keys.map((k) => `ssh-ed25519 ${k} root@tb-k8s-worker-7`), `-----END SSH HOST KEY KEYS-----`] : []),
    'Cloud-init v. 22.4.2 finished at Tue, 02 Apr 2024 10:00:00 +0000.',
  ].join(eol);
}

describe('remote/console-trust', () => {
  it('reads the fingerprint and key blocks', () => {
    const a = key();
    const parsed = parseConsoleHostKeys(consoleLog([a.fp, 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'], [a.b64]));
    assert.equal(parsed.fingerprints.length, 2);
    assert.deepEqual(parsed.fingerprints[0], { bits: 256, fingerprint: a.fp, comment: 'root@tb-k8s-worker-7', type: 'ED25519' });
    assert.deepEqual(parsed.keys, [{ keyType: 'ssh-ed25519', keyBase64: a.b64 }]);
    assert.ok(consoleVouchesFor(parsed, a.blob));
    assert.ok(!consoleVouchesFor(parsed, key().blob));
  });

  it('copes with console prefixes, timestamps and CRLF', () => {
    const a = key();
    for (const prefix of ['ec2: ', '[   42.118201] cloud-init[812]: ', 'ci-info: ']) {
      const parsed = parseConsoleHostKeys(consoleLog([a.fp], [], prefix, '\r\n'));
      assert.equal(parsed.fingerprints.length, 1, prefix);
      assert.equal(parsed.fingerprints[0]!.fingerprint, a.fp);
      assert.ok(consoleVouchesFor(parsed, a.blob));
    }
    // A prefix whose timestamp changes from line to line.
    const text = [`[   10.1] cloud-init[9]: -----BEGIN SSH HOST KEY FINGERPRINTS-----`, `[   10.2] cloud-init[9]: 256 ${a.fp} root@x (ED25519)`, `[   10.3] cloud-init[9]: -----END SSH HOST KEY FINGERPRINTS-----`].join('\n');
    assert.ok(consoleVouchesFor(parseConsoleHostKeys(text), a.blob));
  });

  it('uses the last complete block when the VM booted more than once', () => {
    const first = key();
    const now = key();
    const text = consoleLog([first.fp]) + '\n[    0.000000] reboot\n' + consoleLog([now.fp]) + '\n-----BEGIN SSH HOST KEY FINGERPRINTS-----\n256 ' + first.fp + ' root@x (ED25519)\n';
    const parsed = parseConsoleHostKeys(text);
    assert.ok(consoleVouchesFor(parsed, now.blob));
    assert.ok(!consoleVouchesFor(parsed, first.blob), 'an older or incomplete block is not used');
  });

  it('accepts legacy MD5 fingerprints and a KEYS-only log', () => {
    const a = key();
    const md5 = fingerprintMd5(a.blob).slice(4);
    assert.ok(consoleVouchesFor(parseConsoleHostKeys(consoleLog([md5])), a.blob));
    const keysOnly = `-----BEGIN SSH HOST KEY KEYS-----\nssh-ed25519 ${a.b64} root@x\n-----END SSH HOST KEY KEYS-----\n`;
    assert.ok(consoleVouchesFor(parseConsoleHostKeys(keysOnly), a.blob));
  });

  it('lets the fingerprint block decide when both blocks are present', () => {
    const listed = key();
    const injected = key();
    const parsed = parseConsoleHostKeys(consoleLog([listed.fp], [injected.b64]));
    assert.ok(!consoleVouchesFor(parsed, injected.blob));
  });

  it('finds no anchors in a log without the blocks', () => {
    const parsed = parseConsoleHostKeys('[    0.000000] Linux version\nlogin: ');
    assert.ok(!hasAnchors(parsed));
    assert.ok(!consoleVouchesFor(parsed, key().blob));
  });
});
