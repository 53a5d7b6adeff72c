// Validation of host names, addresses, resolver answers and jump host specs.
import assert from 'node:assert/strict';
import { InputError } from '../../lib/core/errors.js';
import { knownHostsName, parseJumpHost, validateResolved, validateTarget } from '../../lib/remote/address.js';

describe('remote/address', () => {
  it('accepts DNS labels and IP addresses as targets', () => {
    assert.deepEqual(validateTarget('tb-k8s-worker-1'), { kind: 'name', host: 'tb-k8s-worker-1' });
    assert.deepEqual(validateTarget('127.0.1.7'), { kind: 'address', host: '127.0.1.7' });
    assert.deepEqual(validateTarget('::1'), { kind: 'address', host: '::1' });
  });

  it('rejects anything that could smuggle options or shell text', () => {
    for (const bad of ['', '-oProxyCommand=x', 'a b', 'host;rm', 'UPPER', 'a.b', 'x'.repeat(64), '999.1.1.1', 'h\n', '$(id)']) {
      assert.throws(() => validateTarget(bad), InputError, bad);
    }
  });

  it('validates resolver answers', () => {
    assert.deepEqual(validateResolved('h1', { address: '10.0.0.1', port: 22 }), { host: 'h1', address: '10.0.0.1', port: 22 });
    assert.deepEqual(validateResolved('h1', { address: 'h1.tools.example.org', port: 2222 }).address, 'h1.tools.example.org');
    assert.throws(() => validateResolved('h1', { address: '-oFoo', port: 22 }), InputError);
    assert.throws(() => validateResolved('h1', { address: '10.0.0.1', port: 0 }), InputError);
    assert.throws(() => validateResolved('h1', { address: '10.0.0.1', port: 70000 }), InputError);
  });

  it('parses ProxyJump-style jump hosts', () => {
    assert.deepEqual(parseJumpHost('bastion.example.org'), { host: 'bastion.example.org' });
    assert.deepEqual(parseJumpHost('ops@bastion.example.org'), { user: 'ops', host: 'bastion.example.org' });
    assert.deepEqual(parseJumpHost('ops@203.0.113.7:2222'), { user: 'ops', host: '203.0.113.7', port: 2222 });
    assert.deepEqual(parseJumpHost('[2001:db8::1]:22'), { host: '2001:db8::1', port: 22 });
    for (const bad of ['', 'a,b', 'ops@', '@host', 'Ops Man@h', 'h:0', 'h:99999', 'h:x', '-oProxyCommand=sh', 'h;id']) {
      assert.throws(() => parseJumpHost(bad), InputError, bad);
    }
  });

  it('names hosts like known_hosts does', () => {
    assert.equal(knownHostsName('h1', 22), 'h1');
    assert.equal(knownHostsName('127.0.1.7', 2222), '[127.0.1.7]:2222');
  });
});
