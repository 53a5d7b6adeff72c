// k8s.upgrade: a kubeadm cluster upgraded to --to, one minor at a time (lib/ops/upgrade): preflight of every
// version and the skew policy before any change; per minor the first control node (kubeadm upgrade apply), the
// other control nodes one at a time (kubeadm upgrade node), then the workers through the rolling engine with
// k8s.reboot's drain, rolling, window and blocker options; a finish step that always runs. Journaled: the same
// command continues an interrupted upgrade.
import { argList, argString, clusterNameOption, frozen } from '../../lib/core/args.js';
import { defineCookbook } from '../../lib/core/cookbook.js';
import type { UpgradeOptions } from '../../lib/ops/upgrade/index.js';
import { parseTarget } from '../../lib/ops/upgrade/versions.js';
import reboot from './reboot.js';

/** k8s.reboot's options this cookbook shares (declared once there): drain, rolling, window, blockers, report. */
const SHARED = [
  'max-unavailable',
  'max-failures',
  'window',
  'node-duration',
  'block-on-alert',
  'block-on-pod',
  'report',
  'ready-timeout',
  'recover-timeout',
  'hold-timeout',
  'silence-duration',
  'poll-interval',
  'rollout-max-age',
  'new-rollout',
  'drain-timeout',
  'delete-emptydir-data',
  'force-unmanaged',
  'grace-period',
  'retry-interval',
];
const sharedOptions = Object.fromEntries(Object.entries(reboot.options).filter(([k]) => SHARED.includes(k)));

type Args = UpgradeOptions & { clusterName: string };

export default defineCookbook<Args>({
  summary: 'Upgrade Kubernetes with kubeadm, one minor at a time (control plane first, then rolling workers; resumable)',
  description: [
    'Upgrades the cluster to --to (1.Y for the newest patch of that minor, or 1.Y.Z), one minor at a time, never skipping one; a downgrade is refused. Before any change it reads every apiserver and kubelet version and refuses a broken version-skew policy (naming the rule, the nodes and the versions), a NotReady node or an API that is not ready.',
    'Per minor: each node is pointed at that minor\'s package repository (kubernetes.packageRepository in the inventory, {minor} becoming 1.Y; default pkgs.k8s.io) and gets exact versions (unhold, install =VERSION, hold). The first control node runs kubeadm upgrade plan and apply; the other control nodes follow strictly one at a time with kubeadm upgrade node; every control node is then drained, gets kubelet and kubectl, restarts its kubelet and is uncordoned once its Node reports the version and Ready. The workers follow through the rolling engine with the options of k8s.reboot (--max-unavailable, PDB budgets, capacity, --window, blockers, silences).',
    'kubeadm\'s health check that runs a Job and gives up after 15 s on busy or tainted clusters stops the run before anything else changes and names the flag that skips it: --ignore-preflight-errors CreateJob, passed to kubeadm only when you choose it.',
    'The finish always runs, also after a resumed run: nodes cordoned by an upgrade are uncordoned, every node must be at the target, kubeadm-config\'s ClusterConfiguration at the target and kube-proxy at the target\'s image. The run is journaled: the same command continues an interrupted upgrade without doing anything twice. --dry-run prints the minor sequence, the node order and batches, the commands per node and an ETA.',
  ].join('\n\n'),
  options: {
    'cluster-name': clusterNameOption,
    to: { type: 'string', requiresArg: true, demandOption: true, describe: 'Target version: 1.Y (newest patch of the minor) or 1.Y.Z' },
    'ignore-preflight-errors': { type: 'string', array: true, requiresArg: true, describe: 'kubeadm preflight checks to skip (your explicit choice), e.g. CreateJob' },
    ...sharedOptions,
  },
  examples: [
    ['cookbook k8s.upgrade --cluster-name toolsbeta --to 1.31 --max-unavailable 3', 'Upgrade to the newest 1.31 patch, through every minor in between, three workers at a time'],
    ['cookbook k8s.upgrade --cluster-name tools --to 1.30.14 --dry-run', 'Show the minor sequence, node order, batches, commands and ETA'],
    ['cookbook k8s.upgrade --cluster-name tools --to 1.30 --window "Mon-Fri 06:00-16:00 Europe/Madrid" --report upgrade.html', 'Workers only inside the window, with an HTML report'],
  ],
  parse: (raw) => {
    // k8s.reboot parses the shared options (one parser, one set of refusals); the selection is every worker.
    const shared = reboot.parse({ ...raw, 'all-workers': true, all: undefined, role: undefined, hostname: undefined, 'only-if-needed': false, 'hard-reboot-fallback': false });
    const ignore = argList(raw, 'ignore-preflight-errors').map((s) => s.trim()).filter(Boolean);
    return frozen({
      clusterName: argString(raw, 'cluster-name', { required: true }),
      to: parseTarget(argString(raw, 'to', { required: true })),
      ignorePreflightErrors: ignore,
      maxUnavailable: shared.maxUnavailable,
      maxFailures: shared.maxFailures,
      window: shared.window,
      nodeDurationMs: shared.nodeDurationMs,
      blockOnAlert: shared.blockOnAlert,
      blockOnPod: shared.blockOnPod,
      holdTimeoutMs: shared.holdTimeoutMs,
      pollMs: shared.pollMs,
      rolloutMaxAgeMs: shared.rolloutMaxAgeMs,
      newRollout: shared.newRollout,
      reportPath: shared.reportPath,
      node: {
        drain: shared.node.drain,
        readyTimeoutMs: shared.node.readyTimeoutMs,
        recoverTimeoutMs: shared.node.recoverTimeoutMs,
        silenceMs: shared.node.silenceMs,
      },
    });
  },
  async run(ctx, args) {
    const { runUpgrade } = await import('../../lib/ops/upgrade/index.js');
    return runUpgrade(ctx, args);
  },
});
