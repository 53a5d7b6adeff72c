// The mutation gate: dry-run plans instead of acting; transports refuse mutations outside the gate.
import { strict as assert } from 'node:assert';
import { DryRunStop, GateViolation } from '../../lib/core/errors.js';
import { Gate, assertMayMutate, isPlanned, mayMutate, need } from '../../lib/core/gate.js';

describe('mutation gate', () => {
  it('runs a mutation with a permit and records it', async () => {
    const seen: string[] = [];
    const gate = new Gate({ dryRun: false, onChange: (c) => seen.push(`${c.action} ${c.target} ${c.planned}`) });
    const r = await gate.mutate({ system: 't', target: 'node/a', action: 'cordon' }, async () => {
      assertMayMutate('PATCH /api/v1/nodes/a');
      return 42;
    });
    assert.equal(r, 42);
    assert.deepEqual(seen, ['cordon node/a false']);
  });

  it('in dry-run returns a typed Planned result and never calls the operation', async () => {
    const gate = new Gate({ dryRun: true });
    let called = false;
    const r = await gate.mutate({ system: 't', target: 'node/a', action: 'cordon' }, async () => {
      called = true;
      return 1;
    });
    assert.equal(called, false);
    assert.ok(isPlanned(r));
    assert.equal(r.change.planned, true);
    assert.throws(() => need(r), DryRunStop);
    assert.equal(gate.changes.length, 1);
  });

  it('a transport refuses a mutation outside the gate', async () => {
    assert.equal(mayMutate(), false);
    assert.throws(() => assertMayMutate('DELETE /x'), GateViolation);
    const gate = new Gate({ dryRun: false });
    // A read wrapper gives no permit either.
    await assert.rejects(gate.read(async () => assertMayMutate('POST /y')), GateViolation);
  });

  it('stopIfPlanning stops only in dry-run', () => {
    assert.throws(() => new Gate({ dryRun: true }).stopIfPlanning('node Ready'), /would wait for node Ready/);
    new Gate({ dryRun: false }).stopIfPlanning('node Ready');
  });
});
