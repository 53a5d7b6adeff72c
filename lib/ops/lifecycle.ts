// Adding and removing nodes, as sequences of ensure-style steps, shared by k8s.add-node, k8s.remove-node and
// k8s.replace-node. Each step re-checks the world, so a run interrupted anywhere and run again converges:
// the add finishes the same node (its name is journaled before the VM exists), the remove never deletes a VM
// before its node was drained and never leaves a Node object whose VM is gone.
import type { Context } from '../core/context.js';
import { InputError, messageOf } from '../core/errors.js';
import { type Planned, isPlanned } from '../core/gate.js';
import { getRole, hostsOfRole, oldestHostname } from '../inventory/naming.js';
import type { DrainOptions } from '../k8s/index.js';
import { isNodeReady, missingLabels, mergedTaints } from '../k8s/nodes.js';
import { HostUnreachableError } from '../remote/errors.js';
import { type VmOverrides, cordonStep, drainStep, ensureVm, joinNode, knownHostnames, requireNodeRole } from './nodes.js';

/** Adds a node of `roleName` named `hostname` (create VM, provision, join, wait Ready, labels and taints). */
export async function addNodeSteps(ctx: Context, roleName: string, hostname: string, overrides: VmOverrides = {}): Promise<{ hostname: string; role: string }> {
  const role = requireNodeRole(ctx.cluster, roleName);
  const kube = await ctx.k8s();
  const remote = await ctx.remote();
  const sudo = ctx.cluster.ssh.sudo;
  const vm = await ensureVm(ctx, roleName, hostname, overrides);

  await ctx.step(`provision ${hostname}`, {
    target: `host/${hostname}`,
    // A node that joined was provisioned; provisioning commands themselves are idempotent (apt-get, systemctl).
    check: async () => ((await kube.getNode(hostname)) ? true : undefined),
    apply: async () => {
      ctx.need(vm, `VM ${hostname}`);
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
      ctx.need(vm, `VM ${hostname}`);
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

/** The host to remove: the one asked for, else the oldest of the role (exact naming: worker never picks worker-nfs). */
export async function chooseHostToRemove(ctx: Context, roleName: string, requested?: string): Promise<string> {
  return ctx.memo(`remove:${roleName}`, async () => {
    if (requested) return requested;
    const { names } = await knownHostnames(ctx);
    const oldest = oldestHostname(ctx.cluster, roleName, names);
    if (!oldest) throw new InputError(`cluster ${ctx.cluster.name} has no ${roleName} host to remove`, { context: { cluster: ctx.cluster.name, role: roleName } });
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
      hint: `add a ${roleName} node first (cookbook k8s.add-node), or use k8s.replace-node`,
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
