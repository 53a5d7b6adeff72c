// Helpers of the node lifecycle tests: seeded choices (printed, so a failure can be replayed), runs killed by
// a failpoint (asserted dead by SIGKILL), and the lab's bootstrap tokens as kubectl shows them.
import { strict as assert } from 'node:assert';
import type { TestLab } from '../../helpers/lab.js';
import { mulberry32 } from '../../../lab/world.js';
import { kubectlJson, type labRunner } from '../../helpers/lab-cli.js';

/**
 * Seeded choices for one suite: the seed comes from NODE_TEST_SEED (to replay) or the clock, and is printed
 * with the command that replays it.
 */
export function seededChoices(suite: string): { seed: number; pick<T>(items: readonly T[], n: number): T[] } {
  const seed = process.env.NODE_TEST_SEED ? Number(process.env.NODE_TEST_SEED) : Date.now() % 1_000_000;
  console.log(`      ${suite}: seed ${seed} (replay with NODE_TEST_SEED=${seed})`);
  const rand = mulberry32(seed);
  return {
    seed,
    pick<T>(items: readonly T[], n: number): T[] {
      const pool = [...items];
      const out: T[] = [];
      while (out.length < n && pool.length) out.push(pool.splice(Math.floor(rand() * pool.length), 1)[0]!);
      return out;
    },
  };
}

/** Runs a cookbook with a failpoint that kills it, and asserts that it died by SIGKILL (not of something else). */
export async function runKilled(cb: ReturnType<typeof labRunner>, cookbook: string, args: string[], failpoint: string): Promise<void> {
  const p = cb.start(cookbook, args, { env: { COOKBOOK_FAILPOINTS: failpoint }, timeoutMs: 120_000 });
  const out = await p;
  assert.equal(out.signal, 'SIGKILL', `${failpoint}: the run died by SIGKILL (exit ${out.exitCode}; ${out.stderr.slice(-400)})`);
}

/** Bootstrap tokens in the lab (kubectl): id and description. */
export async function bootstrapTokens(lab: TestLab): Promise<{ id: string; description: string }[]> {
  const list = await kubectlJson(lab, ['get', 'secrets', '-n', 'kube-system', '--field-selector', 'type=bootstrap.kubernetes.io/token']);
  const dec = (v: string | undefined): string => (v ? Buffer.from(v, 'base64').toString('utf8') : '');
  return (list.items as { data?: Record<string, string> }[]).map((s) => ({ id: dec(s.data?.['token-id']), description: dec(s.data?.description) }));
}

/** The next numbered name of `base` (`base-N` with N one above the highest among `names`). */
export function nextIndexName(names: readonly string[], base: string): string {
  const re = new RegExp(`^${base}-(\\d+)$`);
  const max = Math.max(0, ...names.map((n) => Number(re.exec(n)?.[1] ?? 0)));
  return `${base}-${max + 1}`;
}

/**
 * Puts a pod on `node` that never finishes terminating (a ReplicaSet-owned pod under the lab's stuckPods
 * fault), so a drain of that node cannot complete. Returns what the operator would do: force-delete it.
 */
export function placeStuckPod(lab: TestLab, node: string): { forceDelete(): void } {
  const api = lab.kube.api;
  api.create(api.res('', 'pods'), 'kube-system', {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'sticky', namespace: 'kube-system', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'gone', uid: 'x', controller: true }] },
    spec: { nodeName: node, containers: [{ name: 'c', image: 'x' }] },
  });
  lab.world.faults.stuckPods = ['kube-system/sticky'];
  return {
    forceDelete: () => {
      lab.world.faults.stuckPods = [];
      api.delete(api.res('', 'pods'), 'kube-system', 'sticky', { gracePeriodSeconds: 0 });
    },
  };
}
