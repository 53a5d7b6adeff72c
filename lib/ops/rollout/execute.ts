// A rollout's executor: loops gathering the facts of a round (facts.ts), asking decide() which nodes may
// start (decide.ts), checking each one's blockers and the maintenance window, starting its work (NodeWork.run)
// and waiting until a node changes phase. It stops starting nodes after the allowed failures or when the
// window cannot fit another node, lets the nodes in flight finish, and reports what is done, left and
// cordoned (also when interrupted).
import type { Context } from '../../core/context.js';
import { messageOf } from '../../core/errors.js';
import { formatMs } from '../../core/retry.js';
import { nodePreflight, roundBlockers } from './blocker-checks.js';
import { type Decision, type HealthFacts, type InFlight, type Limits, type PlanInput, candidateOrder, decide, expectedDown } from './decide.js';
import { type ClusterFacts, type PodCache, etcdHealth, gatherFacts } from './facts.js';
import { type FailedNode, RolloutFailedError, RolloutHeldError, type RolloutOptions, type RolloutResult } from './result.js';
import { type ReportInput, writeReport } from './report.js';
import { type Simulation, estimateRemainingMs } from './simulate.js';
import { RolloutState } from './state.js';
import { interruptedErrorOf, reportInputOf, rolloutResult } from './summary.js';
import { medianOf } from './units.js';
import { formatInZone, mayStart, windowState } from './window.js';
import { type NodeEnv, type NodeWork, NodeWorkError, type RolloutClients } from './work.js';

/**
 * How long the pod list of a node that does not decide the round (not in flight, not a next candidate) is
 * reused. Those lists only feed the capacity estimate, which moves at the pace of nodes finishing (minutes).
 * 5 s made a round every --poll-interval (2 s) while nodes wait on PDBs list every node's pods every third
 * round: in a 60-node cluster ~10 lists of ~170 pods a second, on the real API server as on a twin.
 */
const REUSE_PODS_MS = 30_000;

/** A node in flight in this run. */
interface Running {
  promise: Promise<void>;
  holdsSlot: boolean;
  startedAt: number;
}

/** The expected time per node before this rollout measured one, and where it comes from. */
export interface Calibration {
  perNodeMs: number;
  source: string;
  /** Only the work's typical figure, nothing measured: no ETA is shown from it. */
  typical?: boolean;
}

/** Runs one rollout (see the module comment); `planRollout` in plan.ts reuses its views for the dry-run. */
export class Executor<O = unknown> {
  readonly started: string[] = [];
  private readonly inflight = new Map<string, Running>();
  /** Nodes that failed in this run. */
  readonly failures: FailedNode[] = [];
  private readonly waitingReason = new Map<string, string>();
  private interrupted: unknown;
  private wake: () => void = () => {};
  private wakeUp: Promise<void> = Promise.resolve();
  lastFacts: ClusterFacts | undefined;
  private readonly podCache: PodCache = new Map();
  private etaCache: { done: number; at: number; ms: number } | undefined;

  constructor(
    readonly ctx: Context,
    readonly work: NodeWork<O>,
    readonly clients: RolloutClients,
    readonly opts: RolloutOptions,
    readonly state: RolloutState,
    readonly limits: Limits,
    private readonly calibration: Calibration,
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

  /** Every node of the rollout. */
  get targets(): string[] {
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

  /** Expected time for one node: the measured median, never below --node-duration; before any, the calibration. */
  expectedMs(): number {
    return this.expected().perNodeMs;
  }

  /** The expected time per node and where it comes from (for the plan and the result). */
  expected(): Calibration {
    const measured = medianOf([...this.state.records().values()].map((r) => RolloutState.totalMs(r)).filter((v): v is number => v !== undefined));
    const floor = this.opts.nodeDurationMs;
    if (measured !== undefined) return { perNodeMs: Math.max(measured, floor ?? 0), source: 'measured in this rollout' };
    if (floor !== undefined) return { perNodeMs: floor, source: '--node-duration' };
    return this.calibration;
  }

  /** The decision's input for a snapshot: its facts, what is in flight, and its health (see health()). */
  planInput(facts: ClusterFacts, pending: string[], extra: Partial<PlanInput> = {}): PlanInput {
    const now = this.ctx.clock.now();
    const planNodes = facts.planNodes.map((n) => (this.state.rollout.cordonedBefore.includes(n.name) ? { ...n, keepsCordon: true } : n));
    const inFlight: InFlight[] = [...this.inflight].map(([name, r]) => ({ name, holdsSlot: r.holdsSlot, elapsedMs: now - r.startedAt }));
    return { nodes: planNodes, pending, inFlight, pdbs: facts.planPdbs, limits: this.limits, defaultExpectedMs: this.expectedMs(), health: this.health(facts), ...extra };
  }

  /** The health facts of a snapshot (see expectedDown); etcd is added by the caller when control nodes are next. */
  health(facts: ClusterFacts, etcd?: HealthFacts['etcd']): HealthFacts {
    const down = expectedDown(
      facts.planNodes.map((n) => n.name),
      { inflight: new Set(this.inflight.keys()), failed: new Set(this.failures.map((f) => f.node)), rollout: this.state.rollout, phaseOf: (n) => this.state.node(n).phase },
    );
    return { readyz: facts.readyz, expectedDown: down, ...(etcd ? { etcd } : {}) };
  }

  private eta(): number | undefined {
    // No ETA from a guess: only from this rollout's measurements, earlier rollouts' or --node-duration.
    if (!this.lastFacts || this.expected().typical) return undefined;
    // The simulation behind it is not free: recompute when a node finished or after a while, else count down.
    const now = this.ctx.clock.now();
    const done = this.doneCount();
    if (!this.etaCache || this.etaCache.done !== done || now - this.etaCache.at > 1000) {
      this.etaCache = { done, at: now, ms: estimateRemainingMs(this.planInput(this.lastFacts, this.remaining())) };
    }
    return Math.max(0, this.etaCache.ms - (now - this.etaCache.at));
  }

  /** Emits a node's phase for the progress views. */
  progress(node: string, phase: string, message?: string): void {
    this.ctx.progress({ scope: this.work.name, target: node, phase, done: this.doneCount(), total: this.targets.length, etaMs: this.eta(), message });
  }

  private note(node: string, reason: string): void {
    if (this.waitingReason.get(node) === reason) return;
    this.waitingReason.set(node, reason);
    this.progress(node, 'waiting', reason);
  }

  /** The environment the work runs a node in. */
  nodeEnv(onSlotFree: (n: string) => void): NodeEnv<O> {
    return {
      ctx: this.ctx,
      kube: this.clients.kube,
      remote: this.clients.remote,
      alerting: this.clients.alerting,
      openstack: this.clients.openstack,
      state: this.state,
      options: this.work.options,
      onPhase: (n: string, phase: string) => this.progress(n, phase),
      onSlotFree,
    };
  }

  private start(node: string, at: number): void {
    this.waitingReason.delete(node);
    this.state.enter(node, 'preflight', at);
    this.started.push(node);
    this.progress(node, 'preflight');
    // Only a freed slot or a finished node can let another node start: phases alone do not wake the loop.
    const env = this.nodeEnv((n: string) => {
      const r = this.inflight.get(n);
      if (r) r.holdsSlot = false;
      this.signal();
    });
    const running: Running = { holdsSlot: true, startedAt: this.ctx.clock.now(), promise: Promise.resolve() };
    this.inflight.set(node, running);
    running.promise = this.work
      .run(env, node)
      .catch((err: unknown) => {
        if (err instanceof NodeWorkError) {
          const rec = this.state.node(node);
          const span = rec.phases.filter((p) => p.phase === err.phase).at(-1);
          const phaseMs = span ? (rec.finishedAt ?? this.ctx.clock.now()) - span.start : undefined;
          this.failures.push({ node, phase: err.phase, error: messageOf(err.cause), leftCordoned: err.leftCordoned, ...(phaseMs !== undefined ? { phaseMs } : {}) });
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
   * candidates in planner order: a few per free slot); other nodes' lists are reused for up to REUSE_PODS_MS, as
   * they only feed the capacity estimate. A full read of every node per round would cost N requests each time a
   * slot frees.
   */
  private async facts(pending: string[]): Promise<ClusterFacts> {
    // In-flight nodes matter only until drained: their pods left count against PDB budgets and capacity.
    const fresh = new Set<string>([...this.inflight.keys()].filter((n) => this.work.undrainedPhases.includes(this.state.node(n).phase)));
    if (this.lastFacts) {
      const held = [...this.inflight.values()].filter((r) => r.holdsSlot).length;
      const take = Math.max(3, 2 * Math.max(1, this.limits.maxUnavailable - held));
      for (const n of candidateOrder({ nodes: this.lastFacts.planNodes, pending, defaultExpectedMs: this.expectedMs() }).slice(0, take)) fresh.add(n);
    }
    const facts = await gatherFacts(this.clients.kube, this.ctx.cluster, { filter: this.work.drainFilter, now: this.ctx.clock.now(), cache: this.podCache, fresh, maxAgeMs: REUSE_PODS_MS });
    this.lastFacts = facts;
    return facts;
  }

  /** Waits for every node in flight (after an interruption or at the end). */
  private async drainInflight(): Promise<void> {
    await Promise.allSettled([...this.inflight.values()].map((r) => r.promise));
  }

  /** One planning round: starts what may start; returns how many started and, when stopped by the window, when it opens. */
  private async round(pending: string[]): Promise<{ startedNow: number; window?: { nextStart: number }; heldWhy?: string }> {
    const ctx = this.ctx;
    const facts = await this.facts(pending);
    const isControl = (p: string): boolean => facts.planNodes.find((n) => n.name === p)?.control === true;
    const onlyControlLeft = pending.some(isControl) && !pending.some((p) => !isControl(p));
    const health = this.health(facts, onlyControlLeft ? await etcdHealth(ctx, this.clients) : undefined);
    const blocked = await roundBlockers(this.clients, this.opts, facts, pending);
    let startedNow = 0;
    let decision: Decision;
    // A node its preflight holds (an alert about it, a pod that just appeared) is blocked and the round
    // planned again, so the next candidate can take the slot instead.
    for (;;) {
      const window = this.opts.window ? { window: this.opts.window, now: ctx.clock.now() } : undefined;
      decision = decide(this.planInput(facts, this.remaining(), { health, blocked, window }));
      if (decision.windowOpensAt !== undefined) {
        for (const w of decision.waiting) this.note(w.node, w.reason);
        return { startedNow, window: { nextStart: decision.windowOpensAt } };
      }
      let heldNow = false;
      for (const node of decision.start) {
        // Reading blockers takes time: the window is asked again for every node that starts.
        const now = ctx.clock.now();
        const ok = mayStart(this.opts.window, now, this.expectedMs());
        if (!ok.ok) {
          this.note(node, ok.reason);
          return { startedNow, window: { nextStart: windowState(this.opts.window!, now).nextStart } };
        }
        const held = await nodePreflight(ctx, this.clients, this.opts, node, this.lastFacts);
        if (held) {
          blocked[node] = held;
          heldNow = true;
          continue;
        }
        this.start(node, now);
        startedNow++;
      }
      if (!heldNow) break;
    }
    for (const w of decision.waiting) this.note(w.node, w.reason);
    const heldWhy = decision.waiting.map((w) => `${w.node}: ${w.reason}`).slice(0, 3).join('; ');
    return { startedNow, heldWhy };
  }

  /** The real run. */
  async run(): Promise<RolloutResult> {
    const ctx = this.ctx;
    let stoppedBy: RolloutResult['stoppedBy'];
    let nextStart: number | undefined;
    let heldSince: number | undefined;
    let lastNotice = 0;
    let heldWhy = '';
    const noticeMs = this.opts.heldNoticeMs ?? 60_000;
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
        ctx.checkpoint(this.work.title);
        if (this.interrupted) throw this.interrupted;
        const pending = this.remaining();
        if (pending.length === 0 && this.inflight.size === 0) break;
        const mayStartMore = this.failures.length <= this.opts.maxFailures && !stoppedBy;
        if (!mayStartMore && this.inflight.size === 0) {
          stoppedBy ??= 'failures';
          break;
        }
        let startedNow = 0;
        // Outside the window, or too little of it left for one more node: start nothing, finish what runs.
        const win = mayStartMore && pending.length ? mayStart(this.opts.window, ctx.clock.now(), this.expectedMs()) : { ok: true as const };
        if (!win.ok) {
          for (const p of pending) this.note(p, win.reason);
          stoppedBy = 'window';
          nextStart = windowState(this.opts.window!, ctx.clock.now()).nextStart;
        } else if (mayStartMore && pending.length && this.slotMayBeFree(pending)) {
          const r = await this.round(pending);
          startedNow = r.startedNow;
          if (r.window) {
            stoppedBy = 'window';
            nextStart = r.window.nextStart;
          }
          if (startedNow === 0 && this.inflight.size === 0 && r.heldWhy) heldWhy = r.heldWhy;
        }
        if (stoppedBy === 'window' && this.inflight.size === 0) break;
        let sleepMs = this.opts.pollMs;
        // Nothing can move: wait for the blockers to clear, but not forever, and say so now and then.
        if (this.inflight.size === 0 && startedNow === 0) {
          const now = ctx.clock.now();
          if (heldSince === undefined) {
            heldSince = now;
            lastNotice = now;
          }
          const why = heldWhy || [...this.waitingReason].map(([n, r]) => `${n}: ${r}`).slice(0, 3).join('; ') || 'no node could start';
          if (now - heldSince >= this.opts.holdTimeoutMs) {
            const held = this.result({});
            if (this.opts.reportPath) held.report = writeReport(this.opts.reportPath, this.reportInput(held));
            throw new RolloutHeldError(`the rollout has been held for ${formatMs(now - heldSince)}: ${why}`, {
              context: { ...held, waiting: Object.fromEntries(this.waitingReason) },
              hint: 'clear the blockers (alerts, PDBs, cordoned nodes) and run again: the rollout continues where it stopped',
            });
          }
          // A line in the log (not only the live table): unattended runs show why they wait.
          if (now - lastNotice >= noticeMs) {
            ctx.log.info(`still held: ${why} (for ${formatMs(now - heldSince)}; giving up after ${formatMs(this.opts.holdTimeoutMs)})`);
            lastNotice = now;
          }
          sleepMs = Math.max(1, Math.min(sleepMs, lastNotice + noticeMs - now, heldSince + this.opts.holdTimeoutMs - now));
        } else {
          heldSince = undefined;
        }
        await Promise.race([this.wakeUp, ctx.clock.sleep(sleepMs, ctx.signal)]);
      }
    } catch (err) {
      await this.drainInflight();
      throw interruptedErrorOf(this, err, this.interrupted !== undefined);
    }
    await this.drainInflight();
    if (this.interrupted) throw interruptedErrorOf(this, this.interrupted, true);
    if (this.failures.length && !stoppedBy) stoppedBy = 'failures';
    const result = this.result({ stoppedBy, nextStart });
    if (result.remaining.length === 0 && this.failures.length === 0) this.state.complete(ctx.clock.now());
    result.rollout.complete = this.state.rollout.complete === true;
    if (this.opts.reportPath) result.report = writeReport(this.opts.reportPath, this.reportInput(result));
    if (this.failures.length) {
      const names = this.failures.map((f) => `${f.node} (${f.phase}: ${f.error.split('\n')[0]})`);
      throw new RolloutFailedError(
        `${this.work.title} stopped: ${names.join('; ')}${result.leftCordoned.length ? `; left cordoned: ${result.leftCordoned.join(', ')}` : ''}; ${result.done.length} of ${result.targets.length} done, ${result.remaining.length} not started`,
        {
          context: { ...result },
          hint: `fix the cause on the named node(s), then run the same command again: the rollout resumes and does not ${this.work.name} finished nodes again`,
        },
      );
    }
    if (stoppedBy === 'window' && this.opts.window) {
      const w = this.opts.window;
      const now = ctx.clock.now();
      const open = windowState(w, now).open;
      const when = nextStart !== undefined ? `; it opens next ${formatInZone(w, nextStart)}` : '';
      const left = `stopping with ${result.remaining.length} node(s) left; the next run continues the rollout`;
      ctx.log.info(open ? `the window ${w.spec} cannot fit another node (${mayStartReason(this, now)}): ${left}` : `the window ${w.spec} is closed${when}: ${left}`);
    }
    return result;
  }

  /** The result of the run so far (--json, reports, error contexts). */
  result(extra: { stoppedBy?: RolloutResult['stoppedBy']; nextStart?: number }): RolloutResult {
    return rolloutResult(this, extra);
  }

  /** What the HTML report is drawn from. */
  reportInput(result: RolloutResult, sim?: Simulation): ReportInput {
    return reportInputOf(this, result, sim);
  }
}

function mayStartReason(s: Executor, now: number): string {
  const r = mayStart(s.opts.window, now, s.expectedMs());
  return r.ok ? 'no time left for one more node' : r.reason;
}
