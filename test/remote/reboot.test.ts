// The reboot wait's decisions with a scripted probe: new boot id, never went down, never came back,
// unexpected errors, dry-run.
import assert from 'node:assert/strict';
import { DryRunStop, InputError } from '../../lib/core/errors.js';
import { Gate } from '../../lib/core/gate.js';
import { HostUnreachableError, RebootNeverCameBackError, RebootNeverWentDownError } from '../../lib/remote/errors.js';
import { parseBootId, waitForNewBootId } from '../../lib/remote/reboot.js';

const OLD = '11111111-2222-3333-4444-555555555555';
const NEW = '99999999-2222-3333-4444-555555555555';
const down = (): HostUnreachableError => new HostUnreachableError('cannot reach h1: connection refused', { context: { host: 'h1' } });

function scripted(steps: (string | Error)[]): (t: number) => Promise<string> {
  let i = 0;
  return async () => {
    const s = steps[Math.min(i++, steps.length - 1)]!;
    if (s instanceof Error) throw s;
    return s;
  };
}

const fast = { backoff: { initialMs: 5, maxMs: 10, factor: 1, jitter: 0 }, context: { host: 'h1' }, host: 'h1', previousBootId: OLD };

describe('remote/reboot', () => {
  it('parses boot ids', () => {
    assert.equal(parseBootId(`${OLD}\n`), OLD);
    assert.equal(parseBootId(OLD.toUpperCase()), OLD);
    assert.equal(parseBootId('nope'), undefined);
  });

  it('succeeds only on a new boot id, after old answers and downtime', async () => {
    const r = await waitForNewBootId(scripted([OLD, down(), down(), NEW]), { ...fast, timeoutMs: 2_000 });
    assert.equal(r.bootId, NEW);
    assert.equal(r.attempts, 4);
    assert.ok(r.wentDownAfterMs !== undefined);
  });

  it('throws NeverWentDown when the old boot id answers until the deadline', async () => {
    const err = await waitForNewBootId(scripted([OLD]), { ...fast, timeoutMs: 150 }).catch((e: unknown) => e);
    assert.ok(err instanceof RebootNeverWentDownError, String(err));
    assert.match(err.message, /h1 did not reboot/);
    assert.match(err.message, /never went down/);
    assert.equal(err.context.previousBootId, OLD);
    assert.ok((err.context.elapsedMs as number) >= 150);
    assert.ok(err.hint);
  });

  it('throws NeverCameBack when the host stays unreachable after going down', async () => {
    const err = await waitForNewBootId(scripted([OLD, down()]), { ...fast, timeoutMs: 150 }).catch((e: unknown) => e);
    assert.ok(err instanceof RebootNeverCameBackError, String(err));
    assert.match(err.message, /unreachable since/);
    assert.equal(typeof err.context.unreachableSinceMs, 'number');
  });

  it('calls it NeverWentDown when the host came back with the old boot id', async () => {
    const err = await waitForNewBootId(scripted([down(), OLD]), { ...fast, timeoutMs: 150 }).catch((e: unknown) => e);
    assert.ok(err instanceof RebootNeverWentDownError);
    assert.match(err.message, /came back without rebooting/);
  });

  it('fails at once on errors a reboot does not explain', async () => {
    let probes = 0;
    const probe = scripted([new InputError('bad'), NEW]);
    await assert.rejects(
      waitForNewBootId((t) => (probes++, probe(t)), { ...fast, timeoutMs: 5_000 }),
      InputError,
    );
    assert.equal(probes, 1, 'no second probe: the error ended the wait');
  });

  it('stops planning in dry-run instead of waiting', async () => {
    await assert.rejects(waitForNewBootId(scripted([OLD]), { ...fast, timeoutMs: 5_000, gate: new Gate({ dryRun: true }) }), DryRunStop);
  });
});
