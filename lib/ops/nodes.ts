// Node lifecycle steps shared by the cookbooks (add, remove, replace, cordon, drain, reboot): each is an
// ensure-style step (check, act, verify) built on the client layers, so every cookbook that cordons or joins a
// node does it the same, resumable way.
import type { V1Node } from '@kubernetes/client-node';
import type { Context } from '../core/context.js';
import { CookbookError, InputError, InterruptedError } from '../core/errors.js';
import { type Planned, isPlanned } from '../core/gate.js';
import { NODE_ROLES, clusterHostPattern, getRole, nextHostname, requireHostOfRole, roleOf } from '../inventory/naming.js';
import type { ClusterConfig, RoleConfig } from '../inventory/schema.js';
// Values come from the light k8s submodules, types from the client: cookbooks import this module, and
// `cookbook list` must not load client-node.
import type { DrainOptions, DrainResult, Kube } from '../k8s/index.js';
import { DrainFailedError, DrainRefusedError } from '../k8s/errors.js';
import { isCordoned, ourCordon } from '../k8s/nodes.js';
import type { Server } from '../openstack/index.js';
import { closeNames } from './node-vm.js';

export { type VmOverrides, checkVmSettings, closeNames, ensureVm } from './node-vm.js';
export { checkHostsFirst, joinConfiguration, joinNode, parseJoinCommand, pickControlNode, sweepLeftoverTokens } from './node-join.js';

/** The cluster host a cookbook acts on, validated: a DNS label of this cluster (and of `role`, when given). */
export function clusterHost(cluster: ClusterConfig, hostname: string, role?: string): { hostname: string; role: string } {
  requireHostOfRole(cluster, hostname, role);
  return { hostname, role: roleOf(cluster, hostname)! };
}

/** The Node of a host, or an InputError (exit 2) naming it: the operator named a host that is not a node. */
export async function requireClusterNode(kube: Kube, cluster: ClusterConfig, hostname: string): Promise<V1Node> {
  const node = await kube.getNode(hostname);
  if (!node) {
    const close = closeNames(hostname, (await kube.listNodes()).map((n) => n.metadata?.name ?? '').filter(Boolean));
    throw new InputError(`host ${hostname} is not a Kubernetes node of cluster ${cluster.name}${close.length ? `; did you mean ${close.join(', ')}?` : ''}`, {
      context: { cluster: cluster.name, hostname, suggestions: close },
      hint: 'check the name with: kubectl get nodes',
    });
  }
  return node;
}

/** A Kubernetes role (not `etcd`-style `node: none`), or an InputError listing only the node roles. */
export function requireNodeRole(cluster: ClusterConfig, roleName: string): RoleConfig {
  return getRole(cluster, roleName, NODE_ROLES);
}

/** Cordons a node as a journaled step; returns whether the cordon is ours (we never uncordon another's). */
export async function cordonStep(ctx: Context, kube: Kube, node: string): Promise<{ ours: boolean } | Planned> {
  return ctx.step(`cordon ${node}`, {
    target: `node/${node}`,
    check: async () => {
      const n = await kube.requireNode(node);
      return isCordoned(n) ? { ours: ourCordon(n) !== undefined } : undefined;
    },
    apply: async () => {
      const r = await kube.cordon(node, { runId: ctx.runId, cookbook: ctx.cookbook });
      return isPlanned(r) ? r : { ours: r.ours };
    },
    verify: async () => isCordoned(await kube.requireNode(node)),
  });
}

/**
 * Uncordons a node we cordoned (or any, with force) as a journaled step. `cordonPlanned`: in dry-run the
 * cordon was only planned, so the node is not cordoned yet; the uncordon the real run would make is planned
 * through Kube.uncordon all the same.
 */
export async function uncordonStep(ctx: Context, kube: Kube, node: string, options: { force?: boolean; cordonPlanned?: boolean } = {}): Promise<unknown> {
  const planning = ctx.dryRun && options.cordonPlanned === true;
  return ctx.step(`uncordon ${node}`, {
    target: `node/${node}`,
    check: async () => (!planning && !isCordoned(await kube.requireNode(node)) ? { node, changed: false, ours: false } : undefined),
    apply: () => kube.uncordon(node, { force: options.force, cordonPlanned: planning }),
    verify: async () => !isCordoned(await kube.requireNode(node)),
  });
}

/**
 * Drains a cordoned node as a journaled step (skipped when nothing is left to evict). On failure the node
 * stays cordoned, unless `uncordonOnFailure` and the cordon is ours.
 */
export async function drainStep(
  ctx: Context,
  kube: Kube,
  node: string,
  options: Partial<DrainOptions> & { uncordonOnFailure?: boolean; uncordonReason?: string },
): Promise<DrainResult | Planned | undefined> {
  try {
    return await ctx.step<DrainResult>(`drain ${node}`, {
      target: `node/${node}`,
      check: async () => {
        const plan = await kube.planDrain(node, { ignoreDaemonSets: true, deleteEmptyDirData: false, forceUnmanaged: false, skipWaitForDeleteTimeoutSeconds: 0, ...options });
        return plan.evict.length === 0 && plan.refuse.length === 0 ? ({ node, planned: false, evicted: [], skipped: [], warnings: [], blocked: [], failed: [], durationMs: 0, requests: 0 } satisfies DrainResult) : undefined;
      },
      apply: async () => {
        const r = await kube.drain(node, {
          ...options,
          onProgress: (e) => ctx.progress({ scope: 'drain', target: e.pod, phase: e.state, message: e.detail }),
        });
        for (const w of r.warnings) ctx.log.warn(w);
        return r;
      },
    });
  } catch (err) {
    // Any failure of the drain (refused, timed out, API errors), but not an interrupt: that stops at once.
    // In dry-run nothing was cordoned: the verdict names the failure, there is nothing to undo.
    if (ctx.dryRun) throw err;
    if (err instanceof DrainFailedError || err instanceof DrainRefusedError || (err instanceof CookbookError && !(err instanceof InterruptedError) && !ctx.signal.aborted)) {
      if (options.uncordonOnFailure) {
        const n = await kube.getNode(node);
        if (n && ourCordon(n)) {
          ctx.log.warn(`drain of ${node} failed; uncordoning it ${options.uncordonReason ?? '(the cordon was ours)'}`);
          await uncordonStep(ctx, kube, node);
        } else {
          ctx.log.warn(`drain of ${node} failed; it was not cordoned by us, so it stays cordoned`);
        }
      } else {
        ctx.log.warn(`drain of ${node} failed; the node stays cordoned (uncordon it with: cookbook k8s.uncordon --cluster-name ${ctx.cluster.name} --hostname ${node})`);
      }
    }
    throw err;
  }
}

/** Every host name of the cluster known to OpenStack or Kubernetes (for naming and role counts). */
export async function knownHostnames(ctx: Context): Promise<{ servers: Server[]; nodes: V1Node[]; names: Set<string> }> {
  const [os, kube] = await Promise.all([ctx.openstack(), ctx.k8s()]);
  const [servers, nodes] = await Promise.all([os.listServers({ name: clusterHostPattern(ctx.cluster) }), kube.listNodes()]);
  const names = new Set<string>([...servers.map((s) => s.name), ...nodes.map((n) => n.metadata?.name ?? '')].filter(Boolean));
  return { servers, nodes, names };
}

/**
 * The host name a new node of `role` gets: journaled, so a resumed run finishes the same node. A requested
 * name that is already a Node is refused (exit 2): adding it again would report success over nothing.
 */
export async function chooseNewHostname(ctx: Context, roleName: string, requested?: string): Promise<string> {
  return ctx.memo(`hostname:${roleName}`, async () => {
    if (requested) {
      clusterHost(ctx.cluster, requested, roleName);
      if (await (await ctx.k8s()).getNode(requested)) {
        throw new InputError(`${requested} is already a node of cluster ${ctx.cluster.name}; nothing to add`, {
          context: { cluster: ctx.cluster.name, hostname: requested, role: roleName },
          hint: `leave out --hostname to add the next ${roleName} node, or replace this one with: cookbook k8s.replace-node --cluster-name ${ctx.cluster.name} --hostname ${requested}`,
        });
      }
      return requested;
    }
    const { names } = await knownHostnames(ctx);
    return nextHostname(ctx.cluster, roleName, names);
  });
}
