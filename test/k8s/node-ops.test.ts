// Node writes against the lab's API, kubectl's shape: one table of (how the node is cordoned, what we do) →
// result, error and the node afterwards; we never uncordon a node someone else took out of service, unless
// forced. Plus the label/taint plan and deletion, each a row.
import { strict as assert } from 'node:assert';
import type { V1Node } from '@kubernetes/client-node';
import { isPlanned } from '../../lib/core/gate.js';
import { CORDON_ANNOTATION, NodeNotFoundError, NotOurCordonError, isCordoned, ourCordon } from '../../lib/k8s/index.js';
import { cleanupTempDirs } from '../helpers/cli.js';
import { type TestLab, startTestLab } from '../helpers/lab.js';

type Cordon = 'none' | 'ours' | 'admin';
type Op = 'cordon' | 'uncordon' | 'uncordon --force' | 'dry-run uncordon after a planned cordon';

describe('k8s node-ops (lab)', function () {
  this.timeout(60_000);
  let lab: TestLab;
  const node = 'nodeops-k8s-worker-1';
  before(async () => {
    lab = await startTestLab({ clusterName: 'nodeops', workers: 2, workersNfs: 0, control: 1, ingress: 0, etcd: 0, speed: 50, namespaces: 1 });
  });
  after(async () => {
    await lab?.stop();
    cleanupTempDirs();
  });

  /** Puts the node in a cordon state directly through the lab's API (not through the code under test). */
  function setCordon(state: Cordon): void {
    const api = lab.kube.api;
    const body =
      state === 'none'
        ? { spec: { unschedulable: null }, metadata: { annotations: { [CORDON_ANNOTATION]: null } } }
        : state === 'ours'
          ? { spec: { unschedulable: true }, metadata: { annotations: { [CORDON_ANNOTATION]: JSON.stringify({ runId: 'earlier', cookbook: 'k8s.drain' }) } } }
          : { spec: { unschedulable: true }, metadata: { annotations: { [CORDON_ANNOTATION]: null } } };
    api.patch(api.res('', 'nodes'), undefined, node, 'application/merge-patch+json', JSON.stringify(body));
  }

  const rows: [Cordon, Op, { changed: boolean; ours: boolean; planned?: boolean } | typeof NotOurCordonError, Cordon][] = [
    ['none', 'cordon', { changed: true, ours: true }, 'ours'],
    ['ours', 'cordon', { changed: false, ours: true }, 'ours'],
    ['admin', 'cordon', { changed: false, ours: false }, 'admin'],
    ['none', 'uncordon', { changed: false, ours: false }, 'none'],
    ['ours', 'uncordon', { changed: true, ours: true }, 'none'],
    ['admin', 'uncordon', NotOurCordonError, 'admin'],
    ['admin', 'uncordon --force', { changed: true, ours: false }, 'none'],
    ['none', 'dry-run uncordon after a planned cordon', { changed: false, ours: true, planned: true }, 'none'],
  ];
  for (const [state, op, want, after] of rows) {
    it(`cordoned by ${state}, ${op} → ${typeof want === 'function' ? want.name : `changed ${want.changed}, ours ${want.ours}`}; then cordoned by ${after}`, async () => {
      setCordon(state);
      const kube = lab.client({ dryRun: op.startsWith('dry-run') });
      const before = lab.counters().k8s_mutations;
      const run = (): Promise<unknown> =>
        op === 'cordon' ? kube.cordon(node, { runId: 'r1', cookbook: 'test' }) : kube.uncordon(node, { force: op === 'uncordon --force', cordonPlanned: op.startsWith('dry-run') });
      const got = await run().catch((e: unknown) => e);
      if (typeof want === 'function') {
        assert.ok(got instanceof want, String(got));
        assert.equal((got as NotOurCordonError).context.node, node);
        assert.match(String((got as NotOurCordonError).hint), /--force/);
      } else if (want.planned) {
        assert.ok(isPlanned(got), 'planned in dry-run');
        assert.equal((got as { change: { action: string } }).change.action, 'uncordon');
        assert.equal(lab.counters().k8s_mutations, before, 'nothing written');
      } else {
        assert.deepEqual(got, { node, ...want });
      }
      const n: V1Node = await lab.client().requireNode(node);
      const now: Cordon = !isCordoned(n) ? 'none' : ourCordon(n) ? 'ours' : 'admin';
      assert.equal(now, after);
    });
  }

  it('a missing node → NodeNotFoundError naming it', async () => {
    await assert.rejects(lab.client().cordon('nodeops-k8s-worker-99', { runId: 'r', cookbook: 't' }), (e: unknown) => e instanceof NodeNotFoundError && e.context.node === 'nodeops-k8s-worker-99');
  });

  const labelRows: [string, Record<string, string>, { key: string; value?: string; effect: string }[], boolean][] = [
    ['new labels and a taint', { 'toolforge.org/nfs-mounted': 'true' }, [{ key: 'role', value: 'nfs', effect: 'NoSchedule' }], true],
    ['the same again: nothing to do', { 'toolforge.org/nfs-mounted': 'true' }, [{ key: 'role', value: 'nfs', effect: 'NoSchedule' }], false],
    ['a changed taint value', {}, [{ key: 'role', value: 'nfs2', effect: 'NoSchedule' }], true],
  ];
  for (const [title, labels, taints, changed] of labelRows) {
    it(`labels and taints: ${title} → ${changed ? 'changed' : 'unchanged'}`, async () => {
      const n = 'nodeops-k8s-worker-2';
      assert.equal(await lab.client().ensureNodeLabelsAndTaints(n, labels, taints), changed);
      const got = await lab.client().requireNode(n);
      for (const [k, v] of Object.entries(labels)) assert.equal(got.metadata?.labels?.[k], v);
      for (const t of taints) assert.ok(got.spec?.taints?.some((x) => x.key === t.key && x.value === t.value && x.effect === t.effect));
      assert.equal(got.spec?.taints?.filter((x) => x.key === 'role').length ?? 0, taints.length ? 1 : 0, 'one taint per key and effect');
    });
  }

  const deleteRows: [string, string, boolean][] = [
    ['an existing node', 'nodeops-k8s-worker-2', true],
    ['a node that is gone already', 'nodeops-k8s-worker-2', false],
  ];
  for (const [title, n, want] of deleteRows) {
    it(`deleteNode: ${title} → ${want}`, async () => {
      assert.equal(await lab.client().deleteNode(n), want);
      assert.equal(await lab.client().getNode(n), undefined);
    });
  }
});
