// The model user's scale: 60 nodes, 3,500 namespaces, 4,000 policies, 10,000 pods held in well under 1 GiB,
// a paged list of every pod over HTTPS that does not stall, and a fast spec.nodeName list. Setup writes
// through the object API directly (the bench, bench/lab-scale.ts, creates everything over HTTPS instead).
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { listAllPods, scaleNodeName } from '../../../lab/k8s/scale.js';
import { World } from '../../../lab/world.js';
import { startLab, until, type Lab } from './helpers.js';

// Speed is measured by bench/lab-scale.ts, not asserted here: a loaded machine must not fail these tests.
describe('lab k8s: scale', function () {
  this.timeout(400_000);
  let lab: Lab;
  const rssBefore = process.memoryUsage().rss;
  before(async () => {
    lab = await startLab(new World({ clusterName: 'scale', prefix: 'scale', roles: {}, speed: 50, seed: 3 }), { watchHistory: 5000 });
    const a = lab.api.api;
    const internal = { internal: true };
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    for (let i = 0; i < 60; i++) {
      a.create(a.res('', 'nodes'), undefined, {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: scaleNodeName(i), labels: { 'kubernetes.io/hostname': scaleNodeName(i) } },
        status: { allocatable: { cpu: '64', memory: '256Gi', pods: '250' }, conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: now }] },
      }, internal);
    }
    const ns = (i: number) => `tenant-${String(i).padStart(4, '0')}`;
    for (let i = 0; i < 3500; i++) a.create(a.res('', 'namespaces'), undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns(i) } }, internal);
    for (let i = 0; i < 4000; i++) {
      a.create(a.res('kyverno.io', 'policies'), ns(i % 3500), { apiVersion: 'kyverno.io/v1', kind: 'Policy', metadata: { name: `policy-${i}` }, spec: { validationFailureAction: 'Enforce', rules: [{ name: 'restrict-image-registries', match: { any: [{ resources: { kinds: ['Pod'] } }] } }] } }, internal);
    }
    for (let i = 0; i < 10000; i++) {
      a.create(a.res('', 'pods'), ns(i % 3500), { apiVersion: 'v1', kind: 'Pod', metadata: { name: `pod-${i}`, labels: { app: `tool-${i % 50}` } }, spec: { containers: [{ name: 'main', image: 'tool:1.0', resources: { requests: { cpu: '10m', memory: '32Mi' } } }] } }, internal);
    }
    await until('all pods running', () => {
      for (const p of lab.api.store.scan(a.res('', 'pods'))) if (p.status?.phase !== 'Running') return false;
      return true;
    }, 360_000, 200);
  });
  after(async () => lab?.stop());

  it('holds everything in well under 1 GiB', () => {
    const grownMb = (process.memoryUsage().rss - rssBefore) / 1024 / 1024;
    assert.ok(process.memoryUsage().rss / 1024 / 1024 < 1024, `rss ${Math.round(process.memoryUsage().rss / 1048576)} MB`);
    assert.ok(grownMb < 600, `grew ${Math.round(grownMb)} MB`);
  });

  it('pages through all 10,000 pods over HTTPS, and lists the pods of one node by spec.nodeName', async () => {
    assert.equal(await listAllPods(lab.core, 500), 10000);
    const onNode = await lab.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${scaleNodeName(7)}` });
    assert.ok(onNode.items.length > 100 && onNode.items.length < 250, `${onNode.items.length} pods on one node`);
    assert.ok(onNode.items.every((p) => p.spec!.nodeName === scaleNodeName(7)));
    const custom = lab.kc.makeApiClient(k8s.CustomObjectsApi);
    const pols = (await custom.listClusterCustomObject({ group: 'kyverno.io', version: 'v1', plural: 'policies', limit: 500 })) as { items: unknown[]; metadata: { remainingItemCount?: number } };
    assert.equal(pols.items.length, 500);
    assert.equal(pols.metadata.remainingItemCount, 3500);
  });
});
