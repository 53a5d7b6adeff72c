// The pure parts of k8s.upgrade, table-driven: --to parsing, the one-minor sequence (no skipping, no
// downgrade), the skew preflight (each refusal names rule, nodes and versions), the per-node commands.
import assert from 'node:assert/strict';
import { InputError } from '../../../lib/core/errors.js';
import {
  type ComponentVersion,
  DEFAULT_REPOSITORY,
  isHealthJobTimeout,
  minorSequence,
  newestPatch,
  nodeCommands,
  parseTarget,
  repositoryLine,
  skewRefusals,
} from '../../../lib/ops/upgrade/versions.js';

describe('k8s.upgrade versions', () => {
  it('parses --to as a minor or an exact version, refusing anything else with an InputError', () => {
    const cases: [string, ReturnType<typeof parseTarget> | 'error'][] = [
      ['1.31', { minor: 31, patch: undefined }],
      ['v1.31.2', { minor: 31, patch: 2 }],
      [' 1.30.0 ', { minor: 30, patch: 0 }],
      ['2.0', 'error'],
      ['1.31.x', 'error'],
      ['latest', 'error'],
      ['1', 'error'],
    ];
    for (const [text, want] of cases) {
      if (want === 'error') assert.throws(() => parseTarget(text), (e: unknown) => e instanceof InputError && /--to: expected a Kubernetes version/.test((e as Error).message), text);
      else assert.deepEqual(parseTarget(text), want, text);
    }
  });

  it('upgrades one minor at a time, never skipping one, and refuses a downgrade', () => {
    const cases: [string, string, number[] | 'downgrade'][] = [
      ['1.29.4', '1.31', [30, 31]],
      ['1.29.4', '1.29', []],
      ['1.29.4', '1.29.4', []],
      ['1.29.4', '1.29.10', [29]],
      ['1.29.4', '1.33.1', [30, 31, 32, 33]],
      ['1.30.2', '1.29', 'downgrade'],
      ['1.30.2', '1.30.1', 'downgrade'],
    ];
    for (const [current, to, want] of cases) {
      if (want === 'downgrade') assert.throws(() => minorSequence(current, parseTarget(to)), /older than the cluster .* downgrades are not supported/, `${current} -> ${to}`);
      else assert.deepEqual(minorSequence(current, parseTarget(to)), want, `${current} -> ${to}`);
    }
  });

  it('refuses skew naming the rule, the nodes and the versions', () => {
    const v = (pairs: [string, string][]): ComponentVersion[] => pairs.map(([node, version]) => ({ node, version }));
    const cp = v([['c1', '1.29.4'], ['c2', '1.29.4']]);
    const cases: { name: string; api: ComponentVersion[]; kubelets: ComponentVersion[]; first?: number; want: { rule: string; nodes: string[]; versions: string[] }[] }[] = [
      { name: 'healthy', api: cp, kubelets: v([['w1', '1.28.9'], ['w2', '1.29.4']]), first: 30, want: [] },
      { name: 'apiservers two minors apart', api: v([['c1', '1.31.0'], ['c2', '1.29.4']]), kubelets: [], first: 32, want: [{ rule: 'apiserver-skew', nodes: ['c1', 'c2'], versions: ['1.29.4', '1.31.0'] }] },
      { name: 'kubelet newer than the apiserver', api: cp, kubelets: v([['w1', '1.30.1']]), first: 30, want: [{ rule: 'kubelet-newer-than-apiserver', nodes: ['w1'], versions: ['1.30.1'] }] },
      { name: 'kubelet four minors behind the first step', api: cp, kubelets: v([['w1', '1.26.3'], ['w2', '1.27.1'], ['w3', '1.29.4']]), first: 31, want: [{ rule: 'kubelet-too-old', nodes: ['w1', 'w2'], versions: ['1.26.3', '1.27.1'] }] },
      { name: 'three behind is allowed', api: cp, kubelets: v([['w1', '1.27.1']]), first: 30, want: [] },
    ];
    for (const c of cases) {
      const got = skewRefusals(c.api, c.kubelets, c.first);
      assert.deepEqual(got.map((r) => ({ rule: r.rule, nodes: r.nodes, versions: r.versions })), c.want, c.name);
      for (const r of got) for (const n of r.nodes) assert.match(r.message, new RegExp(`${n} `), `${c.name}: message names ${n}`);
    }
  });

  it('lists the commands per kind of node, exact versions held, the health-check skip only when chosen', () => {
    const repo = repositoryLine(DEFAULT_REPOSITORY, 30);
    assert.match(repo, /https:\/\/pkgs\.k8s\.io\/core:\/stable:\/v1\.30\/deb\/ \/$/);
    const first = nodeCommands('first-control', '1.30.14', repo).map((c) => c.argv.join(' '));
    assert.deepEqual(first.slice(1, 6), ['apt-get update', 'apt-mark unhold kubeadm', 'apt-get install -y --allow-downgrades kubeadm=1.30.14-1.1', 'apt-mark hold kubeadm', 'kubeadm upgrade plan v1.30.14']);
    assert.equal(first[6], 'kubeadm upgrade apply v1.30.14 -y');
    assert.ok(first.includes('apt-get install -y --allow-downgrades kubelet=1.30.14-1.1 kubectl=1.30.14-1.1'));
    assert.ok(first.indexOf('sh -c systemctl daemon-reload && systemctl restart kubelet') > first.indexOf('apt-mark hold kubelet kubectl'));
    const worker = nodeCommands('worker', '1.30.14', repo, ['CreateJob']).map((c) => c.argv.join(' '));
    assert.ok(worker.includes('kubeadm upgrade node --ignore-preflight-errors=CreateJob'));
    assert.ok(!worker.some((c) => c.includes('upgrade apply') || c.includes('upgrade plan')));
    assert.ok(nodeCommands('control', '1.30.14', repo).some((c) => c.argv.join(' ') === 'kubeadm upgrade node'));
  });

  it('recognises the Job health-check timeout and picks the newest patch from apt-cache madison', () => {
    assert.equal(isHealthJobTimeout('\t[ERROR CreateJob]: Job "upgrade-health-check-abcde" in the namespace "kube-system" did not complete in 15s'), true);
    assert.equal(isHealthJobTimeout('[ERROR ControlPlaneNodesReady]: there are NotReady control-planes'), false);
    const madison = '   kubeadm | 1.30.14-1.1 | https://pkgs.k8s.io/core:/stable:/v1.30/deb Packages\n   kubeadm | 1.30.9-1.1 | https://pkgs.k8s.io/core:/stable:/v1.30/deb Packages\n';
    assert.equal(newestPatch(madison, 30), '1.30.14');
    assert.equal(newestPatch(madison, 31), undefined);
  });
});
