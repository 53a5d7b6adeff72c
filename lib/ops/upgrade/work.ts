// The kubelet upgrade of workers as the rollout engine's second node work (the reboot is the first): the
// engine's limits, PDB budgets, capacity, windows, blockers and silences decide when a worker starts; the
// shared node cycle (silence, cordon, drain ... uncordon, recover) wraps this work's disruption: the minor's
// repository, kubeadm, `kubeadm upgrade node`, kubelet and kubectl, the kubelet restart and the wait for the
// Node to report the version and Ready.
import type { V1Node } from '@kubernetes/client-node';
import { isNodeReady } from '../../k8s/nodes.js';
import { type NodeCycleOptions, runNodeCycle } from '../rollout/node-cycle.js';
import { REBOOT_REPORT } from '../reboot/report.js';
import type { ChartPhase, ReportStyle } from '../rollout/report.js';
import type { NodeEnv, NodeWork } from '../rollout/work.js';
import { type HostEnv, kubeletStep, packagesStep, upgradeHostPackages } from './host.js';

/** Options of a worker's upgrade. */
export interface KubeletUpgradeOptions extends NodeCycleOptions {
  /** The exact version of this minor step (1.31.2). */
  version: string;
  /** The repository line of the minor. */
  repositoryLine: string;
  ignorePreflightErrors: string[];
  readyTimeoutMs: number;
}

/** The reboot's legend with the upgrade's own two phases where the reboot has its reboot and wait. */
const OWN: Readonly<Record<string, ChartPhase>> = {
  reboot: { phase: 'packages', label: 'kubeadm + packages', color: '#d64545' },
  'wait-ready': { phase: 'kubelet', label: 'kubelet restart', color: '#7b61ff' },
};
const CHART: readonly ChartPhase[] = REBOOT_REPORT.chart.map((c) => OWN[c.phase] ?? c);

/** The upgrade's report style. */
export const UPGRADE_REPORT: ReportStyle = {
  cookbook: 'k8s.upgrade',
  heading: 'Kubernetes upgrade (workers)',
  participle: 'upgraded',
  chart: CHART,
  chartPhase: { preflight: 'preflight', silence: 'preflight', cordon: 'cordon', drain: 'drain', packages: 'packages', kubelet: 'kubelet', uncordon: 'uncordon', recover: 'recover' },
};

const kubeletOf = (node: V1Node): string => node.status?.nodeInfo?.kubeletVersion ?? '';

/** The worker upgrade to one version as a node work of the rollout engine. */
export function kubeletUpgradeWork(options: KubeletUpgradeOptions): NodeWork<KubeletUpgradeOptions> {
  const v = `v${options.version}`;
  return {
    name: 'upgrade',
    title: `the upgrade of the workers to ${v}`,
    participle: `upgraded to ${v}`,
    phases: ['silence', 'cordon', 'drain', 'packages', 'kubelet', 'uncordon', 'recover'],
    undrainedPhases: ['pending', 'preflight', 'silence', 'cordon', 'drain'],
    // The host answers SSH throughout; only the kubelet restarts.
    offlinePhases: [],
    report: UPGRADE_REPORT,
    key: { to: options.version },
    // Drain about a minute, packages and restart one, Ready and workloads back one.
    typicalNodeMs: 3 * 60_000,
    options,
    drainFilter: options.drain,
    mark: kubeletOf,
    doneAlready: (node) => (kubeletOf(node) === v && isNodeReady(node) ? `kubelet already at ${v}` : undefined),
    confirmMessage: (ctx, names, limits) =>
      `Upgrade ${names.length} worker(s) of ${ctx.cluster.name} to ${v}, at most ${limits.maxUnavailable} unavailable at once: ${names.slice(0, 12).join(', ')}${names.length > 12 ? `, ... (${names.length - 12} more)` : ''}. ` +
      'Each is cordoned, drained, upgraded (kubeadm upgrade node, kubelet and kubectl), its kubelet restarted, and uncordoned.',
    planNotes: () => [`  per worker: repository 1.${options.version.split('.')[1]}, kubeadm=${options.version}-1.1, kubeadm upgrade node, kubelet+kubectl=${options.version}-1.1, restart kubelet`],
    run: upgradeWorker,
  };
}

/** Upgrades one worker inside the shared node cycle. */
async function upgradeWorker(env: NodeEnv<KubeletUpgradeOptions>, name: string): Promise<void> {
  const o = env.options;
  const host: HostEnv = { ctx: env.ctx, kube: env.kube, remote: env.remote, ignorePreflightErrors: o.ignorePreflightErrors, readyTimeoutMs: o.readyTimeoutMs };
  return runNodeCycle(env, name, {
    participle: `upgraded to v${o.version}`,
    run: async (enter) => {
      enter('packages');
      await upgradeHostPackages(host, name, 'worker', o.version, o.repositoryLine);
      await packagesStep(host, name, ['kubelet', 'kubectl'], o.version);
      enter('kubelet');
      await kubeletStep(host, name, o.version);
    },
  });
}
