// The pure parts of k8s.upgrade: the --to target, the sequence of one-minor upgrades (never skipping one,
// never downgrading), the version-skew preflight (every refusal names its rule, nodes and versions) and the
// commands each kind of node runs. The cookbook gathers facts and performs; these decide.
import { InputError } from '../../core/errors.js';

/** A --to target: a minor (`1.31`, the newest patch the repository has) or an exact version (`1.31.2`). */
export interface UpgradeTarget {
  minor: number;
  patch?: number;
}

/** The repository line when the inventory has none (pkgs.k8s.io, one repository per minor). */
export const DEFAULT_REPOSITORY =
  'deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] https://pkgs.k8s.io/core:/stable:/v{minor}/deb/ /';
/** Where the repository line goes on every node. */
export const SOURCES_LIST = '/etc/apt/sources.list.d/kubernetes.list';
/** kubeadm's upgrade health check that runs a Job and gives up after 15 s (kubeadm#3050). */
export const HEALTH_JOB_CHECK = 'CreateJob';

/** Parses `--to 1.Y` or `--to 1.Y.Z` (a leading v allowed); anything else is an InputError (exit 2). */
export function parseTarget(text: string): UpgradeTarget {
  const m = /^v?1\.(\d{1,2})(?:\.(\d{1,3}))?$/.exec(text.trim());
  if (!m) {
    throw new InputError(`--to: expected a Kubernetes version like 1.31 or 1.31.2, got "${text}"`, {
      context: { option: 'to', value: text },
      hint: 'pass the target minor (the newest patch of it is installed) or an exact version: --to 1.31 or --to 1.31.2',
    });
  }
  return { minor: Number(m[1]), patch: m[2] === undefined ? undefined : Number(m[2]) };
}

/** `1.29.4` or `v1.29.4` → its minor (29); undefined when it is not a version. */
export function minorOf(version: string | undefined): number | undefined {
  const m = /^v?1\.(\d+)(?:\.\d+)?/.exec(version ?? '');
  return m ? Number(m[1]) : undefined;
}

/** Orders `1.Y.Z` versions (a leading v ignored). */
export function compareVersions(a: string, b: string): number {
  const pa = a.replace(/^v/, '').split('.').map(Number);
  const pb = b.replace(/^v/, '').split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

/**
 * The minors to upgrade through, one at a time, from the cluster's `current` version to `target`: empty when
 * the cluster is there already (same minor, and the same or a newer patch); a downgrade is an InputError.
 */
export function minorSequence(current: string, target: UpgradeTarget): number[] {
  const from = minorOf(current);
  if (from === undefined) throw new InputError(`the cluster version "${current}" is not a Kubernetes version`, { context: { current } });
  const wanted = target.patch === undefined ? `1.${target.minor}` : `1.${target.minor}.${target.patch}`;
  const currentPatch = Number(current.replace(/^v/, '').split('.')[2] ?? 0);
  if (target.minor < from || (target.minor === from && target.patch !== undefined && target.patch < currentPatch)) {
    throw new InputError(`--to ${wanted} is older than the cluster (v${current.replace(/^v/, '')}): downgrades are not supported`, {
      context: { current, target: wanted },
      hint: `pass a version at or above ${current.replace(/^v/, '')}; kubeadm cannot downgrade a cluster`,
    });
  }
  if (target.minor === from) return target.patch !== undefined && target.patch > currentPatch ? [from] : [];
  const out: number[] = [];
  for (let m = from + 1; m <= target.minor; m++) out.push(m);
  return out;
}

/** One component's version on one node, as the preflight reads it. */
export interface ComponentVersion {
  node: string;
  version: string;
}

/** A skew rule the cluster breaks, with the nodes and versions that break it. */
export interface SkewRefusal {
  rule: 'apiserver-skew' | 'kubelet-newer-than-apiserver' | 'kubelet-too-old' | 'kubeadm-config-unknown';
  nodes: string[];
  versions: string[];
  message: string;
}

/**
 * The version-skew policy before the first change (kubernetes.io version-skew-policy): apiservers within one
 * minor of each other; no kubelet newer than the oldest apiserver; after the first step's apiserver upgrade to
 * `firstMinor`, no kubelet more than three minors older. Empty when the cluster may be upgraded.
 */
export function skewRefusals(apiservers: readonly ComponentVersion[], kubelets: readonly ComponentVersion[], firstMinor: number | undefined): SkewRefusal[] {
  const out: SkewRefusal[] = [];
  const names = (xs: readonly ComponentVersion[]) => xs.map((x) => x.node);
  const versions = (xs: readonly ComponentVersion[]) => [...new Set(xs.map((x) => x.version))].sort(compareVersions);
  const apiMinors = apiservers.map((a) => minorOf(a.version)!).filter((m) => m !== undefined);
  if (apiMinors.length === 0) return out;
  const oldest = Math.min(...apiMinors);
  const newest = Math.max(...apiMinors);
  if (newest - oldest > 1) {
    const off = apiservers.filter((a) => minorOf(a.version) === oldest || minorOf(a.version) === newest);
    out.push({
      rule: 'apiserver-skew',
      nodes: names(off),
      versions: versions(off),
      message: `apiservers must be within one minor of each other: ${off.map((a) => `${a.node} ${a.version}`).join(', ')}`,
    });
  }
  const newer = kubelets.filter((k) => (minorOf(k.version) ?? 0) > oldest);
  if (newer.length) {
    out.push({
      rule: 'kubelet-newer-than-apiserver',
      nodes: names(newer),
      versions: versions(newer),
      message: `kubelets must never be newer than the oldest apiserver (1.${oldest}): ${newer.map((k) => `${k.node} ${k.version}`).join(', ')}`,
    });
  }
  if (firstMinor !== undefined) {
    const old = kubelets.filter((k) => (minorOf(k.version) ?? firstMinor) < firstMinor - 3);
    if (old.length) {
      out.push({
        rule: 'kubelet-too-old',
        nodes: names(old),
        versions: versions(old),
        message: `kubelets may be at most three minors older than the apiserver: after the upgrade to 1.${firstMinor} these would be more: ${old.map((k) => `${k.node} ${k.version}`).join(', ')}; upgrade them first`,
      });
    }
  }
  return out;
}

/** The repository line of a minor, from the inventory's template (`{minor}` → `1.31`). */
export function repositoryLine(template: string, minor: number): string {
  return template.replaceAll('{minor}', `1.${minor}`);
}

/** What a node is in the upgrade order. */
export type NodeKind = 'first-control' | 'control' | 'worker';

/** One command of a node's upgrade, with what it is for (the dry-run prints these). */
export interface NodeCommand {
  what: string;
  argv: string[];
}

/** The exact packages a version installs (`kubeadm=1.31.2-1.1`): unhold, install, hold again. */
export function packageCommands(packages: readonly string[], version: string): NodeCommand[] {
  return [
    { what: 'unhold', argv: ['apt-mark', 'unhold', ...packages] },
    { what: 'install', argv: ['apt-get', 'install', '-y', '--allow-downgrades', ...packages.map((p) => `${p}=${version}-1.1`)] },
    { what: 'hold', argv: ['apt-mark', 'hold', ...packages] },
  ];
}

/** The kubeadm step of a node: `upgrade apply` on the first control node, `upgrade node` elsewhere. */
export function kubeadmCommand(kind: NodeKind, version: string, ignorePreflightErrors: readonly string[] = []): NodeCommand {
  const ignore = ignorePreflightErrors.length ? [`--ignore-preflight-errors=${ignorePreflightErrors.join(',')}`] : [];
  return kind === 'first-control'
    ? { what: 'kubeadm upgrade apply', argv: ['kubeadm', 'upgrade', 'apply', `v${version}`, '-y', ...ignore] }
    : { what: 'kubeadm upgrade node', argv: ['kubeadm', 'upgrade', 'node', ...ignore] };
}

/** Every command a node runs for one version, in order (drain and uncordon go through the API between them). */
export function nodeCommands(kind: NodeKind, version: string, repoLine: string, ignorePreflightErrors: readonly string[] = []): NodeCommand[] {
  return [
    { what: 'repository', argv: ['sh', '-c', `mkdir -p /etc/apt/sources.list.d && printf '%s\\n' '${repoLine.replaceAll("'", "'\\''")}' > ${SOURCES_LIST}`] },
    { what: 'apt-get update', argv: ['apt-get', 'update'] },
    ...packageCommands(['kubeadm'], version),
    ...(kind === 'first-control' ? [{ what: 'kubeadm upgrade plan', argv: ['kubeadm', 'upgrade', 'plan', `v${version}`] }] : []),
    kubeadmCommand(kind, version, ignorePreflightErrors),
    { what: 'drain', argv: [] },
    ...packageCommands(['kubelet', 'kubectl'], version),
    { what: 'restart kubelet', argv: ['sh', '-c', 'systemctl daemon-reload && systemctl restart kubelet'] },
    { what: 'uncordon', argv: [] },
  ];
}

/** Recognises kubeadm's Job health-check timeout in its output (the failure the operator may choose to skip). */
export function isHealthJobTimeout(stderr: string): boolean {
  return /\[ERROR CreateJob\]/.test(stderr);
}

/** A static pod kubeadm waited for in vain (it restored the earlier manifest): the component and its node. */
export interface StuckStaticPod {
  component: string;
  node: string;
}

/** Recognises kubeadm's "static Pod hash ... did not change" failure of `upgrade apply|node`. */
export function stuckStaticPod(stderr: string): StuckStaticPod | undefined {
  const m = /static Pod hash for component (\S+) on Node (\S+) did not change/.exec(stderr);
  return m ? { component: m[1]!, node: m[2]! } : undefined;
}

/**
 * The CoreDNS version kubeadm of each minor deploys (kubeadm's constants.CoreDNSVersion; a minor not listed
 * takes the nearest listed one below it).
 */
export const COREDNS_BY_MINOR: Readonly<Record<number, string>> = { 27: 'v1.10.1', 28: 'v1.10.1', 29: 'v1.11.1', 30: 'v1.11.1', 31: 'v1.11.3', 32: 'v1.11.3', 33: 'v1.12.0' };

/** The CoreDNS image kubeadm applies at a Kubernetes version (registry.k8s.io/coredns/coredns:vX.Y.Z). */
export function corednsImage(version: string): string | undefined {
  const minor = minorOf(version);
  if (minor === undefined) return undefined;
  const known = Object.keys(COREDNS_BY_MINOR).map(Number).filter((m) => m <= minor).sort((a, b) => b - a)[0];
  return known === undefined ? undefined : `registry.k8s.io/coredns/coredns:${COREDNS_BY_MINOR[known]}`;
}

/** The kube-proxy image kubeadm applies at a Kubernetes version. */
export function kubeProxyImage(version: string): string {
  return `registry.k8s.io/kube-proxy:v${version.replace(/^v/, '')}`;
}

/** The newest `1.<minor>.Z` among apt-cache madison lines of a package (undefined: the repository has none). */
export function newestPatch(madison: string, minor: number): string | undefined {
  const found = [...madison.matchAll(/\|\s*(1\.(\d+)\.(\d+))-[^\s|]+\s*\|/g)].filter((m) => Number(m[2]) === minor).map((m) => m[1]!);
  return found.sort(compareVersions).at(-1);
}
