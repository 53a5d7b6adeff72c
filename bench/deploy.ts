// Component deploys at the scale that once took the model cluster's control plane down: the per-tool component
// (one Kyverno Policy in each of 3,500 tool namespaces) plus a 200-object component (ConfigMaps, Secrets,
// Services, a few Deployments). Two identical fresh labs; on one, ours (the real CLI, one run for both:
// `cookbook component.deploy --component tool-policies --component bench-app`), on the other `kubectl apply
// --server-side` of the same rendered objects. Three phases each: the first deploy, an unchanged re-deploy,
// and a deploy where 10% of the objects changed. Figures per phase: wall time, the client's CPU time (GNU
// time: wall times on a shared machine follow its load, so the JSON line also carries the load average),
// Kubernetes API requests (lab counters), and the peak number of requests in flight (k8s_peak_inflight).
// Targets (issue 11): ours_first_s <= kubectl_first_s; the unchanged re-deploy at least 5x faster with at
// least 20x fewer requests. Environment: BENCH_TOOLS (default 3500), BENCH_SPEED (lab speed, default 50),
// BENCH_SIDES=ours (one side only, no JSON line: for profiling), BENCH_CPU_PROF=DIR (node --cpu-prof of our CLI),
// BENCH_CLI=PATH/bin/cookbook.js with BENCH_PER_COMPONENT=1 (an older build, one run per component),
// BENCH_CONCURRENCY=N (our --concurrency; default: the cookbook's own, 8).
// Prints progress, then as its LAST line one JSON object:
// {"bench":"deploy","objects":N,"ours_first_s":..,"kubectl_first_s":..,...}
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { $ } from 'zx';
import { parse, stringify } from 'yaml';
import { compiledRoot } from '../lib/core/paths.js';
import { loadComponent } from '../lib/component/repository.js';
import { renderComponent } from '../lib/component/render.js';
import { startLab, type LabHandle } from '../lab/index.js';
import { LabClient } from '../lab/client.js';
import { report, round } from './common.js';

const TOOLS = Number(process.env.BENCH_TOOLS ?? 3500);
const SPEED = Number(process.env.BENCH_SPEED ?? 50);
const CLUSTER = 'bench';
const APP_DEPLOYMENTS = 4;
const COMPONENTS = ['tool-policies', 'bench-app'];

type Phase = 'first' | 'unchanged' | 'changed';

/** Figures of one phase on one side. */
interface PhaseFigures {
  seconds: number;
  /** CPU time (user + system) of the client processes (ours, or kubectl's), from GNU time; a loaded machine inflates wall time far more. */
  cpuSeconds?: number;
  requests: number;
  mutations: number;
  peakInflight: number;
}

/** Writes the bench's components repository; `changed` is how many objects of each component differ. */
function writeRepository(root: string, changedTools: number, changedApp: number): void {
  const tp = join(root, 'components', 'tool-policies');
  mkdirSync(join(tp, 'manifests'), { recursive: true });
  mkdirSync(join(tp, 'values'), { recursive: true });
  writeFileSync(join(tp, 'component.yaml'), 'namespace: tool-policies\ndescription: One Kyverno Policy in every tool namespace\nwaitTimeout: 5m\nallowNamespaces: ["tool-*"]\n');
  writeFileSync(
    join(tp, 'manifests', 'policies.yaml'),
    [
      '{% for i in (1..values.tools.count) %}',
      '---',
      'apiVersion: kyverno.io/v1',
      'kind: Policy',
      'metadata:',
      '  name: tool-defaults',
      '  namespace: tool-{{ i | prepend: "000" | slice: -4, 4 }}',
      'spec:',
      '  validationFailureAction: {% if i <= values.tools.changed %}Enforce{% else %}Audit{% endif %}',
      '  rules:',
      '    - name: require-run-as-non-root',
      '      match: { any: [ { resources: { kinds: [Pod] } } ] }',
      '      validate:',
      '        pattern: { spec: { securityContext: { runAsNonRoot: true } } }',
      '{% endfor %}',
      '',
    ].join('\n'),
  );
  writeFileSync(join(tp, 'values', 'common.yaml'), stringify({ tools: { count: TOOLS, changed: 0 } }));
  writeFileSync(join(tp, 'values', `${CLUSTER}.yaml`), stringify({ tools: { changed: changedTools } }));

  const app = join(root, 'components', 'bench-app');
  mkdirSync(join(app, 'manifests'), { recursive: true });
  mkdirSync(join(app, 'values'), { recursive: true });
  writeFileSync(join(app, 'component.yaml'), 'namespace: bench-app\ndescription: 200 objects of the usual kinds\nwaitTimeout: 5m\n');
  const n = (200 - 2 * APP_DEPLOYMENTS) / 3; // ConfigMaps, Secrets, Services; Deployments with their Services
  const docs: string[] = [];
  for (let i = 1; i <= n; i++) {
    const v = `{% if ${i} <= values.changed %}v2{% else %}v1{% endif %}`;
    docs.push(`apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: config-${i}\n  labels: {bench: app}\ndata:\n  setting: "${v}"\n  size: "${i}"\n`);
    docs.push(`apiVersion: v1\nkind: Secret\nmetadata:\n  name: secret-${i}\n  labels: {bench: app}\nstringData:\n  token: "token-${i}-${v}"\n`);
    docs.push(`apiVersion: v1\nkind: Service\nmetadata:\n  name: svc-${i}\n  labels: {bench: app}\nspec:\n  selector: {app: svc-${i}}\n  ports: [{port: 80, targetPort: 8080}]\n`);
  }
  for (let i = 1; i <= APP_DEPLOYMENTS; i++) {
    docs.push(`apiVersion: v1\nkind: Service\nmetadata:\n  name: web-${i}\n  labels: {bench: app}\nspec:\n  selector: {app: web-${i}}\n  ports: [{port: 80, targetPort: 8000}]\n`);
    docs.push(
      `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web-${i}\n  labels: {bench: app}\nspec:\n  replicas: 1\n  selector: {matchLabels: {app: web-${i}}}\n  template:\n    metadata: {labels: {app: web-${i}}}\n    spec:\n      containers:\n      - name: web\n        image: registry.lab/web:1\n        resources: {requests: {cpu: 10m, memory: 16Mi}}\n`,
    );
  }
  writeFileSync(join(app, 'manifests', 'objects.yaml'), docs.join('---\n'));
  writeFileSync(join(app, 'values', 'common.yaml'), stringify({ changed: 0 }));
  writeFileSync(join(app, 'values', `${CLUSTER}.yaml`), stringify({ changed: changedApp }));
}

/** The rendered objects of every component, as one multi-document YAML file for kubectl. */
function renderedYaml(root: string): { text: string; count: number } {
  const docs: string[] = [];
  for (const c of COMPONENTS) {
    const r = renderComponent(loadComponent(root, c, CLUSTER), CLUSTER);
    for (const o of r.objects) docs.push(stringify(o));
  }
  return { text: docs.join('---\n'), count: docs.length };
}

/** A fresh lab with the tool namespaces and the components' own namespaces. */
async function freshLab(dir: string): Promise<LabHandle> {
  const lab = await startLab({ stateDir: join(dir, 'lab'), clusterName: CLUSTER, control: 1, workers: 2, workersNfs: 0, ingress: 0, etcd: 0, speed: SPEED, seedWorkload: false });
  const api = lab.kube.api;
  const nsSpec = api.res('', 'namespaces');
  // The components' own namespaces exist on both labs (kubectl does not create them; ours would).
  for (const ns of COMPONENTS) api.create(nsSpec, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }, { internal: true });
  for (let i = 1; i <= TOOLS; i++) api.create(nsSpec, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: `tool-${String(i).padStart(4, '0')}` } }, { internal: true });
  for (let i = 0; ; i++) {
    const ready = [...lab.kube.store.scan(api.res('', 'nodes'))].filter((x) => x.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True')).length;
    if (ready === 3) break;
    if (i > 3000) throw new Error(`only ${ready} nodes Ready`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return lab;
}

/** GNU time's wrapper (CPU time of a client process into `file`), when /usr/bin/time is there. */
function timed(file: string): string[] {
  return existsSync('/usr/bin/time') ? ['/usr/bin/time', '-a', '-f', '%U %S', '-o', file] : [];
}

/** Sums the "user system" lines GNU time appended to `file` (undefined without GNU time). */
function cpuOf(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => /^[\d.]+ [\d.]+$/.test(l));
  rmSync(file, { force: true });
  return lines.reduce((sum, l) => sum + l.split(' ').reduce((a, b) => a + Number(b), 0), 0);
}

/** Runs `fn` and measures it with the lab's counters (through the admin endpoint). */
async function measure(lab: LabHandle, fn: () => Promise<void>, cpuFile: string): Promise<PhaseFigures> {
  const client = new LabClient(lab.info);
  rmSync(cpuFile, { force: true });
  await client.resetCounters();
  const t0 = performance.now();
  await fn();
  const seconds = (performance.now() - t0) / 1000;
  const c = await client.counters();
  return { seconds, cpuSeconds: cpuOf(cpuFile), requests: c.requests.k8s, mutations: c.k8s_mutations, peakInflight: c.k8s_peak_inflight };
}

/** Our side: the real CLI, one component.deploy of both components (--component repeated). */
async function oursPhase(lab: LabHandle, dir: string, repo: string): Promise<PhaseFigures> {
  const inv = join(dir, 'inventory');
  const doc = parse(readFileSync(join(lab.stateDir, 'inventory.yaml'), 'utf8')) as Record<string, unknown>;
  doc.lock = { backend: 'file' };
  mkdirSync(inv, { recursive: true });
  writeFileSync(join(inv, 'inventory.yaml'), stringify(doc));
  const bin = join(compiledRoot(), 'bin', 'cookbook.js');
  const cpuFile = join(dir, 'cpu-ours');
  // BENCH_PER_COMPONENT=1: one run per component (how an older build, BENCH_CLI=.../bin/cookbook.js, deploys).
  const runs = process.env.BENCH_PER_COMPONENT === '1' ? COMPONENTS.map((c) => [c]) : [COMPONENTS];
  const cli = process.env.BENCH_CLI ?? bin;
  return measure(lab, async () => {
    for (const names of runs) {
      const components = names.flatMap((c) => ['--component', c]);
      const concurrency = process.env.BENCH_CONCURRENCY ? ['--concurrency', process.env.BENCH_CONCURRENCY] : [];
      const args = ['component.deploy', '--cluster-name', CLUSTER, '--inventory', inv, '--state-dir', join(dir, 'state'), '--repo', repo, ...components, ...concurrency, '--yes', '--json'];
      const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : [];
      const r = await $({ nothrow: true, quiet: true, env: { ...process.env, NO_COLOR: '1' } })`${timed(cpuFile)} ${process.execPath} ${prof} ${cli} ${args}`;
      if (r.exitCode !== 0) throw new Error(`component.deploy ${names.join(', ')} failed (${r.exitCode}):\n${r.stderr.slice(-3000)}`);
    }
  }, cpuFile);
}

/** kubectl's side: one server-side apply of every rendered object, then the Deployments available. */
async function kubectlPhase(lab: LabHandle, dir: string, repo: string): Promise<PhaseFigures> {
  const kubeconfig = join(lab.stateDir, 'kubeconfig');
  const file = join(dir, 'rendered.yaml');
  writeFileSync(file, renderedYaml(repo).text);
  const k = $({ nothrow: true, quiet: true, env: { ...process.env, HOME: dir } });
  const cache = join(dir, 'kubectl-cache');
  const cpuFile = join(dir, 'cpu-kubectl');
  return measure(lab, async () => {
    const r = await k`${timed(cpuFile)} kubectl --kubeconfig ${kubeconfig} --cache-dir ${cache} apply --server-side --field-manager=bench -f ${file}`;
    if (r.exitCode !== 0) throw new Error(`kubectl apply failed (${r.exitCode}):\n${r.stderr.slice(-3000)}`);
    const w = await k`${timed(cpuFile)} kubectl --kubeconfig ${kubeconfig} --cache-dir ${cache} wait --for=condition=available --timeout=300s deployment -l bench=app -n bench-app`;
    if (w.exitCode !== 0) throw new Error(`kubectl wait failed (${w.exitCode}):\n${w.stderr.slice(-3000)}`);
  }, cpuFile);
}

/** One side's three phases on its own fresh lab. */
async function side(name: 'ours' | 'kubectl'): Promise<Record<Phase, PhaseFigures>> {
  const dir = mkdtempSync(join(tmpdir(), `cc-bench-deploy-${name}-`));
  const repo = join(dir, 'repo');
  const lab = await freshLab(dir);
  try {
    const out = {} as Record<Phase, PhaseFigures>;
    const phases: [Phase, number, number][] = [
      ['first', 0, 0],
      ['unchanged', 0, 0],
      ['changed', Math.round(TOOLS / 10), 20],
    ];
    for (const [phase, tools, app] of phases) {
      writeRepository(repo, tools, app);
      out[phase] = name === 'ours' ? await oursPhase(lab, dir, repo) : await kubectlPhase(lab, dir, repo);
      const f = out[phase];
      console.log(`${name} ${phase}: ${f.seconds.toFixed(2)} s (client CPU ${f.cpuSeconds?.toFixed(2) ?? '?'} s, load ${loadavg()[0]!.toFixed(1)}), ${f.requests} requests (${f.mutations} writes), peak ${f.peakInflight} in flight`);
    }
    return out;
  } finally {
    await lab.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const cpu = (f: PhaseFigures): number | null => (f.cpuSeconds === undefined ? null : round(f.cpuSeconds, 2));

async function main(): Promise<void> {
  // Wall times on a shared machine depend on its load: the JSON line carries the load average and CPU times.
  const load1 = loadavg()[0]!;
  const tmp = mkdtempSync(join(tmpdir(), 'cc-bench-deploy-count-'));
  writeRepository(tmp, 0, 0);
  const objects = renderedYaml(tmp).count;
  rmSync(tmp, { recursive: true, force: true });
  console.log(`${objects} objects (${TOOLS} per-tool policies + ${objects - TOOLS} in bench-app), lab speed ${SPEED}`);
  const order: ('ours' | 'kubectl')[] = process.env.BENCH_ORDER === 'kubectl-first' ? ['kubectl', 'ours'] : ['ours', 'kubectl'];
  const r = {} as Record<'ours' | 'kubectl', Record<Phase, PhaseFigures>>;
  const only = process.env.BENCH_SIDES;
  for (const s of order) if (!only || only === s) r[s] = await side(s);
  if (only) return;
  const { ours, kubectl } = r;
  console.log(
    `first deploy: ours ${ours.first.seconds.toFixed(2)} s vs kubectl ${kubectl.first.seconds.toFixed(2)} s (target: no slower); ` +
      `unchanged: ${(kubectl.unchanged.seconds / ours.unchanged.seconds).toFixed(1)}x faster (target >= 5x), ` +
      `${(kubectl.unchanged.requests / Math.max(1, ours.unchanged.requests)).toFixed(1)}x fewer requests (target >= 20x)`,
  );
  report('deploy', {
    objects,
    ours_first_s: round(ours.first.seconds, 2),
    kubectl_first_s: round(kubectl.first.seconds, 2),
    ours_unchanged_s: round(ours.unchanged.seconds, 2),
    kubectl_unchanged_s: round(kubectl.unchanged.seconds, 2),
    ours_changed_s: round(ours.changed.seconds, 2),
    kubectl_changed_s: round(kubectl.changed.seconds, 2),
    ours_unchanged_requests: ours.unchanged.requests,
    kubectl_unchanged_requests: kubectl.unchanged.requests,
    ours_peak_inflight: Math.max(ours.first.peakInflight, ours.unchanged.peakInflight, ours.changed.peakInflight),
    kubectl_peak_inflight: Math.max(kubectl.first.peakInflight, kubectl.unchanged.peakInflight, kubectl.changed.peakInflight),
    ours_first_requests: ours.first.requests,
    kubectl_first_requests: kubectl.first.requests,
    ours_changed_requests: ours.changed.requests,
    kubectl_changed_requests: kubectl.changed.requests,
    ours_first_cpu_s: cpu(ours.first),
    kubectl_first_cpu_s: cpu(kubectl.first),
    ours_unchanged_cpu_s: cpu(ours.unchanged),
    kubectl_unchanged_cpu_s: cpu(kubectl.unchanged),
    load1_start: round(load1, 1),
    load1_end: round(loadavg()[0]!, 1),
    speed: SPEED,
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
