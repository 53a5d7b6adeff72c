// Failpoint parsing (the crash tests of cookbooks rely on it).
import { strict as assert } from 'node:assert';
import { parseFailpoints } from '../../lib/core/failpoints.js';

describe('failpoints', () => {
  it('parses actions, wildcards and arguments', () => {
    const fps = parseFailpoints('kill-after:join node *;sleep-in:step 2=1500;garbage;fail-in:cordon x');
    assert.deepEqual(fps.map((f) => f.action), ['kill-after', 'sleep-in', 'fail-in']);
    assert.ok(fps[0]!.pattern.test('join node tools-k8s-worker-9'));
    assert.ok(!fps[0]!.pattern.test('rejoin node a'));
    assert.equal(fps[1]!.arg, '1500');
    assert.ok(fps[2]!.pattern.test('cordon x'));
    assert.deepEqual(parseFailpoints(undefined), []);
  });
});
