// Adding a node, as a sequence of ensure-style steps shared by k8s.add-node and k8s.replace-node: each step
// re-checks the world, so a run interrupted anywhere and run again finishes the same node (its name is
// journaled before the VM exists).
import type { Context } from '../../core/context.js';
import { isNodeReady, missingLabels, mergedTaints } from '../../k8s/nodes.js';
import { addToLoadBalancers, lbPreflight } from '../loadbalancer/index.js';
import { requireNodeRole } from './inventory.js';
import { checkHostsFirst, joinNode, leftoverTokens, sweepLeftoverTokens } from './join.js';
import { type NodeTimeouts, nodeTimeouts } from './timeouts.js';
import { type VmOverrides, checkVmSettingsUnlessCreated, ensureVm } from './vm.js';

/** How a node is added. */
export interface AddNodeOptions {
  /** The VM's flavor, image and network, when not the role's. */
  overrides?: VmOverrides;
  /** Control nodes preflightAddNode found answering (else it runs again). */
  controls?: string[];
  timeouts?: Partial<NodeTimeouts>;
}

/**
 * Checks what adding `hostname` needs before anything changes (reads only): the VM's flavor, image and
 * network exist (unless the VM does already), the load balancers are in step (for a control node), and the
 * control nodes answer over SSH with the host keys we know (a changed key is an error naming the host).
 * Returns the control nodes that answered.
 */
export async function preflightAddNode(ctx: Context, roleName: string, hostname: string, overrides: VmOverrides = {}): Promise<string[]> {
  await checkVmSettingsUnlessCreated(ctx, roleName, hostname, overrides);
  // A new control node goes behind every load balancer: each must answer and be in step first (no-op without LBs).
  if (ctx.cluster.roles[roleName]?.node === 'control-plane') await lbPreflight(ctx, { except: [hostname] });
  return checkHostsFirst(ctx, await ctx.k8s(), { excludeControls: [hostname] });
}

/** Adds a node of `roleName` named `hostname`: create VM, provision, join, wait Ready, labels and taints. */
export async function addNodeSteps(ctx: Context, roleName: string, hostname: string, options: AddNodeOptions = {}): Promise<{ hostname: string; role: string }> {
  const t = nodeTimeouts(options.timeouts);
  const role = requireNodeRole(ctx.cluster, roleName);
  const kube = await ctx.k8s();
  const remote = await ctx.remote();
  const sudo = ctx.cluster.ssh.sudo;
  const controls = options.controls ?? (await preflightAddNode(ctx, roleName, hostname, options.overrides));

  // A run killed between creating a join token and deleting it left one behind: delete it first.
  await ctx.step('delete leftover join tokens', {
    target: `cluster/${ctx.cluster.name}`,
    check: async () => ((await leftoverTokens(ctx, controls[0]!)).length === 0 ? [] : undefined),
    apply: () => sweepLeftoverTokens(ctx, controls[0]!),
  });

  await ensureVm(ctx, roleName, hostname, options.overrides, options.timeouts);

  // Provisioning and the join are planned command by command even when the VM is only planned: the dry-run
  // lists every command the real run sends.
  await ctx.step(`provision ${hostname}`, {
    target: `host/${hostname}`,
    // A node that joined was provisioned; provisioning commands themselves are idempotent (apt-get, systemctl).
    check: async () => ((await kube.getNode(hostname)) ? true : undefined),
    apply: async () => {
      for (const argv of role.provision) await remote.run(hostname, argv, { sudo, timeoutMs: t.provisionMs });
      return true;
    },
  });

  const joined = await ctx.step(`join ${hostname}`, {
    target: `node/${hostname}`,
    check: async () => ((await kube.getNode(hostname)) ? true : undefined),
    apply: async () => {
      await joinNode(ctx, kube, hostname, role.node === 'control-plane', options.timeouts);
      return true;
    },
  });

  await ctx.step(`wait ${hostname} Ready`, {
    target: `node/${hostname}`,
    needs: [joined],
    check: async () => {
      const n = await kube.getNode(hostname);
      return n && isNodeReady(n) ? true : undefined;
    },
    apply: async () => {
      await kube.waitNodeReady(hostname, { timeoutMs: t.readyMs });
      return true;
    },
  });

  await ctx.step(`set labels and taints of ${hostname}`, {
    target: `node/${hostname}`,
    needs: [joined],
    check: async () => {
      const n = await kube.getNode(hostname);
      return n && !missingLabels(n, role.labels) && !mergedTaints(n, role.taints) ? true : undefined;
    },
    apply: () => kube.ensureNodeLabelsAndTaints(hostname, role.labels, role.taints),
    verify: async () => {
      const n = await kube.requireNode(hostname);
      return !missingLabels(n, role.labels) && !mergedTaints(n, role.taints) && isNodeReady(n);
    },
  });
  // A control node takes API traffic only once its own /readyz passes (no-op without load balancers).
  if (role.node === 'control-plane') await addToLoadBalancers(ctx, hostname, joined);
  return { hostname, role: roleName };
}
