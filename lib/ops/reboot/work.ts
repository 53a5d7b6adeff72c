// The rolling reboot as a user of the rollout engine: its phases (drawn as report.ts says), its mark (the boot
// id), --only-if-needed (needed.ts), its confirmation and the per-node work (node.ts).
import type { V1Node } from '@kubernetes/client-node';
import { isNodeReady, nodeBootId } from '../../k8s/index.js';
import type { NodeWork } from '../rollout/work.js';
import { filterNeedingReboot } from './needed.js';
import { type RebootNodeOptions, rebootNode } from './node.js';
import { REBOOT_REPORT } from './report.js';

/** The reboot's node work, for the given options (`onlyIfNeeded` is part of the rollout's identity). */
export function rebootWork(options: RebootNodeOptions, onlyIfNeeded: boolean): NodeWork<RebootNodeOptions> {
  return {
    name: 'reboot',
    title: 'the rolling reboot',
    participle: 'rebooted',
    phases: ['silence', 'cordon', 'drain', 'reboot', 'wait-ready', 'uncordon', 'recover'],
    // Until drained, a node's pods count against PDB budgets and capacity: listed afresh every round.
    undrainedPhases: ['pending', 'preflight', 'silence', 'cordon', 'drain'],
    offlinePhases: ['reboot', 'wait-ready'],
    report: REBOOT_REPORT,
    key: { onlyIfNeeded },
    // Drain about a minute, reboot and boot two, Ready and workloads back one.
    typicalNodeMs: 4 * 60_000,
    options,
    drainFilter: options.drain,
    mark: (node: V1Node) => nodeBootId(node) ?? null,
    doneAlready: (node, mark) => (mark && nodeBootId(node) !== mark && isNodeReady(node) ? 'rebooted since the rollout began (not by this rollout)' : undefined),
    needed: onlyIfNeeded
      ? async (ctx, clients, targets) => {
          const r = await filterNeedingReboot(clients.remote, targets);
          for (const n of r.needed) ctx.log.info(`${n.node} needs a reboot: ${n.reason}`);
          return {
            targets: r.needed.map((n) => n.node),
            skipped: [...r.notNeeded.map((node) => ({ node, reason: 'no reboot pending' })), ...r.unreachable.map((u) => ({ node: u.node, reason: `could not check for a pending reboot: ${u.error}` }))],
          };
        }
      : undefined,
    confirmMessage: (ctx, names, limits) =>
      `Reboot ${names.length} node(s) of ${ctx.cluster.name}, at most ${limits.maxUnavailable} unavailable at once: ${names.slice(0, 12).join(', ')}${names.length > 12 ? `, ... (${names.length - 12} more)` : ''}. ` +
      `Each is cordoned, drained (emptyDir data ${options.drain.deleteEmptyDirData ? 'deleted' : 'refused'}), rebooted and uncordoned.`,
    planNotes: () => [
      options.drain.deleteEmptyDirData
        ? '  pods with emptyDir volumes are evicted and their emptyDir data deleted (the default; --no-delete-emptydir-data refuses them instead)'
        : '  pods with emptyDir volumes are refused (--no-delete-emptydir-data): a node running one would fail its drain',
    ],
    run: rebootNode,
  };
}
