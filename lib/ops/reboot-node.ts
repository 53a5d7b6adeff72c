// One node of a rolling reboot, as journaled ensure-style steps: silence its alerts, cordon, record the
// workloads the drain will evict, drain (k8s.drain semantics; a failed drain uncordons it and never reboots
// it), reboot over SSH, wait for a new boot id over SSH (with an optional OpenStack hard reboot for a drained
// node that does not come back), wait Ready with a new boot id in the Node status, uncordon (only our own
// cordon), wait until the evicted workloads are back to their desired ready replicas, expire the silence.
// Every step re-checks the world, so a run killed anywhere finishes the node without rebooting it twice.
import type { AlertmanagerClient } from '../alerting/index.js';
import { hostMatchers } from '../alerting/index.js';
import type { Context } from '../core/context.js';
import { CookbookError, DryRunStop, InterruptedError, TimeoutError, messageOf } from '../core/errors.js';
import { type Planned, isPlanned } from '../core/gate.js';
import type { DrainFilterOptions } from '../k8s/drain-plan.js';
import { type DrainOptions, type Kube, isCordoned, isNodeReady, nodeBootId, ourCordon } from '../k8s/index.js';
import type { OpenStackClient } from '../openstack/index.js';
import { RebootNeverCameBackError, RebootNeverWentDownError, type Remote } from '../remote/index.js';
import { isRebootTransient } from '../remote/reboot.js';
import { cordonStep, drainStep, uncordonStep } from './nodes.js';
import { evictablePods } from './reboot-facts.js';
import type { NodePhase, NodeRecord, RolloutState } from './reboot-state.js';

/** Timeouts and switches of the per-node work. */
export interface NodeRunOptions {
  drain: Partial<DrainOptions> & DrainFilterOptions;
  rebootTimeoutMs: number;
  readyTimeoutMs: number;
  recoverTimeoutMs: number;
  hardRebootFallback: boolean;
  silenceMs: number;
}

/** What rebootNode works with. */
export interface NodeRunEnv {
  ctx: Context;
  kube: Kube;
  remote: Remote;
  /** Present when the cluster has an Alertmanager: the node's alerts are silenced while it reboots. */
  alerting?: AlertmanagerClient;
  openstack: () => Promise<OpenStackClient>;
  state: RolloutState;
  options: NodeRunOptions;
  /** Told about every phase change (progress display, the scheduler's wake-up). */
  onPhase(node: string, phase: NodePhase): void;
  /** Told when the node no longer occupies an unavailable slot (uncordoned, or Ready again when it stays cordoned). */
  onSlotFree(node: string): void;
}

/** A node that failed; the rollout stops starting new nodes (unless --max-failures allows more). */
export class NodeRebootError extends CookbookError {
  constructor(
    readonly node: string,
    readonly phase: NodePhase,
    readonly leftCordoned: boolean,
    cause: unknown,
  ) {
    super(`${node} failed during ${phase}: ${messageOf(cause)}`, {
      cause,
      context: { node, phase, leftCordoned },
      hint: leftCordoned
        ? `${node} stays cordoned; look at it, then re-run the rollout (it resumes), or uncordon it with: cookbook k8s.uncordon --hostname ${node}`
        : 're-run the rollout once the cause is fixed: it resumes where it stopped',
    });
  }
}

function isInterruption(err: unknown, ctx: Context): boolean {
  return err instanceof InterruptedError || ctx.signal.aborted;
}

/** Reboots one node (see the module comment). Resolves when it is done; throws NodeRebootError when it failed. */
export async function rebootNode(env: NodeRunEnv, name: string): Promise<void> {
  const { ctx, kube, remote, state } = env;
  const rollout = state.rollout;
  const cordonedBefore = rollout.cordonedBefore.includes(name);
  const startBootId = rollout.bootIds[name] ?? undefined;
  let phase: NodePhase = state.node(name).phase;
  // Phase changes are journaled only where a resumed run needs them (the workloads before the drain, the
  // boot id before the reboot, the end); the others ride along with the next write. Every journal write
  // rewrites the whole file, and a large rollout makes thousands of them otherwise.
  const JOURNALED = new Set<NodePhase>(['silence', 'drain', 'done', 'failed']);
  const enter = (p: NodePhase, patch: Partial<NodeRecord> = {}): void => {
    phase = p;
    state.enter(name, p, ctx.clock.now(), patch, JOURNALED.has(p));
    env.onPhase(name, p);
  };

  try {
    // Silence the node's alerts (a reboot pages nobody). The id is journaled: a resumed run reuses it.
    if (env.alerting) {
      enter('silence');
      const alerting = env.alerting;
      const known = state.node(name).silenceId;
      const id = await ctx.step<string>(`silence ${name}`, {
        target: `silence/${name}`,
        check: async () => {
          if (!known) return undefined;
          const s = await alerting.getSilence(known).catch(() => undefined);
          return s && s.status.state !== 'expired' ? known : undefined;
        },
        apply: () =>
          alerting.createSilence({
            matchers: hostMatchers(name, { domain: ctx.cluster.domain }),
            duration: env.options.silenceMs,
            comment: `k8s.reboot of ${name} on ${ctx.cluster.name} (cluster-cookbooks run ${ctx.runId})`,
          }),
      });
      if (!isPlanned(id)) state.update(name, { silenceId: id });
    }

    enter('cordon');
    const cordon = await cordonStep(ctx, kube, name);
    const ours = isPlanned(cordon) ? true : cordon.ours && !cordonedBefore;

    // The workloads to wait for after the reboot: read before the drain evicts their pods, journaled with it.
    const owners = state.node(name).owners ?? (await kube.ownersOf(evictablePods(await kube.listPodsOnNode(name), env.options.drain, ctx.clock.now())));
    enter('drain', { cordonOurs: ours, owners });
    await drainStep(ctx, kube, name, { ...env.options.drain, uncordonOnFailure: !cordonedBefore });

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
    enter('wait-ready', isPlanned(sent) ? {} : { bootIdBefore: sent.previousBootId });
    const newBootId = await ctx.step<string>(`wait ${name} rebooted`, {
      target: `host/${name}`,
      apply: async () => {
        const previous = ctx.need(sent, `the reboot of ${name}`).previousBootId;
        try {
          return await waitRebooted(env, name, previous);
        } catch (err) {
          if (!(err instanceof RebootNeverCameBackError) || !env.options.hardRebootFallback) throw err;
          // Drained, rebooted and gone: the one case where a hard reboot through OpenStack is allowed.
          ctx.log.warn(`${name} did not come back within ${env.options.rebootTimeoutMs} ms; hard-rebooting it through OpenStack (--hard-reboot-fallback)`);
          await hardReboot(env, name);
          return waitRebooted(env, name, previous);
        }
      },
    });
    await ctx.step(`wait ${name} Ready`, {
      target: `node/${name}`,
      apply: async () => {
        const before = (!isPlanned(sent) && sent.previousBootId) || startBootId;
        await ctx.waitFor(
          async () => {
            const n = await kube.getNode(name);
            return n && isNodeReady(n) && nodeBootId(n) !== before ? true : undefined;
          },
          { what: `node ${name} Ready with a new boot id`, timeoutMs: env.options.readyTimeoutMs, backoff: NODE_POLL },
        );
        return true;
      },
    });

    enter('uncordon', isPlanned(newBootId) ? {} : { bootIdAfter: newBootId });
    if (cordonedBefore) {
      ctx.log.info(`${name} was cordoned before the rollout: it stays cordoned`);
    } else if (isPlanned(cordon)) {
      // The cordon was only planned, so the node is not cordoned to check: plan the uncordon it would get.
      await ctx.gate.mutate({ system: 'k8s', target: `node/${name}`, action: 'uncordon' }, async () => undefined);
    } else {
      await uncordonStep(ctx, kube, name);
    }
    env.onSlotFree(name);

    enter('recover');
    await ctx.step(`wait workloads of ${name}`, {
      target: `node/${name}`,
      check: async () => {
        const st = await kube.workloadStatus(owners);
        return st.every((s) => s.isReady) ? st : undefined;
      },
      apply: () => kube.waitWorkloadsReady(owners, { timeoutMs: env.options.recoverTimeoutMs }),
    });

    const silenceId = state.node(name).silenceId;
    if (env.alerting && silenceId) {
      const alerting = env.alerting;
      await ctx.step(`expire silence of ${name}`, {
        target: `silence/${silenceId}`,
        check: async () => ((await alerting.getSilence(silenceId).catch(() => undefined))?.status.state === 'expired' ? true : undefined),
        apply: async () => {
          const r = await alerting.expireSilence(silenceId);
          return isPlanned(r) ? r : true;
        },
      });
    }
    enter('done');
  } catch (err) {
    if (err instanceof DryRunStop && ctx.dryRun) return;
    if (isInterruption(err, ctx)) throw err;
    const failedPhase = phase;
    let leftCordoned = false;
    try {
      const n = await kube.getNode(name);
      leftCordoned = !!n && isCordoned(n) && ourCordon(n) !== undefined && !cordonedBefore;
    } catch {
      leftCordoned = state.node(name).cordonOurs === true && failedPhase !== 'recover';
    }
    state.update(name, { failedPhase, error: messageOf(err), leftCordoned });
    enter('failed');
    throw new NodeRebootError(name, failedPhase, leftCordoned, err);
  }
}

/** Polling of Node objects while a node reboots: quick at first (the API is cheap), at most every 2 s. */
const NODE_POLL = { initialMs: 100, maxMs: 2000, factor: 1.5 };

/**
 * Waits for a rebooted node, proving the reboot twice: the Node status reports a new boot id (polled through
 * the API, cheap), then one fresh SSH connection reads a new boot id on the host. When the Node never reports
 * one, the SSH probes tell a host that never went down from one that never came back.
 */
async function waitRebooted(env: NodeRunEnv, name: string, previous: string): Promise<string> {
  const { ctx, kube, remote } = env;
  try {
    await ctx.waitFor(
      async () => {
        const n = await kube.getNode(name);
        const id = n && nodeBootId(n);
        return id && id !== previous ? id : undefined;
      },
      { what: `node ${name} to report a new boot id`, timeoutMs: env.options.rebootTimeoutMs, backoff: NODE_POLL },
    );
  } catch (err) {
    if (!(err instanceof TimeoutError)) throw err;
  }
  const r = await remote.waitRebootSince(name, previous, { timeoutMs: Math.min(env.options.rebootTimeoutMs, 30_000) });
  return r.bootId;
}

/** A hard reboot through OpenStack, as a journaled step. */
async function hardReboot(env: NodeRunEnv, name: string): Promise<void | Planned> {
  const os = await env.openstack();
  env.state.update(name, { hardReboot: true });
  return env.ctx.step(`hard reboot ${name}`, {
    target: `server/${name}`,
    apply: async () => {
      const server = await os.findServer(name);
      if (!server) throw new CookbookError(`no VM named ${name} to hard-reboot`, { context: { node: name } });
      return os.rebootServer(server, 'HARD');
    },
  });
}
