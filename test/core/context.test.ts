// The step contract of the Context: a step declares what it needs, and the runner (not the cookbook) decides
// that a step needing a planned value is planned; each step's changes are its own, also when steps run
// concurrently (a parallel step's planned change must not make another step "planned").
import { strict as assert } from 'node:assert';
import { type StepSpec, Context, EventLog } from '../../lib/core/context.js';
import { systemClock } from '../../lib/core/clock.js';
import { DryRunStop, VerifyError } from '../../lib/core/errors.js';
import { EventBus } from '../../lib/core/events.js';
import { Gate, type Planned, isPlanned } from '../../lib/core/gate.js';
import { Journal } from '../../lib/core/journal.js';
import { cleanupTempDirs, tempDir } from '../helpers/cli.js';

/** A Context as the runner builds it, on a fresh journal; the runner's handles come back alongside. */
function harness(dryRun: boolean): { ctx: Context; gate: Gate; journal: Journal } {
  const journal = Journal.create(tempDir(), { runId: `r-${Math.random().toString(36).slice(2)}`, cookbook: 'test.steps', args: {}, dryRun });
  const gate = new Gate({ dryRun, onChange: (c) => journal.addChange(c) });
  const events = new EventBus();
  const ctx = new Context({
    runId: journal.data.runId,
    cookbook: 'test.steps',
    dryRun,
    yes: true,
    stateDir: tempDir(),
    log: new EventLog(events, false),
    events,
    journal,
    gate,
    signal: new AbortController().signal,
    clock: systemClock,
    prompter: { interactive: false, ask: async () => true },
    clients: {},
  });
  return { ctx, gate, journal };
}

/** A mutation through the gate, as a client makes it. */
const mutate = (gate: Gate, target: string): Promise<true | Planned> => gate.mutate({ system: 'test', target, action: 'change' }, async () => true as const);

interface Row {
  title: string;
  dryRun: boolean;
  /** The value the step needs (omitted: no needs). */
  need?: (gate: Gate) => Promise<unknown>;
  spec: (calls: string[], gate: Gate) => Omit<StepSpec<unknown, [unknown]>, 'needs'>;
  status: 'done' | 'skipped' | 'planned' | 'failed';
  calls: string[];
  /** The step's note must match this. */
  note?: RegExp;
}

const rows: Row[] = [
  {
    title: 'a step needing a planned value is planned; neither check nor apply is called',
    dryRun: true,
    need: (gate) => mutate(gate, 'vm/a'),
    spec: (calls) => ({ check: async () => (calls.push('check'), undefined), apply: async () => (calls.push('apply'), true) }),
    status: 'planned',
    calls: [],
    note: /needs change on vm\/a/,
  },
  {
    title: "onPlannedNeed 'assume': check is skipped, apply runs knowing the need is assumed and plans its own change",
    dryRun: true,
    need: (gate) => mutate(gate, 'node/a'),
    spec: (calls, gate) => ({
      onPlannedNeed: 'assume',
      check: async () => (calls.push('check'), undefined),
      apply: async (_n, run) => (calls.push(`apply assumed=${run.assumed}`), mutate(gate, 'node/a-uncordon')),
    }),
    status: 'planned',
    calls: ['apply assumed=true'],
  },
  {
    title: 'a real run passes the resolved need to check, apply and verify',
    dryRun: false,
    need: async () => 'vm-1',
    spec: (calls) => ({
      check: async (vm) => (calls.push(`check ${String(vm)}`), undefined),
      apply: async (vm, run) => (calls.push(`apply ${String(vm)} assumed=${run.assumed}`), 'ok'),
      verify: async (r, vm) => (calls.push(`verify ${String(r)} ${String(vm)}`), true),
    }),
    status: 'done',
    calls: ['check vm-1', 'apply vm-1 assumed=false', 'verify ok vm-1'],
  },
  {
    title: 'a need that is a performed value in a dry-run does not plan the step',
    dryRun: true,
    need: async () => 'vm-1',
    spec: (calls) => ({ apply: async (vm) => (calls.push(`apply ${String(vm)}`), 'read only') }),
    status: 'done',
    calls: ['apply vm-1'],
  },
  {
    title: 'check finding the desired state skips the step',
    dryRun: false,
    spec: (calls) => ({ check: async () => (calls.push('check'), 'already'), apply: async () => (calls.push('apply'), true) }),
    status: 'skipped',
    calls: ['check'],
  },
  {
    title: 'a dry-run step whose apply plans a change is planned',
    dryRun: true,
    spec: (calls, gate) => ({ apply: async () => (calls.push('apply'), mutate(gate, 'x')).then(() => true) }),
    status: 'planned',
    calls: ['apply'],
  },
  {
    title: 'a dry-run stop inside apply plans the step with its reason',
    dryRun: true,
    spec: () => ({
      apply: async () => {
        throw new DryRunStop('would wait for node x to register');
      },
    }),
    status: 'planned',
    calls: [],
    note: /would wait for node x to register/,
  },
  {
    title: 'verify returning false fails the step',
    dryRun: false,
    spec: (calls) => ({ apply: async () => (calls.push('apply'), true), verify: async () => (calls.push('verify'), false) }),
    status: 'failed',
    calls: ['apply', 'verify'],
  },
];

describe('Context.step: declared needs and per-step changes', () => {
  after(cleanupTempDirs);

  for (const row of rows) {
    it(row.title, async () => {
      const { ctx, gate, journal } = harness(row.dryRun);
      const calls: string[] = [];
      const needs = row.need ? [await row.need(gate)] : undefined;
      const spec = { ...row.spec(calls, gate), ...(needs ? { needs } : {}) } as StepSpec<unknown, [unknown]>;
      const outcome = await ctx.step('the step', spec).then(
        (r) => ({ r }),
        (err: unknown) => ({ err }),
      );
      const recorded = journal.data.steps.at(-1)!;
      assert.equal(recorded.status, row.status, `journal: ${JSON.stringify(recorded)}`);
      assert.deepEqual(calls, row.calls);
      if (row.note) assert.match(recorded.note ?? '', row.note);
      if (row.status === 'planned') assert.ok('r' in outcome && isPlanned(outcome.r), 'a planned step returns a Planned value');
      if (row.status === 'failed') assert.ok('err' in outcome && outcome.err instanceof VerifyError);
    });
  }

  it('two concurrent dry-run steps: the one that planned a change is planned, the other (finishing after it) is done', async () => {
    const { ctx, gate, journal } = harness(true);
    let changed!: () => void;
    const afterChange = new Promise<void>((resolve) => (changed = resolve));
    await Promise.all([
      // Finishes after the other step's change was recorded: a gate-wide counter would call it planned.
      ctx.step('reads only', { apply: async () => (await afterChange, 'read') }),
      ctx.step('changes', { apply: async () => ((await mutate(gate, 'y')), changed(), true) }),
    ]);
    const status = Object.fromEntries(journal.data.steps.map((s) => [s.name, s.status]));
    assert.deepEqual(status, { 'reads only': 'done', changes: 'planned' });
    assert.equal(gate.changes.length, 1);
  });

  it("a nested step's change belongs to the enclosing step too", async () => {
    const { ctx, gate, journal } = harness(true);
    await ctx.step('outer', { apply: async () => (await ctx.step('inner', { apply: () => mutate(gate, 'z') }), true) });
    assert.deepEqual(
      journal.data.steps.map((s) => `${s.name}: ${s.status}`),
      ['outer: planned', 'inner: planned'],
    );
  });

  it('keeps the gate and the journal off its public surface', () => {
    const { ctx } = harness(false);
    for (const key of ['gate', 'journal', 'events', 'emit', 'need']) assert.equal((ctx as unknown as Record<string, unknown>)[key], undefined, `ctx.${key}`);
  });
});
