// Batch and threshold planning rules of the fan-out.
import assert from 'node:assert/strict';
import { InputError } from '../../lib/core/errors.js';
import { batchLength, planBatches, requiredSuccesses, thresholdReachable } from '../../lib/remote/plan.js';

const hosts = (n: number): string[] => Array.from({ length: n }, (_, i) => `h${i + 1}`);

describe('remote/plan', () => {
  it('cuts hosts into batches by count, keeping order', () => {
    assert.deepEqual(planBatches(hosts(7), 3), [['h1', 'h2', 'h3'], ['h4', 'h5', 'h6'], ['h7']]);
    assert.deepEqual(planBatches(hosts(3)), [['h1', 'h2', 'h3']]);
    assert.deepEqual(planBatches(hosts(2), 5), [['h1', 'h2']]);
    assert.deepEqual(planBatches([], 2), []);
  });

  it('cuts hosts into batches by percentage, rounding up, at least one', () => {
    assert.equal(batchLength(60, '25%'), 15);
    assert.equal(batchLength(10, '25%'), 3);
    assert.equal(batchLength(3, '1%'), 1);
    assert.equal(batchLength(7, '100%'), 7);
    assert.equal(planBatches(hosts(10), '30%').length, 4);
  });

  it('rejects bad batch sizes', () => {
    for (const bad of [0, -1, 1.5, '0%', '101%', 'x%', '10'] as unknown[]) assert.throws(() => batchLength(10, bad as number), InputError, String(bad));
  });

  it('computes the successes a threshold needs', () => {
    assert.equal(requiredSuccesses(10), 10);
    assert.equal(requiredSuccesses(10, 1), 10);
    assert.equal(requiredSuccesses(10, 0.9), 9);
    assert.equal(requiredSuccesses(10, 0.85), 9, 'rounded up');
    assert.equal(requiredSuccesses(10, 0), 0);
    assert.equal(requiredSuccesses(10, '75%'), 8);
    assert.equal(requiredSuccesses(10, { count: 1 }), 1);
    assert.equal(requiredSuccesses(10, 4), 4, 'an integer above 1 is a count');
    assert.equal(requiredSuccesses(3, 0.3), 1);
  });

  it('rejects thresholds that are malformed or can never be met', () => {
    assert.throws(() => requiredSuccesses(3, 5), InputError);
    assert.throws(() => requiredSuccesses(3, { count: 4 }), InputError);
    assert.throws(() => requiredSuccesses(3, 1.5), InputError);
    assert.throws(() => requiredSuccesses(3, -0.1), InputError);
    assert.throws(() => requiredSuccesses(3, '0%' as `${number}%`), InputError);
  });

  it('tells whether the threshold can still be met', () => {
    assert.ok(thresholdReachable(9, 10, 1));
    assert.ok(!thresholdReachable(9, 10, 2));
    assert.ok(thresholdReachable(0, 10, 10));
  });
});
