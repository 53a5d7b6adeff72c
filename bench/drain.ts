// Drain of one lab node holding 110 pods: our `cookbook k8s.drain` against `kubectl drain`, each on its own
// identical fresh lab, whole processes timed, Kubernetes requests counted by the lab. Medians of several runs.
// Target: no slower than kubectl, and fewer requests.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { $ } from 'zx';
import { type LabHandle, startLab } from '../lab/index.js';
import { compiledRoot } from '../lib/core/paths.js';
import { median, report, round } from './common.js';

const runs = Number(process.env.BENCH_RUNS ?? 3);
const NODE = 'bench-k8s-worker-1';
const PODS = 110;
const bin = join(compiledRoot(), 'bin', 'cookbook.js');

async function freshLab(dir: string): Promise<LabHandle> {
  const lab = await startLab({ clusterName: 'bench', stateDir: join(dir, 'lab'), workers: 3, workersNfs: 0, control: 1, ingress: 0, etcd: 0, speed: 10, seed: 5, seedWorkload: false });
  const api = lab.kube.api;
  api.create(api.res('', 'namespaces'), undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'load' } });
  // 110 pods on the node: 10 Deployments of 11 pods each, pinned to it, with small requests so they all fit.
  for (let d = 0; d < 10; d++) {
    api.create(api.res('apps', 'deployments'), 'load', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: `app-${d}`, namespace: 'load' },
      spec: {
        replicas: PODS / 10,
        selector: { matchLabels: { app: `app-${d}` } },
        template: {
          metadata: { labels: { app: `app-${d}` } },
          spec: { nodeSelector: { 'kubernetes.io/hostname': NODE }, containers: [{ name: 'c', image: 'img', resources: { requests: { cpu: '10m', memory: '16Mi' } } }] },
        },
      },
    });
  }
  const deadline = Date.now() + 120_000;
  for (;;) {
    const pods = [...lab.kube.store.scan(api.res('', 'pods'))].filter((p) => (p as { spec?: { nodeName?: string } }).spec?.nodeName === NODE && (p as { status?: { phase?: string } }).status?.phase === 'Running');
    if (pods.length >= PODS) break;
    if (Date.now() > deadline) throw new Error(`only ${pods.length} pods running on ${NODE}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  lab.world.resetCounters();
  return lab;
}

async function measure(kind: 'ours' | 'kubectl'): Promise<{ s: number; requests: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-drain-'));
  const lab = await freshLab(dir);
  try {
    const before = lab.world.counters.requests.k8s;
    const t0 = performance.now();
    const r =
      kind === 'ours'
        ? await $({ quiet: true, nothrow: true })`${process.execPath} ${bin} k8s.drain --cluster-name bench --hostname ${NODE} --inventory ${lab.stateDir} --state-dir ${join(dir, 'state')} --timeout 120s`
        : await $({ quiet: true, nothrow: true })`kubectl --kubeconfig ${join(lab.stateDir, 'kubeconfig')} --cache-dir ${join(dir, 'kcache')} drain ${NODE} --ignore-daemonsets --timeout=120s`;
    const s = (performance.now() - t0) / 1000;
    if (r.exitCode !== 0) throw new Error(`${kind} drain failed: ${r.stderr}`);
    return { s, requests: lab.world.counters.requests.k8s - before };
  } finally {
    await lab.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

// Warm both binaries (kubectl's dispatcher, node's module cache) once.
await measure('kubectl');
const ours: { s: number; requests: number }[] = [];
const kubectl: { s: number; requests: number }[] = [];
for (let i = 0; i < runs; i++) {
  kubectl.push(await measure('kubectl'));
  ours.push(await measure('ours'));
}
const fig = {
  pods: PODS,
  runs,
  ours_s: round(median(ours.map((r) => r.s)), 2),
  kubectl_s: round(median(kubectl.map((r) => r.s)), 2),
  ours_requests: median(ours.map((r) => r.requests)),
  kubectl_requests: median(kubectl.map((r) => r.requests)),
};
console.log(`drain of ${PODS} pods: ours ${fig.ours_s}s / ${fig.ours_requests} requests, kubectl ${fig.kubectl_s}s / ${fig.kubectl_requests} requests (medians of ${runs})`);
report('drain', { ...fig, speedup: round(fig.kubectl_s / fig.ours_s, 2) });
