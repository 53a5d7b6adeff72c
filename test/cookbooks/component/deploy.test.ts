// component.deploy end to end against the lab, with real git (the example repository as branches v1..v4) and
// real bats: create, change + prune, an unchanged re-deploy that writes nothing, the ApplySet seen by kubectl,
// a dry-run that writes nothing, failed tests and a never-ready rollout both rolled back to the last good
// revision, and a deploy killed in the middle of applying that the same command then finishes.
import { strict as assert } from 'node:assert';
import { $ } from 'zx';
import { cleanupTempDirs } from '../../helpers/cli.js';
import { type TestLab, startTestLab } from '../../helpers/lab.js';
import { kubectl, kubectlJson, labRunner } from '../../helpers/lab-cli.js';
import { exampleGitRepo } from '../../component/example-repo.js';
import { type Release, decodeRelease } from '../../../lib/component/release.js';

describe('component.deploy (lab, real git, real bats)', function () {
  this.timeout(120_000);
  let lab: TestLab;
  let cb: ReturnType<typeof labRunner>;
  let repo: string;
  before(async () => {
    lab = await startTestLab({ clusterName: 'toolsbeta', workers: 2, workersNfs: 0, control: 1, ingress: 0, etcd: 0, speed: 100, namespaces: 6 });
    repo = await exampleGitRepo();
    cb = labRunner(lab);
  });
  after(async () => {
    await lab?.stop();
    cleanupTempDirs();
  });

  const deploy = (branch: string, extra: string[] = [], component = 'web') => cb.json('component.deploy', ['--component', component, '--repo', repo, '--git-branch', branch, ...extra]);
  /** The release records, read with kubectl (no cookbook run) and decoded. */
  const history = async (component = 'web'): Promise<Release[]> => {
    const list = await kubectlJson(lab, ['get', 'secrets', '-A', '-l', `owner=cluster-cookbooks,name=${component}`]);
    return (list.items as Parameters<typeof decodeRelease>[0][]).map((s) => decodeRelease(s)!).sort((a, b) => a.revision - b.revision);
  };
  const statuses = async (component = 'web'): Promise<string[]> => (await history(component)).map((h) => `${h.revision}:${h.status}`);
  const image = async (): Promise<string> => (await kubectlJson(lab, ['get', 'deployment', 'web', '-n', 'web'])).spec.template.spec.containers[0].image;
  const sha = async (branch: string): Promise<string> => (await $({ cwd: repo, quiet: true })`git rev-parse ${branch}`).stdout.trim();
  const objectChanges = (out: Record<string, any>): string[] => (out.changes as { target: string }[]).map((c) => c.target).filter((t) => !t.startsWith('lease/'));

  it('v1: objects created, revision 1 deployed with the commit recorded, tests pass', async () => {
    const r = await deploy('v1', ['--run-tests']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.out.result.plan, { create: 5, change: 0, unchanged: 0, prune: 0 });
    assert.equal(r.out.result.revision, 1);
    assert.deepEqual(r.out.result.tests.map((t: { name: string; ok: boolean }) => `${t.ok ? 'ok' : 'FAILED'} ${t.name}`), ['ok web deployment is available', 'ok web service exists', 'ok web reports healthy']);
    // Read from bats' JUnit report: every test with its file and time.
    assert.ok(r.out.result.tests.every((t: { file: string; durationMs: number }) => t.file === 'functional-tests/admin/web.bats' && Number.isInteger(t.durationMs)), JSON.stringify(r.out.result.tests));
    assert.equal(await image(), 'registry.example/web:1.0');
    const h = await history();
    assert.deepEqual(h.map((x) => `${x.revision}:${x.status}:${x.description}`), ['1:deployed:Install']);
    assert.equal(h[0]!.repo.sha, await sha('v1'));
    assert.equal(h[0]!.tests?.passed, true);
  });

  it('v2 changes the image and drops web-extra: pruned, revision 2 deployed, revision 1 superseded', async () => {
    const r = await deploy('v2', ['--run-tests']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.out.result.plan, { create: 0, change: 1, unchanged: 3, prune: 1 });
    assert.match(r.out.result.diff, /~ change Deployment\/web\/web\n(.*\n)*\s+- +image: registry.example\/web:1.0\n\s+\+ +image: registry.example\/web:1.1/);
    assert.match(r.out.result.diff, /- prune +ConfigMap\/web\/web-extra/);
    assert.equal(await image(), 'registry.example/web:1.1');
    assert.equal((await kubectl(lab, ['get', 'configmap', 'web-extra', '-n', 'web'])).code, 1, 'web-extra is gone');
    assert.deepEqual(await statuses(), ['1:superseded', '2:deployed']);
  });

  it('an unchanged re-deploy sends no write and makes no revision', async () => {
    const before = lab.counters().k8s_mutations;
    const r = await deploy('v2');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.out.result.changed, false);
    assert.deepEqual(objectChanges(r.out), []);
    assert.ok(lab.counters().k8s_mutations - before <= 2, `only the lock Lease was written (${lab.counters().k8s_mutations - before} writes)`);
    assert.deepEqual(await statuses(), ['1:superseded', '2:deployed']);
  });

  it('kubectl lists exactly the ApplySet members with the part-of label', async () => {
    const parent = await kubectlJson(lab, ['get', 'secret', 'component-web', '-n', 'web']);
    const id = parent.metadata.labels['applyset.kubernetes.io/id'];
    assert.match(id, /^applyset-[A-Za-z0-9_-]+-v1$/);
    assert.equal(parent.metadata.annotations['applyset.kubernetes.io/contains-group-kinds'], 'ConfigMap,Deployment.apps,Ingress.networking.k8s.io,Service');
    const r = await kubectl(lab, ['get', 'configmaps,services,deployments,ingresses,secrets', '-A', '-l', `applyset.kubernetes.io/part-of=${id}`, '-o', 'name']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n').sort(), ['configmap/web-config', 'deployment.apps/web', 'ingress.networking.k8s.io/web', 'service/web']);
  });

  it('--dry-run of v3: the diff printed, zero writes', async () => {
    const before = lab.counters().k8s_mutations;
    const r = await cb.run('component.deploy', ['--component', 'web', '--repo', repo, '--git-branch', 'v3', '--dry-run']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(lab.counters().k8s_mutations, before, 'not a single mutating request');
    assert.match(r.stdout, /~ change ConfigMap\/web\/web-config\n(.*\n)*\s+- +healthy: "true"\n\s+\+ +healthy: "false"/);
    assert.deepEqual(await statuses(), ['1:superseded', '2:deployed']);
  });

  it('v3 whose tests fail: rolled back to revision 2, tests re-run and pass, exit 1 naming the failed test', async () => {
    const r = await deploy('v3', ['--run-tests']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /tests failed: web reports healthy; rolled back to revision 2 \(as revision 4\); the tests pass again/);
    assert.deepEqual(await statuses(), ['1:superseded', '2:superseded', '3:failed', '4:deployed']);
    const h = await history();
    assert.equal(h[3]!.description, 'Rollback to 2');
    assert.equal(h[3]!.tests?.passed, true, 'the rollback was re-tested');
    assert.equal((await kubectlJson(lab, ['get', 'configmap', 'web-config', '-n', 'web'])).data.healthy, 'true');
  });

  it('v4 whose Deployment never becomes ready: rolled back to the last good revision after the timeout', async () => {
    const r = await deploy('v4', ['--timeout', '3s']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /rollout not finished after .*Deployment\/web\/web/);
    assert.match(r.stderr, /rolled back to revision 4 \(as revision 6\)/);
    assert.deepEqual((await statuses()).slice(4), ['5:failed', '6:deployed']);
    assert.equal(await image(), 'registry.example/web:1.1');
    await lab.kube.api; // the rollback waited for the rollout: the Deployment is available again
    const d = await kubectlJson(lab, ['get', 'deployment', 'web', '-n', 'web']);
    assert.equal(d.status.observedGeneration, d.metadata.generation);
    assert.equal(d.status.availableReplicas, d.spec.replicas);
  });

  it('--force re-applies an unchanged deploy as a new revision', async () => {
    const r = await deploy('v2', ['--force']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual([r.out.result.changed, r.out.result.revision, r.out.result.plan.unchanged], [true, 7, 4]);
    assert.deepEqual(objectChanges(r.out).filter((t) => !t.startsWith('Secret/')).sort(), ['ConfigMap/web/web-config', 'Deployment/web/web', 'Ingress/web/web', 'Service/web/web']);
    assert.deepEqual((await statuses()).slice(5), ['6:superseded', '7:deployed']);
  });

  it('killed in the middle of applying: the same command resumes the run and finishes the revision', async () => {
    const args = ['--component', 'widgets', '--repo', repo, '--git-branch', 'v1'];
    const out = await cb.start('component.deploy', args, { env: { COOKBOOK_FAILPOINTS: 'kill-after:apply CustomResourceDefinition.apiextensions.k8s.io' } });
    assert.equal(out.signal, 'SIGKILL', out.stderr);
    assert.deepEqual(await statuses('widgets'), ['1:pending']);
    const r = await cb.json('component.deploy', args);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await statuses('widgets'), ['1:deployed']);
    const widgets = await kubectlJson(lab, ['get', 'widgets.example.org', '-n', 'widgets']);
    assert.deepEqual(widgets.items.map((w: { metadata: { name: string } }) => w.metadata.name).sort(), ['large', 'small']);
  });

  it("killed, then deployed from another host: the dead run's pending revision is resolved and logged", async () => {
    const args = ['--component', 'tool-policies', '--repo', repo, '--git-branch', 'v1'];
    const out = await cb.start('component.deploy', args, { env: { COOKBOOK_FAILPOINTS: 'kill-after:record ApplySet members of tool-policies' } });
    assert.equal(out.signal, 'SIGKILL', out.stderr);
    assert.deepEqual(await statuses('tool-policies'), ['1:pending']);
    const elsewhere = labRunner(lab); // a fresh state dir: no journal to resume
    const r = await elsewhere.json('component.deploy', args);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /revision 1 was left pending by run \S+, which is gone .*: marked failed/);
    assert.deepEqual(await statuses('tool-policies'), ['1:failed', '2:deployed']);
    const policies = await kubectlJson(lab, ['get', 'policies.kyverno.io', '-A', '-l', 'applyset.kubernetes.io/part-of']);
    assert.deepEqual(policies.items.map((p: { metadata: { namespace: string } }) => p.metadata.namespace).sort(), ['tool-0004', 'tool-0005', 'tool-0006']);
  });
});
