// k8s.upgrade: a kubeadm cluster upgraded to a target version, one minor at a time. Preflight before any
// change (versions of every apiserver and kubelet, the skew policy, every node Ready, /readyz); per minor the
// first control node (repository, kubeadm, `kubeadm upgrade plan` and `apply`, then its kubelet cycle), the
// other control nodes strictly one at a time (`kubeadm upgrade node`), then the workers through the rollout
// engine (work.ts); a finish that always runs (also after a resumed run): nodes we cordoned uncordoned, every
// node at the target, kubeadm-config and the CoreDNS and kube-proxy images checked. Every step checks the
// world first, so the same command continues an interrupted upgrade without doing anything twice.
import type { V1Node } from '@kubernetes/client-node';
import type { Context } from '../../core/context.js';
import { CookbookError, InputError } from '../../core/errors.js';
import { unlessPlanned } from '../../core/gate.js';
import { formatMs } from '../../core/retry.js';
import type { Kube } from '../../k8s/index.js';
import { isCordoned, isNodeReady, ourCordon } from '../../k8s/nodes.js';
import { backendIn, backendOut } from '../loadbalancer/index.js';
import { type CordonOutcome, cordonStep, drainStep, uncordonStep } from '../node/steps.js';
import { runRollout } from '../rollout/engine.js';
import type { RolloutOptions, RolloutResult } from '../rollout/result.js';
import { healthPreflight } from './preflight.js';
import { type HostEnv, apiserverVersion, kubeletStep, packagesStep, repositoryStep, repositoryVersions, upgradeHostPackages } from './host.js';
import { type KubeletUpgradeOptions, kubeletUpgradeWork } from './work.js';
import { type UpgradeReportFacts, controlRow, keepWorkerRows, writeUpgradeReport } from './report.js';
import { type ComponentVersion, DEFAULT_REPOSITORY, type UpgradeTarget, compareVersions, corednsImage, kubeProxyImage, minorOf, minorSequence, nodeCommands, repositoryLine, skewRefusals } from './versions.js';

export { UpgradeHealthCheckError, UpgradeStaticPodError } from './host.js';

/** Everything k8s.upgrade decides from its arguments. */
export interface UpgradeOptions extends Omit<RolloutOptions, 'selection'> {
  to: UpgradeTarget;
  ignorePreflightErrors: string[];
  node: Omit<KubeletUpgradeOptions, 'version' | 'repositoryLine' | 'ignorePreflightErrors'>;
}

/** One minor step of the result. */
export interface UpgradeStepResult {
  version: string;
  controlNodes: string[];
  workers?: RolloutResult;
  /** How long the workers' rollout took (ms; bench/upgrade.ts compares it with the node cycles). */
  workersMs?: number;
}

/** What k8s.upgrade returns (--json). */
export interface UpgradeResult {
  cluster: string;
  dryRun: boolean;
  from: string;
  to: string;
  steps: UpgradeStepResult[];
  /** Nodes the finish uncordoned (cordoned by an earlier, interrupted upgrade). */
  uncordoned: string[];
  nodes: { node: string; kubelet: string }[];
  etaMs?: number;
  nothingToDo?: boolean;
  /** The --report page (absolute path). */
  report?: string;
}

/** The expected time of a control node (kubeadm apply or upgrade node, drain, kubelet), before any measurement. */
const CONTROL_NODE_MS = 4 * 60_000;
const DAY = 24 * 3600_000;

const naturally = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });
const isControl = (n: V1Node) => 'node-role.kubernetes.io/control-plane' in (n.metadata?.labels ?? {});
const kubeletOf = (n: V1Node) => (n.status?.nodeInfo?.kubeletVersion ?? '').replace(/^v/, '');
const atLeast = (have: string | undefined, want: string) => !!have && /^\d+\.\d+\.\d+$/.test(want) && compareVersions(have, want) >= 0;

/** The versions the preflight reads: every apiserver (its static pod) and every kubelet (Node status). */
async function readVersions(kube: Kube): Promise<{ nodes: V1Node[]; controls: string[]; workers: string[]; apiservers: ComponentVersion[]; kubelets: ComponentVersion[] }> {
  const nodes = await kube.listNodes();
  const controls = nodes.filter(isControl).map((n) => n.metadata!.name!).sort(naturally);
  const workers = nodes.filter((n) => !isControl(n)).map((n) => n.metadata!.name!).sort(naturally);
  const apiservers: ComponentVersion[] = [];
  for (const c of controls) {
    const v = await apiserverVersion(kube, c);
    if (v) apiservers.push({ node: c, version: v });
  }
  const kubelets = nodes.map((n) => ({ node: n.metadata!.name!, version: kubeletOf(n) }));
  return { nodes, controls, workers, apiservers, kubelets };
}

/** Runs (or plans, in dry-run) the upgrade; see the module comment. */
export async function runUpgrade(ctx: Context, opts: UpgradeOptions): Promise<UpgradeResult> {
  const kube = await ctx.k8s();
  const remote = await ctx.remote();
  const facts = await readVersions(kube);
  if (facts.controls.length === 0 || facts.apiservers.length === 0) {
    throw new CookbookError(`cluster ${ctx.cluster.name} has no control-plane node with a kube-apiserver static pod`, { context: { cluster: ctx.cluster.name }, hint: 'k8s.upgrade upgrades kubeadm clusters: check the control nodes are Nodes labelled node-role.kubernetes.io/control-plane' });
  }
  const oldestApi = facts.apiservers.map((a) => a.version).sort(compareVersions)[0]!;
  const newestApi = facts.apiservers.map((a) => a.version).sort(compareVersions).at(-1)!;
  const oldestKubelet = facts.kubelets.map((k) => k.version).sort(compareVersions)[0] ?? oldestApi;
  const targetText = opts.to.patch === undefined ? `1.${opts.to.minor}` : `1.${opts.to.minor}.${opts.to.patch}`;
  // Downgrades and skips are judged against the newest apiserver: the cluster's version once an apply ran.
  minorSequence(newestApi, opts.to);
  // Minors still to do, kubelets included: an interrupted upgrade continues with its workers.
  const from = compareVersions(oldestKubelet, oldestApi) < 0 ? oldestKubelet : oldestApi;
  const minors = minorSequence(from, opts.to);
  const uncordonable = facts.nodes.filter((n) => isCordoned(n) && ourCordon(n)?.cookbook === ctx.cookbook).map((n) => n.metadata!.name!);
  const result: UpgradeResult = { cluster: ctx.cluster.name, dryRun: ctx.dryRun, from, to: targetText, steps: [], uncordoned: [], nodes: [] };
  if (minors.length === 0 && uncordonable.length === 0) {
    ctx.print(`cluster ${ctx.cluster.name} is at ${targetText} already (apiservers ${oldestApi}, kubelets from ${oldestKubelet}): nothing to do`);
    return { ...result, nothingToDo: true, nodes: facts.kubelets.map((k) => ({ node: k.node, kubelet: k.version })) };
  }
  preflight(ctx, facts, minors, oldestApi);
  const template = ctx.cluster.kubernetes.packageRepository ?? DEFAULT_REPOSITORY;
  const offered = await checkRepositories(ctx, { ctx, kube, remote, ignorePreflightErrors: [], readyTimeoutMs: 0 }, facts.controls[0]!, template, minors, opts.to);
  // Certificates must outlive the upgrade: a day at least, more for a long sequence.
  await healthPreflight(ctx, kube, remote, facts.controls, Math.max(DAY, minors.length * (facts.controls.length + facts.workers.length) * CONTROL_NODE_MS));
  if (!(await kube.readyz())) {
    throw new CookbookError(`the API of ${ctx.cluster.name} is not ready (/readyz): not upgrading`, { context: { cluster: ctx.cluster.name }, hint: 'fix the control plane first (cookbook k8s.health)' });
  }
  ctx.print(`Upgrade of ${ctx.cluster.name} from ${from} to ${targetText}: ${minors.map((m) => `1.${m}`).join(' → ')}, one minor at a time`);
  ctx.print(`  order per minor: ${facts.controls[0]} (kubeadm upgrade apply), then ${facts.controls.slice(1).join(', ') || 'no other control node'} one at a time (kubeadm upgrade node), then ${facts.workers.length} worker(s) through the rolling engine`);
  if (!ctx.dryRun) {
    await ctx.confirm(`Upgrade ${ctx.cluster.name} to ${targetText} (${minors.map((m) => `1.${m}`).join(', ')}): ${facts.controls.length} control node(s), then ${facts.workers.length} worker(s), each cordoned, drained and restarted.`, {
      destructive: true,
      details: minors.map((m) => `1.${m}: ${[...facts.controls, ...facts.workers].length} node(s)`),
    });
  }
  const env: HostEnv = { ctx, kube, remote, ignorePreflightErrors: opts.ignorePreflightErrors, readyTimeoutMs: opts.node.readyTimeoutMs };
  let etaMs = 0;
  // The report's rows in the upgrade's order: every node of every minor, control nodes first.
  const report: UpgradeReportFacts = { order: [], maxUnavailable: 1 };
  try {
    for (const minor of minors) {
      const line = repositoryLine(template, minor);
      const version = await stepVersion(ctx, env, facts.controls[0]!, minor, line, opts.to, newestApi, offered.get(minor));
      ctx.progress({ scope: 'upgrade', target: `1.${minor}`, phase: 'control-plane', message: `control plane to ${version}` });
      if (ctx.dryRun) printCommands(ctx, version, line, opts.ignorePreflightErrors);
      const step: UpgradeStepResult = { version, controlNodes: [] };
      report.order.push(...facts.controls.map((c, i) => [c, version, i === 0 ? 'first-control' : 'control'] as [string, string, 'first-control' | 'control']), ...facts.workers.map((w) => [w, version, 'worker'] as [string, string, 'worker']));
      for (const [i, c] of facts.controls.entries()) {
        await upgradeControlNode(env, c, i === 0 ? 'first-control' : 'control', version, line, opts);
        step.controlNodes.push(c);
        etaMs += CONTROL_NODE_MS;
      }
      ctx.progress({ scope: 'upgrade', target: `1.${minor}`, phase: 'workers', message: `workers to ${version}` });
      if (facts.workers.length) {
        const work = kubeletUpgradeWork({ ...opts.node, version, repositoryLine: line, ignorePreflightErrors: opts.ignorePreflightErrors });
        const started = ctx.clock.now();
        // Each minor's rollout reuses the workers' record keys: keep this minor's rows before the next begins,
        // also when it fails. The one report (all minors, control nodes too) is written below.
        const rolloutId = () => ctx.recall<{ id?: string }>(`${work.name}:rollout`)?.id;
        try {
          step.workers = await runRollout(ctx, work, { ...opts, selection: { allWorkers: true }, reportPath: undefined });
        } finally {
          const id = step.workers?.rollout.id ?? rolloutId();
          if (id) keepWorkerRows(ctx, version, id);
        }
        step.workersMs = ctx.clock.now() - started;
        report.maxUnavailable = step.workers.limits.maxUnavailable;
        etaMs += step.workers.plan?.predictedMs ?? 0;
      }
      result.steps.push(step);
    }
    if (ctx.dryRun) ctx.print(`ETA: about ${formatMs(etaMs)} (${facts.controls.length} control node(s) at ${formatMs(CONTROL_NODE_MS)} each per minor, workers as planned above)`);
    result.etaMs = ctx.dryRun ? etaMs : undefined;
    await finish(ctx, kube, result, minors.length ? result.steps.at(-1)?.version : undefined);
  } catch (err) {
    report.error = (err as Error)?.message?.split('\n')[0];
    throw err;
  } finally {
    if (opts.reportPath && report.order.length) {
      report.predictedMs = etaMs;
      result.report = writeUpgradeReport(ctx, opts.reportPath, report);
      ctx.print(`Report: ${result.report}`);
    }
  }
  return result;
}

/** The skew policy and node health before anything changes: refusals name rule, nodes and versions. */
function preflight(ctx: Context, facts: Awaited<ReturnType<typeof readVersions>>, minors: number[], oldestApi: string): void {
  const firstApply = minors.find((m) => m > (minorOf(oldestApi) ?? 0));
  const refusals = skewRefusals(facts.apiservers, facts.kubelets, firstApply);
  if (refusals.length) {
    throw new InputError(`cannot upgrade ${ctx.cluster.name}: the version-skew policy is broken\n${refusals.map((r) => `  [${r.rule}] ${r.message}`).join('\n')}`, {
      context: { cluster: ctx.cluster.name, refusals: refusals.map((r) => ({ rule: r.rule, nodes: r.nodes, versions: r.versions })) },
      hint: 'fix the skew first (upgrade or replace the named nodes), then run k8s.upgrade again',
    });
  }
  const notReady = facts.nodes.filter((n) => !isNodeReady(n)).map((n) => n.metadata!.name!);
  if (notReady.length) {
    throw new CookbookError(`cannot upgrade ${ctx.cluster.name}: node(s) not Ready: ${notReady.join(', ')}`, {
      context: { cluster: ctx.cluster.name, notReady },
      hint: 'every node must be Ready before an upgrade: repair or remove the named nodes first',
    });
  }
}

/**
 * The exact version of a minor step: the --to version for its own minor, the cluster's own version for a
 * minor the control plane has reached already (an interrupted upgrade), else the newest patch the minor's
 * repository has (read on the first control node once it points there).
 */
async function stepVersion(ctx: Context, env: HostEnv, first: string, minor: number, line: string, to: UpgradeTarget, newestApi: string, offered: string | undefined): Promise<string> {
  const indexed = await repositoryStep(env, first, line, minor);
  // The repository's index read before any change knows the newest patch even in a dry-run.
  const newest = offered ?? indexed;
  if (minor === to.minor && to.patch !== undefined) {
    const wanted = `1.${minor}.${to.patch}`;
    if (typeof newest === 'string' && /^\d+\.\d+\.\d+$/.test(newest) && compareVersions(wanted, newest) > 0) {
      throw new InputError(`--to ${wanted}: the 1.${minor} repository has no such version (newest ${newest})`, { context: { host: first, repository: line }, hint: `pass --to 1.${minor} for the newest patch, or a version up to ${newest}` });
    }
    return wanted;
  }
  if (minorOf(newestApi) === minor) return newestApi;
  // A dry-run reads the index only after a planned repository change: the version is then a placeholder.
  const read = unlessPlanned(newest, `1.${minor}.x`);
  if (typeof read === 'string' && /^\d+\.\d+\.(\d+|x)$/.test(read)) return read;
  throw new InputError(`the 1.${minor} repository has no kubeadm (repository line: ${line})`, { context: { host: first, repository: line }, hint: 'check kubernetes.packageRepository in the inventory ({minor} becomes 1.Y)' });
}

/**
 * Every minor's repository checked before any change, read-only: it exists, and has the --to patch. Returns
 * the newest patch of each minor that could be read (a repository that cannot be read is checked later, once
 * the first control node points at it).
 */
async function checkRepositories(ctx: Context, env: HostEnv, first: string, template: string, minors: number[], to: UpgradeTarget): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  for (const minor of minors) {
    const line = repositoryLine(template, minor);
    const versions = await repositoryVersions(env, first, line);
    if (versions === undefined) continue;
    const wanted = minor === to.minor && to.patch !== undefined ? `1.${minor}.${to.patch}` : undefined;
    if (versions.length === 0 || (wanted && !versions.includes(wanted))) {
      throw new InputError(
        versions.length === 0 ? `there is no 1.${minor} package repository (${line})` : `--to ${wanted}: the 1.${minor} repository has no such version (newest ${versions.at(-1)})`,
        { context: { host: first, repository: line, minor }, hint: versions.length === 0 ? 'pass a version whose minor is published, or fix kubernetes.packageRepository in the inventory' : `pass --to 1.${minor} for the newest patch, or one of ${versions.slice(-3).join(', ')}` },
      );
    }
    out.set(minor, versions.at(-1)!);
  }
  return out;
}

/** One control node: repository, kubeadm, kubeadm upgrade apply|node, then cordon, drain, kubelet, uncordon. */
async function upgradeControlNode(env: HostEnv, host: string, kind: 'first-control' | 'control', version: string, line: string, opts: UpgradeOptions): Promise<void> {
  const { ctx, kube } = env;
  const row = controlRow(ctx, host, version, kind);
  try {
    // Done by an earlier run (apiserver and kubelet at the version, Ready, not cordoned by us): not even out of the LBs.
    const before = await kube.requireNode(host);
    if (atLeast(await apiserverVersion(kube, host), version) && atLeast(kubeletOf(before), version) && isNodeReady(before) && !(isCordoned(before) && ourCordon(before)?.cookbook === ctx.cookbook)) return row.done(true);
    // Out of every load balancer before kubeadm restarts its static pods and before the drain; back in once the
    // Node is Ready again and its own /readyz passes (no-ops without kubernetes.loadBalancers).
    const lbOut = await backendOut(ctx, host);
    ctx.progress({ scope: 'upgrade', target: host, phase: 'kubeadm', message: `${kind === 'first-control' ? 'kubeadm upgrade apply' : 'kubeadm upgrade node'} ${version}` });
    row.enter('kubeadm');
    await upgradeHostPackages(env, host, kind, version, line);
    const node = await kube.requireNode(host);
    const kubeletDone = atLeast(kubeletOf(node), version) && isNodeReady(node) && !(isCordoned(node) && ourCordon(node)?.cookbook === ctx.cookbook);
    const cordonedBefore = isCordoned(node) && !ourCordon(node);
    let cordon: CordonOutcome | undefined;
    if (!kubeletDone) {
      ctx.progress({ scope: 'upgrade', target: host, phase: 'kubelet', message: `drain, kubelet ${version}` });
      row.enter('cordon');
      cordon = await cordonStep(ctx, kube, host);
      row.enter('drain');
      await drainStep(ctx, kube, host, { ...opts.node.drain, ignoreDaemonSets: true, uncordonOnFailure: true });
      row.enter('packages');
      await packagesStep(env, host, ['kubelet', 'kubectl'], version);
      row.enter('kubelet');
      await kubeletStep(env, host, version);
    }
    row.enter('uncordon');
    await backendIn(ctx, host, { need: lbOut });
    if (!kubeletDone && !cordonedBefore) await uncordonStep(ctx, kube, host, { cordon });
    row.done(kubeletDone);
  } catch (err) {
    row.fail(err);
    throw err;
  }
}

function printCommands(ctx: Context, version: string, line: string, ignore: readonly string[]): void {
  for (const kind of ['first-control', 'control', 'worker'] as const) {
    ctx.print(`  commands on ${kind === 'first-control' ? 'the first control node' : kind === 'control' ? 'each other control node' : 'each worker'} for ${version}:`);
    for (const c of nodeCommands(kind, version, line, ignore)) ctx.print(`    ${c.argv.length ? c.argv.join(' ') : `(${c.what} through the API)`}`);
  }
}

/**
 * The finish, always: nodes an upgrade cordoned are uncordoned (an interrupted run's too), then every node is
 * checked at the target with kubeadm-config and the addons; anything off is an error naming it.
 */
async function finish(ctx: Context, kube: Kube, result: UpgradeResult, version: string | undefined): Promise<void> {
  const nodes = await kube.listNodes();
  for (const n of nodes) {
    const name = n.metadata!.name!;
    if (isCordoned(n) && ourCordon(n)?.cookbook === ctx.cookbook) {
      await uncordonStep(ctx, kube, name);
      result.uncordoned.push(name);
    }
  }
  result.nodes = nodes.map((n) => ({ node: n.metadata!.name!, kubelet: kubeletOf(n) })).sort((a, b) => naturally(a.node, b.node));
  if (!version) return;
  // A step of its own: journaled, and a run killed during the finish shows where it was. A dry-run plans it
  // (the cluster is not upgraded, so there is nothing to verify yet).
  await ctx.step(`finish upgrade to 1.${minorOf(version)}`, { target: `cluster/${ctx.cluster.name}`, apply: async () => (ctx.dryRun ? true : verifyFinished(ctx, kube, result, version)) });
}

/** Every node at the target, kubeadm-config and the addons too; an error naming what is not. */
async function verifyFinished(ctx: Context, kube: Kube, result: UpgradeResult, version: string): Promise<boolean> {
  const after = await kube.listNodes();
  const behind = after.filter((n) => !atLeast(kubeletOf(n), version)).map((n) => `${n.metadata!.name} ${kubeletOf(n)}`);
  const { clusterVersion, addons } = await clusterObjects(kube);
  const problems = [
    ...(behind.length ? [`kubelets not at ${version}: ${behind.join(', ')}`] : []),
    ...(clusterVersion !== `v${version}` ? [`kubeadm-config ClusterConfiguration kubernetesVersion is ${clusterVersion ?? 'missing'}`] : []),
    ...addonProblems(addons, version),
  ];
  result.nodes = after.map((n) => ({ node: n.metadata!.name!, kubelet: kubeletOf(n) })).sort((a, b) => naturally(a.node, b.node));
  ctx.print(`Finished: ${after.length} node(s) at ${version}${result.uncordoned.length ? `; uncordoned ${result.uncordoned.join(', ')}` : ''}`);
  if (problems.length) {
    throw new CookbookError(`the upgrade of ${ctx.cluster.name} to ${version} did not finish cleanly:\n  ${problems.join('\n  ')}`, {
      context: { cluster: ctx.cluster.name, version, problems },
      hint: 'run the same command again: it continues where the cluster is',
    });
  }
  return true;
}

/** The tag of an image reference (after the last colon past the last slash). */
const tagOf = (image: string): string | undefined => /:([^:/]+)$/.exec(image)?.[1];

/**
 * kubeadm-config's version and the CoreDNS and kube-proxy images, each with the image kubeadm applies at the
 * version (kube-proxy at the cluster version, CoreDNS at the version kubeadm of that minor ships). Tags are
 * compared, not registries: a cluster may pull through its own imageRepository.
 */
async function clusterObjects(kube: Kube): Promise<{ clusterVersion?: string; addons: { name: string; image?: string; expected(version: string): string | undefined }[] }> {
  const { makeApis } = await import('../../k8s/transport.js');
  const apis = makeApis(kube.kubeConfig);
  try {
    const read = async (apiVersion: string, kind: string, name: string) =>
      (await apis.objects.read({ apiVersion, kind, metadata: { name, namespace: 'kube-system' } }).catch(() => undefined)) as Record<string, any> | undefined;
    const cm = await read('v1', 'ConfigMap', 'kubeadm-config');
    const clusterVersion = /^kubernetesVersion:\s*(\S+)/m.exec(cm?.data?.ClusterConfiguration ?? '')?.[1];
    const proxy = (await read('apps/v1', 'DaemonSet', 'kube-proxy'))?.spec?.template?.spec?.containers?.[0]?.image as string | undefined;
    const dns = (await read('apps/v1', 'Deployment', 'coredns'))?.spec?.template?.spec?.containers?.[0]?.image as string | undefined;
    return {
      clusterVersion,
      addons: [
        { name: 'kube-proxy', image: proxy, expected: kubeProxyImage },
        { name: 'coredns', image: dns, expected: corednsImage },
      ],
    };
  } finally {
    apis.close();
  }
}

/** The finish's complaints about the addons: an image whose tag is not the one kubeadm applies at `version`. */
export function addonProblems(addons: readonly { name: string; image?: string; expected(version: string): string | undefined }[], version: string): string[] {
  const out: string[] = [];
  for (const a of addons) {
    const want = a.expected(version);
    if (a.image === undefined || want === undefined || tagOf(a.image) === tagOf(want)) continue;
    out.push(`${a.name} image is ${a.image}, expected ${want} (what kubeadm ${version} applies; kubeadm upgrade apply|node re-applies the addons once every apiserver is at the version)`);
  }
  return out;
}
