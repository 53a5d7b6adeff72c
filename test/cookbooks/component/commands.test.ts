// component.deploy --then (two labs), component.status/history/diff/test/rollback, and the deploy refusals that
// need a repository: a template error, an object the server rejects, a tests.txt tag that selects no test, a
// namespace outside the component. Refusals exit 2 and write nothing but the run's lock Lease.
import { strict as assert } from 'node:assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupTempDirs } from '../../helpers/cli.js';
import { type TestLab, startTestLab } from '../../helpers/lab.js';
import { kubectl, kubectlJson, labRunner } from '../../helpers/lab-cli.js';
import { exampleDirFor, exampleGitRepo } from '../../component/example-repo.js';

/** Adds a component to a repository directory (values for `cluster`). */
function addComponent(root: string, name: string, cluster: string, files: { manifest: string; tests?: string; yaml?: string }): void {
  const dir = join(root, 'components', name);
  mkdirSync(join(dir, 'manifests'), { recursive: true });
  mkdirSync(join(dir, 'values'), { recursive: true });
  writeFileSync(join(dir, 'component.yaml'), files.yaml ?? `namespace: ${name}\n`);
  writeFileSync(join(dir, 'values', `${cluster}.yaml`), 'present: yes\n');
  writeFileSync(join(dir, 'manifests', 'objects.yaml'), files.manifest);
  if (files.tests) writeFileSync(join(dir, 'tests.txt'), files.tests);
}

describe('component cookbooks: --then, status, history, diff, test, rollback, refusals', function () {
  this.timeout(120_000);
  let beta: TestLab;
  let tools: TestLab;
  let cb: ReturnType<typeof labRunner>;
  let repo: string;
  const LAB = { workers: 1, workersNfs: 0, control: 1, ingress: 0, etcd: 0, speed: 100, namespaces: 3 } as const;
  before(async () => {
    [beta, tools] = await Promise.all([startTestLab({ ...LAB, clusterName: 'cbeta' }), startTestLab({ ...LAB, clusterName: 'ctools' })]);
    repo = await exampleGitRepo(['cbeta', 'ctools']);
    cb = labRunner(beta);
  });
  after(async () => {
    await Promise.all([beta?.stop(), tools?.stop()]);
    cleanupTempDirs();
  });
  const web = (extra: string[], env: Record<string, string> = {}) => cb.json('component.deploy', ['--component', 'web', '--repo', repo, ...extra], { env });

  it('--then: after cbeta passed its tests the same commit is deployed to ctools (under its own lock)', async () => {
    // The next cluster is found where --cluster-name was: every --inventory of the run (here a second one).
    const unknown = await web(['--git-branch', 'v2', '--then', 'ctools'], { COOKBOOK_INVENTORY: tools.stateDir });
    assert.equal(unknown.code, 2, 'with --inventory given, COOKBOOK_INVENTORY is not looked at (as for --cluster-name)');
    assert.match(unknown.stderr, /--then: unknown cluster "ctools"; known clusters: cbeta/);
    assert.match(String(unknown.out.error?.hint), /--then looks where --cluster-name was found: /, JSON.stringify(unknown.out.error));
    const r = await web(['--git-branch', 'v2', '--run-tests', '--then', 'ctools', '--inventory', tools.stateDir]);
    assert.equal(r.code, 0, r.stderr);
    const { first, then } = r.out.result;
    assert.deepEqual([first.cluster, first.revision, then.cluster, then.revision], ['cbeta', 1, 'ctools', 1]);
    assert.equal(then.repo.sha, first.repo.sha, 'the same commit');
    assert.ok(then.tests.every((t: { ok: boolean }) => t.ok) && then.tests.length === 3, 'ctools ran its tests too');
    const d = await kubectlJson(tools, ['get', 'deployment', 'web', '-n', 'web']);
    assert.equal(d.spec.template.spec.containers[0].image, 'registry.example/web:1.1');
    assert.equal((await kubectl(tools, ['get', 'lease', '-A', '-o', 'name'])).stdout.includes('cluster-cookbooks-lock'), false, "ctools' lock was released");
  });

  it('component.status lists the deployed components with revision, SHA and health', async () => {
    const r = await cb.json('component.status');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      r.out.result.components.map((c: Record<string, unknown>) => [c.component, c.namespace, c.revision, c.status, c.health]),
      [['web', 'web', 1, 'deployed', 'healthy']],
    );
    assert.match(r.out.result.components[0].sha, /^[0-9a-f]{40}$/);
  });

  it('component.diff shows what v3 would change and writes nothing', async () => {
    const before = beta.counters().k8s_mutations;
    const r = await cb.json('component.diff', ['--component', 'web', '--repo', repo, '--git-branch', 'v3']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.out.result.plan, { create: 0, change: 1, unchanged: 3, prune: 0 });
    assert.equal(r.out.result.entries.find((e: { action: string }) => e.action === 'change').name, 'ConfigMap/web/web-config');
    assert.equal(beta.counters().k8s_mutations, before);
  });

  it('component.test names the failed test (read from the bats JUnit report), exit 1', async () => {
    await kubectl(beta, ['patch', 'configmap', 'web-config', '-n', 'web', '--type', 'merge', '-p', '{"data":{"healthy":"no"}}']);
    const r = await cb.json('component.test', ['--component', 'web', '--repo', repo, '--git-branch', 'v2']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /web: tests failed: web reports healthy/);
  });

  it('a field another manager took (kubectl patch above) is a conflict naming field and manager; --force-conflicts takes it back', async () => {
    const r = await web(['--git-branch', 'v1']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /ConfigMap\/web\/web-config: server-side apply conflicts with another field manager: \.data\.healthy \(owned by kubectl-patch\)/);
    assert.deepEqual((await cb.json('component.history', ['--component', 'web'])).out.result.revisions.length, 1, 'refused before any revision');
    const v1 = await web(['--git-branch', 'v1', '--force-conflicts']);
    assert.equal(v1.code, 0, v1.stderr);
    assert.equal(v1.out.result.revision, 2);
    assert.equal((await kubectlJson(beta, ['get', 'configmap', 'web-config', '-n', 'web'])).data.healthy, 'true');
  });

  it('component.rollback (after v1 as revision 2) goes back to the last good revision as a new revision', async () => {
    const r = await cb.json('component.rollback', ['--component', 'web', '--timeout', '30s']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.out.result, { revision: 3, rolledBackTo: 1 });
    assert.equal((await kubectl(beta, ['get', 'configmap', 'web-extra', '-n', 'web'])).code, 1, 'v1-only object pruned again');
    const h = await cb.json('component.history', ['--component', 'web']);
    assert.deepEqual(h.out.result.revisions.map((x: { revision: number; status: string; description: string }) => `${x.revision}:${x.status}:${x.description}`), ['1:superseded:Install', '2:superseded:Upgrade', '3:deployed:Rollback to 1']);
  });

  describe('refusals that need the repository: exit 2, nothing written', () => {
    const broken = exampleDirFor(['cbeta']);
    addComponent(broken, 'broken-template', 'cbeta', { manifest: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  k: "{{ values.missing.key }}"\n' });
    addComponent(broken, 'rejected', 'cbeta', { manifest: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Not_A_Name\n' });
    addComponent(broken, 'no-tests', 'cbeta', { manifest: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n', tests: 'nosuchtag\n' });
    addComponent(broken, 'outside', 'cbeta', { manifest: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: kube-system\n' });
    const rows: [string, string[], RegExp][] = [
      ['a value no values file defines', ['--component', 'broken-template'], /components\/broken-template\/manifests\/objects\.yaml:6: the value "values\.missing" is not defined/],
      ['an object the server rejects', ['--component', 'rejected'], /the API server rejects ConfigMap\/rejected\/Not_A_Name: .*Not_A_Name/],
      ['a tests.txt tag that selects no test', ['--component', 'no-tests', '--run-tests'], /the test tag filter "nosuchtag" \(components\/no-tests\/tests\.txt\) selects no test/],
      ['an unreachable repository', ['--component', 'web', '--repo', 'file:///nonexistent/components.git', '--git-branch', 'main'], /cannot clone file:\/\/\/nonexistent\/components\.git: .*does not exist|cannot clone file:\/\/\/nonexistent/],
      ['a namespace outside the component', ['--component', 'outside'], /ConfigMap\/kube-system\/c is outside the component's namespace outside/],
    ];
    for (const [title, args, message] of rows) {
      it(title, async () => {
        const before = beta.counters().k8s_mutations;
        const r = await cb.run('component.deploy', args.includes('--repo') ? args : [...args, '--repo', broken]);
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, message);
        assert.ok(beta.counters().k8s_mutations - before <= 2, 'only the lock Lease, created and deleted');
      });
    }
  });
});
