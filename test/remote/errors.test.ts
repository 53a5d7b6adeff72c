// Remote errors say where and why: one table of socket/handshake failures → the unreachable reason, and how a
// host is named in messages; commands and paths in the context are redacted.
import assert from 'node:assert/strict';
import { registerSecret } from '../../lib/core/redact.js';
import { HostUnreachableError, RemoteCommandError, type RemoteErrorContext } from '../../lib/remote/errors.js';

const coded = (code: string | undefined, level?: string, message = 'low-level failure'): Error => Object.assign(new Error(message), { code, level });

describe('remote errors: HostUnreachableError.from', () => {
  const rows: [string, unknown, string, string][] = [
    ['refused', coded('ECONNREFUSED'), 'connection refused', 'ECONNREFUSED'],
    ['handshake timeout (ssh2)', coded(undefined, 'client-timeout'), 'no SSH handshake within 1500 ms', 'client-timeout'],
    ['TCP timeout', coded('ETIMEDOUT'), 'no SSH handshake within 1500 ms', 'ETIMEDOUT'],
    ['unknown name', coded('ENOTFOUND'), 'name does not resolve', 'ENOTFOUND'],
    ['DNS not answering', coded('EAI_AGAIN'), 'name does not resolve', 'EAI_AGAIN'],
    ['anything else: its message', coded('EHOSTUNREACH', undefined, 'connect EHOSTUNREACH'), 'connect EHOSTUNREACH', 'EHOSTUNREACH'],
    ['not an Error', 'weird', 'weird', 'error'],
  ];
  for (const [title, cause, reason, code] of rows) {
    it(`${title} → ${reason}`, () => {
      const err = HostUnreachableError.from({ host: 'w1', address: '10.0.0.1', port: 22 }, cause, 1500);
      assert.equal(err.message, `cannot reach w1 (10.0.0.1:22) over SSH: ${reason}`);
      assert.equal(err.context.reason, code);
      assert.equal(err.cause, cause);
      assert.match(String(err.hint), /sshd listens/);
    });
  }
});

describe('remote errors: where a host is', () => {
  const rows: [string, RemoteErrorContext, string][] = [
    ['a name with its address', { host: 'w1', address: '10.0.0.1', port: 2222 }, 'w1 (10.0.0.1:2222)'],
    ['an address given as host, default port', { host: '10.0.0.1', address: '10.0.0.1', port: 22 }, '10.0.0.1'],
    ['an address given as host, other port', { host: '10.0.0.1', address: '10.0.0.1', port: 2222 }, '10.0.0.1:2222'],
    ['a name not resolved yet', { host: 'w1' }, 'w1'],
  ];
  for (const [title, ctx, want] of rows) it(`${title} → ${want}`, () => assert.equal(HostUnreachableError.from(ctx, coded('ECONNREFUSED')).message, `cannot reach ${want} over SSH: connection refused`));

  it('the command in a context is redacted', () => {
    registerSecret('s3cret-join-token');
    const err = new RemoteCommandError('command on w1 exited with status 1: kubeadm join --token s3cret-join-token', { context: { host: 'w1', command: 'kubeadm join --token s3cret-join-token' } });
    assert.ok(!JSON.stringify(err.context).includes('s3cret-join-token'));
    assert.ok(!err.message.includes('s3cret-join-token'));
    assert.equal(err.host, 'w1');
  });
});
