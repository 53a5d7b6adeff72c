// Adding and removing nodes, as sequences of ensure-style steps, shared by k8s.add-node, k8s.remove-node and
// k8s.replace-node. Each step re-checks the world, so a run interrupted anywhere and run again converges:
// the add finishes the same node (its name is journaled before the VM exists), the remove never deletes a VM
// before its node was drained and never leaves a Node object whose VM is gone.
import type { Context } from '../core/context.js';
import { InputError, messageOf } from '../core/errors.js';
import { type Planned, isPlanned } from '../core/gate.js';
import { scanJournals } from '../core/journal.js';
import { escapeRegExp, getRole, hostsOfRole, oldestHostname } from '../inventory/naming.js';
import type { DrainOptions } from '../k8s/index.js';
import { isNodeReady, missingLabels, mergedTaints } from '../k8s/nodes.js';
import { HostUnreachableError } from '../remote/errors.js';
import { checkHostsFirst, leftoverTokens, sweepLeftoverTokens } from './node-join.js';
import { type VmOverrides, checkVmSettings, closeNames, ensureVm } from './node-vm.js';
import { cordonStep, drainStep, joinNode, knownHostnames, requireNodeRole } from './nodes.js';

/**
 * Checks what adding `hostname` needs before anything changes (reads only): the VM's flavor, image and
 * network exist (unless the VM does already), and the control nodes answer over SSH with the host keys we
 * know (a changed key is an error naming the host). Returns the control nodes that answered.
 */
export async function preflightAddNode(ctx: Context, roleName: string, hostname: string, overrides: VmOverrides = {}): Promise<string[]> {
  const os = await ctx.openstack();
  if (!(await os.findServer(hostname))) await checkVmSettings(ctx, roleName, overrides);
  return checkHostsFirst(ctx, await ctx.k8s(), { excludeControls: [hostname] });
}

/** Adds a node of `roleName` named `hostname` (create VM, provision, join, wait Ready, labels and taints). */
export async function addNodeSteps(ctx: Context, roleName: string, hostname: string, overrides: VmOverrides = {}, checkedControls?: string[]): Promise<{ hostname: string; role: string }> {
  const role = requireNodeRole(ctx.cluster, roleName);
  const kube = await ctx.k8s();
  const remote = await ctx.remote();
  const sudo = ctx.cluster.ssh.sudo;
  const controls = checkedControls ?? (await preflightAddNode(ctx, roleName, hostname, overrides));

  // A run killed between creating a join token and deleting it left one behind: delete it first.
  await ctx.step('delete leftover join tokens', {
    target: `cluster/${ctx.cluster.name}`,
    check: async () => ((await leftoverTokens(ctx, controls[0]!)).length === 0 ? [] : undefined),
    apply: () => sweepLeftoverTokens(ctx, controls[0]!),
  });

  const vm = await ensureVm(ctx, roleName, hostname, overrides);

  await ctx.step(`provision ${hostname}`, {
    target: `host/${hostname}`,
    // A node that joined was provisioned; provisioning commands themselves are idempotent (apt-get, systemctl).
    check: async () => ((await kube.getNode(hostname)) ? true : undefined),
    apply: async () => {
      // In dry-run the VM is only planned: its commands are planned all the same (nothing is sent).
      if (!ctx.dryRun) ctx.need(vm, `VM ${hostname}`);
      let last: true | Planned = true;
      for (const argv of role.provision) {
        const r = await remote.run(hostname, argv, { sudo, timeoutMs: 15 * 60_000 });
        if (isPlanned(r)) last = r;
      }
      return last;
    },
  });

  await ctx.step(`join ${hostname}`, {
    target: `node/${hostname}`,
    check: async () => ((await kube.getNode(hostname)) ? true : undefined),
    apply: async () => {
      if (!ctx.dryRun) ctx.need(vm, `VM ${hostname}`);
      await joinNode(ctx, kube, hostname, role.node === 'control-plane');
      return true;
    },
  });

  await ctx.step(`wait ${hostname} Ready`, {
    target: `node/${hostname}`,
    check: async () => {
      const n = await kube.getNode(hostname);
      return n && isNodeReady(n) ? true : undefined;
    },
    apply: async () => {
      await kube.waitNodeReady(hostname, { timeoutMs: 10 * 60_000 });
      return true;
    },
  });

  await ctx.step(`set labels and taints of ${hostname}`, {
    target: `node/${hostname}`,
    check: async () => {
      const n = await kube.getNode(hostname);
      return n && !missingLabels(n, role.labels) && !mergedTaints(n, role.taints) ? true : undefined;
    },
    apply: async () => {
      if (!(await kube.getNode(hostname))) ctx.gate.stopIfPlanning(`node ${hostname} to register`);
      return kube.ensureNodeLabelsAndTaints(hostname, role.labels, role.taints);
    },
    verify: async () => {
      const n = await kube.requireNode(hostname);
      return !missingLabels(n, role.labels) && !mergedTaints(n, role.taints) && isNodeReady(n);
    },
  });
  return { hostname, role: roleName };
}

/** Options of a node removal. */
export interface RemoveOptions {
  drain: Partial<DrainOptions>;
}

/** True when a journal of an earlier real run on this cluster names the host (it acted on it, maybe interrupted). */
function journalsMention(ctx: Context, hostname: string): boolean {
  const mentions = new RegExp(`(^|[^a-z0-9-])${escapeRegExp(hostname)}($|[^a-z0-9-])`);
  return scanJournals(ctx.stateDir, { cluster: ctx.cluster.name, realOnly: true, excludeRunId: ctx.runId }).some((j) =>
    // What the run did or decided, not its arguments: a refused typo's own journal names the typo too.
    mentions.test(JSON.stringify([j.data.memo, j.data.changes, j.data.steps.map((st) => st.name)])),
  );
}

/** The host to remove: the one asked for, else the oldest of the role (exact naming: worker never picks worker-nfs). */
export async function chooseHostToRemove(ctx: Context, roleName: string, requested?: string): Promise<string> {
  return ctx.memo(`remove:${roleName}`, async () => {
    const { names } = await knownHostnames(ctx);
    if (requested) {
      // A host that is neither a Node nor a VM nor named by any journal is a typo: "nothing to remove" over a
      // typo would report success for a removal that never happened.
      if (!names.has(requested) && !journalsMention(ctx, requested)) {
        const close = closeNames(requested, [...names]);
        throw new InputError(`${requested} is not a node, a VM or a host of any earlier run of cluster ${ctx.cluster.name}${close.length ? `; did you mean ${close.join(', ')}?` : ''}`, {
          context: { cluster: ctx.cluster.name, hostname: requested, suggestions: close },
          hint: close.length ? `check the name; e.g. cookbook ${ctx.cookbook} --cluster-name ${ctx.cluster.name} --role ${roleName} --hostname ${close[0]}` : 'check the name with: kubectl get nodes',
        });
      }
      return requested;
    }
    const oldest = oldestHostname(ctx.cluster, roleName, names);
    if (!oldest) {
      throw new InputError(`cluster ${ctx.cluster.name} has no ${roleName} host to remove`, {
        context: { cluster: ctx.cluster.name, role: roleName, known: [...names].sort() },
        hint: 'check the role (kubectl get nodes shows the hosts), or name the host with --hostname',
      });
    }
    return oldest;
  });
}

/**
 * Refuses a removal that would leave the role below its inventory minimum, or the control plane without a
 * majority of Ready members. Reads only; runs before anything changes.
 */
export async function checkRemovalSafe(ctx: Context, roleName: string, hostname: string): Promise<void> {
  const role = getRole(ctx.cluster, roleName);
  const { names, nodes } = await knownHostnames(ctx);
  const members = hostsOfRole(ctx.cluster, roleName, names);
  if (!members.includes(hostname)) return; // already gone: the removal only finishes leftovers
  const remaining = members.filter((h) => h !== hostname);
  if (remaining.length < role.min) {
    throw new InputError(`refusing to remove ${hostname}: role ${roleName} would have ${remaining.length} host(s), below its minimum of ${role.min}`, {
      context: { cluster: ctx.cluster.name, role: roleName, hostname, remaining, min: role.min },
      hint: `add a ${roleName} node first (cookbook k8s.add-node --cluster-name ${ctx.cluster.name} --role ${roleName}), or replace this one (cookbook k8s.replace-node --cluster-name ${ctx.cluster.name} --hostname ${hostname})`,
    });
  }
  if (role.node === 'control-plane') {
    const ready = nodes.filter((n) => members.includes(n.metadata?.name ?? '') && isNodeReady(n)).map((n) => n.metadata!.name!);
    const readyAfter = ready.filter((h) => h !== hostname);
    const quorum = Math.floor(members.length / 2) + 1;
    if (readyAfter.length < quorum) {
      throw new InputError(
        `refusing to remove control node ${hostname}: only ${readyAfter.length} Ready control node(s) would remain, the control plane needs ${quorum} of ${members.length}`,
        { context: { cluster: ctx.cluster.name, hostname, ready, quorum }, hint: 'bring the other control nodes back to Ready first' },
      );
    }
  }
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
  const kube = await ctx.k8s();
  const os = await ctx.openstack();
  const remote = await ctx.remote();
  const node = await kube.getNode(hostname);
  if (node) {
    await cordonStep(ctx, kube, hostname);
    await drainStep(ctx, kube, hostname, options.drain);
  }
  let reset = 'skipped';
  await ctx.step<unknown>(`kubeadm reset ${hostname}`, {
    target: `host/${hostname}`,
    check: async () => ((await os.findServer(hostname)) ? undefined : 'no VM'),
    apply: async () => {
      try {
        const r = await remote.run(hostname, ['kubeadm', 'reset', '-f'], { sudo: ctx.cluster.ssh.sudo, timeoutMs: 5 * 60_000 });
        reset = isPlanned(r) ? 'planned' : 'done';
        return r;
      } catch (err) {
        if (!(err instanceof HostUnreachableError)) throw err;
        reset = 'unreachable';
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
  await ctx.step(`delete VM ${hostname}`, {
    target: `server/${hostname}`,
    check: async () => ((await os.findServer(hostname)) ? undefined : true),
    apply: async () => {
      const server = await os.findServer(hostname);
      if (!server) return true;
      const r = await os.deleteServer(server);
      if (isPlanned(r)) return r;
      await ctx.waitFor(async () => (await os.findServer(hostname)) === undefined, { what: `VM ${hostname} deleted`, timeoutMs: 10 * 60_000, backoff: { initialMs: 250, maxMs: 3000 } });
      return true;
    },
  });
  return { hostname, reset };
}
