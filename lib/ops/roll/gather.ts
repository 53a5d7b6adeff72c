// The facts a roll is planned from, read before anything changes: the role's nodes with their VM's image,
// flavor and readiness, the new nodes' names (the role's next indices), the project's quota headroom and the
// role's server group. Reads only.
import type { Context } from '../../core/context.js';
import { InputError } from '../../core/errors.js';
import { hostsOfRole, nextHostname } from '../../inventory/naming.js';
import { isNodeReady } from '../../k8s/nodes.js';
import { type ComputeHeadroom, OpenStackForbiddenError, headroomFromLimits, headroomFromQuotas, serverGroupRoom, serverSpec } from '../../openstack/index.js';
import { closeNames, knownHostnames, requireNodeRole } from '../node/inventory.js';
import type { VmOverrides } from '../node/vm.js';
import { earlierNodeMs } from '../rollout/state.js';
import { ROLL_WORK } from './execute.js';
import { DEFAULT_ROLL_DURATIONS, type RollDurations, type RollFacts, type RollNode, type RollSpec, selectRollTargets } from './plan.js';

/** What the operator asked for. */
export interface RollRequest {
  role: string;
  overrides: VmOverrides;
  hostnames: readonly string[];
  onlyOutdated: boolean;
  maxSurge: number;
  maxUnavailable: number;
}

/** The facts, plus what the selection left out. */
export interface GatheredRoll {
  facts: RollFacts;
  /** Every node of the role (targets and others). */
  nodes: RollNode[];
  skipped: { node: string; reason: string }[];
  /** The role's server group exists already (new VMs of a wave may then be created at once). */
  serverGroupExists: boolean;
  /** Where the expected durations (the ETA) come from. */
  etaSource: string;
}

/**
 * Expected durations: from the nodes of earlier rolls of this cluster when there are some (the median time a
 * node took, adds and removals alike, split evenly between an add's VM and its join), else typical cloud ones.
 */
function expectedDurations(ctx: Context): { durations: RollDurations; source: string } {
  const earlier = earlierNodeMs(ctx, ROLL_WORK);
  if (!earlier) return { durations: DEFAULT_ROLL_DURATIONS, source: 'typical cloud timings' };
  const p = earlier.perNodeMs;
  return { durations: { vmMs: p / 2, joinMs: p / 2, removeMs: p }, source: `measured on ${earlier.nodes} node(s) of earlier rolls` };
}

/** The project's compute headroom: the quota set with usage, or the absolute limits where policy hides it. */
export async function readHeadroom(ctx: Context): Promise<ComputeHeadroom> {
  const os = await ctx.openstack();
  try {
    return headroomFromQuotas(await os.getQuotas());
  } catch (err) {
    if (!(err instanceof OpenStackForbiddenError)) throw err;
    return headroomFromLimits(await os.getLimits());
  }
}

/** Reads the facts of a roll (see the module comment); a --hostname that is no node of the role is bad input. */
export async function gatherRoll(ctx: Context, req: RollRequest): Promise<GatheredRoll> {
  const role = requireNodeRole(ctx.cluster, req.role);
  const os = await ctx.openstack();
  const [{ servers, nodes: kubeNodes, names }, images, flavors, headroom] = await Promise.all([knownHostnames(ctx), os.listImages(), os.listFlavors(), readHeadroom(ctx)]);
  const wanted = { image: req.overrides.image ?? role.image, flavor: req.overrides.flavor ?? role.flavor };
  const flavor = flavors.find((f) => f.name === wanted.flavor) ?? flavors.find((f) => f.id === wanted.flavor);
  const spec: RollSpec = { image: wanted.image, flavor: flavor?.name ?? wanted.flavor, vcpus: flavor?.vcpus ?? 0, ram: flavor?.ram ?? 0 };

  const members = hostsOfRole(ctx.cluster, req.role, names);
  const nodes: RollNode[] = members.map((hostname) => {
    const server = servers.find((s) => s.name === hostname);
    const node = kubeNodes.find((n) => n.metadata?.name === hostname);
    const vm = server ? serverSpec(server, images, flavors) : { image: undefined, flavor: undefined, vcpus: 0, ram: 0 };
    return { hostname, ...vm, schedulable: Boolean(node && isNodeReady(node) && !node.spec?.unschedulable) };
  });
  const unknown = req.hostnames.filter((h) => !members.includes(h));
  if (unknown.length) {
    const close = unknown.flatMap((h) => closeNames(h, members));
    throw new InputError(`--hostname ${unknown.join(', ')}: not a ${req.role} node or VM of cluster ${ctx.cluster.name}${close.length ? `; did you mean ${close.join(', ')}?` : ''}`, {
      context: { cluster: ctx.cluster.name, role: req.role, unknown, suggestions: close },
      hint: `name nodes of role ${req.role} (kubectl get nodes), or leave out --hostname to roll the whole role`,
    });
  }
  const { targets, skipped } = selectRollTargets(nodes, spec, { hostnames: req.hostnames, onlyOutdated: req.onlyOutdated });

  // The new nodes' names, one per target: the role's next indices, never reusing a name OpenStack or Kubernetes knows.
  const taken = new Set(names);
  const newNames: string[] = [];
  for (let i = 0; i < targets.length; i++) {
    const next = nextHostname(ctx.cluster, req.role, taken);
    taken.add(next);
    newNames.push(next);
  }

  let serverGroup: RollFacts['serverGroup'];
  let serverGroupExists = true;
  if (role.serverGroup) {
    const g = await os.findServerGroup(role.serverGroup.name);
    serverGroupExists = g !== undefined;
    serverGroup = { name: role.serverGroup.name, policy: g?.policy ?? role.serverGroup.policy, members: g?.members.length ?? 0, room: serverGroupRoom(g, headroom.serverGroupMembers) };
  }
  const eta = expectedDurations(ctx);
  return {
    etaSource: eta.source,
    facts: {
      role: req.role,
      targets,
      newNames,
      capacity: nodes.filter((n) => n.schedulable).length,
      spec,
      headroom,
      serverGroup,
      maxSurge: req.maxSurge,
      maxUnavailable: req.maxUnavailable,
      durations: eta.durations,
    },
    nodes,
    skipped,
    serverGroupExists,
  };
}
