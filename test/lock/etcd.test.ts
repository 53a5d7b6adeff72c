import assert from 'node:assert/strict';
import { InputError } from '../../lib/core/errors.js';
import { LOCK_PREFIX, lockKey, parseHolder } from '../../lib/lock/etcd.js';

describe('etcd lock: keys and holder values', () => {
  it('maps scopes to keys under the lock prefix', () => {
    assert.equal(lockKey('cluster/toolsbeta'), `${LOCK_PREFIX}cluster/toolsbeta`);
    assert.equal(lockKey('tools'), '/cluster-cookbooks/locks/tools');
  });

  it('refuses scopes that would make odd keys', () => {
    for (const bad of ['', '/abs', 'a/../b', 'a//b', 'a/', 'sp ace', 'x\n', '-lead']) {
      assert.throws(() => lockKey(bad), InputError, JSON.stringify(bad));
    }
  });

  it('parses holder JSON and still describes a foreign value', () => {
    const holder = { user: 'u', host: 'h', pid: 7, cookbook: 'k8s.drain', runId: 'r', since: '2025-01-01T00:00:00.000Z' };
    assert.deepEqual(parseHolder(JSON.stringify(holder)), holder);
    const foreign = parseHolder('not json');
    assert.equal(foreign.user, 'unknown');
    assert.match(foreign.cookbook, /foreign value "not json"/);
  });
});
