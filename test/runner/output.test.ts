// What the operator reads: one event → one console line, a change and a dry-run problem as one line each, the
// dry-run verdict from problems, failed steps and the ending error. One table per function, one `it` per row.
import { strict as assert } from 'node:assert';
import type { PlanProblem, RunEvent, Verdict } from '../../lib/core/events.js';
import { describeChange, describeProblem, renderEvent, verdictOf } from '../../lib/runner/output.js';

const at = '2026-11-30T10:00:00.000Z';
const change = (action: string, planned: boolean, detail?: Record<string, unknown>) => ({ target: 'tb-k8s-worker-1', action, planned, system: 'remote', at, detail });

describe('runner output: renderEvent', () => {
  const audit = { runId: 'r1', operator: 'ops', host: 'cumin1', cookbook: 'k8s.drain', args: {} };
  const rows: [string, RunEvent, string | undefined][] = [
    ['a run start', { type: 'run.start', dryRun: false, ...audit, cluster: 'tb' }, 'START k8s.drain on tb (run r1) by ops@cumin1'],
    ['a dry-run start with reason, task and resume', { type: 'run.start', dryRun: true, ...audit, reason: 'kernel', taskId: 'T1', resumedFrom: 'r0' }, 'START k8s.drain (run r1) by ops@cumin1 reason: kernel task: T1 [dry-run: nothing will be changed] resuming run r0'],
    ['a run that passed', { type: 'run.end', runId: 'r1', status: 'success', durationMs: 61_000 }, 'END PASS (success) in 1m01s'],
    ['a run that failed', { type: 'run.end', runId: 'r1', status: 'failed', durationMs: 500, error: { message: 'boom' } }, 'END FAIL (failed) in 500ms: boom'],
    ['a dry-run that would fail', { type: 'run.end', runId: 'r1', status: 'success', durationMs: 500, verdict: 'would-fail' }, 'END WOULD FAIL (success, dry-run) in 500ms'],
    ['a step start', { type: 'step.start', name: 'cordon', index: 0 }, '▶ cordon'],
    ['a step done with a note', { type: 'step.end', name: 'cordon', index: 0, status: 'done', durationMs: 20, note: 'was ours' }, '✓ cordon done (20ms) - was ours'],
    ['a step failed', { type: 'step.end', name: 'drain', index: 1, status: 'failed', durationMs: 20, error: { message: 'PDB' } }, '✗ drain failed (20ms): PDB'],
    ['a step of unknown status', { type: 'step.end', name: 'x', index: 1, status: 'weird' as never, durationMs: 1 }, '? x weird (1ms)'],
    ['a change made', { type: 'change', change: change('cordon', false) }, '  did cordon tb-k8s-worker-1'],
    ['a change planned', { type: 'change', change: change('cordon', true) }, '  would cordon tb-k8s-worker-1'],
    ['a plan problem', { type: 'plan.problem', problem: { kind: 'hold', node: 'w1', reason: 'PDB' } }, 'dry-run: would hold at node w1: PDB'],
    ['a log line', { type: 'log', level: 'info', message: 'hello' }, 'hello'],
    ['progress with count and ETA', { type: 'progress', scope: 'reboot', target: 'w1', phase: 'draining', done: 2, total: 5, etaMs: 90_000, message: '3 pods' }, 'reboot [2/5] w1: draining - 3 pods ETA 1m30s'],
    ['progress without count', { type: 'progress', scope: 'drain', target: 'ns/p', phase: 'gone' }, 'drain ns/p: gone'],
    ['a confirmation', { type: 'confirm', message: 'delete w1?', answer: 'no-tty' }, 'confirmation "delete w1?": no-tty'],
    ['output is not a console line', { type: 'output', text: 'data' }, undefined],
  ];
  for (const [title, event, want] of rows) it(`${title} → ${JSON.stringify(want)}`, () => assert.equal(renderEvent({ ...event, at }), want));
});

describe('runner output: describeChange and describeProblem', () => {
  const changes: [string, ReturnType<typeof change>, string][] = [
    ['a command: the whole command line', change('run kubeadm', true, { command: 'sudo -n -- kubeadm reset -f' }), 'run `sudo -n -- kubeadm reset -f` on tb-k8s-worker-1'],
    ['a command without its line', change('run kubeadm', true), 'run kubeadm tb-k8s-worker-1'],
    ['another change', change('uncordon', false, { command: 'ignored' }), 'uncordon tb-k8s-worker-1'],
  ];
  for (const [title, c, want] of changes) it(`change: ${title}`, () => assert.equal(describeChange(c), want));
  const problems: [string, PlanProblem, string][] = [
    ['a failing step on a node', { kind: 'fail', step: 'drain', node: 'w1', reason: 'PDB blocks' }, 'would fail at step "drain", node w1: PDB blocks'],
    ['a hold without place', { kind: 'hold', reason: 'outside the window' }, 'would hold: outside the window'],
  ];
  for (const [title, p, want] of problems) it(`problem: ${title}`, () => assert.equal(describeProblem(p), want));
});

describe('runner output: verdictOf', () => {
  type Input = Parameters<typeof verdictOf>[0];
  const rows: [string, Input, Verdict][] = [
    ['nothing wrong', { problems: [], steps: [{ name: 'a', status: 'planned' }] }, { outcome: 'would-succeed', problems: [] }],
    ['a hold', { problems: [{ kind: 'hold', node: 'w1', reason: 'PDB' }], steps: [] }, { outcome: 'would-hold', problems: [{ kind: 'hold', node: 'w1', reason: 'PDB' }] }],
    [
      'a failure outweighs a hold',
      { problems: [{ kind: 'hold', node: 'w1', reason: 'PDB' }, { kind: 'fail', step: 's', reason: 'x' }], steps: [] },
      { outcome: 'would-fail', problems: [{ kind: 'hold', node: 'w1', reason: 'PDB' }, { kind: 'fail', step: 's', reason: 'x' }] },
    ],
    ['a failed step becomes a problem', { problems: [], steps: [{ name: 'drain', status: 'failed', error: { message: 'refused' } }] }, { outcome: 'would-fail', problems: [{ kind: 'fail', step: 'drain', reason: 'refused' }] }],
    [
      'a failed step a problem names already is not repeated',
      { problems: [{ kind: 'fail', step: 'drain', reason: 'mine' }], steps: [{ name: 'drain', status: 'failed', error: { message: 'refused' } }] },
      { outcome: 'would-fail', problems: [{ kind: 'fail', step: 'drain', reason: 'mine' }] },
    ],
    [
      'the ending error that is a failed step\'s own is named once',
      { problems: [], steps: [{ name: 'drain', status: 'failed', error: { message: 'refused' } }], error: { message: 'refused' } },
      { outcome: 'would-fail', problems: [{ kind: 'fail', step: 'drain', reason: 'refused' }] },
    ],
    [
      'an ending error of its own, with its step',
      { problems: [], steps: [], error: { message: 'no such flavor', context: { step: 'ensure VM' } } },
      { outcome: 'would-fail', problems: [{ kind: 'fail', step: 'ensure VM', reason: 'no such flavor' }] },
    ],
    ['an ending error without step', { problems: [], steps: [], error: { message: 'lost' } }, { outcome: 'would-fail', problems: [{ kind: 'fail', reason: 'lost' }] }],
  ];
  for (const [title, input, want] of rows) it(`${title} → ${want.outcome}`, () => assert.deepEqual(verdictOf(input), want));
});
