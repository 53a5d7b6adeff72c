// Why a handshake was refused, told to the operator: one table of host key verdicts → typed error, message
// and hint. (The handshake itself is tested against real sshd in test/integration/remote/sshd.test.ts.)
import assert from 'node:assert/strict';
import { type Verdict, hostKeyError } from '../../lib/remote/dial.js';
import { HostKeyMismatchError, HostKeyUnknownError } from '../../lib/remote/errors.js';

const offered = { type: 'ssh-ed25519', fingerprint: 'SHA256:offeredFP', blob: Buffer.from('k') };
const ctx = { host: 'web-1', address: '10.0.0.5', port: 2222 };

const rows: [string, Verdict, { cls: typeof HostKeyUnknownError; message: RegExp; hint: RegExp }][] = [
  [
    'unknown host',
    { ok: false, offered, problem: 'unknown' },
    { cls: HostKeyUnknownError, message: /^host key of web-1 \(\[10\.0\.0\.5\]:2222\) is not in \/kh: it offered ssh-ed25519 SHA256:offeredFP; refusing to connect$/, hint: /console log.*\[web-1\]:2222, \[10\.0\.0\.5\]:2222 to \/kh/ },
  ],
  [
    'changed key',
    { ok: false, offered, problem: 'mismatch', known: ['ssh-ed25519 SHA256:old (/kh:3)'] },
    { cls: HostKeyMismatchError, message: /CHANGED: it offered ssh-ed25519 SHA256:offeredFP but \/kh has ssh-ed25519 SHA256:old \(\/kh:3\)/, hint: /ssh-keygen -R '\[10\.0\.0\.5\]:2222' -f \/kh.*man-in-the-middle/ },
  ],
  ['revoked key', { ok: false, offered, problem: 'revoked' }, { cls: HostKeyMismatchError, message: /is marked @revoked in \/kh/, hint: /rotate its host keys/ }],
  [
    'not a key the console log lists',
    { ok: false, offered, problem: 'console-mismatch', known: ['SHA256:a (ED25519)'] },
    { cls: HostKeyMismatchError, message: /is not one its console log lists: it offered ssh-ed25519 SHA256:offeredFP, the console lists SHA256:a \(ED25519\)/, hint: /something other than the new VM answers/ },
  ],
];

describe('remote/dial: hostKeyError', () => {
  for (const [title, verdict, want] of rows) {
    it(`${title} → ${want.cls.name}`, () => {
      const err = hostKeyError(ctx, '/kh', verdict, ['web-1', '10.0.0.5']);
      assert.equal(err.constructor, want.cls);
      assert.match(err.message, want.message);
      assert.match(String(err.hint), want.hint);
      assert.equal(err.context.offeredFingerprint, 'SHA256:offeredFP');
      assert.equal(err.context.knownHosts, '/kh');
      assert.equal(err.host, 'web-1');
    });
  }
});
