// One node of a rolling reboot, as journaled ensure-style steps: silence its alerts, cordon, record the
// workloads the drain will evict, drain (k8s.drain semantics; a failed drain uncordons it and never reboots
// it), reboot over SSH, wait for a new boot id over SSH (with an optional OpenStack hard reboot for a drained
// node that does not come back), wait Ready with a new boot id in the Node status, uncordon (only our own
// cordon), wait until the evicted workloads are back to their desired ready replicas, expire the silence.
// Every step re-checks the world, so a run killed anywhere finishes the node without rebooting it twice.
import type { AlertmanagerClient } from '../alerting/index.js';
import { hostMatchers } from '../alerting/index.js';
import type { Context } from '../core/context.js';
import { CookbookError, DryRunStop, InterruptedError, OpenStackError, TimeoutError, messageOf } from '../core/errors.js';
import { type Planned, isPlanned } from '../core/gate.js';
import { formatMs } from '../core/retry.js';
import type { DrainFilterOptions } from '../k8s/drain-plan.js';
import { type DrainOptions, type DrainResult, type Kube, isCordoned, isNodeReady, nodeBootId, ourCordon } from '../k8s/index.js';
import type { OpenStackClient } from '../openstack/index.js';
import { RebootNeverCameBackError, RebootNeverWentDownError, type Remote } from '../remote/index.js';
import { isRebootTransient } from '../remote/reboot.js';
import { cordonStep, uncordonStep } from './nodes.js';
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

/** The OpenStack fallback could not hard-reboot a node that did not come back. */
export class HardRebootError extends OpenStackError {}

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
  // An earlier run interrupted while the node was cordoned by us: still so until this run uncordons it.
  let cordonedByUs = state.node(name).leftCordoned === true;
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
    // From here until the uncordon, an interruption leaves the node cordoned by us: the run names it.
    cordonedByUs = !isPlanned(cordon) && ours;

    // The workloads to wait for after the reboot: read before the drain evicts their pods, journaled with it.
    const owners = state.node(name).owners ?? (await kube.ownersOf(evictablePods(await kube.listPodsOnNode(name), env.options.drain, ctx.clock.now())));
    enter('drain', { cordonOurs: ours, owners });
    await drainForReboot(env, name, { ours, cordonPlanned: isPlanned(cordon) });

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
    } else {
      await uncordonOurs(env, name, isPlanned(cordon));
    }
    cordonedByUs = false;
    env.onSlotFree(name);

    enter('recover', { leftCordoned: false });
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
    if (isInterruption(err, ctx)) {
      // Journaled so the interrupted run (and a later one) can name the node left cordoned.
      state.update(name, { leftCordoned: cordonedByUs, interruptedPhase: phase });
      throw err;
    }
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
      { what: `node ${name} to report a new boot id`, timeoutMs, backoff: NODE_POLL },
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

/**
 * The drain of a node being rebooted. A drain that fails (refused, blocked, out of time) never leads to a
 * reboot, and the node goes back into service when the cordon is ours: that is the promise of k8s.reboot,
 * not an opt-in, so the text says so instead of naming k8s.drain's --uncordon-on-failure.
 */
async function drainForReboot(env: NodeRunEnv, name: string, cordon: { ours: boolean; cordonPlanned: boolean }): Promise<DrainResult | Planned | undefined> {
  const { ctx, kube } = env;
  const options = env.options.drain;
  try {
    return await ctx.step<DrainResult>(`drain ${name}`, {
      target: `node/${name}`,
      check: async () => {
        const plan = await kube.planDrain(name, options);
        return plan.evict.length === 0 && plan.refuse.length === 0 ? ({ node: name, planned: false, evicted: [], skipped: [], warnings: [], blocked: [], failed: [], durationMs: 0, requests: 0 } satisfies DrainResult) : undefined;
      },
      apply: async () => {
        const r = await kube.drain(name, { ...options, onProgress: (e) => ctx.progress({ scope: 'drain', target: e.pod, phase: e.state, message: e.detail }) });
        for (const w of r.warnings) ctx.log.warn(w);
        return r;
      },
    });
  } catch (err) {
    if (isInterruption(err, ctx) || err instanceof DryRunStop) throw err;
    const why = messageOf(err).split('\n')[0];
    if (!cordon.ours) {
      ctx.log.warn(`drain of ${name} failed (${why}); it is not rebooted, and it stays cordoned as it was before the rollout`);
      throw err;
    }
    ctx.log.warn(`drain of ${name} failed (${why}); it is not rebooted, and k8s.reboot uncordons it (the cordon was ours)`);
    try {
      await uncordonOurs(env, name, cordon.cordonPlanned);
    } catch (uncordonErr) {
      if (isInterruption(uncordonErr, ctx)) throw uncordonErr;
      // The drain's failure is the one to report; the node is then named as left cordoned.
      ctx.log.error(`could not uncordon ${name} after its failed drain: ${messageOf(uncordonErr)}`);
    }
    throw err;
  }
}

/**
 * Uncordons a node we cordoned, through Kube.uncordon (the gate). In dry-run the cordon was only planned and
 * the node is not cordoned: Kube.uncordon then plans the uncordon the real run would make.
 */
async function uncordonOurs(env: NodeRunEnv, name: string, cordonPlanned: boolean): Promise<unknown> {
  const { ctx, kube } = env;
  if (!cordonPlanned) return uncordonStep(ctx, kube, name);
  return ctx.step(`uncordon ${name}`, { target: `node/${name}`, apply: () => kube.uncordon(name, { cordonPlanned: true }) });
}

/** A hard reboot through OpenStack, as a journaled step. */
async function hardReboot(env: NodeRunEnv, name: string): Promise<void | Planned> {
  const os = await env.openstack();
  env.state.update(name, { hardReboot: true });
  return env.ctx.step(`hard reboot ${name}`, {
    target: `server/${name}`,
    apply: async () => {
      const server = await os.findServer(name);
      if (!server) {
        throw new HardRebootError(`no VM named ${name} to hard-reboot (--hard-reboot-fallback)`, {
          context: { node: name, server: name, request: 'find server by name' },
          hint: `check the VM in OpenStack (openstack server show ${name}); the node stays cordoned until it is back`,
        });
      }
      return os.rebootServer(server, 'HARD');
    },
  });
}
