// The hard reboot of a host through OpenStack (the power cord), one implementation for vm.force-reboot and the
// rolling reboot's --hard-reboot-fallback: the VM is looked up by name (a missing one is one typed error naming
// the closest names), the reboot is a journaled step, and "it came back" means a new boot id over SSH.
import type { V1Pod } from '@kubernetes/client-node';
import type { Context } from '../../core/context.js';
import { InputError, messageOf } from '../../core/errors.js';
import { type Planned, mapUnlessPlanned } from '../../core/gate.js';
import { isNodeReady, nodeBootId } from '../../k8s/nodes.js';
import { podFinished } from '../../k8s/pods.js';
import type { Server } from '../../openstack/index.js';
import { closeNames, knownHostnames } from './inventory.js';
import { type NodeTimeouts, nodeTimeouts } from './timeouts.js';

/** A host that has no VM (named by an operator, or gone from under a rollout). */
export class NoVmError extends InputError {}

/**
 * The VM of a host, or NoVmError naming the closest host names of the cluster. `hint` says what the caller's
 * operator should do (default: check the name).
 */
export async function requireVm(ctx: Context, host: string, hint = 'check the name with: openstack server list'): Promise<Server> {
  const os = await ctx.openstack();
  const server = await os.findServer(host);
  if (server) return server;
  const close = closeNames(host, [...(await knownHostnames(ctx)).names].filter((n) => n !== host));
  throw new NoVmError(`no VM named ${host} in cluster ${ctx.cluster.name}${close.length ? `; did you mean ${close.join(', ')}?` : ''}`, {
    context: { cluster: ctx.cluster.name, hostname: host, request: 'find server by name', suggestions: close },
    hint,
  });
}

/** How a hard reboot step runs. */
export interface HardRebootOptions {
  /** The boot id before the reboot: the step is skipped when the host already runs another (a resumed run). */
  previousBootId?: string | null;
  /** Wait this long for the host to come back (a new boot id over SSH); without it the step ends once OpenStack accepted the reboot. */
  waitTimeoutMs?: number;
  /** What the operator should do when the VM is missing (see requireVm). */
  noVmHint?: string;
  timeouts?: Partial<NodeTimeouts>;
}

/**
 * Hard-reboots a host through OpenStack as the journaled step `hard reboot <host>`, then (with waitTimeoutMs)
 * waits for it in the step `wait <host> back`, which needs the reboot. Returns the new boot id (when it waited
 * and knew the old one), 'unknown' (waited without an old boot id), 'sent' (did not wait) or Planned.
 */
export async function hardRebootStep(ctx: Context, host: string, options: HardRebootOptions = {}): Promise<string | Planned> {
  const os = await ctx.openstack();
  const remote = await ctx.remote();
  const previous = options.previousBootId;
  const { bootIdPollMs } = nodeTimeouts(options.timeouts);
  // A resumed run whose host already runs another boot: it was rebooted, by us or anyone.
  const rebootedSince = async (): Promise<string | undefined> => {
    if (!previous) return undefined;
    const now = await remote.bootId(host, { timeoutMs: bootIdPollMs }).catch(() => undefined);
    return now !== undefined && now !== previous ? now : undefined;
  };
  const sent = await ctx.step<string>(`hard reboot ${host}`, {
    target: `server/${host}`,
    check: rebootedSince,
    apply: async () => mapUnlessPlanned(await os.rebootServer(await requireVm(ctx, host, options.noVmHint), 'HARD'), () => 'sent'),
  });
  const timeoutMs = options.waitTimeoutMs;
  if (timeoutMs === undefined) return sent;
  return ctx.step<string, [string]>(`wait ${host} back`, {
    target: `host/${host}`,
    needs: [sent],
    check: rebootedSince,
    apply: async () => {
      if (!previous) {
        ctx.log.warn(`no earlier boot id known for ${host}: waiting only for SSH to answer`);
        await ctx.waitFor(async () => remote.bootId(host, { timeoutMs: bootIdPollMs }).catch(() => undefined), { what: `${host} reachable`, timeoutMs });
        return 'unknown';
      }
      return (await remote.waitRebootSince(host, previous, { timeoutMs })).bootId;
    },
  });
}

/** A pod a hard reset would kill without notice: not a DaemonSet's, not a mirror pod, not finished. */
export function isWorkloadPod(p: V1Pod): boolean {
  if (podFinished(p)) return false;
  if (p.metadata?.annotations?.['kubernetes.io/config.mirror']) return false;
  return !p.metadata?.ownerReferences?.some((o) => o.kind === 'DaemonSet');
}

/**
 * The workload pods of a host that is a Ready node (a hard reset kills them without a drain); refused with an
 * InputError naming k8s.reboot unless `force`. Returns them (empty for a host that is not a Ready node).
 */
export async function refuseServingNode(ctx: Context, host: string, force: boolean): Promise<V1Pod[]> {
  const kube = await ctx.k8s();
  const node = await kube.getNode(host);
  const serving = node && isNodeReady(node) ? (await kube.listPodsOnNode(host)).filter(isWorkloadPod) : [];
  if (serving.length > 0 && !force) {
    throw new InputError(`${host} is a Ready Kubernetes node running ${serving.length} pod(s); refusing to hard-reset it`, {
      context: { cluster: ctx.cluster.name, hostname: host, pods: serving.slice(0, 10).map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`) },
      hint: `reboot it with a drain first: cookbook k8s.reboot --cluster-name ${ctx.cluster.name} --hostname ${host} (or pass --force to hard-reset it anyway)`,
    });
  }
  return serving;
}

/** The boot id of a host before a reboot, journaled (memo) so a resumed run does not reboot it again. */
export async function bootIdBefore(ctx: Context, host: string, timeouts: Partial<NodeTimeouts> = {}): Promise<string | null> {
  const remote = await ctx.remote();
  const { bootIdMs } = nodeTimeouts(timeouts);
  return ctx.memo(`bootId:${host}`, async () => {
    try {
      return await remote.bootId(host, { timeoutMs: bootIdMs });
    } catch (err) {
      ctx.log.warn(`cannot read the boot id of ${host} over SSH (${messageOf(err)}); using the node's`);
      const node = await (await ctx.k8s()).getNode(host);
      return (node && nodeBootId(node)) ?? null;
    }
  });
}
