// k8s.control-plane.resize: adds or removes control nodes one at a time until there are --count, with a
// preflight before every step; every node moves into and out of the load balancers without a failed request.
import { argInt, argString, clusterNameOption, frozen } from '../../../lib/core/args.js';
import { defineCookbook } from '../../../lib/core/cookbook.js';
import { InputError } from '../../../lib/core/errors.js';
import { controlRoleOf, countRefusal, hasExternalEtcd, isStackedEtcd, nextResizeStep, resizeControlPlane, resizePreflight, roleControls } from '../../../lib/ops/control-plane/index.js';
import { type DrainSettings, drainOptionGroup, drainSettingsOf } from '../../../lib/ops/node/drain-options.js';
import { knownHostnames } from '../../../lib/ops/node/inventory.js';

/** A removed control node's emptyDir data goes with its VM: evicted, not refused (as k8s.remove-node). */
const DRAIN = drainOptionGroup({ timeoutOption: 'drain-timeout', timeoutDescribe: 'Deadline for the drain of each removed node', offer: ['force-unmanaged', 'retry-interval'], fixed: { deleteEmptyDirData: true } });

/** --count, the role, and the drain of each removed node. */
type Args = DrainSettings & { clusterName: string; count: number; role?: string };

export default defineCookbook<Args>({
  summary: 'Resize the control plane to --count nodes, one node at a time (the oldest goes first)',
  description:
    'Before every step: every control node Ready and its /readyz passing on its own endpoint, every etcd member healthy, every load balancer answering, listing exactly the control nodes and seeing each UP; any problem refuses (exit 2) naming what to fix. An addition is k8s.add-node --role control (listed on the load balancers only after its /readyz passes); a removal is k8s.remove-node of the oldest control node (drained on every load balancer until no session is left and unlisted before its node is drained, reset and deleted). With stacked etcd (no etcd role) the count must be odd. A killed run is finished by running the same command again.',
  options: {
    'cluster-name': clusterNameOption,
    count: { type: 'number', demandOption: true, requiresArg: true, describe: 'Control nodes wanted (at least 1; odd with stacked etcd)' },
    role: { type: 'string', requiresArg: true, describe: 'The control-plane role (default: the only one)' },
    ...DRAIN.options,
  },
  examples: [
    ['cookbook k8s.control-plane.resize --cluster-name toolsbeta --count 5', 'Grow the control plane to five nodes'],
    ['cookbook k8s.control-plane.resize --cluster-name local --count 3 --yes', 'Shrink the lab back to three'],
  ],
  parse: (raw) => {
    const count = argInt(raw, 'count')!;
    const refusal = countRefusal(count, false);
    if (refusal) throw new InputError(refusal, { context: { option: 'count', value: count }, hint: 'pass --count 1 or more' });
    return frozen({ clusterName: argString(raw, 'cluster-name', { required: true }), count, role: argString(raw, 'role'), ...DRAIN.parse(raw) });
  },
  validate(cluster, args) {
    const role = controlRoleOf(cluster, args.role);
    const min = cluster.roles[role]!.min;
    if (args.count < min) {
      throw new InputError(`--count ${args.count} is below the minimum of role ${role} (${min} in the inventory)`, {
        context: { cluster: cluster.name, role, count: args.count, min },
        hint: `pass --count ${min} or more, or lower roles.${role}.min in the inventory first`,
      });
    }
    const refusal = countRefusal(args.count, isStackedEtcd(cluster));
    if (refusal) throw new InputError(refusal, { context: { cluster: cluster.name, count: args.count }, hint: `pass an odd --count (${args.count - 1} or ${args.count + 1})` });
  },
  async run(ctx, args) {
    const role = controlRoleOf(ctx.cluster, args.role);
    const controls = await roleControls(ctx, role);
    const known = (await knownHostnames(ctx)).names;
    // An etcd role without hosts is no external etcd: the members run on the control nodes.
    const externalEtcd = hasExternalEtcd(ctx.cluster, known);
    const refusal = countRefusal(args.count, !externalEtcd);
    if (refusal) throw new InputError(refusal, { context: { cluster: ctx.cluster.name, count: args.count }, hint: `pass an odd --count (${args.count - 1} or ${args.count + 1})` });
    // A run that resumes an interrupted one replays its journaled steps, even when the count is reached.
    const first = nextResizeStep(ctx.cluster, role, args.count, controls, known);
    const resuming = ctx.recall('resize:0') !== undefined;
    if (first.kind === 'done' && !resuming) {
      ctx.print(`${ctx.cluster.name} has ${controls.length} control node(s) of role ${role}: nothing to do`);
      return { role, from: controls.length, to: args.count, added: [], removed: [] };
    }
    // Before anything changes: the whole control plane and its load balancers must be healthy (exit 2 otherwise).
    // (A resumed run skips it: the node it was moving may be drained; every step's own preflight excepts that node.)
    if (first.kind !== 'done' && !resuming) await resizePreflight(ctx, controls, [], externalEtcd);
    const removing = Math.max(0, controls.length - args.count);
    await ctx.confirm(`Resize the control plane of ${ctx.cluster.name} from ${controls.length} to ${args.count} node(s).`, {
      destructive: removing > 0,
      details: removing > 0 ? [`the ${removing} oldest control node(s) are drained out of the load balancers, reset, and their Nodes and VMs deleted`] : [`${args.count - controls.length} control node(s) are created and joined`],
    });
    const r = await resizeControlPlane(ctx, { role, count: args.count, drain: drainSettingsOf(args), externalEtcd }, controls);
    ctx.print(`control plane of ${ctx.cluster.name}: ${r.from} → ${r.to} node(s)${r.added.length ? `; added ${r.added.join(', ')}` : ''}${r.removed.length ? `; removed ${r.removed.join(', ')}` : ''}`);
    return r;
  },
});
