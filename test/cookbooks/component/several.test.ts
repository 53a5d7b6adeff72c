// component.deploy with several --component in one run, and custom resources whose CRD arrives in the same run:
// every component is rendered before anything is written (a bad second one is refused with exit 2), and a
// custom resource of a CRD the run creates is dry-run validated once the CRD is served, before anything else
// of its component is written (a bad one leaves the component's other objects unwritten).
import { strict as assert } from 'node:assert';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupTempDirs, tempDir } from '../../helpers/cli.js';
import { type TestLab, startTestLab } from '../../helpers/lab.js';
import { kubectl, kubectlJson, labRunner } from '../../helpers/lab-cli.js';
import { EXAMPLE } from '../../component/example-repo.js';

const CLUSTER = 'multi';

/** The shipped example's Widget CRD (spec.size an integer) renamed to kind `kind` of example.org. */
function crd(kind: string): string {
  const text = readFileSync(join(EXAMPLE, 'components', 'widgets', 'manifests', 'crd.yaml'), 'utf8');
  return text.replace(/Widget/g, kind).replace(/widget/g, kind.toLowerCase());
}

/** Writes a component (namespace = its name) with one manifest file and the cluster's values. */
function component(root: string, name: string, manifest: string, values = '{}\n'): void {
  const dir = join(root, 'components', name);
  mkdirSync(join(dir, 'manifests'), { recursive: true });
  mkdirSync(join(dir, 'values'), { recursive: true });
  writeFileSync(join(dir, 'component.yaml'), `namespace: ${name}\nwaitTimeout: 30s\n`);
  writeFileSync(join(dir, 'values', `${CLUSTER}.yaml`), values);
  writeFileSync(join(dir, 'manifests', 'objects.yaml'), manifest);
}

const config = (name: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  a: "1"\n`;
const resource = (kind: string, name: string): string => `apiVersion: example.org/v1\nkind: ${kind}\nmetadata:\n  name: ${name}\nspec:\n  size: {{ values.size }}\n`;

describe('component.deploy: several components in one run, custom resources of a CRD the run creates', function () {
  this.timeout(120_000);
  let lab: TestLab;
  let cb: ReturnType<typeof labRunner>;
  let repo: string;
  before(async () => {
    lab = await startTestLab({ clusterName: CLUSTER, workers: 1, workersNfs: 0, control: 1, ingress: 0, etcd: 0, speed: 100, namespaces: 1 });
    cb = labRunner(lab);
    repo = tempDir('cc-several-');
    component(repo, 'gadget-types', crd('Gadget'));
    component(repo, 'gadgets', `${config('gadget-config')}---\n${resource('Gadget', 'g1')}`, 'size: big\n');
    component(repo, 'all-in-one', `${crd('Doohickey')}---\n${config('aio-config')}---\n${resource('Doohickey', 'd1')}`, 'size: big\n');
  });
  after(async () => {
    await lab?.stop();
    cleanupTempDirs();
  });
  const deploy = (components: string[]) => cb.json('component.deploy', [...components.flatMap((c) => ['--component', c]), '--repo', repo]);
  const exists = async (args: string[]): Promise<boolean> => (await kubectl(lab, ['get', ...args])).code === 0;

  it('a bad second component is refused before the first is deployed; a component named twice is refused', async () => {
    const r = await deploy(['gadget-types', 'gadgetz']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /no component gadgetz in the repository.*gadgets/s);
    assert.equal(await exists(['crd', 'gadgets.example.org']), false, 'the first component was not deployed');
    const twice = await deploy(['gadgets', 'gadget-types', 'gadgets']);
    assert.equal(twice.code, 2, twice.stderr);
    assert.match(twice.stderr, /--component: gadgets is given twice/);
  });

  it('a custom resource of a CRD the same deploy creates is validated once the CRD is served, before anything else is written', async () => {
    const bad = await deploy(['all-in-one']);
    assert.notEqual(bad.code, 0, bad.stderr);
    assert.match(bad.stderr, /validating 1 custom resources now that their CRDs are served(.|\n)*Doohickey\/all-in-one\/d1.*spec\.size.*must be of type integer/);
    assert.equal(await exists(['crd', 'doohickeys.example.org']), true, 'the CRD was applied (it had to be served to validate d1)');
    assert.equal(await exists(['configmap', 'aio-config', '-n', 'all-in-one']), false, 'nothing after the CRDs was written');
    writeFileSync(join(repo, 'components', 'all-in-one', 'values', `${CLUSTER}.yaml`), 'size: 2\n');
    const good = await deploy(['all-in-one']);
    assert.equal(good.code, 0, good.stderr);
    assert.equal((await kubectlJson(lab, ['get', 'doohickey', 'd1', '-n', 'all-in-one'])).spec.size, 2);
    assert.equal(await exists(['configmap', 'aio-config', '-n', 'all-in-one']), true);
  });

  it("two components in one run: the first one's CRD serves the second one's custom resources, validated before the second writes anything", async () => {
    const bad = await deploy(['gadget-types', 'gadgets']);
    assert.notEqual(bad.code, 0, bad.stderr);
    assert.match(bad.stderr, /Gadget\/gadgets\/g1.*must be of type integer.*deployed before it: gadget-types; not attempted: none/s);
    assert.equal(await exists(['crd', 'gadgets.example.org']), true);
    assert.equal(await exists(['configmap', 'gadget-config', '-n', 'gadgets']), false, 'gadgets wrote nothing but its revision record');
    writeFileSync(join(repo, 'components', 'gadgets', 'values', `${CLUSTER}.yaml`), 'size: 3\n');
    // The same command resumes the failed run: gadget-types keeps its revision, gadgets finishes its first one.
    const good = await deploy(['gadget-types', 'gadgets']);
    assert.equal(good.code, 0, good.stderr);
    assert.deepEqual(
      good.out.result.components.map((c: { component: string; revision: number; status: string }) => [c.component, c.revision, c.status]),
      [['gadget-types', 1, 'deployed'], ['gadgets', 1, 'deployed']],
    );
    assert.equal((await kubectlJson(lab, ['get', 'gadget', 'g1', '-n', 'gadgets'])).spec.size, 3);
  });
});
