// The reboot of one node, as the disruption of the shared node cycle (rollout/node-cycle.ts: silence, cordon,
// drain ... uncordon, recover): reboot over SSH, wait for a new boot id (in the Node status and over SSH, with
// an optional OpenStack hard reboot for a drained node that does not come back), wait Ready. The boot id is
// journaled before the command goes out, so a run killed anywhere never reboots a node twice.
import type { Context } from '../../core/context.js';
import { TimeoutError } from '../../core/errors.js';
import { type Planned, mapUnlessPlanned, unlessPlanned } from '../../core/gate.js';
import { formatMs } from '../../core/retry.js';
import { isNodeReady, nodeBootId } from '../../k8s/index.js';
import { RebootNeverCameBackError, RebootNeverWentDownError, type RebootRequest } from '../../remote/index.js';
import { isRebootTransient } from '../../remote/reboot.js';
import { hardRebootStep } from '../node/hard-reboot.js';
import { NODE_POLL_BACKOFF } from '../node/timeouts.js';
import { type EnterPhase, type NodeCycleOptions, runNodeCycle } from '../rollout/node-cycle.js';
import type { NodeRecord, RolloutState } from '../rollout/state.js';
import type { NodeEnv } from '../rollout/work.js';

/** Timeouts and switches of the per-node work. */
export interface RebootNodeOptions extends NodeCycleOptions {
  rebootTimeoutMs: number;
  readyTimeoutMs: number;
  hardRebootFallback: boolean;
}

/** The reboot's own facts in a node's record. */
export interface RebootRecord extends NodeRecord {
  /** Boot id read over SSH right before the reboot command. */
  bootIdBefore?: string;
  bootIdAfter?: string;
  hardReboot?: boolean;
}

/** Reboots one node (see the module comment). Resolves when it is done; throws NodeWorkError when it failed. */
export async function rebootNode(env: NodeEnv<RebootNodeOptions>, name: string): Promise<void> {
  return runNodeCycle(env, name, { participle: 'rebooted', run: (enter) => rebootAndWait(env, name, enter) });
}

/** The reboot and its waits, between the drain and the uncordon; resolves to the facts of the uncordon phase. */
async function rebootAndWait(env: NodeEnv<RebootNodeOptions>, name: string, enter: EnterPhase): Promise<Partial<RebootRecord>> {
  const { ctx, kube, remote } = env;
  const state = env.state as RolloutState<RebootRecord>;
  const startBootId = state.rollout.marks[name] ?? undefined;
  enter('reboot');
  const sent = await ctx.step(`reboot ${name}`, {
    target: `host/${name}`,
    // Never reboot twice: the journal records the boot id before the command goes out, so a resumed run can
    // tell whether that reboot happened (new id), is under way (unreachable, or going down soon) or never came.
    check: async () => {
      const before = state.node(name).bootIdBefore;
      if (!before) {
        // Not requested by this rollout: only a reboot by other means since it began makes it unnecessary.
        const n = await kube.getNode(name);
        const id = n && nodeBootId(n);
        return startBootId && id && id !== startBootId ? { host: name, previousBootId: startBootId, requestedAt: '' } : undefined;
      }
      const already = { host: name, previousBootId: before, requestedAt: '' };
      try {
        if ((await remote.bootId(name, { timeoutMs: 15_000 })) !== before) return already;
        await remote.waitRebootSince(name, before, { timeoutMs: 30_000 });
        return already;
      } catch (err) {
        // Still the old boot id after a while: the command was never delivered, send it (again).
        if (err instanceof RebootNeverWentDownError) return undefined;
        // Unreachable: down for the reboot that was requested.
        if (isRebootTransient(err) || err instanceof RebootNeverCameBackError) return already;
        throw err;
      }
    },
    apply: async () => {
      if (!ctx.dryRun) state.update(name, { bootIdBefore: await remote.bootId(name, { timeoutMs: 30_000 }) });
      return remote.reboot(name);
    },
  });
  enter('wait-ready', unlessPlanned(mapUnlessPlanned(sent, (s): Partial<RebootRecord> => ({ bootIdBefore: s.previousBootId })), {}));
  const newBootId = await ctx.step<string, [RebootRequest]>(`wait ${name} rebooted`, {
    target: `host/${name}`,
    needs: [sent],
    apply: async ({ previousBootId }) => {
      try {
        return await waitRebooted(env, name, previousBootId);
      } catch (err) {
        if (!(err instanceof RebootNeverCameBackError) || !env.options.hardRebootFallback) throw err;
        // Drained, rebooted and gone: the one case where a hard reboot through OpenStack is allowed.
        ctx.log.warn(`${name} did not come back within ${env.options.rebootTimeoutMs} ms; hard-rebooting it through OpenStack (--hard-reboot-fallback)`);
        await hardReboot(ctx, state, name, previousBootId);
        return waitRebooted(env, name, previousBootId);
      }
    },
  });
  await ctx.step<boolean, [RebootRequest]>(`wait ${name} Ready`, {
    target: `node/${name}`,
    needs: [sent],
    apply: async ({ previousBootId }) => {
      const before = previousBootId || startBootId;
      await ctx.waitFor(
        async () => {
          const n = await kube.getNode(name);
          return n && isNodeReady(n) && nodeBootId(n) !== before ? true : undefined;
        },
        { what: `node ${name} Ready with a new boot id`, timeoutMs: env.options.readyTimeoutMs, backoff: NODE_POLL_BACKOFF },
      );
      return true;
    },
  });
  return unlessPlanned(mapUnlessPlanned(newBootId, (id) => ({ bootIdAfter: id })), {});
}

/**
 * Waits for a rebooted node, proving the reboot twice: the Node status reports a new boot id (polled through
 * the API, cheap), then one fresh SSH connection reads a new boot id on the host. When the Node never reports
 * one, the SSH probes tell a host that never went down from one that never came back.
 */
async function waitRebooted(env: NodeEnv<RebootNodeOptions>, name: string, previous: string): Promise<string> {
  const { ctx, kube, remote } = env;
  const timeoutMs = env.options.rebootTimeoutMs;
  // One deadline for both proofs: --reboot-timeout is how long the node may take, not how long each wait may.
  const deadline = ctx.clock.now() + timeoutMs;
  let reported = false;
  try {
    await ctx.waitFor(
      async () => {
        const n = await kube.getNode(name);
        const id = n && nodeBootId(n);
        return id && id !== previous ? id : undefined;
      },
      { what: `node ${name} to report a new boot id`, timeoutMs, backoff: NODE_POLL_BACKOFF },
    );
    reported = true;
  } catch (err) {
    if (!(err instanceof TimeoutError)) throw err;
  }
  // The Node says it rebooted: the SSH proof should answer at once (a little grace past the deadline for
  // that one connection). It did not: what is left of the deadline, at least one probe, tells why.
  const left = deadline - ctx.clock.now();
  try {
    const r = await remote.waitRebootSince(name, previous, { timeoutMs: reported ? Math.max(left, 10_000) : Math.max(left, 1) });
    return r.bootId;
  } catch (err) {
    if (reported || !(err instanceof RebootNeverCameBackError || err instanceof RebootNeverWentDownError)) throw err;
    // Say how long the node really had (the whole --reboot-timeout), not the last probe's share of it.
    const Cls = err instanceof RebootNeverCameBackError ? RebootNeverCameBackError : RebootNeverWentDownError;
    const what = err instanceof RebootNeverCameBackError ? 'did not come back with a new boot id' : 'did not reboot: it still answers with its old boot id';
    throw new Cls(`${name} ${what} within ${formatMs(timeoutMs)} (--reboot-timeout)`, {
      context: { ...err.context, host: name, timeoutMs, previousBootId: previous },
      cause: err.cause ?? err,
      hint: err.hint,
    });
  }
}


/** The OpenStack hard reboot of a node that did not come back (lib/ops/node/hard-reboot.ts), recorded on the node. */
async function hardReboot(ctx: Context, state: RolloutState<RebootRecord>, name: string, previousBootId: string): Promise<string | Planned> {
  state.update(name, { hardReboot: true });
  return hardRebootStep(ctx, name, {
    previousBootId,
    noVmHint: `check the VM in OpenStack (openstack server show ${name}); the node stays cordoned until it is back`,
  });
}
