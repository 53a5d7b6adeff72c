// Removing a node, as a sequence of ensure-style steps shared by k8s.remove-node and k8s.replace-node: which
// host (the one asked for, else the oldest of the role), whether removing it is safe (the role's minimum, the
// control plane's majority), then cordon, drain, kubeadm reset, delete the Node, delete the VM. A run
// interrupted anywhere and run again converges: the VM is never deleted before its node was drained, and no
// Node object is left whose VM is gone.
import type { Context } from '../../core/context.js';
import { InputError, messageOf } from '../../core/errors.js';
import { unlessPlanned } from '../../core/gate.js';
import { scanJournals } from '../../core/journal.js';
import { escapeRegExp, getRole, hostsOfRole, oldestHostname } from '../../inventory/naming.js';
import type { ClusterConfig, RoleConfig } from '../../inventory/schema.js';
import type { DrainOptions } from '../../k8s/index.js';
import { isNodeReady } from '../../k8s/nodes.js';
import { isControlNode, lbPreflight, removeFromLoadBalancers } from '../loadbalancer/index.js';
import { HostUnreachableError } from '../../remote/errors.js';
import { closeNames, knownHostnames } from './inventory.js';
import { cordonStep, drainStep } from './steps.js';
import { type NodeTimeouts, nodeTimeouts } from './timeouts.js';
import { deleteVmStep } from './vm.js';

/** Options of a node removal. */
export interface RemoveOptions {
  drain: Partial<DrainOptions>;
  timeouts?: Partial<NodeTimeouts>;
}

/** What selectHostToRemove decided. */
export type RemovalChoice = { hostname: string } | { refuse: 'unknown-host'; hostname: string; close: string[] } | { refuse: 'role-empty' };

/**
 * The host to remove (pure): the one asked for when the cluster knows it (`known`: Nodes and VMs) or an earlier
 * run acted on it (`mentioned`: a removal interrupted after the VM went); else the oldest of the role, by exact
 * naming (worker never picks worker-nfs).
 */
export function selectHostToRemove(cluster: ClusterConfig, roleName: string, known: ReadonlySet<string>, requested?: string, mentioned = false): RemovalChoice {
  if (requested) {
    // "Nothing to remove" over a typo would report success for a removal that never happened.
    return known.has(requested) || mentioned ? { hostname: requested } : { refuse: 'unknown-host', hostname: requested, close: closeNames(requested, [...known]) };
  }
  const oldest = oldestHostname(cluster, roleName, known);
  return oldest ? { hostname: oldest } : { refuse: 'role-empty' };
}

/** True when a journal of an earlier real run on this cluster names the host (it acted on it, maybe interrupted). */
function journalsMention(ctx: Context, hostname: string): boolean {
  const mentions = new RegExp(`(^|[^a-z0-9-])${escapeRegExp(hostname)}($|[^a-z0-9-])`);
  return scanJournals(ctx.stateDir, { cluster: ctx.cluster.name, realOnly: true, excludeRunId: ctx.runId }).some((j) =>
    // What the run did or decided, not its arguments: a refused typo's own journal names the typo too.
    mentions.test(JSON.stringify([j.data.memo, j.data.changes, j.data.steps.map((st) => st.name)])),
  );
}

/** The host to remove (see selectHostToRemove), journaled so a resumed run removes the same one. */
export async function chooseHostToRemove(ctx: Context, roleName: string, requested?: string): Promise<string> {
  return ctx.memo(`remove:${roleName}`, async () => {
    const { names } = await knownHostnames(ctx);
    const mentioned = requested !== undefined && !names.has(requested) && journalsMention(ctx, requested);
    const choice = selectHostToRemove(ctx.cluster, roleName, names, requested, mentioned);
    if (!('refuse' in choice)) return choice.hostname;
    if (choice.refuse === 'unknown-host') {
      const { hostname, close } = choice;
      throw new InputError(`${hostname} is not a node, a VM or a host of any earlier run of cluster ${ctx.cluster.name}${close.length ? `; did you mean ${close.join(', ')}?` : ''}`, {
        context: { cluster: ctx.cluster.name, hostname, suggestions: close },
        hint: close.length ? `check the name; e.g. cookbook ${ctx.cookbook} --cluster-name ${ctx.cluster.name} --role ${roleName} --hostname ${close[0]}` : 'check the name with: kubectl get nodes',
      });
    }
    throw new InputError(`cluster ${ctx.cluster.name} has no ${roleName} host to remove`, {
      context: { cluster: ctx.cluster.name, role: roleName, known: [...names].sort() },
      hint: 'check the role (kubectl get nodes shows the hosts), or name the host with --hostname',
    });
  });
}

/** Why removing a host is refused, if it is (see removalRefusal). */
export type RemovalRefusal = { reason: 'below-min'; remaining: string[]; min: number } | { reason: 'no-quorum'; ready: string[]; readyAfter: string[]; quorum: number; members: number };

/**
 * The removal rule (pure): removing `hostname` from the role's `members` must leave at least the role's
 * minimum, and for a control-plane role a majority of all members Ready (`ready`: the members that are Ready).
 * A host that is no member any more (already gone: the removal only finishes leftovers) is never refused.
 */
export function removalRefusal(role: Pick<RoleConfig, 'min' | 'node'>, members: readonly string[], ready: readonly string[], hostname: string): RemovalRefusal | undefined {
  if (!members.includes(hostname)) return undefined;
  const remaining = members.filter((h) => h !== hostname);
  if (remaining.length < role.min) return { reason: 'below-min', remaining, min: role.min };
  if (role.node !== 'control-plane') return undefined;
  const readyAfter = ready.filter((h) => h !== hostname && members.includes(h));
  const quorum = Math.floor(members.length / 2) + 1;
  return readyAfter.length < quorum ? { reason: 'no-quorum', ready: [...ready], readyAfter, quorum, members: members.length } : undefined;
}

/**
 * Refuses a removal that would leave the role below its inventory minimum, or the control plane without a
 * majority of Ready members (see removalRefusal). Reads only; runs before anything changes.
 */
export async function checkRemovalSafe(ctx: Context, roleName: string, hostname: string): Promise<void> {
  const role = getRole(ctx.cluster, roleName);
  const { names, nodes } = await knownHostnames(ctx);
  const members = hostsOfRole(ctx.cluster, roleName, names);
  const ready = nodes.filter((n) => members.includes(n.metadata?.name ?? '') && isNodeReady(n)).map((n) => n.metadata!.name!);
  const refusal = removalRefusal(role, members, ready, hostname);
  if (refusal?.reason === 'below-min') {
    throw new InputError(`refusing to remove ${hostname}: role ${roleName} would have ${refusal.remaining.length} host(s), below its minimum of ${refusal.min}`, {
      context: { cluster: ctx.cluster.name, role: roleName, hostname, remaining: refusal.remaining, min: refusal.min },
      hint: `add a ${roleName} node first (cookbook k8s.add-node --cluster-name ${ctx.cluster.name} --role ${roleName}), or replace this one (cookbook k8s.replace-node --cluster-name ${ctx.cluster.name} --hostname ${hostname})`,
    });
  }
  if (refusal?.reason === 'no-quorum') {
    throw new InputError(
      `refusing to remove control node ${hostname}: only ${refusal.readyAfter.length} Ready control node(s) would remain, the control plane needs ${refusal.quorum} of ${refusal.members}`,
      { context: { cluster: ctx.cluster.name, hostname, ready: refusal.ready, quorum: refusal.quorum }, hint: 'bring the other control nodes back to Ready first' },
    );
  }
  // The API traffic of a control node moves to the others: every LB must answer and see them UP (no-op without LBs).
  if (role.node === 'control-plane') await lbPreflight(ctx, { except: [hostname] });
}

/** What a removal does, for its confirmation. */
export function removalDetails(hostname: string): string[] {
  return [
    `cordon ${hostname} and drain it: its pods are evicted (emptyDir data is lost)`,
    `kubeadm reset on ${hostname} (when it answers)`,
    `delete the Node ${hostname}`,
    `delete the VM ${hostname}: its disk is gone for good`,
  ];
}

/** Removes a host: cordon, drain, kubeadm reset (when reachable), delete the Node, delete the VM. */
export async function removeNodeSteps(ctx: Context, hostname: string, options: RemoveOptions): Promise<{ hostname: string; reset: string }> {
  const t = nodeTimeouts(options.timeouts);
  const kube = await ctx.k8s();
  const os = await ctx.openstack();
  const remote = await ctx.remote();
  // A control node leaves every load balancer (drained, no sessions, unlisted) before anything else touches it.
  if (isControlNode(ctx, hostname)) await removeFromLoadBalancers(ctx, hostname);
  if (await kube.getNode(hostname)) {
    await cordonStep(ctx, kube, hostname);
    await drainStep(ctx, kube, hostname, options.drain);
  }
  const reset = await ctx.step<'done' | 'unreachable' | 'skipped'>(`kubeadm reset ${hostname}`, {
    target: `host/${hostname}`,
    check: async () => ((await os.findServer(hostname)) ? undefined : 'skipped'),
    apply: async () => {
      try {
        await remote.run(hostname, ['kubeadm', 'reset', '-f'], { sudo: ctx.cluster.ssh.sudo, timeoutMs: t.resetMs });
        return 'done';
      } catch (err) {
        if (!(err instanceof HostUnreachableError)) throw err;
        ctx.log.warn(`${hostname} is unreachable; skipping kubeadm reset (${messageOf(err)})`);
        return 'unreachable';
      }
    },
  });
  await ctx.step(`delete node ${hostname}`, {
    target: `node/${hostname}`,
    check: async () => ((await kube.getNode(hostname)) ? undefined : true),
    apply: () => kube.deleteNode(hostname),
    verify: async () => (await kube.getNode(hostname)) === undefined,
  });
  await deleteVmStep(ctx, hostname, options.timeouts);
  return { hostname, reset: unlessPlanned(reset, 'planned') };
}
