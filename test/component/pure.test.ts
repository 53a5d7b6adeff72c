// The pure parts of the component engine, table-driven: values merge, diff and masking, revision selection,
// bats tag filters and TAP parsing, templates (strict), rendering rules, conflict messages, readiness.
import { strict as assert } from 'node:assert';
import { matchesTagFilters, parseBatsFile, parseTap } from '../../lib/component/bats.js';
import { parseConflicts } from '../../lib/component/client.js';
import { lineDiff, objectDiff, planDeploy } from '../../lib/component/diff.js';
import { ComponentInputError } from '../../lib/component/errors.js';
import { HASH_ANNOTATION, type KObject, applySetId, isSubset, objectKey, stamped } from '../../lib/component/objects.js';
import { type Release, decodeRelease, encodeRelease, lastGoodRelease, rollbackTarget, strandedPending } from '../../lib/component/release.js';
import { renderComponent } from '../../lib/component/render.js';
import type { ComponentSource } from '../../lib/component/repository.js';
import { workloadReadiness } from '../../lib/component/rollout.js';
import { renderTemplate } from '../../lib/component/template.js';
import { mergeValues } from '../../lib/component/values.js';

const cm = (name: string, data: Record<string, string>, ns = 'web'): KObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns }, data });

describe('component engine: pure parts', () => {
  describe('values merge (the cluster file wins; maps merge, lists and scalars replace)', () => {
    const cases: [string, Record<string, unknown>[], Record<string, unknown>][] = [
      ['a scalar is replaced', [{ a: 1 }, { a: 2 }], { a: 2 }],
      ['maps merge key by key', [{ web: { image: 'x', replicas: 2 } }, { web: { image: 'y' } }], { web: { image: 'y', replicas: 2 } }],
      ['lists replace, never concatenate', [{ l: [1, 2] }, { l: [3] }], { l: [3] }],
      ['null replaces a map', [{ m: { a: 1 } }, { m: null }], { m: null }],
      ['keys only in the common file stay', [{ a: 1, b: 2 }, {}], { a: 1, b: 2 }],
    ];
    for (const [title, layers, want] of cases) it(title, () => assert.deepEqual(mergeValues(...layers), want));
  });

  describe('strict templates', () => {
    const scope = { values: { web: { image: 'x' } }, component: { name: 'web', namespace: 'web' }, cluster: { name: 'toolsbeta' } };
    it('renders defined values', () => assert.equal(renderTemplate('image: {{ values.web.image }} on {{ cluster.name }}', 'm.yaml', scope), 'image: x on toolsbeta'));
    it('a value no values file defines is an error naming the file, the line and the key', () => {
      assert.throws(
        () => renderTemplate('a: 1\nb: {{ values.web.tag }}\n', 'components/web/manifests/d.yaml', scope),
        (e: unknown) => e instanceof ComponentInputError && /^components\/web\/manifests\/d\.yaml:2: the value "values\.web\.tag" is not defined$/.test(e.message) && e.context.key === 'values.web.tag' && e.context.line === 2,
      );
    });
    it('an unknown filter is an error too', () => assert.throws(() => renderTemplate('{{ values.web.image | shout }}', 'f.yaml', scope), /f\.yaml:1: unknown filter "shout"/));
  });

  describe('rendering rules', () => {
    const source = (templates: string[], allow: string[] = []): ComponentSource => ({
      name: 'c', dir: '/x', namespace: 'own', allowNamespaces: allow, values: {}, valuesFiles: [], testTags: [],
      templates: templates.map((t, i) => ({ file: `m${i}.yaml`, source: t })),
    });
    it('namespaced objects default to the component namespace; cluster-scoped ones lose a namespace', () => {
      const r = renderComponent(source(['apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: n, namespace: own}']), 'k');
      assert.deepEqual(r.objects.map(objectKey), ['Namespace/n', 'ConfigMap/own/a']);
    });
    it('a namespace outside the component is refused unless component.yaml allows it', () => {
      const t = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: tool-1}';
      assert.throws(() => renderComponent(source([t]), 'k'), /m0\.yaml: ConfigMap\/tool-1\/a is outside the component's namespace own/);
      assert.equal(renderComponent(source([t], ['tool-*']), 'k').objects.length, 1);
    });
    it('an object rendered twice is refused', () => {
      const t = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}';
      assert.throws(() => renderComponent(source([t, t]), 'k'), /ConfigMap\/own\/a is rendered twice/);
    });
    it('custom resources of a rendered CRD take its scope', () => {
      const crd = 'apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: ws.example.org}\nspec: {group: example.org, scope: Cluster, names: {kind: W, plural: ws}}';
      const r = renderComponent(source([crd, 'apiVersion: example.org/v1\nkind: W\nmetadata: {name: w1}']), 'k');
      assert.deepEqual(r.objects.map(objectKey), ['CustomResourceDefinition.apiextensions.k8s.io/ws.example.org', 'W.example.org/w1']);
    });
  });

  describe('deploy plan (created, changed, unchanged, pruned)', () => {
    const id = applySetId({ name: 'component-web', namespace: 'web', kind: 'Secret', group: '' });
    const a = stamped(cm('a', { k: '1' }), id);
    const b = stamped(cm('b', { k: '1' }), id);
    const liveOf = (o: KObject, extra: Record<string, unknown> = {}): KObject => ({ ...structuredClone(o), metadata: { ...structuredClone(o.metadata), uid: 'u', resourceVersion: '7' }, ...extra });
    const cases: [string, KObject[], KObject[], Record<string, number>][] = [
      ['nothing live: everything is created', [a, b], [], { create: 2, change: 0, unchanged: 0, prune: 0 }],
      ['live equals rendered (server-added fields ignored): unchanged', [a], [liveOf(a)], { create: 0, change: 0, unchanged: 1, prune: 0 }],
      ['someone edited a field we set: changed', [a], [liveOf(a, { data: { k: '2' } })], { create: 0, change: 1, unchanged: 0, prune: 0 }],
      ['a member no longer rendered: pruned', [a], [liveOf(a), liveOf(b)], { create: 0, change: 0, unchanged: 1, prune: 1 }],
    ];
    for (const [title, desired, live, counts] of cases) {
      it(title, () => assert.deepEqual(planDeploy(desired, new Map(live.map((o) => [objectKey(o), o]))).counts, counts));
    }
    it('a changed rendering changes the hash even where the live object has the new value', () => {
      const changed = stamped(cm('a', { k: '2' }), id);
      assert.notEqual(changed.metadata.annotations?.[HASH_ANNOTATION], a.metadata.annotations?.[HASH_ANNOTATION]);
      assert.equal(planDeploy([changed], new Map([[objectKey(a), liveOf(a, { data: { k: '2' } })]])).counts.change, 1);
    });
    it('Secret data is masked in the diff, and a changed value is marked', () => {
      const want: KObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { same: 'c2VjcmV0', pw: 'bmV3' } };
      const have: KObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { same: 'c2VjcmV0', pw: 'b2xk' } };
      const text = objectDiff(want, have).join('\n');
      assert.doesNotMatch(text, /c2VjcmV0|bmV3|b2xk/);
      assert.match(text, /- +pw: "\*\*\* \(old value\)"\n\+ +pw: "\*\*\* \(new value\)"/);
      assert.match(text, / {2}same: "\*\*\*"/);
    });
    it('stringData is compared as data (a Secret from stringData is not "changed" forever)', () => {
      const want = stamped({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'web' }, stringData: { k: 'v' } }, id);
      const live = { ...structuredClone(want), data: { k: Buffer.from('v').toString('base64') } } as KObject;
      delete live.stringData;
      assert.equal(planDeploy([want], new Map([[objectKey(live), live]])).counts.unchanged, 1);
    });
    it('line diff: deletions before additions, common lines kept', () => assert.deepEqual(lineDiff(['a', 'b', 'c'], ['a', 'x', 'c']), ['  a', '- b', '+ x', '  c']));
    it('subset: lists compare item by item with equal length', () => {
      assert.ok(isSubset({ l: [{ a: 1 }] }, { l: [{ a: 1, b: 2 }] }));
      assert.ok(!isSubset({ l: [{ a: 1 }] }, { l: [{ a: 1 }, { a: 2 }] }));
    });
  });

  describe('revision selection (never a failed or pending revision, unlike helm rollback)', () => {
    const rel = (revision: number, status: Release['status'], runId = 'r'): Release => ({
      component: 'web', revision, status, namespace: 'web', repo: { url: 'u', sha: 's' }, values: {}, manifest: '', objects: [], who: 'w', when: 't', runId, description: 'd',
    });
    const cases: [string, Release[], number | undefined, number | undefined][] = [
      ['the last deployed or superseded below the current', [rel(1, 'superseded'), rel(2, 'superseded'), rel(3, 'deployed')], undefined, 2],
      ['skips failed revisions below the current', [rel(1, 'superseded'), rel(2, 'failed'), rel(3, 'deployed')], undefined, 1],
      ['no earlier good revision', [rel(1, 'failed'), rel(2, 'deployed')], undefined, undefined],
      ['an explicit revision', [rel(1, 'superseded'), rel(2, 'deployed')], 1, 1],
    ];
    for (const [title, releases, to, want] of cases) it(title, () => assert.equal(rollbackTarget(releases, to)?.revision, want));
    it('after a failed deploy the target is the last good one below it', () => assert.equal(lastGoodRelease([rel(1, 'superseded'), rel(2, 'deployed'), rel(3, 'failed')], 3)?.revision, 2));
    it("pending revisions of other runs are stranded; this run's and the resumed run's are not", () => {
      const rs = [rel(1, 'pending', 'dead'), rel(2, 'pending', 'me'), rel(3, 'pending', 'resumed'), rel(4, 'deployed', 'dead')];
      assert.deepEqual(strandedPending(rs, 'me', 'resumed').map((r) => r.revision), [1]);
    });
    it('a record survives encoding; the status label wins over the body', () => {
      const s = encodeRelease(rel(5, 'pending'));
      assert.equal(s.metadata.name, 'cc.release.v1.web.v5');
      s.metadata.labels!.status = 'failed';
      assert.equal(decodeRelease(s as never)?.status, 'failed');
      assert.equal(decodeRelease(s as never)?.revision, 5);
    });
  });

  describe('bats tag filters (repeated filters OR, commas AND, ! negates)', () => {
    const cases: [string, string[], string[], boolean][] = [
      ['no filter selects everything', ['a'], [], true],
      ['one tag', ['web', 'smoke'], ['web'], true],
      ['commas: all of', ['web', 'smoke'], ['web,slow'], false],
      ['repeated: any of', ['web'], ['jobs', 'web'], true],
      ['negation', ['web', 'slow'], ['web,!slow'], false],
      ['negation alone', ['web'], ['!slow'], true],
    ];
    for (const [title, tags, filters, want] of cases) it(title, () => assert.equal(matchesTagFilters(tags, filters), want));
    it('file_tags apply to every test, test_tags to the next one only', () => {
      const tests = parseBatsFile('# bats file_tags=web\n# bats test_tags=slow\n@test "one" {\n}\n@test \'two\' {\n}\n', 'f.bats');
      assert.deepEqual(tests.map((t) => [t.name, t.tags]), [['one', ['web', 'slow']], ['two', ['web']]]);
    });
  });

  describe('TAP parsing (results come from the stream, never from grepping text)', () => {
    it('ok, not ok with diagnostics, skip, timing', () => {
      const tap = parseTap('1..3\nok 1 web answers in 19ms\nnot ok 2 web fails (x) in 37ms\n# (in test file a.bats, line 8)\n#   `false\' failed\nok 3 skipped one in 33ms # skip because\n');
      assert.equal(tap.planned, 3);
      assert.deepEqual(tap.results.map((r) => [r.number, r.name, r.ok, r.skipped, r.durationMs]), [[1, 'web answers', true, false, 19], [2, 'web fails (x)', false, false, 37], [3, 'skipped one', true, true, 33]]);
      assert.deepEqual(tap.results[1]!.diagnostics, ['(in test file a.bats, line 8)', "  `false' failed"]);
    });
    it('a test named "0 failures" that fails is still a failure', () => assert.equal(parseTap('1..1\nnot ok 1 0 failures\n').results[0]!.ok, false));
  });

  describe('server-side apply conflicts are named by field and manager', () => {
    it('from details.causes', () => {
      const body = { message: 'Apply failed with 1 conflict', details: { causes: [{ type: 'FieldManagerConflict', message: 'conflict with "kubectl-edit" using apps/v1', field: '.spec.replicas' }] } };
      assert.deepEqual(parseConflicts(body), [{ field: '.spec.replicas', manager: 'kubectl-edit' }]);
    });
    it('from the message when there are no causes', () => {
      assert.deepEqual(parseConflicts(JSON.stringify({ message: 'Apply failed with 1 conflict: conflict with "helm" using v1: .data.k' })), [{ field: '.data.k', manager: 'helm' }]);
    });
  });

  describe('workload readiness at the new generation', () => {
    const dep = (status: Record<string, unknown>, generation = 2): KObject => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', generation } as never, spec: { replicas: 2 }, status });
    const cases: [string, KObject, string][] = [
      ['an old generation is not observed yet', dep({ observedGeneration: 1, updatedReplicas: 2, availableReplicas: 2, replicas: 2 }), 'waiting'],
      ['old replicas still around', dep({ observedGeneration: 2, updatedReplicas: 2, availableReplicas: 2, replicas: 3 }), 'waiting'],
      ['available at the new generation', dep({ observedGeneration: 2, updatedReplicas: 2, availableReplicas: 2, replicas: 2 }), 'ready'],
      ['a failed Job', { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j' }, status: { conditions: [{ type: 'Failed', status: 'True' }] } }, 'failed'],
      ['a complete Job', { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j' }, status: { succeeded: 1 } }, 'ready'],
    ];
    for (const [title, obj, state] of cases) it(title, () => assert.equal(workloadReadiness(obj).state, state));
  });
});
