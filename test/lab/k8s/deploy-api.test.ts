// What a component deploy needs from the lab API, checked through the real kubectl where kubectl is the
// natural client: CRDs (served, listed, applied, validated, discovery updated, removed with their objects),
// server-side apply conflicts naming field and manager, server-side dry runs of create/apply/delete, ApplySet
// label selection, Jobs that complete or fail, rollouts reporting observedGeneration and availability (and the
// never-ready image mark), /readyz, and 429 with Retry-After beyond the in-flight limit.
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kubectl, makeWorld, startLab, until, type Lab } from './helpers.js';

interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTPS request to the lab API with its token. */
function call(lab: Lab, method: string, path: string, body?: string, contentType = 'application/json'): Promise<RawAnswer> {
  const u = new URL(lab.api.url + path);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { authorization: `Bearer ${lab.api.token}` };
    if (body !== undefined) headers['content-type'] = contentType;
    const req = request({ method, hostname: u.hostname, port: u.port, path: u.pathname + u.search, ca: lab.api.caPem, headers }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A ConfigMap POST whose body is only half sent until finish() is called. */
function slowCreate(lab: Lab, i: number): { answer: Promise<RawAnswer>; finish: () => void } {
  const u = new URL(lab.api.url + '/api/v1/namespaces/default/configmaps');
  const body = JSON.stringify({ metadata: { name: `slow-${i}` } });
  let finish = () => {};
  const answer = new Promise<RawAnswer>((resolve, reject) => {
    const req = request({ method: 'POST', hostname: u.hostname, port: u.port, path: u.pathname, ca: lab.api.caPem, headers: { authorization: `Bearer ${lab.api.token}`, 'content-type': 'application/json', 'content-length': String(body.length) } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.write(body.slice(0, 5));
    finish = () => req.end(body.slice(5));
  });
  return { answer, finish };
}

const CRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.lab.example.org
spec:
  group: lab.example.org
  scope: Namespaced
  names: {kind: Widget, plural: widgets, singular: widget, shortNames: [wdg]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [size]
            properties:
              size: {type: integer, minimum: 1}
              colour: {type: string, enum: [red, blue]}
`;

function widget(ns: string, name: string, size: unknown, labels: Record<string, string> = {}): string {
  const l = Object.entries(labels).map(([k, v]) => `    ${k}: ${v}\n`).join('');
  return `apiVersion: lab.example.org/v1\nkind: Widget\nmetadata:\n  name: ${name}\n  namespace: ${ns}\n${l ? `  labels:\n${l}` : ''}spec:\n  size: ${JSON.stringify(size)}\n`;
}

describe('lab k8s API: what a component deploy needs', function () {
  this.timeout(60_000);
  let lab: Lab;
  let n = 0;
  /** Writes a manifest into the lab's temp dir; returns its path. */
  const file = (text: string) => {
    const p = join(lab.dir, `m${n++}.yaml`);
    writeFileSync(p, text);
    return p;
  };
  const store = () => lab.api.store;
  const res = (group: string, plural: string) => lab.api.api.res(group, plural);

  before(async () => {
    if (!existsSync('/usr/bin/kubectl')) throw new Error('kubectl is missing: it is preinstalled on this machine kind at /usr/bin/kubectl');
    lab = await startLab(makeWorld(200, { control: 1, worker: 2, worker_nfs: 0, ingress: 0, etcd: 0 }));
    for (const ns of ['tool-a', 'tool-b']) await lab.core.createNamespace({ body: { metadata: { name: ns } } });
    await until('nodes Ready', () => [...store().scan(res('', 'nodes'))].filter((x) => x.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True')).length === 3);
  });
  after(async () => lab?.stop());

  it('serves a CRD\'s kind once applied: Established, discovery, apply, label-selected lists, schema checks, removal with its objects', async () => {
    const crd = await kubectl(lab, ['apply', '--server-side', '-f', file(CRD)]);
    assert.equal(crd.code, 0, crd.stderr);
    const est = await kubectl(lab, ['wait', '--for', 'condition=established', '--timeout=10s', 'crd/widgets.lab.example.org']);
    assert.equal(est.code, 0, est.stderr);
    const disc = JSON.parse((await call(lab, 'GET', '/apis/lab.example.org/v1')).body);
    assert.deepEqual(disc.resources.map((r: { name: string }) => r.name).sort(), ['widgets', 'widgets/status']);
    assert.deepEqual(disc.resources.find((r: { name: string }) => r.name === 'widgets').shortNames, ['wdg']);
    const set = 'applyset.kubernetes.io/part-of';
    const id = 'applyset-abc_DEF-12-v1';
    const cr = await kubectl(lab, ['apply', '--server-side', '--field-manager=cookbook-component', '-f', file(widget('tool-a', 'w1', 3, { [set]: id }) + '---\n' + widget('tool-b', 'w2', 5, { [set]: id }) + '---\n' + widget('tool-b', 'other', 1))]);
    assert.equal(cr.code, 0, cr.stderr);
    assert.match(cr.stdout, /widget\.lab\.example\.org\/w1 serverside-applied/);
    const listed = await kubectl(lab, ['get', 'wdg', '-A', '-l', `${set}=${id}`, '-o', 'jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name} {end}']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.equal(listed.stdout.trim(), 'tool-a/w1 tool-b/w2');
    const w1 = store().get(res('lab.example.org', 'widgets'), 'tool-a', 'w1')!;
    assert.equal(w1.metadata.managedFields?.[0]?.manager, 'cookbook-component');
    assert.equal(w1.metadata.generation, 1);
    // The schema is enforced: a string where an integer belongs, a missing required field.
    const bad = await kubectl(lab, ['apply', '--server-side', '-f', file(widget('tool-a', 'bad', 'big'))]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /The Widget "bad" is invalid: spec.size: Invalid value: "string": spec.size in body must be of type integer/);
    assert.equal(store().get(res('lab.example.org', 'widgets'), 'tool-a', 'bad'), undefined);
    // A CRD whose name is not plural.group is refused.
    const wrong = await kubectl(lab, ['apply', '--server-side', '-f', file(CRD.replace('name: widgets.lab.example.org', 'name: gadgets.lab.example.org'))]);
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /metadata.name: Invalid value: "gadgets.lab.example.org": must be spec.names.plural\+"."\+spec.group/);
    // Deleting the CRD removes its objects and the kind.
    const del = await kubectl(lab, ['delete', 'crd', 'widgets.lab.example.org']);
    assert.equal(del.code, 0, del.stderr);
    await until('the kind is gone from discovery', async () => (await call(lab, 'GET', '/apis/lab.example.org/v1')).status === 404);
    assert.equal((await call(lab, 'GET', '/apis/lab.example.org/v1/namespaces/tool-a/widgets/w1')).status, 404);
  });

  it('serves Ingresses: applied server-side (dry and for real), listed across namespaces by an ApplySet label', async () => {
    const ing = (ns: string, name: string, part: string) =>
      `apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: ${name}\n  namespace: ${ns}\n  labels: {applyset.kubernetes.io/part-of: ${part}}\nspec:\n  rules:\n  - host: ${name}.toolforge.lab\n    http:\n      paths:\n      - {path: /, pathType: Prefix, backend: {service: {name: ${name}, port: {number: 8000}}}}\n`;
    const manifest = file([ing('tool-a', 'web', 'set-1'), ing('tool-b', 'api', 'set-1'), ing('tool-b', 'misc', 'set-2')].join('---\n'));
    const dry = await kubectl(lab, ['apply', '--server-side', '--dry-run=server', '-f', manifest]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(store().count(res('networking.k8s.io', 'ingresses')), 0);
    const real = await kubectl(lab, ['apply', '--server-side', '-f', manifest]);
    assert.equal(real.code, 0, real.stderr);
    const list = JSON.parse((await call(lab, 'GET', '/apis/networking.k8s.io/v1/ingresses?labelSelector=' + encodeURIComponent('applyset.kubernetes.io/part-of=set-1'))).body);
    assert.equal(list.kind, 'IngressList');
    assert.deepEqual(list.items.map((i: { metadata: { namespace: string; name: string } }) => `${i.metadata.namespace}/${i.metadata.name}`), ['tool-a/web', 'tool-b/api']);
  });

  it('names the field and the manager in a server-side apply conflict; --force-conflicts takes the field', async () => {
    const cm = (v: string) => file(`apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: owned\n  namespace: tool-a\ndata:\n  key: ${v}\n`);
    const first = await kubectl(lab, ['apply', '--server-side', '--field-manager=cookbook-component', '-f', cm('one')]);
    assert.equal(first.code, 0, first.stderr);
    const other = await kubectl(lab, ['apply', '--server-side', '--field-manager=someone-else', '-f', cm('two')]);
    assert.notEqual(other.code, 0);
    assert.match(other.stderr, /Apply failed with 1 conflict: conflict with "cookbook-component" using v1: \.data\.key/);
    // The raw answer: 409 Conflict with a FieldManagerConflict cause naming the field.
    const raw = await call(lab, 'PATCH', '/api/v1/namespaces/tool-a/configmaps/owned?fieldManager=someone-else', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: owned}\ndata: {key: two}\n', 'application/apply-patch+yaml');
    assert.equal(raw.status, 409);
    const status = JSON.parse(raw.body);
    assert.equal(status.reason, 'Conflict');
    assert.equal(status.message, 'Apply failed with 1 conflict: conflict with "cookbook-component" using v1: .data.key');
    assert.deepEqual(status.details.causes, [{ reason: 'FieldManagerConflict', message: 'conflict with "cookbook-component" using v1', field: '.data.key' }]);
    const forced = await kubectl(lab, ['apply', '--server-side', '--force-conflicts', '--field-manager=someone-else', '-f', cm('two')]);
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(store().get(res('', 'configmaps'), 'tool-a', 'owned')!.data.key, 'two');
  });

  it('answers server-side dry runs of create, apply and delete with the result, validated, storing nothing', async () => {
    const cms = res('', 'configmaps');
    const before = lab.world.counters.k8s_mutations;
    const rv = store().currentRv();
    const created = await kubectl(lab, ['apply', '--server-side', '--dry-run=server', '-o', 'json', '-f', file('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dry\n  namespace: tool-a\ndata: {a: "1"}\n')]);
    assert.equal(created.code, 0, created.stderr);
    const obj = JSON.parse(created.stdout);
    assert.equal(obj.data.a, '1');
    assert.ok(obj.metadata.uid, 'a dry-run create returns the object as it would be stored');
    assert.equal(store().get(cms, 'tool-a', 'dry'), undefined);
    // A change to an existing object, dry: the answer shows it, the store does not.
    const changed = await kubectl(lab, ['apply', '--server-side', '--force-conflicts', '--dry-run=server', '-o', 'json', '-f', file('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: owned\n  namespace: tool-a\ndata: {key: three}\n')]);
    assert.equal(changed.code, 0, changed.stderr);
    assert.equal(JSON.parse(changed.stdout).data.key, 'three');
    assert.equal(store().get(cms, 'tool-a', 'owned')!.data.key, 'two');
    const del = await kubectl(lab, ['delete', 'configmap', 'owned', '-n', 'tool-a', '--dry-run=server']);
    assert.equal(del.code, 0, del.stderr);
    assert.ok(store().get(cms, 'tool-a', 'owned'));
    // Validation and admission run: an invalid Deployment is refused even in a dry run.
    const invalid = await kubectl(lab, ['apply', '--server-side', '--dry-run=server', '-f', file('apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: broken, namespace: tool-a}\nspec:\n  selector: {matchLabels: {app: one}}\n  template:\n    metadata: {labels: {app: other}}\n    spec: {containers: [{name: c, image: busybox}]}\n')]);
    assert.notEqual(invalid.code, 0);
    assert.match(invalid.stderr, /The Deployment "broken" is invalid: spec.template.metadata.labels: Invalid value/);
    // A POST with an unknown dryRun value is a 400.
    const bogus = await call(lab, 'POST', '/api/v1/namespaces/tool-a/configmaps?dryRun=Some', JSON.stringify({ metadata: { name: 'x' } }));
    assert.equal(bogus.status, 400);
    assert.equal(lab.world.counters.k8s_mutations, before);
    assert.equal(store().currentRv(), rv, 'nothing was written');
  });

  it('runs Jobs to completion, and fails one whose image carries the never-ready mark after its backoff limit', async () => {
    const job = (name: string, image: string) => file(`apiVersion: batch/v1\nkind: Job\nmetadata: {name: ${name}, namespace: tool-b}\nspec:\n  backoffLimit: 1\n  completions: 2\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: run, image: ${image}}]\n`);
    const ok = await kubectl(lab, ['apply', '--server-side', '-f', job('migrate', 'registry.lab/migrate:1')]);
    assert.equal(ok.code, 0, ok.stderr);
    const bad = await kubectl(lab, ['apply', '--server-side', '-f', job('broken', 'registry.lab/migrate:never-ready')]);
    assert.equal(bad.code, 0, bad.stderr);
    const done = await kubectl(lab, ['wait', '--for=condition=complete', '--timeout=20s', 'job/migrate', '-n', 'tool-b']);
    assert.equal(done.code, 0, done.stderr);
    const migrate = store().get(res('batch', 'jobs'), 'tool-b', 'migrate')!;
    assert.equal(migrate.status.succeeded, 2);
    assert.ok(migrate.status.completionTime);
    assert.equal(migrate.spec.selector.matchLabels['batch.kubernetes.io/controller-uid'], migrate.metadata.uid);
    const failed = await kubectl(lab, ['wait', '--for=condition=failed', '--timeout=20s', 'job/broken', '-n', 'tool-b']);
    assert.equal(failed.code, 0, failed.stderr);
    const broken = store().get(res('batch', 'jobs'), 'tool-b', 'broken')!;
    assert.equal(broken.status.conditions.find((c: { type: string }) => c.type === 'Failed').reason, 'BackoffLimitExceeded');
    assert.equal(broken.status.failed, 2);
    // A Job without restartPolicy Never/OnFailure is refused, as the real server does.
    const always = await kubectl(lab, ['apply', '--server-side', '-f', file('apiVersion: batch/v1\nkind: Job\nmetadata: {name: always, namespace: tool-b}\nspec:\n  template:\n    spec:\n      containers: [{name: run, image: x}]\n')]);
    assert.notEqual(always.code, 0);
    assert.match(always.stderr, /spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"/);
  });

  it('reports rollouts at the new generation for Deployments, StatefulSets and DaemonSets; a never-ready image never completes and exceeds its progress deadline', async () => {
    const workload = (kind: string, name: string, image: string) =>
      file(`apiVersion: apps/v1\nkind: ${kind}\nmetadata: {name: ${name}, namespace: tool-a}\nspec:\n${kind === 'DaemonSet' ? '' : '  replicas: 2\n'}${kind === 'StatefulSet' ? `  serviceName: ${name}\n` : ''}  selector: {matchLabels: {app: ${name}}}\n  template:\n    metadata: {labels: {app: ${name}}}\n    spec: {containers: [{name: c, image: "${image}"}]}\n`);
    for (const [kind, name] of [['Deployment', 'web'], ['StatefulSet', 'db'], ['DaemonSet', 'agent']] as const) {
      for (const image of ['registry.lab/app:1', 'registry.lab/app:2']) {
        const r = await kubectl(lab, ['apply', '--server-side', '-f', workload(kind, name, image)]);
        assert.equal(r.code, 0, r.stderr);
        const st = await kubectl(lab, ['rollout', 'status', `${kind.toLowerCase()}/${name}`, '-n', 'tool-a', '--timeout=20s']);
        assert.equal(st.code, 0, `${kind} ${image}: ${st.stdout}${st.stderr}`);
      }
      const obj = store().get(res('apps', `${kind.toLowerCase()}s`), 'tool-a', name)!;
      assert.equal(obj.metadata.generation, 2, kind);
      assert.equal(obj.status.observedGeneration, 2, kind);
    }
    const db = store().get(res('apps', 'statefulsets'), 'tool-a', 'db')!;
    assert.equal(db.status.currentRevision, db.status.updateRevision);
    assert.equal(db.status.updatedReplicas, 2);
    const agent = store().get(res('apps', 'daemonsets'), 'tool-a', 'agent')!;
    assert.deepEqual([agent.status.updatedNumberScheduled, agent.status.numberAvailable], [agent.status.desiredNumberScheduled, agent.status.desiredNumberScheduled]);
    const web = store().get(res('apps', 'deployments'), 'tool-a', 'web')!;
    assert.deepEqual([web.status.updatedReplicas, web.status.availableReplicas], [2, 2]);
    // The never-ready mark: pods run but never become ready, the rollout never completes.
    // With a progress deadline of 60 lab seconds (0.3 s at speed 200) the controller gives up as a real one does.
    const never = readFileSync(workload('Deployment', 'web', 'registry.lab/app:never-ready'), 'utf8').replace('spec:\n', 'spec:\n  progressDeadlineSeconds: 60\n');
    const r = await kubectl(lab, ['apply', '--server-side', '-f', file(never)]);
    assert.equal(r.code, 0, r.stderr);
    const st = await kubectl(lab, ['rollout', 'status', 'deployment/web', '-n', 'tool-a', '--timeout=20s']);
    assert.notEqual(st.code, 0);
    assert.match(st.stderr, /deployment "web" exceeded its progress deadline/);
    const progressing = store().get(res('apps', 'deployments'), 'tool-a', 'web')!.status.conditions.find((c: { type: string }) => c.type === 'Progressing');
    assert.deepEqual([progressing.status, progressing.reason], ['False', 'ProgressDeadlineExceeded']);
    const stuck = store().get(res('apps', 'deployments'), 'tool-a', 'web')!;
    assert.equal(stuck.status.observedGeneration, 3);
    assert.ok((stuck.status.updatedReplicas ?? 0) >= 1 && (stuck.status.unavailableReplicas ?? 0) >= 1, JSON.stringify(stuck.status));
    const pod = [...store().scan(res('', 'pods'), 'tool-a')].find((p) => p.spec.containers[0].image.includes('never-ready'))!;
    assert.equal(pod.status.phase, 'Running');
    assert.equal(pod.status.containerStatuses[0].state.waiting.reason, 'CrashLoopBackOff');
  });

  it('stores a Secret applied with stringData as base64 data, type Opaque', async () => {
    const s = await kubectl(lab, ['apply', '--server-side', '-f', file('apiVersion: v1\nkind: Secret\nmetadata: {name: creds, namespace: tool-a}\nstringData: {password: hunter2}\n')]);
    assert.equal(s.code, 0, s.stderr);
    const secret = store().get(res('', 'secrets'), 'tool-a', 'creds')!;
    assert.equal(secret.type, 'Opaque');
    assert.equal(secret.data.password, Buffer.from('hunter2').toString('base64'));
    assert.equal(secret.stringData, undefined);
  });

  it('answers /readyz, and 429 with Retry-After beyond the in-flight limit', async () => {
    const ready = await call(lab, 'GET', '/readyz?verbose');
    assert.equal(ready.status, 200);
    assert.match(ready.body, /readyz check passed/);
    // The k8sReadyzFailRate fault: /readyz fails as with an unreachable etcd, other requests are still served.
    lab.world.faults.k8sReadyzFailRate = 1;
    const down = await call(lab, 'GET', '/readyz?verbose');
    assert.equal(down.status, 500);
    assert.match(down.body, /\[-\]etcd failed: reason withheld\nreadyz check failed/);
    assert.equal((await call(lab, 'GET', '/api/v1/namespaces/tool-a')).status, 200);
    lab.world.faults.k8sReadyzFailRate = 0;
    assert.equal((await call(lab, 'GET', '/readyz')).status, 200);
    // Ten creates whose bodies are still on the way are in flight together: beyond a limit of 5 mutating
    // requests the server answers 429 + Retry-After at once; the five it took complete once their bodies end.
    const small = await startLab(makeWorld(200, { control: 1, worker: 0, worker_nfs: 0, ingress: 0, etcd: 0 }), { maxMutatingInflight: 5 });
    try {
      const pending = Array.from({ length: 10 }, (_, i) => slowCreate(small, i));
      await until('five requests in flight', () => small.world.counters.k8s_peak_inflight === 5);
      const early: RawAnswer[] = [];
      for (const p of pending) void p.answer.then((a) => early.push(a));
      await until('the five beyond the limit answered', () => early.length === 5);
      for (const a of early) {
        assert.equal(a.status, 429);
        assert.equal(a.headers['retry-after'], '1');
        assert.equal(JSON.parse(a.body).reason, 'TooManyRequests');
      }
      for (const p of pending) p.finish();
      const all = await Promise.all(pending.map((p) => p.answer));
      assert.equal(all.filter((a) => a.status === 201).length, 5);
      assert.equal(small.world.counters.k8s_peak_inflight, 5, 'the gauge saw the limit reached and never passed');
    } finally {
      await small.stop();
    }
  });
});
