// k8s.control-plane.resize: adds or removes control nodes one at a time until there are N, with a preflight
// before every step (every control node Ready and answering /readyz on its own endpoint, every etcd member
// healthy, every load balancer answering, listing exactly the control nodes and seeing them UP). Each step is
// decided once and journaled (`resize:<i>`), so a killed run resumed by the same command replays the same
// decisions and finishes the node it was working on (its steps check the world first). The add and remove
// steps are k8s.add-node's and k8s.remove-node's, which move the node into and out of the load balancers.
import type { Context } from '../../core/context.js';
import { InputError } from '../../core/errors.js';
import { readCluster } from '../../etcd/members.js';
import { hostsOfRole, roleNames } from '../../inventory/naming.js';
import type { ClusterConfig } from '../../inventory/schema.js';
import type { DrainOptions } from '../../k8s/index.js';
import { isNodeReady } from '../../k8s/nodes.js';
import { lbProblems } from '../loadbalancer/preflight.js';
import { nodeEndpoint, nodeReadyz } from '../loadbalancer/hosts.js';
import { addNodeSteps } from '../node/add.js';
import { knownHostnames } from '../node/inventory.js';
import { checkRemovalSafe, removeNodeSteps } from '../node/remove.js';
import { type ResizeStep, isStackedEtcd, nextResizeStep } from './plan.js';

export { countRefusal, isStackedEtcd, nextResizeStep, type ResizeStep } from './plan.js';

/** The control-plane role to resize: the one asked for, or the cluster's only one (InputError otherwise). */
export function controlRoleOf(cluster: ClusterConfig, requested?: string): string {
  const roles = roleNames(cluster).filter((r) => cluster.roles[r]!.node === 'control-plane');
  if (requested) {
    if (!roles.includes(requested)) {
      throw new InputError(`role ${requested} of cluster ${cluster.name} is no control-plane role`, {
        context: { cluster: cluster.name, role: requested, controlRoles: roles },
        hint: roles.length ? `use --role ${roles.join(' or --role ')}` : 'the inventory has no role with node: control-plane',
      });
    }
    return requested;
  }
  if (roles.length !== 1) {
    throw new InputError(`cluster ${cluster.name} has ${roles.length === 0 ? 'no' : `${roles.length}`} control-plane roles${roles.length ? ` (${roles.join(', ')})` : ''}`, {
      context: { cluster: cluster.name, controlRoles: roles },
      hint: roles.length ? 'name the one to resize with --role' : 'the inventory has no role with node: control-plane',
    });
  }
  return roles[0]!;
}

/** True when the cluster has etcd members of their own role (`known`: every host name the cluster knows). */
export function hasExternalEtcd(cluster: ClusterConfig, known: Iterable<string>): boolean {
  return !isStackedEtcd(cluster) && hostsOfRole(cluster, 'etcd', known).length > 0;
}

/** The role's control nodes that are Kubernetes Nodes, oldest first. */
export async function roleControls(ctx: Context, role: string): Promise<string[]> {
  const nodes = (await (await ctx.k8s()).listNodes()).map((n) => n.metadata?.name ?? '');
  return hostsOfRole(ctx.cluster, role, nodes);
}

/**
 * Everything that must hold before the control plane changes (reads only), as sentences naming what to fix:
 * `controls` Ready with /readyz passing on their own endpoints, etcd healthy, the LBs in step (`except`: nodes
 * this run is moving).
 */
export async function controlPlaneProblems(ctx: Context, controls: readonly string[], except: readonly string[] = [], externalEtcd = !isStackedEtcd(ctx.cluster)): Promise<string[]> {
  const problems: string[] = [];
  const kube = await ctx.k8s();
  const nodes = new Map((await kube.listNodes()).map((n) => [n.metadata?.name ?? '', n]));
  const checked = controls.filter((c) => !except.includes(c));
  const lb = await lbProblems(ctx, { controls, except });
  const ports = lb.lbs[0]?.listed.map((s) => s.port) ?? [];
  await Promise.all(
    checked.map(async (c) => {
      const n = nodes.get(c);
      if (!n) return void problems.push(`control node ${c} is no Node any more: finish its removal with cookbook k8s.remove-node --cluster-name ${ctx.cluster.name} --hostname ${c}`);
      if (!isNodeReady(n)) problems.push(`control node ${c} is NotReady: bring it back (kubectl describe node ${c}) before changing the control plane`);
      const endpoint = await nodeEndpoint(ctx, c, ports);
      const r = await nodeReadyz(ctx, endpoint);
      if (!r.ready) problems.push(`control node ${c}'s API server fails /readyz on https://${endpoint.address}:${endpoint.port} (${r.error?.message ?? 'not ready'}): fix it before changing the control plane`);
    }),
  );
  if (externalEtcd) {
    const { summary } = await readCluster(ctx);
    for (const r of summary.rows.filter((x) => !x.healthy)) problems.push(`etcd member ${r.name || r.peerUrl} is unhealthy (${r.problem ?? 'no answer'}): see cookbook etcd.status --cluster-name ${ctx.cluster.name}`);
  }
  return [...problems.sort(), ...lb.problems];
}

/** controlPlaneProblems as a refusal: InputError (exit 2) listing every problem. */
export async function resizePreflight(ctx: Context, controls: readonly string[], except: readonly string[] = [], externalEtcd = !isStackedEtcd(ctx.cluster)): Promise<void> {
  const problems = await controlPlaneProblems(ctx, controls, except, externalEtcd);
  if (!problems.length) return;
  throw new InputError(`refusing to change the control plane of ${ctx.cluster.name}:\n  - ${problems.join('\n  - ')}`, {
    context: { cluster: ctx.cluster.name, problems },
    hint: 'fix what is listed above, then run the same command again',
  });
}

/** Options of a resize. */
export interface ResizeOptions {
  role: string;
  count: number;
  drain: Partial<DrainOptions>;
  /** etcd runs on hosts of its own role (checked before every step); false when it is stacked on the control nodes. */
  externalEtcd: boolean;
}

/** What a resize did (or, in a dry-run, would do). */
export interface ResizeResult {
  role: string;
  from: number;
  to: number;
  added: string[];
  removed: string[];
}

/** Resizes the control plane one node at a time (see the module comment). */
export async function resizeControlPlane(ctx: Context, o: ResizeOptions, from: string[]): Promise<ResizeResult> {
  const result: ResizeResult = { role: o.role, from: from.length, to: o.count, added: [], removed: [] };
  // Nodes a dry-run only planned to add or remove: the next decision counts them as done.
  const plannedAdds = new Set<string>();
  const plannedRemovals = new Set<string>();
  const view = async (): Promise<string[]> => [...(await roleControls(ctx, o.role)).filter((h) => !plannedRemovals.has(h)), ...plannedAdds];
  for (let i = 0; ; i++) {
    ctx.checkpoint('k8s.control-plane.resize');
    const step = await ctx.memo<ResizeStep>(`resize:${i}`, async () => {
      const controls = await view();
      const known = [...(await knownHostnames(ctx)).names, ...plannedAdds, ...plannedRemovals];
      return nextResizeStep(ctx.cluster, o.role, o.count, controls, known);
    });
    if (step.kind === 'done') break;
    ctx.progress({ scope: 'resize', target: step.hostname, phase: step.kind, message: `step ${i + 1}: ${step.kind} ${step.hostname}` });
    const real = (await roleControls(ctx, o.role)).filter((h) => !plannedRemovals.has(h));
    await resizePreflight(ctx, real, [step.hostname, ...plannedRemovals], o.externalEtcd);
    if (step.kind === 'add') {
      ctx.log.info(`adding control node ${step.hostname}`);
      await addNodeSteps(ctx, o.role, step.hostname);
      result.added.push(step.hostname);
      if (!(await roleControls(ctx, o.role)).includes(step.hostname)) plannedAdds.add(step.hostname);
    } else {
      ctx.log.info(`removing control node ${step.hostname}`);
      await checkRemovalSafe(ctx, o.role, step.hostname);
      await removeNodeSteps(ctx, step.hostname, { drain: o.drain });
      result.removed.push(step.hostname);
      if ((await roleControls(ctx, o.role)).includes(step.hostname)) plannedRemovals.add(step.hostname);
    }
  }
  return result;
}
