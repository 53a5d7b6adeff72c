// Shared by the k8s.reboot tests: a lab with a spread workload under PDBs, inventories pointing at it (file
// lock, Alertmanager), reboot counting from the lab's own host events, in-process runs with an injected
// clock, and a strict well-formedness check for the HTML report.
import { strict as assert } from 'node:assert';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { type Clock, systemClock } from '../../../lib/core/clock.js';
import { fixedPrompter } from '../../../lib/core/confirm.js';
import type { LabOptions } from '../../../lab/index.js';
import type { RolloutResult } from '../../../lib/ops/reboot/index.js';
import { waitSettled } from '../../../lab/k8s/seed.js';
import type { KObject } from '../../../lab/k8s/types.js';
import { main } from '../../../lib/runner/cli.js';
import { type TestLab, startTestLab } from '../../helpers/lab.js';
import { tempDir } from '../../helpers/cli.js';

/** A lab of `workers` plain workers and one control node, no seeded workload. */
export async function startRebootLab(workers: number, options: LabOptions = {}): Promise<TestLab> {
  return startTestLab({ workers, workersNfs: 0, ingress: 0, etcd: 0, control: 1, speed: 40, seedWorkload: false, ...options });
}

/** One Deployment with an optional PDB. */
export interface AppSpec {
  name: string;
  replicas: number;
  pdb?: { minAvailable?: number | string; maxUnavailable?: number | string };
}

/** An app's Deployment (labels `app: NAME`, small requests) and, when it has one, its PDB. */
export function appObjects(ns: string, a: AppSpec & { nodeSelector?: Record<string, string> }): KObject[] {
  const labels = { app: a.name };
  const dep = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: a.name, namespace: ns, labels },
    spec: {
      replicas: a.replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: { ...(a.nodeSelector ? { nodeSelector: a.nodeSelector } : {}), containers: [{ name: a.name, image: `registry.lab.internal/${a.name}:1`, resources: { requests: { cpu: '50m', memory: '64Mi' } } }] },
      },
    },
  } as KObject;
  if (!a.pdb) return [dep];
  return [dep, { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: a.name, namespace: ns }, spec: { ...a.pdb, selector: { matchLabels: labels } } } as KObject];
}

/** Creates Deployments (spread by the lab's scheduler) with their PDBs in `ns`, plus a DaemonSet, and waits until all is Ready. */
export async function createWorkload(lab: TestLab, ns: string, apps: AppSpec[]): Promise<void> {
  const api = lab.kube.api;
  // Without the seeded workload nobody waits for the nodes: pods created now would all land on the first one.
  const expected = [...lab.world.hosts.values()].filter((h) => lab.world.roles[h.role]?.node !== 'none').length;
  for (const until = Date.now() + 30_000; ; ) {
    const ready = [...lab.kube.store.scan(api.res('', 'nodes'))].filter(
      (n) => n.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True') && !(n.spec?.taints ?? []).some((t: { key: string }) => t.key.startsWith('node.kubernetes.io/')),
    ).length;
    if (ready >= expected) break;
    assert.ok(Date.now() < until, `lab nodes Ready: ${ready} of ${expected}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  api.create(api.res('', 'namespaces'), undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }, { internal: true });
  for (const a of apps) {
    const [dep, pdb] = appObjects(ns, a);
    api.create(api.res('apps', 'deployments'), ns, dep!, { internal: true });
    if (pdb) api.create(api.res('policy', 'poddisruptionbudgets'), ns, pdb, { internal: true });
  }
  api.create(
    api.res('apps', 'daemonsets'),
    ns,
    {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'node-agent', namespace: ns },
      spec: {
        selector: { matchLabels: { app: 'node-agent' } },
        template: { metadata: { labels: { app: 'node-agent' } }, spec: { tolerations: [{ operator: 'Exists' }], containers: [{ name: 'agent', image: 'registry.lab.internal/agent:1', resources: { requests: { cpu: '10m', memory: '16Mi' } } }] } },
      },
    } as KObject,
    { internal: true },
  );
  await waitSettled(lab.world, lab.kube, 30_000);
}

/** Writes a copy of the lab's inventory into a new directory, changed as asked; returns the directory. */
export function inventoryFor(lab: TestLab, change: { fileLock?: boolean; alertmanager?: string } = {}): string {
  const doc = parse(readFileSync(join(lab.stateDir, 'inventory.yaml'), 'utf8')) as Record<string, unknown>;
  // A file lock is taken over from a dead holder at once (a killed run leaves no 60 s Lease behind).
  if (change.fileLock) doc.lock = { backend: 'file' };
  if (change.alertmanager) doc.alertmanager = { url: change.alertmanager };
  const dir = tempDir('cc-inv-');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'inventory.yaml'), stringify(doc));
  return dir;
}

/** Names of the lab's plain workers. */
export function workerNames(lab: TestLab): string[] {
  return [...lab.world.hosts.values()].filter((h) => h.role === 'worker').map((h) => h.name).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

/** Current boot ids of the lab's hosts. */
export function bootIds(lab: TestLab): Record<string, string> {
  return Object.fromEntries([...lab.world.hosts.values()].map((h) => [h.name, h.bootId]));
}

/** Counts reboots per host from the lab's own host-up events, from now on. */
export function countReboots(lab: TestLab): { counts: Map<string, number>; stop(): void } {
  const counts = new Map<string, number>();
  const on = (h: { name: string }): void => {
    counts.set(h.name, (counts.get(h.name) ?? 0) + 1);
  };
  lab.world.on('host-up', on);
  return { counts, stop: () => lab.world.off('host-up', on) };
}

/** Nodes whose spec.unschedulable is set, straight from the lab's store. */
export function cordonedNodes(lab: TestLab): string[] {
  const api = lab.kube.api;
  return [...lab.kube.store.scan(api.res('', 'nodes'))].filter((n) => n.spec?.unschedulable).map((n) => n.metadata.name).sort();
}

/** Ready replicas of a Deployment, from the store. */
export function readyReplicas(lab: TestLab, ns: string, name: string): number {
  return lab.kube.store.get(lab.kube.api.res('apps', 'deployments'), ns, name)?.status?.readyReplicas ?? 0;
}

/** The pods (namespace/name) bound to a node, from the store. */
export function podsOn(lab: TestLab, node: string): KObject[] {
  return [...lab.kube.store.scan(lab.kube.api.res('', 'pods'))].filter((p) => p.spec?.nodeName === node && !p.metadata.deletionTimestamp);
}

/** Common arguments of a k8s.reboot run against the lab. */
export function rebootArgs(inventory: string, state: string, extra: string[]): string[] {
  return ['k8s.reboot', '--cluster-name', 'labtest', '--inventory', inventory, '--state-dir', state, '--yes', '--poll-interval', '100ms', '--retry-interval', '200ms', ...extra];
}

/** A clock that runs at real speed from another instant (waits really wait, window arithmetic sees `start`). */
export function clockAt(start: string | number): Clock {
  const offset = (typeof start === 'number' ? start : Date.parse(start)) - Date.now();
  return { now: () => Date.now() + offset, sleep: (ms, signal) => systemClock.sleep(ms, signal) };
}

/** Runs the CLI in this process with an injected clock (and more RunIO, e.g. onEvents); console output is captured, not shown. */
export async function runInProcess(args: string[], clock: Clock | undefined, io: Partial<Parameters<typeof main>[2]> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const write = process.stderr.write;
  // winston's console transport writes straight to process.stderr: keep the test output readable.
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += chunk.toString();
    return true;
  }) as typeof process.stderr.write;
  try {
    const code = await main(args, { ...process.env, NO_COLOR: '1' }, {
      prompter: fixedPrompter(false, false),
      stdout: (t) => (stdout += t),
      stderr: (t) => (stderr += t),
      ...(clock ? { clock } : {}),
      signals: [],
      ...io,
    });
    return { code, stdout, stderr };
  } finally {
    process.stderr.write = write;
  }
}

/** What a --json run prints. */
export interface RunJson {
  status: string;
  exitCode: number;
  result?: RolloutResult;
  error?: { class: string; message: string; context: RolloutResult & Record<string, unknown> };
  changes: { action: string; target: string; planned: boolean }[];
  steps: { name: string; status: string }[];
  /** Dry-runs: what the real run would do. */
  verdict?: { outcome: 'would-succeed' | 'would-fail' | 'would-hold'; problems: { kind: 'fail' | 'hold'; step?: string; node?: string; reason: string }[] };
}

/** A clock `factor` times faster than real time from `start` (waits shrink, the window arithmetic sees virtual time). */
export function warpClock(start: string | number, factor: number): Clock {
  const t0 = Date.now();
  const v0 = typeof start === 'number' ? start : Date.parse(start);
  return { now: () => v0 + (Date.now() - t0) * factor, sleep: (ms, signal) => systemClock.sleep(ms / factor, signal) };
}

/** Waits until `probe` holds (polling every 10 ms), failing with `what` after `timeoutMs`. */
export async function until(probe: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  for (const end = Date.now() + timeoutMs; !probe(); ) {
    assert.ok(Date.now() < end, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The --json object of a run (the last line of stdout). */
export function resultOf(stdout: string): RunJson {
  const line = stdout.trim().split('\n').at(-1);
  assert.ok(line?.startsWith('{'), `no JSON result on stdout: ${stdout.slice(-500)}`);
  return JSON.parse(line!) as RunJson;
}

const VOID = new Set(['meta', 'link', 'br', 'hr', 'img', 'input', 'col', 'area', 'base', 'wbr', 'source', 'track', 'embed', 'param']);

/**
 * Checks the report strictly: a doctype, one html/head/body/title in order, every element closed in order
 * (the page is written to parse as XML too), quoted attributes, only known entities, no script and no
 * external asset. Returns the elements found as [tag, attributes].
 */
export function checkReportHtml(html: string): { tag: string; attrs: Record<string, string>; parent?: string }[] {
  assert.match(html, /^<!DOCTYPE html>\n<html lang="en">/);
  const stack: string[] = [];
  const elements: { tag: string; attrs: Record<string, string>; parent?: string }[] = [];
  const re = /<(\/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z_:][-a-zA-Z0-9_:.]*="[^"<]*")*)\s*(\/?)>|<!DOCTYPE html>|<!--[\s\S]*?-->/g;
  let last = 0;
  for (let m = re.exec(html); m; m = re.exec(html)) {
    const between = html.slice(last, m.index);
    assert.ok(!/[<>]/.test(between), `stray < or > in text near ${JSON.stringify(between.slice(0, 80))}`);
    for (const ent of between.match(/&[^;\s]*;?/g) ?? []) assert.match(ent, /^&(amp|lt|gt|quot|#39);$/, `bad entity ${ent}`);
    last = re.lastIndex;
    if (!m[2]) continue;
    const [, closing, tagRaw, attrText, selfClosing] = m;
    const tag = tagRaw!.toLowerCase();
    if (closing) {
      assert.equal(stack.pop(), tag, `</${tag}> closes the wrong element`);
      continue;
    }
    const attrs: Record<string, string> = {};
    for (const a of attrText!.matchAll(/([a-zA-Z_:][-a-zA-Z0-9_:.]*)="([^"]*)"/g)) {
      assert.equal(attrs[a[1]!], undefined, `duplicate attribute ${a[1]} on <${tag}>`);
      attrs[a[1]!] = a[2]!;
    }
    elements.push({ tag, attrs, parent: stack.at(-1) });
    if (!selfClosing && !VOID.has(tag)) stack.push(tag);
  }
  assert.ok(!/[<>]/.test(html.slice(last)), 'stray markup after the last element');
  assert.deepEqual(stack, [], `unclosed elements: ${stack.join(', ')}`);
  const tags = elements.map((e) => e.tag);
  for (const t of ['html', 'head', 'body', 'title', 'style', 'svg']) assert.ok(tags.includes(t), `has <${t}>`);
  for (const t of ['html', 'head', 'body']) assert.equal(tags.filter((x) => x === t).length, 1, `one <${t}>`);
  assert.equal(elements.filter((e) => e.tag === 'title' && e.parent === 'head').length, 1, 'one <title> in <head>');
  assert.equal(elements.find((e) => e.tag === 'html')?.parent, undefined, '<html> is the root');
  assert.equal(elements.find((e) => e.tag === 'body')?.parent, 'html', '<body> in <html>');
  assert.ok(tags.indexOf('head') < tags.indexOf('body'), 'head before body');
  assert.ok(!tags.includes('script') && !tags.includes('link') && !tags.includes('img'), 'self-contained: no script, link or img');
  assert.ok(!/(src|href)="(https?:)?\/\//.test(html) && !/url\(\s*['"]?https?:/.test(html), 'no external asset');
  return elements;
}
