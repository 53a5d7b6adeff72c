// Exit codes of every typed error (DESIGN section 3), and the rule that exit 2 ("bad input, nothing was
// changed") never follows a change.
import { strict as assert } from 'node:assert';
import * as errors from '../../lib/core/errors.js';
import { CookbookError, ExitCode, exitCodeAfter, exitCodeOf } from '../../lib/core/errors.js';

const EXPECTED: Record<string, number> = {
  CookbookError: 1,
  UsageError: 2,
  InputError: 2,
  UnknownCookbookError: 5,
  CookbookLoadError: 1,
  OperatorAbort: 4,
  InterruptedError: 130,
  LockHeldError: 3,
  LockError: 1,
  TimeoutError: 1,
  VerifyError: 1,
  GateViolation: 1,
  RemoteError: 1,
  KubernetesError: 1,
  OpenStackError: 1,
  AlertingError: 1,
  EtcdError: 1,
  LabError: 1,
  DryRunStop: 1,
};

describe('error exit codes', () => {
  const classes = Object.entries(errors).filter(([, v]) => typeof v === 'function' && (v === CookbookError || (v as { prototype?: unknown }).prototype instanceof CookbookError)) as [
    string,
    new (m: string) => CookbookError,
  ][];

  it('every error class of lib/core/errors.ts has its DESIGN exit code (a new class must be added here)', () => {
    assert.deepEqual(classes.map(([n]) => n).sort(), Object.keys(EXPECTED).sort());
    for (const [name, Cls] of classes) {
      const err = new Cls('x');
      assert.equal(exitCodeOf(err), EXPECTED[name], name);
      assert.equal(err.name, name);
    }
  });

  it("every error class of every system module is typed (a CookbookError) and has a DESIGN exit code; exit 2 only for nothing-changed refusals", async () => {
    const modules = ['k8s/errors.js', 'openstack/errors.js', 'remote/errors.js', 'remote/exec.js', 'alerting/errors.js', 'inventory/load.js', 'ops/rollout/work.js', 'ops/rollout/result.js'];
    // Not InputError/UsageError, yet exit 2: refusals that happen before anything is sent or changed.
    const refusals = new Set(['KubeConfigError', 'NotOurCordonError']);
    const codes = new Set(Object.values(ExitCode));
    let seen = 0;
    for (const m of modules) {
      const mod = (await import(new URL(`../../lib/${m}`, import.meta.url).href)) as Record<string, unknown>;
      for (const [name, value] of Object.entries(mod)) {
        if (typeof value !== 'function' || !/Error$/.test(name) || !(value.prototype instanceof Error)) continue;
        seen++;
        assert.ok(value.prototype instanceof CookbookError, `${m}: ${name} extends CookbookError`);
        // The exit code is a getter on the prototype chain: no constructor arguments needed to read it.
        const code = exitCodeOf(Object.create(value.prototype as object));
        assert.ok(codes.has(code as never), `${name}: exit ${code} is a DESIGN code`);
        if (code === ExitCode.usage) {
          assert.ok(value.prototype instanceof errors.InputError || value.prototype instanceof errors.UsageError || refusals.has(name), `${name} exits 2 but is not an input error`);
        }
      }
    }
    assert.ok(seen >= 20, `found ${seen} error classes`);
  });

  it('anything that is not ours exits 1', () => {
    assert.equal(exitCodeOf(new Error('x')), ExitCode.failed);
    assert.equal(exitCodeOf(Object.assign(new Error('EACCES'), { code: 'EACCES' })), ExitCode.failed);
    assert.equal(exitCodeOf('a string'), ExitCode.failed);
  });

  it('a usage or input error after a change exits 1; other codes are kept', () => {
    assert.equal(exitCodeAfter(new errors.InputError('x'), false), 2);
    assert.equal(exitCodeAfter(new errors.InputError('x'), true), 1);
    assert.equal(exitCodeAfter(new errors.UsageError('x'), true), 1);
    assert.equal(exitCodeAfter(new errors.OperatorAbort('x'), true), 4);
    assert.equal(exitCodeAfter(new errors.LockHeldError('x'), true), 3);
    assert.equal(exitCodeAfter(new errors.InterruptedError('x'), true), 130);
  });
});
