// Node selection of a rollout, against the tools inventory: which nodes a selection means, in natural order,
// and which nodes are control-plane nodes (they go last).
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import type { V1Node } from '@kubernetes/client-node';
import { InputError } from '../../../lib/core/errors.js';
import { getCluster, loadInventory } from '../../../lib/inventory/load.js';
import { type Selection, isControlNode, selectNodes } from '../../../lib/ops/rollout/select.js';
import { ROOT } from '../../helpers/cli.js';

const tools = getCluster(loadInventory([join(ROOT, 'inventory')]), 'tools');
const node = (name: string, labels?: Record<string, string>): V1Node => ({ metadata: { name, labels } });
const nodes = ['tools-k8s-worker-10', 'tools-k8s-worker-2', 'tools-k8s-worker-nfs-1', 'tools-k8s-control-1', 'tools-k8s-ingress-1'].map((n) => node(n));

describe('rollout select: isControlNode', () => {
  const rows: [string, V1Node, boolean][] = [
    ['a host of a control-plane role', node('tools-k8s-control-7'), true],
    ['a worker', node('tools-k8s-worker-7'), false],
    ['an ingress node (a Kubernetes worker)', node('tools-k8s-ingress-1'), false],
    ['the inventory role wins over a label', node('tools-k8s-worker-7', { 'node-role.kubernetes.io/control-plane': '' }), false],
    ['a node of no role, labelled control-plane', node('other-control-1', { 'node-role.kubernetes.io/control-plane': '' }), true],
    ['a node of no role, unlabelled', node('other-1'), false],
  ];
  for (const [title, n, want] of rows) it(`${title} → ${want}`, () => assert.equal(isControlNode(tools, n), want));
});

describe('rollout select: selectNodes', () => {
  const rows: [string, Selection, string[]][] = [
    ['--all: every node, in natural order', { all: true }, ['tools-k8s-control-1', 'tools-k8s-ingress-1', 'tools-k8s-worker-2', 'tools-k8s-worker-10', 'tools-k8s-worker-nfs-1']],
    ['--all-workers: every node but control nodes', { allWorkers: true }, ['tools-k8s-ingress-1', 'tools-k8s-worker-2', 'tools-k8s-worker-10', 'tools-k8s-worker-nfs-1']],
    ['--role: exactly that series (worker-nfs is not worker)', { role: 'worker' }, ['tools-k8s-worker-2', 'tools-k8s-worker-10']],
    ['--hostname: the names given, once each, sorted', { hostnames: ['tools-k8s-worker-10', 'tools-k8s-worker-2', 'tools-k8s-worker-10'] }, ['tools-k8s-worker-2', 'tools-k8s-worker-10']],
  ];
  for (const [title, selection, want] of rows) it(title, () => assert.deepEqual(selectNodes(tools, nodes, selection), want));

  const withoutNfs = nodes.filter((n) => !n.metadata!.name!.includes('nfs'));
  const refusals: { title: string; selection: Selection; among?: V1Node[]; message: RegExp }[] = [
    { title: 'a role without a node', selection: { role: 'worker_nfs' }, among: withoutNfs, message: /^cluster tools has no worker_nfs node$/ },
    { title: 'a role that is not a Kubernetes node role', selection: { role: 'etcd' }, message: /etcd/ },
    { title: 'a hostname that is not a node', selection: { hostnames: ['tools-k8s-worker-3'] }, message: /^not a Kubernetes node of cluster tools: tools-k8s-worker-3$/ },
    { title: 'nothing selected', selection: {}, message: /^select nodes with --all, --all-workers, --role R or --hostname H$/ },
  ];
  for (const { title, selection, among, message } of refusals) {
    it(`refuses ${title} (bad input)`, () => assert.throws(() => selectNodes(tools, among ?? nodes, selection), (err: unknown) => err instanceof InputError && message.test(err.message)));
  }
});
