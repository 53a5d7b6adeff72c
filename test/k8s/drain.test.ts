// The pure ends of a drain: the refusal before any eviction, the wait between evictions of a blocked pod, and
// what a drain did from its tracked pods (with the error naming what is left and why). One table per function.
// (Drains against the lab's API: index.test.ts and resilience.test.ts.)
import { strict as assert } from 'node:assert';
import type { V1Pod } from '@kubernetes/client-node';
import { type Tracked, drainOutcome, evictionRetryDelay, refusalError } from '../../lib/k8s/drain.js';
import { defaultDrainFilterOptions, planDrain } from '../../lib/k8s/drain-plan.js';
import { DrainFailedError, DrainRefusedError, DrainTimeoutError } from '../../lib/k8s/errors.js';

const pod = (name: string, owner?: string, emptyDir = false): V1Pod => ({
  metadata: { name, namespace: 'ns', ownerReferences: owner ? [{ apiVersion: 'apps/v1', kind: owner.split('/')[0]!, name: owner.split('/')[1]!, uid: 'o', controller: true }] : undefined },
  spec: { containers: [], volumes: emptyDir ? [{ name: 'tmp', emptyDir: {} }] : [] },
  status: { phase: 'Running' },
});

describe('k8s drain: refusalError', () => {
  const facts = { daemonSetExists: () => true, now: 0 };
  const rows: [string, V1Pod[], RegExp | undefined][] = [
    ['nothing to refuse', [pod('web', 'ReplicaSet/w')], undefined],
    ['an unmanaged pod', [pod('web', 'ReplicaSet/w'), pod('bare')], /^cannot drain w1: 1 pod\(s\) need an explicit opt-in: ns\/bare \(has no controller.*--force-unmanaged\)\)$/],
    ['two, each with its reason', [pod('bare'), pod('cache', 'ReplicaSet/c', true)], /2 pod\(s\) need an explicit opt-in: ns\/bare \(.*--force-unmanaged\)\), ns\/cache \(.*--delete-emptydir-data\)\)/],
  ];
  for (const [title, pods, want] of rows) {
    it(`${title} → ${want ? 'DrainRefusedError' : 'none'}`, () => {
      const err = refusalError('w1', planDrain(pods, defaultDrainFilterOptions, facts));
      if (!want) return assert.equal(err, undefined);
      assert.ok(err instanceof DrainRefusedError);
      assert.match(err.message, want);
      assert.match(String(err.hint), /nothing was evicted and the node stays cordoned/);
      assert.equal((err.context.refused as unknown[]).length, pods.filter((p) => p.metadata?.name !== 'web').length);
    });
  }
});

describe('k8s drain: evictionRetryDelay', () => {
  const rows: [string, number, number, number | undefined, number, number][] = [
    // [title, attempt, retryMinMs, Retry-After, random, want]
    ['first retry: kubectl\'s 5 s', 1, 5000, undefined, 0, 5000],
    ['grows by 1.5', 3, 5000, undefined, 0, 11_250],
    ['capped at 30 s', 20, 5000, undefined, 0, 30_000],
    ['up to 20% jitter', 1, 5000, undefined, 1, 6000],
    ['Retry-After asks for longer', 1, 5000, 12_000, 0, 12_000],
    ['Retry-After shorter than the interval: the interval', 2, 5000, 1000, 0, 7500],
    ['a short interval (tests) still applies', 1, 50, undefined, 0, 50],
  ];
  for (const [title, attempt, min, retryAfter, random, want] of rows) it(`${title} → ${want} ms`, () => assert.equal(evictionRetryDelay(attempt, min, retryAfter, () => random), want));
});

describe('k8s drain: drainOutcome', () => {
  const t = (name: string, state: Tracked['state'], extra: Partial<Tracked> = {}): Tracked => ({ key: `ns/${name}`, namespace: 'ns', name, uid: `u-${name}`, state, ...extra });
  const blocked = (name: string, pdbs: string[]): Partial<Tracked> => ({ blocked: { pod: `ns/${name}`, pdbs, message: '429' } });
  const base = { node: 'w1', skipped: [{ pod: 'ns/ds', reason: 'DaemonSet-managed' }], warnings: [] };
  const rows: [string, Tracked[], boolean, { evicted: string[]; blocked: string[]; failed: string[]; error?: typeof DrainFailedError; message?: RegExp }][] = [
    ['every pod gone', [t('a', 'gone'), t('b', 'gone')], false, { evicted: ['ns/a', 'ns/b'], blocked: [], failed: [] }],
    [
      'one blocked by a PDB at the deadline',
      [t('a', 'gone'), t('b', 'pending', blocked('b', ['ns/web-pdb']))],
      true,
      { evicted: ['ns/a'], blocked: ['ns/b'], failed: [], error: DrainTimeoutError, message: /^drain of w1 did not finish within 1m00s: 1 pod\(s\) left; blocked by PodDisruptionBudget ns\/web-pdb: ns\/b$/ },
    ],
    [
      'two PDBs, and throttling without a PDB',
      [t('b', 'pending', blocked('b', ['ns/p1'])), t('c', 'pending', blocked('c', ['ns/p2'])), t('d', 'pending', blocked('d', []))],
      true,
      { evicted: [], blocked: ['ns/b', 'ns/c', 'ns/d'], failed: [], error: DrainTimeoutError, message: /blocked by PodDisruptionBudgets ns\/p1, ns\/p2: ns\/b, ns\/c, ns\/d/ },
    ],
    ['throttled only', [t('d', 'pending', blocked('d', []))], true, { evicted: [], blocked: ['ns/d'], failed: [], error: DrainTimeoutError, message: /blocked by PodDisruptionBudgets \(throttling\): ns\/d/ }],
    ['still terminating at the deadline', [t('a', 'evicting')], true, { evicted: [], blocked: [], failed: [], error: DrainTimeoutError, message: /1 pod\(s\) left; still terminating: ns\/a$/ }],
    [
      'a failed eviction (no deadline)',
      [t('a', 'gone'), t('b', 'failed', { error: 'more than one PodDisruptionBudget' })],
      false,
      { evicted: ['ns/a'], blocked: [], failed: ['ns/b'], error: DrainFailedError, message: /^drain of w1 did not finish: 1 pod\(s\) left; still terminating: ns\/b; failed: ns\/b \(more than one PodDisruptionBudget\)$/ },
    ],
    ['a blocked pod that went after all is not blocked', [t('a', 'gone', blocked('a', ['ns/p']))], false, { evicted: ['ns/a'], blocked: [], failed: [] }],
  ];
  for (const [title, tracked, timedOut, want] of rows) {
    it(`${title} → ${want.error ? want.error.name : 'done'}`, () => {
      const { result, error } = drainOutcome('w1', tracked, base, { timedOut, timeoutMs: 60_000, durationMs: 1234, requests: 7 });
      assert.deepEqual(result.evicted, want.evicted);
      assert.deepEqual(result.blocked.map((b) => b.pod), want.blocked);
      assert.deepEqual(result.failed.map((f) => f.pod), want.failed);
      assert.deepEqual(result.skipped, base.skipped);
      assert.equal(result.planned, false);
      assert.equal(result.durationMs, 1234);
      assert.equal(result.requests, 7);
      if (!want.error) return assert.equal(error, undefined);
      assert.equal(error?.constructor, want.error);
      assert.match(String(error?.message), want.message!);
      assert.equal(error?.context.timedOut, timedOut);
      assert.equal(error?.context.result, result, 'the error carries the result');
      assert.match(String(error?.hint), /node stays cordoned/);
    });
  }
});
