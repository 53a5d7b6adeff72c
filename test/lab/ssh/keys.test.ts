import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fingerprintOf, generateEd25519, knownHostsLine, publicBase64Of } from '../../../lab/ssh/keys.js';

describe('lab SSH keys', () => {
  it('always yields whole ed25519 keys (ssh2 alone drops a leading zero byte 1 time in 256)', () => {
    for (let i = 0; i < 1500; i++) {
      const k = generateEd25519('x');
      assert.equal(Buffer.from(k.publicBase64, 'base64').length, 51);
      assert.equal(publicBase64Of(k.privateKey), k.publicBase64);
    }
  });

  it('matches what ssh-keygen derives and prints', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lab-keys-'));
    try {
      const k = generateEd25519('root@h1');
      writeFileSync(join(dir, 'k'), k.privateKey, { mode: 0o600 });
      const pub = execFileSync('ssh-keygen', ['-y', '-f', join(dir, 'k')], { encoding: 'utf8' }).trim();
      assert.equal(pub.split(' ')[1], k.publicBase64);
      writeFileSync(join(dir, 'k.pub'), k.publicLine + '\n');
      const fp = execFileSync('ssh-keygen', ['-l', '-f', join(dir, 'k.pub')], { encoding: 'utf8' });
      assert.equal(fp.trim(), `256 ${k.fingerprintSha256} root@h1 (ED25519)`);
      assert.equal(fingerprintOf(k.publicBase64), k.fingerprintSha256);
      assert.equal(knownHostsLine('127.1.2.3', 2222, k.publicBase64), `[127.1.2.3]:2222 ssh-ed25519 ${k.publicBase64}`);
      assert.equal(knownHostsLine('127.1.2.3', 22, k.publicBase64), `127.1.2.3 ssh-ed25519 ${k.publicBase64}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
