// One node's upgrade steps over SSH and the API, each ensure-style and journaled so a run killed anywhere
// continues without doing anything twice: the repository line of the minor (with apt-get update), exact
// packages (unhold, install =VERSION, hold), kubeadm upgrade apply|node, and the kubelet restart with its wait
// for the Node to report the version and Ready. kubeadm's Job health-check timeout is recognised and reported
// with the flag that skips it.
import type { Context } from '../../core/context.js';
import { CookbookError, RemoteError, messageOf } from '../../core/errors.js';
import type { Kube } from '../../k8s/index.js';
import { isNodeReady } from '../../k8s/nodes.js';
import type { Remote } from '../../remote/index.js';
import { NODE_POLL_BACKOFF } from '../node/timeouts.js';
import { HEALTH_JOB_CHECK, type NodeKind, SOURCES_LIST, compareVersions, isHealthJobTimeout, kubeadmCommand, minorOf, newestPatch, nodeCommands, packageCommands, stuckStaticPod } from './versions.js';

/** What a node's steps need. */
export interface HostEnv {
  ctx: Context;
  kube: Kube;
  remote: Remote;
  /** kubeadm preflight checks the operator chose to skip (--ignore-preflight-errors). */
  ignorePreflightErrors: readonly string[];
  /** How long a restarted kubelet may take to report the version and Ready. */
  readyTimeoutMs: number;
}

/** kubeadm's upgrade health check Job did not complete in 15 s: stop, and name the flag that skips it. */
export class UpgradeHealthCheckError extends CookbookError {}

/** A control-plane static pod did not come back after kubeadm wrote its new manifest (kubeadm rolled it back). */
export class UpgradeStaticPodError extends CookbookError {}

const sudoOf = (env: HostEnv) => ({ sudo: env.ctx.cluster.ssh.sudo });
/** Step names carry the minor, not the patch: a dry-run knows the patch only once the repository is there. */
const minorName = (version: string) => `1.${minorOf(version)}`;
/** At or past `want` (a later step of the same run, or an earlier upgrade, may have gone further: never downgrade). */
const atLeast = (have: string | undefined, want: string): boolean => !!have && compareVersions(have.replace(/^v/, ''), want) >= 0;

async function installed(env: HostEnv, host: string, pkg: string): Promise<string | undefined> {
  const r = await env.remote.query(host, ['dpkg-query', '-W', '-f=${Version}', pkg], { ...sudoOf(env), okExitCodes: [0, 1] });
  return r.exitCode === 0 ? r.stdout.trim().replace(/-[^-]*$/, '') : undefined;
}

/**
 * Points the host at the minor's repository and indexes it; resolves to the newest patch of the minor apt
 * knows there (the `--to` patch is checked against it by the caller).
 */
export async function repositoryStep(env: HostEnv, host: string, line: string, minor: number): Promise<unknown> {
  const { ctx, remote } = env;
  const madison = async () => (await remote.query(host, ['apt-cache', 'madison', 'kubeadm'], sudoOf(env))).stdout;
  return ctx.step(`repository 1.${minor} on ${host}`, {
    target: `host/${host}`,
    check: async () => {
      const now = await remote.query(host, ['cat', SOURCES_LIST], { ...sudoOf(env), okExitCodes: [0, 1] });
      if (now.stdout.trim() !== line.trim()) return undefined;
      return newestPatch(await madison(), minor);
    },
    apply: async () => {
      const [write, update] = nodeCommands('worker', `1.${minor}.0`, line);
      await remote.run(host, write!.argv, sudoOf(env));
      await remote.run(host, update!.argv, sudoOf(env));
      return ctx.dryRun ? `1.${minor}` : newestPatch(await madison(), minor);
    },
  });
}

/**
 * The kubeadm versions a minor's repository offers, read without changing anything (curl of its Packages
 * index from `host`): [] when the repository does not exist (404), undefined when it cannot be told (the
 * line is not an https deb repository, or the host cannot reach it).
 */
export async function repositoryVersions(env: HostEnv, host: string, line: string): Promise<string[] | undefined> {
  const base = /\s(https:\/\/\S+?\/)\s+\/\s*$/.exec(line)?.[1];
  if (!base) return undefined;
  const r = await env.remote.query(host, ['curl', '-fsSL', `${base}Packages`], { okExitCodes: 'any', timeoutMs: 60_000 });
  if (r.exitCode === 22) return [];
  if (r.exitCode !== 0) return undefined;
  const versions: string[] = [];
  for (const stanza of r.stdout.split(/\n\n+/)) {
    if (!/^Package: kubeadm$/m.test(stanza)) continue;
    const v = /^Version: (\d+\.\d+\.\d+)-/m.exec(stanza)?.[1];
    if (v) versions.push(v);
  }
  return [...new Set(versions)].sort(compareVersions);
}

/** Installs exact versions of packages, held (skipped when they are installed at that version). */
export async function packagesStep(env: HostEnv, host: string, packages: readonly string[], version: string): Promise<unknown> {
  const { ctx, remote } = env;
  return ctx.step(`${packages.join('+')} ${minorName(version)} on ${host}`, {
    target: `host/${host}`,
    check: async () => {
      for (const p of packages) if (!atLeast(await installed(env, host, p), version)) return undefined;
      return true;
    },
    apply: async () => {
      for (const c of packageCommands(packages, version)) await remote.run(host, c.argv, { ...sudoOf(env), timeoutMs: 10 * 60_000 });
      return true;
    },
  });
}

/** The version of the apiserver static pod on a control node (its mirror pod's image tag). */
export async function apiserverVersion(kube: Kube, node: string): Promise<string | undefined> {
  const pods = await kube.listPodsOnNode(node);
  const pod = pods.find((p) => p.metadata?.labels?.component === 'kube-apiserver');
  const image = pod?.spec?.containers?.[0]?.image ?? '';
  const m = /:v?(1\.\d+\.\d+)$/.exec(image);
  return m ? m[1] : undefined;
}

/** How long before the one retry of kubeadm's Job health check (it fails on a cluster that is briefly busy). */
const HEALTH_JOB_RETRY_MS = 2000;

/**
 * Runs a kubeadm command. The Job health-check timeout is retried once (it is a known flake on busy clusters
 * and kubeadm changed nothing), then becomes UpgradeHealthCheckError naming the flag that skips it.
 */
async function kubeadm(env: HostEnv, host: string, argv: string[], retried = false): Promise<unknown> {
  try {
    return await env.remote.run(host, argv, { ...sudoOf(env), timeoutMs: 15 * 60_000 });
  } catch (err) {
    const stderr = (err as { result?: { stderr?: string } }).result?.stderr ?? messageOf(err);
    if (err instanceof RemoteError && isHealthJobTimeout(stderr) && !retried) {
      env.ctx.log.warn(`kubeadm's upgrade health check Job on ${host} did not complete in 15 s; retrying once in ${HEALTH_JOB_RETRY_MS / 1000} s`);
      await env.ctx.clock.sleep(HEALTH_JOB_RETRY_MS, env.ctx.signal);
      return kubeadm(env, host, argv, true);
    }
    const stuck = err instanceof RemoteError ? stuckStaticPod(stderr) : undefined;
    if (stuck) {
      const what = argv.slice(0, 3).join(' ');
      throw new UpgradeStaticPodError(`${what} on ${host} failed: the static pod ${stuck.component} on node ${stuck.node} did not come back with its new manifest (kubeadm waited 5 minutes, then restored the earlier one)`, {
        cause: err,
        context: { host, node: stuck.node, pod: stuck.component, command: argv.join(' ') },
        hint:
          `nothing else was changed; on ${stuck.node} check why ${stuck.component} does not start: the kubelet's log (journalctl -u kubelet), ` +
          `the manifest kubeadm wrote (/etc/kubernetes/manifests/${stuck.component}.yaml) and the earlier one it kept in /etc/kubernetes/tmp/kubeadm-backup-manifests-*/, ` +
          `and the container (crictl ps -a --name ${stuck.component}); then run the same command again`,
      });
    }
    if (err instanceof RemoteError && isHealthJobTimeout(stderr)) {
      throw new UpgradeHealthCheckError(`kubeadm's upgrade health check on ${host} failed twice: its Job did not complete within 15 s (a busy or tainted cluster; kubeadm#3050)`, {
        cause: err,
        context: { host, command: argv.join(' '), check: HEALTH_JOB_CHECK },
        hint: `nothing else was changed; check the cluster schedules pods, or skip that check (your explicit choice) by re-running with --ignore-preflight-errors ${HEALTH_JOB_CHECK}, which passes --ignore-preflight-errors=${HEALTH_JOB_CHECK} to kubeadm`,
      });
    }
    throw err;
  }
}

/**
 * kubeadm upgrade on a node: `plan` then `apply vVERSION` on the first control node, `upgrade node` elsewhere.
 * Skipped on control nodes whose apiserver already runs the version; on workers when the kubelet reports it.
 */
export async function kubeadmStep(env: HostEnv, host: string, kind: NodeKind, version: string): Promise<unknown> {
  const { ctx, kube } = env;
  const cmd = kubeadmCommand(kind, version, env.ignorePreflightErrors);
  return ctx.step(`${cmd.what} ${minorName(version)} on ${host}`, {
    target: `host/${host}`,
    check: async () => {
      if (kind === 'worker') return atLeast((await kube.getNode(host))?.status?.nodeInfo?.kubeletVersion, version) ? true : undefined;
      return atLeast(await apiserverVersion(kube, host), version) ? true : undefined;
    },
    apply: async () => {
      if (kind === 'first-control') await kubeadm(env, host, ['kubeadm', 'upgrade', 'plan', `v${version}`, ...cmd.argv.filter((a) => a.startsWith('--ignore'))]);
      return kubeadm(env, host, cmd.argv);
    },
  });
}

/** Restarts the kubelet and waits until the Node reports the version and Ready (skipped when it does). */
export async function kubeletStep(env: HostEnv, host: string, version: string): Promise<unknown> {
  const { ctx, kube, remote } = env;
  const atVersion = async () => {
    const n = await kube.getNode(host);
    return n && atLeast(n.status?.nodeInfo?.kubeletVersion, version) && isNodeReady(n) ? true : undefined;
  };
  return ctx.step(`kubelet ${minorName(version)} on ${host}`, {
    target: `node/${host}`,
    check: atVersion,
    apply: async () => {
      await remote.run(host, ['sh', '-c', 'systemctl daemon-reload && systemctl restart kubelet'], sudoOf(env));
      await ctx.waitFor(atVersion, { what: `node ${host} to report kubelet v${version} and Ready`, timeoutMs: env.readyTimeoutMs, backoff: NODE_POLL_BACKOFF });
      return true;
    },
  });
}

/** The packages, kubeadm and kubelet steps of one node, between its drain and uncordon or around them. */
export async function upgradeHostPackages(env: HostEnv, host: string, kind: NodeKind, version: string, line: string): Promise<void> {
  // The first control node was pointed at the repository already: the step version is read there.
  if (kind !== 'first-control') await repositoryStep(env, host, line, minorOf(version)!);
  await packagesStep(env, host, ['kubeadm'], version);
  await kubeadmStep(env, host, kind, version);
}
