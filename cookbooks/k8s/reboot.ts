// k8s.reboot: rolling (and scheduled) reboots. Several nodes at once within --max-unavailable (counting every
// unschedulable or NotReady node), per-role limits, PDB budgets and free capacity; control nodes last, one at
// a time; per node: preflight, silence, cordon, drain, reboot, new boot id over SSH and in the Node status,
// Ready, uncordon, workloads recovered. Journaled, so a re-run continues the rollout; --window keeps it inside
// a maintenance window and exits cleanly when the window cannot fit another node.
import { type DurationSpec, argDuration, argFlag, argInt, argList, argString, clusterNameOption, durationOption, frozen } from '../../lib/core/args.js';
import { defineCookbook } from '../../lib/core/cookbook.js';
import { UsageError } from '../../lib/core/errors.js';
import { NODE_ROLES, getRole, requireHostOfRole, validateHostname } from '../../lib/inventory/naming.js';
// Only light modules at the top: `cookbook list` loads every cookbook; the rollout (clients) loads in run().
import { drainOptionGroup } from '../../lib/ops/node/drain-options.js';
import type { RebootOptions } from '../../lib/ops/reboot/index.js';
import { parseLabelSelector } from '../../lib/ops/rollout/blockers.js';
import type { Selection } from '../../lib/ops/rollout/select.js';
import { parseWindow } from '../../lib/ops/rollout/window.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * Valid ranges of the duration options (anything else exits 2): a timeout of 0 would fail a node that was
 * already rebooted, and an interval of days would never re-check.
 */
const DURATIONS = {
  'node-duration': { min: SECOND, max: DAY },
  'hold-timeout': { default: HOUR, min: SECOND, max: 7 * DAY },
  'poll-interval': { default: 2 * SECOND, min: 50, max: 10 * MINUTE },
  'rollout-max-age': { default: 7 * DAY, min: MINUTE, max: 365 * DAY },
  'reboot-timeout': { default: 15 * MINUTE, min: SECOND, max: DAY },
  'ready-timeout': { default: 15 * MINUTE, min: SECOND, max: DAY },
  'recover-timeout': { default: 15 * MINUTE, min: SECOND, max: DAY },
  'silence-duration': { default: HOUR, min: MINUTE, max: 7 * DAY },
} satisfies Record<string, DurationSpec>;

/**
 * The drain options, declared once (lib/ops/node/drain-options.ts). emptyDir data is deleted by default, as
 * kured does (it is scratch space, and the pod is evicted anyway); a drain always ends (no 0 = no limit).
 */
const DRAIN = drainOptionGroup({
  timeoutOption: 'drain-timeout',
  timeout: { default: 10 * MINUTE, min: SECOND, max: DAY },
  timeoutDescribe: 'Deadline of each drain (a drain that fails uncordons the node)',
  offer: ['delete-emptydir-data', 'force-unmanaged', 'grace-period', 'retry-interval'],
  fixed: { deleteEmptyDirData: true },
});

const ms = (raw: Record<string, unknown>, option: keyof typeof DURATIONS): number => argDuration(raw, option, DURATIONS[option])!;

/** The cookbook's arguments are the rollout's options, validated once here. */
type Args = RebootOptions & { clusterName: string };

function parseMaxUnavailable(raw: string): number | string {
  const t = raw.trim();
  if (/^([1-9]\d?|100)%$/.test(t)) return t;
  if (/^[1-9]\d*$/.test(t)) return Number(t);
  throw new UsageError(`--max-unavailable: expected a count (3) or a percentage (25%), got "${raw}"`, { context: { option: 'max-unavailable' } });
}

function parseSelection(raw: Record<string, unknown>): Selection {
  const hostnames = argList(raw, 'hostname').map((h) => {
    try {
      return validateHostname(h, 'hostname');
    } catch (err) {
      throw new UsageError(`--hostname: ${(err as Error).message}`, { context: { option: 'hostname' } });
    }
  });
  const role = argString(raw, 'role');
  const chosen = [argFlag(raw, 'all') && '--all', argFlag(raw, 'all-workers') && '--all-workers', role && '--role', hostnames.length > 0 && '--hostname'].filter(Boolean);
  if (chosen.length !== 1) {
    throw new UsageError(chosen.length ? `choose one of ${chosen.join(', ')}` : 'select nodes with --all, --all-workers, --role R or --hostname H', {
      hint: 'see: cookbook k8s.reboot --help',
    });
  }
  if (argFlag(raw, 'all')) return { all: true };
  if (argFlag(raw, 'all-workers')) return { allWorkers: true };
  if (role) return { role };
  return { hostnames };
}

export default defineCookbook<Args>({
  summary: 'Rolling reboot of nodes (several at once within limits; resumable; windows and blockers)',
  // Paragraphs, not pre-wrapped lines: yargs wraps them to the terminal.
  description: [
    'Reboots the selected nodes a few at a time: never more than --max-unavailable nodes unschedulable or NotReady (nodes already down count too), within per-role limits from the inventory, only when the PodDisruptionBudgets of the pods to evict allow it and the pods fit on the schedulable nodes. Control nodes go last, one at a time, and only while every control node and etcd member is healthy.',
    'Before anything changes, every target must answer over SSH with a host key that verifies. Per node: preflight (cluster health, blocking alerts and pods), alert silence, cordon, drain (k8s.drain semantics), reboot over SSH, a new boot id in the Node status and over SSH, Ready, uncordon, and the evicted workloads back to their desired ready replicas. A failed drain uncordons the node and never reboots it; nodes cordoned before the run stay cordoned.',
    'Pods with emptyDir volumes are evicted and their emptyDir data deleted, as kured does (it is scratch space, and the pod is evicted anyway); --no-delete-emptydir-data refuses them instead, and a node running one then fails its drain.',
    'The rollout is journaled: running the same selection again continues it without rebooting finished nodes. With --window, no node starts outside the window or when the time left is shorter than a node takes; the run then exits 0 with the rollout journaled, and the next run continues it. Before a node was measured, the time a node takes comes from earlier rollouts of the cluster (or --node-duration). SIGINT/SIGTERM stop at the next safe point, naming the nodes left cordoned.',
    'A dry-run prints the plan and ends with a verdict: exit 0 when the run would succeed, exit 1 naming each node and step that would fail (pods that need an opt-in, an unreachable host) or be held (a PDB that allows no disruption, an unhealthy etcd member, a blocker).',
  ].join('\n\n'),
  options: {
    'cluster-name': clusterNameOption,
    all: { type: 'boolean', describe: 'Every node of the cluster (control nodes last)' },
    'all-workers': { type: 'boolean', describe: 'Every node that is not a control-plane node' },
    role: { type: 'string', requiresArg: true, describe: 'Every node of one inventory role' },
    hostname: { type: 'string', array: true, requiresArg: true, describe: 'These nodes (repeatable, or comma-separated)' },
    'only-if-needed': { type: 'boolean', default: false, describe: 'Keep only nodes with a pending reboot: /var/run/reboot-required, or a newer kernel installed than running' },
    'max-unavailable': { type: 'string', default: '1', describe: 'Most nodes unschedulable or NotReady at once, counting nodes already down: N or P%' },
    'max-failures': { type: 'number', default: 0, describe: 'Node failures tolerated before no new node starts (0: stop at the first)' },
    window: { type: 'string', requiresArg: true, describe: 'Maintenance window, e.g. "Mon-Fri 06:00-16:00 Europe/Madrid"' },
    'node-duration': durationOption('Expected time per node (default: measured in this rollout; before that, from earlier rollouts of the cluster)', DURATIONS['node-duration']),
    'block-on-alert': { type: 'string', array: true, requiresArg: true, describe: 'Hold while an alert matching these matchers fires, e.g. \'severity=critical\' ({node} = the node\'s name)' },
    'block-on-pod': { type: 'string', array: true, requiresArg: true, describe: 'Hold a node while a pod matching this label selector runs on it' },
    'hard-reboot-fallback': { type: 'boolean', default: false, describe: 'Hard-reboot through OpenStack a drained node that does not come back' },
    report: { type: 'string', requiresArg: true, describe: 'Write a self-contained HTML report (timeline and table) to this file' },
    'reboot-timeout': durationOption('How long a node may take to come back with a new boot id (once, from the reboot command)', DURATIONS['reboot-timeout']),
    'ready-timeout': durationOption('How long a rebooted node may take to be Ready', DURATIONS['ready-timeout']),
    'recover-timeout': durationOption('How long evicted workloads may take to be ready again', DURATIONS['recover-timeout']),
    'hold-timeout': durationOption('Give up (exit 1) when no node could start for this long ("still held" is logged every minute)', DURATIONS['hold-timeout']),
    'silence-duration': durationOption("Length of each node's alert silence (expired as soon as the node is done)", DURATIONS['silence-duration']),
    'poll-interval': durationOption('How often waiting nodes are re-checked', DURATIONS['poll-interval']),
    'rollout-max-age': durationOption('An unfinished rollout older than this is not continued: a new one begins', DURATIONS['rollout-max-age']),
    'new-rollout': { type: 'boolean', default: false, describe: 'Begin a new rollout even if an unfinished one with this selection exists' },
    ...DRAIN.options,
  },
  examples: [
    ['cookbook k8s.reboot --cluster-name tools --all-workers --max-unavailable 3', 'Reboot every worker, three at a time'],
    ['cookbook k8s.reboot --cluster-name tools --all --only-if-needed --window "Mon-Fri 06:00-16:00 Europe/Madrid" --yes', 'Scheduled: nodes with a pending reboot, inside the window'],
    ['cookbook k8s.reboot --cluster-name toolsbeta --role worker_nfs --block-on-alert \'severity=critical\' --report reboot.html', 'NFS workers, held by critical alerts, with an HTML report'],
    ['cookbook k8s.reboot --cluster-name tools --all-workers --max-unavailable 10% --dry-run', 'Show the order and batches without changing anything'],
  ],
  parse: (raw) => {
    const window = argString(raw, 'window');
    // Alert matchers are checked at the start of run(), before anything changes (the parser is in lib/alerting).
    // Matchers and selectors contain commas: one value per option. An empty one is refused (an unset variable
    // in a timer unit must not mean "no blocker").
    const blockOnAlert = argList(raw, 'block-on-alert', { split: false });
    const podSpecs = argList(raw, 'block-on-pod', { split: false });
    return frozen({
      clusterName: argString(raw, 'cluster-name', { required: true }),
      selection: parseSelection(raw),
      onlyIfNeeded: argFlag(raw, 'only-if-needed'),
      maxUnavailable: parseMaxUnavailable(argString(raw, 'max-unavailable') ?? '1'),
      maxFailures: argInt(raw, 'max-failures', { min: 0, default: 0 })!,
      window: window ? parseWindow(window) : undefined,
      nodeDurationMs: argDuration(raw, 'node-duration', DURATIONS['node-duration']),
      blockOnAlert,
      blockOnPod: podSpecs.map((s) => parseLabelSelector(String(s))),
      holdTimeoutMs: ms(raw, 'hold-timeout'),
      pollMs: ms(raw, 'poll-interval'),
      rolloutMaxAgeMs: ms(raw, 'rollout-max-age'),
      newRollout: argFlag(raw, 'new-rollout'),
      reportPath: argString(raw, 'report'),
      node: {
        drain: DRAIN.parse(raw),
        rebootTimeoutMs: ms(raw, 'reboot-timeout'),
        readyTimeoutMs: ms(raw, 'ready-timeout'),
        recoverTimeoutMs: ms(raw, 'recover-timeout'),
        hardRebootFallback: argFlag(raw, 'hard-reboot-fallback'),
        silenceMs: ms(raw, 'silence-duration'),
      },
    });
  },
  // Inventory-level checks before the lock (and by `schedule install`): every named host belongs to this
  // cluster and --role is a Kubernetes node role. Whether a host is a Node is asked of the API after the lock.
  validate(cluster, args) {
    for (const h of args.selection.hostnames ?? []) requireHostOfRole(cluster, h);
    if (args.selection.role) getRole(cluster, args.selection.role, NODE_ROLES);
  },
  async run(ctx, args) {
    const { runReboot } = await import('../../lib/ops/reboot/index.js');
    return runReboot(ctx, args);
  },
});
