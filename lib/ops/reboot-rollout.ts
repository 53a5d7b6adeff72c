// The rolling reboot's scheduler: begins or continues a rollout (journaled), then loops: read the cluster,
// ask the planner which nodes may start, check each one's blockers and the maintenance window, start it, and
// wait until a node changes phase. It stops starting nodes after the allowed failures or when the window
// cannot fit another node, lets the nodes in flight finish, and reports what is done, left and cordoned.
import type { AlertmanagerClient } from '../alerting/index.js';
import type { Context } from '../core/context.js';
import { CookbookError, InputError, messageOf } from '../core/errors.js';
import { formatMs } from '../core/retry.js';
import { hostsOfRole } from '../inventory/naming.js';
import { type Kube, isCordoned, isNodeReady, nodeBootId, ourCordon } from '../k8s/index.js';
import type { OpenStackClient } from '../openstack/index.js';
import type { Remote } from '../remote/index.js';
import { alertBlockers, validateAlertBlockers } from './reboot-alerts.js';
import { type LabelSelector, podBlocker } from './reboot-blockers.js';
import { type ClusterFacts, type PodCache, gatherFacts } from './reboot-facts.js';
import { NodeRebootError, type NodeRunOptions, rebootNode } from './reboot-node.js';
import { type Selection, filterNeedingReboot, selectNodes } from './reboot-select.js';
import { type NodeRecord, type RolloutRecord, RolloutState, findRollout, selectionKey } from './reboot-state.js';
import { writeReport } from './report.js';
import { type Decision, type InFlight, type Limits, type PlanInput, type Simulation, candidateOrder, estimateRemainingMs, medianOf, planNext, resolveLimit, simulateRollout } from './rollout.js';
import { type Window, mayStart, windowState } from './window.js';

/** Everything k8s.reboot decides from its arguments. */
export interface RolloutOptions {
  selection: Selection;
  onlyIfNeeded: boolean;
  maxUnavailable: number | string;
  maxFailures: number;
  window?: Window;
  /** Configured per-node duration: the floor of the expected time (the measured median takes over when longer). */
  nodeDurationMs?: number;
  blockOnAlert: string[];
  blockOnPod: LabelSelector[];
  /** Give up when nothing could start for this long (blocked by alerts, PDBs, limits). */
  holdTimeoutMs: number;
  /** How often waiting nodes are re-planned. */
  pollMs: number;
  /** An unfinished rollout older than this is not continued: a new one begins. */
  rolloutMaxAgeMs: number;
  /** Never continue an unfinished rollout: begin a new one. */
  newRollout?: boolean;
  reportPath?: string;
  node: NodeRunOptions;
}

/** One node that failed. */
export interface FailedNode {
  node: string;
  phase: string;
  error: string;
  leftCordoned: boolean;
}

/** What k8s.reboot returns (the --json result) and what the failure report carries. */
export interface RolloutResult {
  cluster: string;
  dryRun: boolean;
  rollout: { id: string; startedAt: string; continued: boolean; complete: boolean };
  targets: string[];
  /** Every node done in this rollout, and those done by this run. */
  done: string[];
  rebootedThisRun: string[];
  /** The order this run started nodes in. */
  started: string[];
  remaining: string[];
  skipped: { node: string; reason: string }[];
  failed: FailedNode[];
  /** Nodes we cordoned that are still cordoned (also named in failed). */
  leftCordoned: string[];
  /** Silences left in place for failed nodes. */
  silencesLeft: string[];
  stoppedBy?: 'window' | 'failures';
  nextWindow?: string;
  /** Median cordon-to-uncordon time of the nodes finished so far, and each node's. */
  cycleMs: { median?: number; perNode: Record<string, number> };
  plan?: { order: string[]; batches: string[][]; predictedMs: number; stuck: { node: string; reason: string }[] };
  limits: Limits;
  report?: string;
}

/** The rollout failed: names the failed nodes and every node left cordoned (exit 1). */
export class RolloutFailedError extends CookbookError {}

/** The rollout was held (alerts, PDBs, limits) for longer than --hold-timeout. */
export class RolloutHeldError extends CookbookError {}

const DEFAULT_NODE_MS = 10 * 60_000;

interface Clients {
  kube: Kube;
  remote: Remote;
  alerting?: AlertmanagerClient;
  openstack: () => Promise<OpenStackClient>;
}

/** Runs (or plans, in dry-run) a rolling reboot. */
export async function runRollout(ctx: Context, opts: RolloutOptions): Promise<RolloutResult> {
  validateAlertBlockers(opts.blockOnAlert);
  const kube = await ctx.k8s();
  const remote = await ctx.remote();
  if (opts.blockOnAlert.length && !ctx.cluster.alertmanager) {
    throw new InputError(`--block-on-alert needs an Alertmanager, and cluster ${ctx.cluster.name} has none`, {
      hint: `add "alertmanager: {url: http://HOST:9093}" to ${ctx.cluster.source}`,
    });
  }
  const alerting = ctx.cluster.alertmanager ? await ctx.alerting() : undefined;
  const clients: Clients = { kube, remote, alerting, openstack: () => ctx.openstack() };

  const state = await beginOrContinue(ctx, clients, opts);
  const rollout = state.rollout;
  const nodesNow = await kube.listNodes();
  const limits: Limits = {
    maxUnavailable: resolveLimit(opts.maxUnavailable, nodesNow.length),
    roleLimits: roleLimits(ctx, nodesNow.map((n) => n.metadata?.name ?? '')),
  };

  // Nodes that rebooted by other means since the rollout began count as done.
  for (const name of rollout.targets) {
    const rec = state.node(name);
    const node = nodesNow.find((n) => n.metadata?.name === name);
    if (rec.phase === 'pending' && node && rollout.bootIds[name] && nodeBootId(node) !== rollout.bootIds[name] && isNodeReady(node)) {
      const now = ctx.clock.now();
      state.update(name, { phase: 'done', phases: [], startedAt: now, finishedAt: now, error: 'rebooted since the rollout began (not by this rollout)' });
    }
  }

  const run = new Scheduler(ctx, clients, opts, state, limits);
  if (ctx.dryRun) return run.plan();
  await ctx.confirm(`Reboot ${run.remaining().length} node(s) of ${ctx.cluster.name} (max ${limits.maxUnavailable} unavailable at once).`);
  return run.run();
}

function roleLimits(ctx: Context, names: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [role, cfg] of Object.entries(ctx.cluster.roles)) {
    if (cfg.maxUnavailable === undefined || cfg.node === 'none') continue;
    out[role] = resolveLimit(cfg.maxUnavailable, Math.max(1, hostsOfRole(ctx.cluster, role, names).length));
  }
  return out;
}

async function beginOrContinue(ctx: Context, clients: Clients, opts: RolloutOptions): Promise<RolloutState> {
  const key = selectionKey(ctx.cluster.name, { selection: opts.selection, onlyIfNeeded: opts.onlyIfNeeded });
  const found = opts.newRollout ? undefined : findRollout(ctx, key, opts.rolloutMaxAgeMs);
  if (found) {
    const done = Object.values(found.nodes).filter((r) => r.phase === 'done').length;
    ctx.log.info(`continuing rollout ${found.rollout.id} (begun ${new Date(found.rollout.startedAt).toISOString()}, ${done} of ${found.rollout.targets.length} done)`);
    return new RolloutState(ctx, found.rollout, found.nodes);
  }
  const nodes = await clients.kube.listNodes();
  const selected = selectNodes(ctx.cluster, nodes, opts.selection);
  const byName = new Map(nodes.map((n) => [n.metadata?.name ?? '', n]));
  const skipped: { node: string; reason: string }[] = [];
  const notReadyBefore = nodes.filter((n) => !isNodeReady(n)).map((n) => n.metadata!.name!);
  let targets = selected.filter((n) => {
    if (!notReadyBefore.includes(n)) return true;
    skipped.push({ node: n, reason: 'NotReady when the rollout began (not rebooted; it counts as unavailable)' });
    return false;
  });
  if (opts.onlyIfNeeded && targets.length) {
    const r = await filterNeedingReboot(clients.remote, targets);
    for (const n of r.notNeeded) skipped.push({ node: n, reason: 'no reboot pending' });
    for (const u of r.unreachable) skipped.push({ node: u.node, reason: `could not check for a pending reboot: ${u.error}` });
    for (const n of r.needed) ctx.log.info(`${n.node} needs a reboot: ${n.reason}`);
    targets = r.needed.map((n) => n.node);
  }
  const rollout: RolloutRecord = {
    id: ctx.runId,
    startedAt: ctx.clock.now(),
    selectionKey: key,
    targets,
    bootIds: Object.fromEntries(targets.map((t) => [t, nodeBootId(byName.get(t)!) ?? null])),
    cordonedBefore: selected.filter((n) => isCordoned(byName.get(n)!) && !ourCordon(byName.get(n)!)),
    notReadyBefore,
    skipped,
    runs: [],
  };
  ctx.log.info(`${ctx.dryRun ? 'planning' : 'beginning'} rollout ${rollout.id}: ${targets.length} node(s) to reboot${skipped.length ? `, ${skipped.length} skipped` : ''}`);
  return new RolloutState(ctx, rollout);
}

/** A node in flight in this run. */
interface Running {
  promise: Promise<void>;
  holdsSlot: boolean;
  startedAt: number;
}

class Scheduler {
  private readonly inflight = new Map<string, Running>();
  private readonly failures: FailedNode[] = [];
  private readonly started: string[] = [];
  private readonly waitingReason = new Map<string, string>();
  private interrupted: unknown;
  private wake: () => void = () => {};
  private wakeUp: Promise<void> = Promise.resolve();
  private lastFacts: ClusterFacts | undefined;
  private readonly podCache: PodCache = new Map();
  private etaCache: { done: number; at: number; ms: number } | undefined;

  constructor(
    private readonly ctx: Context,
    private readonly clients: Clients,
    private readonly opts: RolloutOptions,
    private readonly state: RolloutState,
    private readonly limits: Limits,
  ) {
    this.rearm();
  }

  private rearm(): void {
    this.wakeUp = new Promise<void>((resolve) => (this.wake = resolve));
  }

  private signal(): void {
    this.wake();
    this.rearm();
  }

  private get targets(): string[] {
    return this.state.rollout.targets;
  }

  /** Targets not started, not done, not failed in this run. */
  remaining(): string[] {
    return this.targets.filter((t) => {
      const p = this.state.node(t).phase;
      return p !== 'done' && !this.inflight.has(t) && !this.failures.some((f) => f.node === t);
    });
  }

  private doneCount(): number {
    return this.targets.filter((t) => this.state.node(t).phase === 'done').length;
  }

  /** Expected time for one node: the measured median (cordon to done), never below --node-duration. */
  private expectedMs(): number {
    const measured = medianOf([...this.state.records().values()].map((r) => RolloutState.totalMs(r)).filter((v): v is number => v !== undefined));
    const floor = this.opts.nodeDurationMs;
    if (measured !== undefined) return Math.max(measured, floor ?? 0);
    return floor ?? DEFAULT_NODE_MS;
  }

  private planInput(facts: ClusterFacts, pending: string[], extra: Partial<PlanInput> = {}): PlanInput {
    const now = this.ctx.clock.now();
    const planNodes = facts.planNodes.map((n) => (this.state.rollout.cordonedBefore.includes(n.name) ? { ...n, keepsCordon: true } : n));
    const inFlight: InFlight[] = [...this.inflight].map(([name, r]) => ({ name, holdsSlot: r.holdsSlot, elapsedMs: now - r.startedAt }));
    return { nodes: planNodes, pending, inFlight, pdbs: facts.planPdbs, limits: this.limits, defaultExpectedMs: this.expectedMs(), ...extra };
  }

  private eta(): number | undefined {
    // No ETA from a guess: only once a node was measured, or the operator said how long one takes.
    const measured = [...this.state.records().values()].some((r) => RolloutState.totalMs(r) !== undefined);
    if (!this.lastFacts || (!measured && this.opts.nodeDurationMs === undefined)) return undefined;
    // The simulation behind it is not free: recompute when a node finished or after a while, else count down.
    const now = this.ctx.clock.now();
    const done = this.doneCount();
    if (!this.etaCache || this.etaCache.done !== done || now - this.etaCache.at > 1000) {
      this.etaCache = { done, at: now, ms: estimateRemainingMs(this.planInput(this.lastFacts, this.remaining())) };
    }
    return Math.max(0, this.etaCache.ms - (now - this.etaCache.at));
  }

  private progress(node: string, phase: string, message?: string): void {
    this.ctx.progress({ scope: 'reboot', target: node, phase, done: this.doneCount(), total: this.targets.length, etaMs: this.eta(), message });
  }

  /** Problems that stop every start: the API server, or a node NotReady that is neither ours nor known before. */
  private clusterProblems(facts: ClusterFacts): string[] {
    const problems: string[] = [];
    if (!facts.readyz) problems.push('the API server does not answer /readyz');
    for (const n of facts.nodes) {
      const name = n.metadata?.name ?? '';
      if (isNodeReady(n) || this.inflight.has(name) || this.state.rollout.notReadyBefore.includes(name)) continue;
      if (this.failures.some((f) => f.node === name)) continue;
      // A target this rollout left half-way (failed, or interrupted) is ours to finish, not a stranger's outage.
      const phase = this.targets.includes(name) ? this.state.node(name).phase : 'pending';
      if (phase !== 'pending' && phase !== 'done') continue;
      problems.push(`node ${name} is NotReady`);
    }
    return problems;
  }

  /** Problems that stop control nodes: a control node not Ready, or an etcd member whose etcd is not active. */
  private async controlProblems(facts: ClusterFacts): Promise<string[]> {
    const problems = facts.planNodes.filter((n) => n.control && !n.ready).map((n) => `control node ${n.name} is NotReady`);
    const etcdRole = Object.entries(this.ctx.cluster.roles).find(([name, r]) => r.node === 'none' && name === 'etcd');
    if (!etcdRole) return problems;
    try {
      const os = await this.clients.openstack();
      const servers = await os.listServers({ name: `^${this.ctx.cluster.prefix}-` });
      const members = hostsOfRole(this.ctx.cluster, etcdRole[0], servers.map((s) => s.name));
      for (const m of members) {
        const r = await this.clients.remote.query(m, ['systemctl', 'is-active', 'etcd'], { okExitCodes: 'any', timeoutMs: 15_000 }).catch((err: unknown) => ({ stdout: messageOf(err) }));
        if (r.stdout.trim() !== 'active') problems.push(`etcd member ${m}: ${r.stdout.trim().split('\n')[0] || 'not active'}`);
      }
    } catch (err) {
      problems.push(`cannot check the etcd members: ${messageOf(err)}`);
    }
    return problems;
  }

  /** Blockers known from one snapshot: blocking pods, and alerts that do not depend on the node. */
  private async roundBlockers(facts: ClusterFacts, pending: string[]): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    if (this.opts.blockOnPod.length) {
      for (const n of pending) {
        const reason = podBlocker(facts.pods.get(n) ?? [], this.opts.blockOnPod);
        if (reason) out[n] = reason;
      }
    }
    const global = this.opts.blockOnAlert.filter((s) => !s.includes('{node}'));
    if (global.length && this.clients.alerting) Object.assign(out, { ...(await alertBlockers(this.clients.alerting, global, pending)), ...out });
    return out;
  }

  /** The preflight of one node right before it starts: fresh blockers (pods, alerts incl. its own) and /readyz. */
  private async preflight(node: string): Promise<string | undefined> {
    // The round's snapshot read /readyz a moment ago; only an older one is worth another request.
    const recent = this.lastFacts && this.ctx.clock.now() - this.lastFacts.at < 2000 && this.lastFacts.readyz;
    if (!recent && !(await this.clients.kube.readyz())) return 'cluster not healthy: the API server does not answer /readyz';
    if (this.opts.blockOnPod.length) {
      const reason = podBlocker(await this.clients.kube.listPodsOnNode(node), this.opts.blockOnPod);
      if (reason) return reason;
    }
    if (this.opts.blockOnAlert.length && this.clients.alerting) {
      const held = await alertBlockers(this.clients.alerting, this.opts.blockOnAlert, [node]);
      if (held[node]) return held[node];
    }
    return undefined;
  }

  private note(node: string, reason: string): void {
    if (this.waitingReason.get(node) === reason) return;
    this.waitingReason.set(node, reason);
    this.progress(node, 'waiting', reason);
  }

  private start(node: string, at: number): void {
    this.waitingReason.delete(node);
    this.state.enter(node, 'preflight', at);
    this.started.push(node);
    this.progress(node, 'preflight');
    const env = {
      ctx: this.ctx,
      kube: this.clients.kube,
      remote: this.clients.remote,
      alerting: this.clients.alerting,
      openstack: this.clients.openstack,
      state: this.state,
      options: this.opts.node,
      // Only a freed slot or a finished node can let another node start: phases alone do not wake the loop.
      onPhase: (n: string, phase: string) => this.progress(n, phase),
      onSlotFree: (n: string) => {
        const r = this.inflight.get(n);
        if (r) r.holdsSlot = false;
        this.signal();
      },
    };
    const running: Running = { holdsSlot: true, startedAt: this.ctx.clock.now(), promise: Promise.resolve() };
    this.inflight.set(node, running);
    running.promise = rebootNode(env, node)
      .catch((err: unknown) => {
        if (err instanceof NodeRebootError) {
          this.failures.push({ node, phase: err.phase, error: messageOf(err.cause), leftCordoned: err.leftCordoned });
          this.ctx.log.error(`${node}: ${err.message}`);
        } else {
          this.interrupted ??= err;
        }
      })
      .finally(() => {
        this.inflight.delete(node);
        this.signal();
      });
  }

  /**
   * False when reading the cluster cannot change the answer: every max-unavailable slot is held by a node in
   * flight and no pending node is unavailable already (it could start without a slot). Saves a full read of
   * every node's pods per loop while all slots are busy.
   */
  private slotMayBeFree(pending: string[]): boolean {
    const held = [...this.inflight.values()].filter((r) => r.holdsSlot).length;
    if (held < this.limits.maxUnavailable || !this.lastFacts) return true;
    const down = new Set(this.lastFacts.planNodes.filter((n) => n.cordoned || !n.ready).map((n) => n.name));
    return pending.some((p) => down.has(p));
  }

  /**
   * A snapshot for this round. Pods are listed afresh for the nodes that decide it (in flight, and the next
   * candidates in planner order: a few per free slot); other nodes' lists are reused for up to 5 s, as they only
   * feed the capacity estimate. A full read of every node per round would cost N requests each time a slot frees.
   */
  private async facts(pending: string[]): Promise<ClusterFacts> {
    // In-flight nodes matter only until drained: their pods left count against PDB budgets and capacity.
    const undrained = new Set(['pending', 'preflight', 'silence', 'cordon', 'drain']);
    const fresh = new Set<string>([...this.inflight.keys()].filter((n) => undrained.has(this.state.node(n).phase)));
    if (this.lastFacts) {
      const held = [...this.inflight.values()].filter((r) => r.holdsSlot).length;
      const take = Math.max(3, 2 * Math.max(1, this.limits.maxUnavailable - held));
      for (const n of candidateOrder({ nodes: this.lastFacts.planNodes, pending, defaultExpectedMs: this.expectedMs() }).slice(0, take)) fresh.add(n);
    }
    const facts = await gatherFacts(this.clients.kube, this.ctx.cluster, { filter: this.opts.node.drain, now: this.ctx.clock.now(), cache: this.podCache, fresh, maxAgeMs: 5000 });
    this.lastFacts = facts;
    return facts;
  }

  /** Waits for every node in flight (after an interruption or at the end). */
  private async drainInflight(): Promise<void> {
    await Promise.allSettled([...this.inflight.values()].map((r) => r.promise));
  }

  /** The real run. */
  async run(): Promise<RolloutResult> {
    const ctx = this.ctx;
    let stoppedBy: RolloutResult['stoppedBy'];
    let nextWindow: string | undefined;
    let heldSince: number | undefined;
    let heldWhy = '';
    try {
      // Nodes an earlier run left half-way (cordoned, drained, rebooting) are finished first, whatever the limits:
      // they are unavailable already, and finishing them is what makes the cluster whole again.
      for (const t of this.targets) {
        const p = this.state.node(t).phase;
        if (p !== 'pending' && p !== 'done' && p !== 'failed') {
          ctx.log.info(`${t} was in phase ${p} when the last run stopped: finishing it`);
          this.start(t, ctx.clock.now());
        }
      }
      for (;;) {
        ctx.checkpoint('the rolling reboot');
        if (this.interrupted) throw this.interrupted;
        const pending = this.remaining();
        if (pending.length === 0 && this.inflight.size === 0) break;
        const mayStartMore = this.failures.length <= this.opts.maxFailures && !stoppedBy;
        if (!mayStartMore && this.inflight.size === 0) {
          if (!stoppedBy) stoppedBy = 'failures';
          break;
        }
        let startedNow = 0;
        // Outside the window, or too little of it left for one more node: start nothing, finish what runs.
        const win = mayStartMore && pending.length ? mayStart(this.opts.window, ctx.clock.now(), this.expectedMs()) : { ok: true as const };
        if (!win.ok) {
          for (const p of pending) this.note(p, win.reason);
          stoppedBy = 'window';
          nextWindow = new Date(windowState(this.opts.window!, ctx.clock.now()).nextStart).toISOString();
        } else if (mayStartMore && pending.length && this.slotMayBeFree(pending)) {
          const facts = await this.facts(pending);
          const controlPending = pending.some((p) => facts.planNodes.find((n) => n.name === p)?.control);
          const clusterProblems = this.clusterProblems(facts);
          const controlProblems = controlPending && !pending.some((p) => !facts.planNodes.find((n) => n.name === p)?.control) ? await this.controlProblems(facts) : [];
          const blocked = await this.roundBlockers(facts, pending);
          let decision: Decision;
          // A node its preflight holds (an alert about it, a pod that just appeared) is blocked and the round
          // planned again, so the next candidate can take the slot instead.
          for (;;) {
            decision = planNext(this.planInput(facts, this.remaining(), { clusterProblems, controlProblems, blocked }));
            let heldNow = false;
            for (const node of decision.start) {
              const now = ctx.clock.now();
              const ok = mayStart(this.opts.window, now, this.expectedMs());
              if (!ok.ok) {
                this.note(node, ok.reason);
                if (this.opts.window) {
                  stoppedBy = 'window';
                  nextWindow = new Date(windowState(this.opts.window, now).nextStart).toISOString();
                }
                break;
              }
              const held = await this.preflight(node);
              if (held) {
                blocked[node] = held;
                heldNow = true;
                continue;
              }
              this.start(node, now);
              startedNow++;
            }
            if (!heldNow || stoppedBy) break;
          }
          for (const w of decision.waiting) this.note(w.node, w.reason);
          if (startedNow === 0 && this.inflight.size === 0 && decision.waiting.length) heldWhy = decision.waiting.map((w) => `${w.node}: ${w.reason}`).slice(0, 3).join('; ');
        }
        if (stoppedBy === 'window' && this.inflight.size === 0) break;
        // Nothing can move: wait for the blockers to clear, but not forever.
        if (this.inflight.size === 0 && startedNow === 0) {
          heldSince ??= ctx.clock.now();
          if (ctx.clock.now() - heldSince >= this.opts.holdTimeoutMs) {
            const held = this.result({});
            if (this.opts.reportPath) held.report = writeReport(this.opts.reportPath, this.reportInput(held));
            throw new RolloutHeldError(`the rollout has been held for ${formatMs(ctx.clock.now() - heldSince)}: ${heldWhy || 'no node could start'}`, {
              context: { ...held, waiting: Object.fromEntries(this.waitingReason) },
              hint: 'clear the blockers (alerts, PDBs, cordoned nodes) and run again: the rollout continues where it stopped',
            });
          }
        } else {
          heldSince = undefined;
        }
        await Promise.race([this.wakeUp, ctx.clock.sleep(this.opts.pollMs, ctx.signal)]);
      }
    } catch (err) {
      await this.drainInflight();
      throw err;
    }
    await this.drainInflight();
    if (this.interrupted) throw this.interrupted;
    if (this.failures.length && !stoppedBy) stoppedBy = 'failures';
    const result = this.result({ stoppedBy, nextWindow });
    if (result.remaining.length === 0 && this.failures.length === 0) this.state.complete(ctx.clock.now());
    result.rollout.complete = this.state.rollout.complete === true;
    if (this.opts.reportPath) result.report = writeReport(this.opts.reportPath, this.reportInput(result));
    if (this.failures.length) {
      const names = this.failures.map((f) => `${f.node} (${f.phase}: ${f.error.split('\n')[0]})`);
      throw new RolloutFailedError(
        `the rolling reboot stopped: ${names.join('; ')}${result.leftCordoned.length ? `; left cordoned: ${result.leftCordoned.join(', ')}` : ''}; ${result.done.length} of ${result.targets.length} done, ${result.remaining.length} not started`,
        {
          context: { ...result },
          hint: 'fix the cause on the named node(s), then run the same command again: the rollout resumes and does not reboot finished nodes again',
        },
      );
    }
    if (stoppedBy === 'window') ctx.log.info(`the window ${this.opts.window?.spec} cannot fit another node: stopping with ${result.remaining.length} node(s) left; the next run continues (${nextWindow ? `next window ${nextWindow}` : ''})`);
    return result;
  }

  /** Dry-run: the exact order and batches the planner would use, and every step each node would take. */
  async plan(): Promise<RolloutResult> {
    const ctx = this.ctx;
    const facts = await gatherFacts(this.clients.kube, ctx.cluster, { filter: this.opts.node.drain, now: ctx.clock.now() });
    this.lastFacts = facts;
    const pending = this.remaining();
    const sim: Simulation = simulateRollout(this.planInput(facts, pending, { clusterProblems: this.clusterProblems(facts), blocked: await this.roundBlockers(facts, pending) }));
    ctx.print(`Plan for ${pending.length} node(s), max ${this.limits.maxUnavailable} unavailable at once (expected ${formatMs(this.expectedMs())} per node):`);
    sim.batches.forEach((b, i) => ctx.print(`  batch ${i + 1} at +${formatMs(b.atMs)}: ${b.nodes.join(', ')}`));
    for (const s of sim.stuck) ctx.print(`  cannot start ${s.node}: ${s.reason}`);
    const window = this.opts.window ? mayStart(this.opts.window, ctx.clock.now(), this.expectedMs()) : undefined;
    if (window && !window.ok) ctx.print(`  no node would start now: ${window.reason}`);
    ctx.print(`  expected to take ${formatMs(sim.totalMs)}`);
    for (const node of sim.order) {
      await rebootNode(
        {
          ctx,
          kube: this.clients.kube,
          remote: this.clients.remote,
          alerting: this.clients.alerting,
          openstack: this.clients.openstack,
          state: this.state,
          options: this.opts.node,
          onPhase: (n, phase) => this.progress(n, phase),
          onSlotFree: () => {},
        },
        node,
      ).catch((err: unknown) => {
        // A node that cannot even be planned (unreachable host) is reported, the plan goes on.
        ctx.log.warn(`planning ${node}: ${messageOf(err)}`);
      });
      this.started.push(node);
    }
    const result = this.result({});
    result.plan = { order: sim.order, batches: sim.batches.map((b) => b.nodes), predictedMs: sim.totalMs, stuck: sim.stuck };
    result.done = this.targets.filter((t) => this.state.node(t).phase === 'done' && !sim.order.includes(t));
    result.rebootedThisRun = [];
    result.remaining = pending;
    if (this.opts.reportPath) result.report = writeReport(this.opts.reportPath, this.reportInput(result, sim));
    return result;
  }

  private result(extra: { stoppedBy?: RolloutResult['stoppedBy']; nextWindow?: string }): RolloutResult {
    const records = this.state.records();
    const perNode: Record<string, number> = {};
    for (const [name, rec] of records) {
      const c = RolloutState.cycleMs(rec);
      if (c !== undefined && rec.phase === 'done') perNode[name] = c;
    }
    const failedHere = new Set(this.failures.map((f) => f.node));
    const leftCordoned = this.failures.filter((f) => f.leftCordoned).map((f) => f.node);
    return {
      cluster: this.ctx.cluster.name,
      dryRun: this.ctx.dryRun,
      rollout: { id: this.state.rollout.id, startedAt: new Date(this.state.rollout.startedAt).toISOString(), continued: this.state.rollout.id !== this.ctx.runId, complete: false },
      targets: [...this.targets],
      done: this.targets.filter((t) => this.state.node(t).phase === 'done'),
      rebootedThisRun: this.started.filter((t) => this.state.node(t).phase === 'done'),
      started: [...this.started],
      remaining: this.targets.filter((t) => this.state.node(t).phase !== 'done' && !failedHere.has(t)),
      skipped: [...this.state.rollout.skipped],
      failed: [...this.failures],
      leftCordoned,
      silencesLeft: this.failures.map((f) => this.state.node(f.node).silenceId).filter((s): s is string => !!s),
      ...(extra.stoppedBy ? { stoppedBy: extra.stoppedBy } : {}),
      ...(extra.nextWindow ? { nextWindow: extra.nextWindow } : {}),
      cycleMs: { median: medianOf(Object.values(perNode)), perNode },
      limits: this.limits,
    };
  }

  private reportInput(result: RolloutResult, sim?: Simulation): Parameters<typeof writeReport>[1] {
    const nodes: Record<string, NodeRecord> = {};
    for (const t of this.targets) nodes[t] = this.state.node(t);
    return { result, rollout: this.state.rollout, nodes, generatedAt: this.ctx.clock.now(), simulation: sim, window: this.opts.window?.spec };
  }
}
