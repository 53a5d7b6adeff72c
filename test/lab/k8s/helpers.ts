// Test helpers: a lab World with the default roles and joined hosts, a started API, a kubeconfig on disk,
// client-node clients, kubectl runs with a fresh cache dir, and polling.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { World, type LabRole } from '../../../lab/world.js';
import { startKubeApi, type KubeApiHandle, type KubeApiOptions } from '../../../lab/k8s/index.js';

/** The roles of the local lab inventory. */
export const labRoles: Record<string, LabRole> = {
  worker: { prefix: 'worker', node: 'worker', labels: {}, taints: [] },
  worker_nfs: { prefix: 'worker-nfs', node: 'worker', labels: { 'toolforge.org/nfs-mounted': 'true' }, taints: [] },
  control: { prefix: 'control', node: 'control-plane', labels: {}, taints: [] },
  ingress: { prefix: 'ingress', node: 'worker', labels: { 'kubernetes.io/role': 'ingress' }, taints: [{ key: 'ingress', value: 'true', effect: 'NoSchedule' }] },
  etcd: { prefix: 'etcd', node: 'none', labels: {}, taints: [] },
};

let addressCounter = 10;

/** Adds a lab host (joined when `joined`), with the packages and services a provisioned VM has. */
export function addHost(world: World, role: string, n: number, joined = true, state: 'up' | 'building' = 'up') {
  const name = `${world.prefix}-${labRoles[role]!.prefix}-${n}`;
  return world.addHost({
    name,
    role,
    address: `127.0.3.${addressCounter++ % 250}`,
    port: 22,
    state,
    hostKey: { privateKey: 'dummy', publicBase64: 'AAAA', fingerprintSha256: 'SHA256:dummy' },
    packages: new Map([
      ['kubeadm', '1.29.4-1.1'],
      ['kubelet', '1.29.4-1.1'],
      ['containerd', '1.6.20'],
    ]),
    files: new Map(),
    services: new Map([['containerd', true], ['kubelet', joined]]),
    kubelet: { joined, controlPlane: joined && role === 'control', version: joined ? '1.29.4' : undefined },
    kernel: { running: '6.1.0-18-amd64', installed: ['6.1.0-18-amd64'] },
  });
}

/** A world with the default lab layout (3 control, 4 worker, 2 worker_nfs, 1 ingress, 3 etcd). */
export function makeWorld(speed = 40, layout: Partial<Record<string, number>> = {}, seed = 7): World {
  const world = new World({ clusterName: 'local', prefix: 'local-k8s', roles: labRoles, speed, seed, kubernetesVersion: '1.29.4' });
  const counts = { control: 3, worker: 4, worker_nfs: 2, ingress: 1, etcd: 3, ...layout };
  for (const [role, count] of Object.entries(counts)) for (let i = 1; i <= (count ?? 0); i++) addHost(world, role, i);
  return world;
}

/** A started lab: world, API, kubeconfig file, client config. */
export interface Lab {
  world: World;
  api: KubeApiHandle;
  dir: string;
  kubeconfigPath: string;
  kc: k8s.KubeConfig;
  core: k8s.CoreV1Api;
  apps: k8s.AppsV1Api;
  policy: k8s.PolicyV1Api;
  stop(): Promise<void>;
}

/** Starts a lab API for a world and writes its kubeconfig into a temp dir. */
export async function startLab(world: World, options: KubeApiOptions = {}): Promise<Lab> {
  const api = await startKubeApi(world, options);
  const dir = mkdtempSync(join(tmpdir(), 'labk8s-'));
  const kubeconfigPath = join(dir, 'kubeconfig');
  writeFileSync(kubeconfigPath, api.kubeconfig('local'), { mode: 0o600 });
  const kc = new k8s.KubeConfig();
  kc.loadFromString(api.kubeconfig('local'));
  return {
    world,
    api,
    dir,
    kubeconfigPath,
    kc,
    core: kc.makeApiClient(k8s.CoreV1Api),
    apps: kc.makeApiClient(k8s.AppsV1Api),
    policy: kc.makeApiClient(k8s.PolicyV1Api),
    async stop() {
      await api.stop();
      world.shutdown();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Result of a kubectl run. */
export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real kubectl against a lab with a fresh cache dir. */
export function kubectl(lab: Lab, args: string[], timeoutMs = 60_000): Promise<KubectlResult> {
  const cache = mkdtempSync(join(lab.dir, 'cache-'));
  return new Promise((resolve) => {
    execFile('kubectl', ['--kubeconfig', lab.kubeconfigPath, '--cache-dir', cache, ...args], { timeout: timeoutMs, env: { ...process.env, HOME: lab.dir } }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
    });
  });
}

/** Polls `fn` until it returns a truthy value or the deadline passes. */
export async function until<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 30_000, everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Status code of a client-node ApiException (or undefined). */
export function codeOf(e: unknown): number | undefined {
  return (e as { code?: number }).code;
}

/** Parsed body of a client-node ApiException. */
export function bodyOf(e: unknown): Record<string, any> {
  const b = (e as { body?: unknown }).body;
  if (typeof b === 'string') {
    try {
      return JSON.parse(b) as Record<string, any>;
    } catch {
      return { raw: b };
    }
  }
  return (b ?? {}) as Record<string, any>;
}
