// The Context: everything a cookbook gets. Cookbooks reach the world only through it: its clients (built
// lazily, on first use), its steps (ensure-style, journaled), its waits (deadline, cancellation, dry-run
// aware) and its confirmations.
import type { ClientContext } from './client.js';
import { type Clock, throwIfAborted } from './clock.js';
import { type ConfirmAnswer, type Prompter, confirmOrAbort } from './confirm.js';
import { CookbookError, DryRunStop, InputError, InterruptedError, VerifyError, errorToJSON } from './errors.js';
import type { AuditRecord, EventBus, PlanProblem, RunEvent } from './events.js';
import { failpoint } from './failpoints.js';
import { type Gate, type Planned, inChangeScope, isPlanned, planned } from './gate.js';
import type { Journal } from './journal.js';
import type { Log, LogFields } from './log.js';
import { type RetryOptions, type WaitOptions, retry, waitFor } from './retry.js';
import type { Inventory } from '../inventory/load.js';
import type { AlertmanagerClient } from '../alerting/index.js';
import type { Kube } from '../k8s/index.js';
import type { OpenStackClient } from '../openstack/index.js';
import type { Remote } from '../remote/index.js';
import type { ClusterConfig } from '../inventory/schema.js';

/** A step's declared inputs: each may be the Planned result of an earlier step (dry-run). */
export type Needs<N extends readonly unknown[]> = { readonly [K in keyof N]: N[K] | Planned };

/** What the runner tells a step's functions about this run of it (their last argument). */
export interface StepRun {
  /** A need is only planned and the step declared `onPlannedNeed: 'assume'`: it runs as if that change was made. */
  readonly assumed: boolean;
}

/**
 * An ensure-style step: check the state, act only if needed, verify. `needs` declares the values the step
 * works on (results of earlier steps), passed resolved to check, apply and verify, followed by a StepRun.
 * When one is only planned (dry-run), the runner decides, not the step: by default the step is planned
 * without calling check or apply; with `onPlannedNeed: 'assume'` check is skipped (it would look at a state
 * the planned change has not made) and apply runs, planning its own mutations.
 */
export interface StepSpec<T, N extends readonly unknown[] = []> {
  /** Values the step depends on. */
  needs?: readonly [...Needs<N>];
  /** What a planned need means: 'stop' (default) plans the step as a whole; 'assume' plans what apply would do. */
  onPlannedNeed?: 'stop' | 'assume';
  /** Returns the current result when the state is already right (the step is then skipped), else undefined/false. */
  check?: (...args: [...N, StepRun]) => Promise<T | undefined | null | false>;
  /** Makes the change; in dry-run its mutations return Planned. */
  apply: (...args: [...N, StepRun]) => Promise<T | Planned>;
  /** Confirms the change took effect; return false (or throw) when it did not. Not run in dry-run. */
  verify?: (result: T, ...args: [...N, StepRun]) => Promise<boolean | void>;
  /** What the step acts on (for planned results). */
  target?: string;
}

/** Loads one client lazily; `peer` gives access to the run's other clients (built once each). */
export type ClientLoader = (ctx: ClientContext, peer: <T>(name: string) => Promise<T>) => Promise<unknown>;

/** Everything the Context is built from (the runner assembles it). */
export interface ContextInit {
  runId: string;
  cookbook: string;
  cluster?: ClusterConfig;
  inventory?: Inventory;
  /** The run's inventory directories, as --cluster-name was looked up in (--inventory, else the defaults). */
  inventoryDirs?: readonly string[];
  dryRun: boolean;
  yes: boolean;
  reason?: string;
  taskId?: string;
  stateDir: string;
  log: Log;
  events: EventBus;
  journal: Journal;
  gate: Gate;
  signal: AbortSignal;
  clock: Clock;
  prompter: Prompter;
  clients: Record<string, ClientLoader>;
  /** Who runs what and why (operator, host, arguments, reason, task id). */
  audit?: AuditRecord;
}

/** What a cookbook's run() receives. */
export class Context {
  /** Problems a dry-run found (see planProblem); empty in a real run. */
  readonly planProblems: PlanProblem[] = [];
  readonly runId: string;
  readonly cookbook: string;
  readonly dryRun: boolean;
  readonly yes: boolean;
  readonly reason: string | undefined;
  readonly taskId: string | undefined;
  readonly stateDir: string;
  readonly log: Log;
  readonly signal: AbortSignal;
  readonly clock: Clock;
  readonly inventory: Inventory | undefined;
  /** The run's inventory directories (where --cluster-name was found): for cookbooks that name another cluster. */
  readonly inventoryDirs: readonly string[] | undefined;
  /** Who runs what and why: cookbooks put it in their own reports (the HTML report of a reboot). */
  readonly audit: AuditRecord;
  // The runner's, not the cookbook's: changes go through clients, records through step/memo/planProblem.
  readonly #events: EventBus;
  readonly #journal: Journal;
  readonly #gate: Gate;
  private readonly clusterConfig: ClusterConfig | undefined;
  private readonly prompter: Prompter;
  private readonly loaders: Record<string, ClientLoader>;
  readonly #init: ContextInit;
  private readonly built = new Map<string, Promise<unknown>>();

  constructor(init: ContextInit) {
    this.runId = init.runId;
    this.cookbook = init.cookbook;
    this.dryRun = init.dryRun;
    this.yes = init.yes;
    this.reason = init.reason;
    this.taskId = init.taskId;
    this.stateDir = init.stateDir;
    this.log = init.log;
    this.#events = init.events;
    this.#journal = init.journal;
    this.#gate = init.gate;
    this.#init = init;
    gateHandles.set(this, init.gate);
    this.signal = init.signal;
    this.clock = init.clock;
    this.inventory = init.inventory;
    this.inventoryDirs = init.inventoryDirs;
    this.audit = init.audit ?? { runId: init.runId, operator: 'unknown', host: 'unknown', cookbook: init.cookbook, cluster: init.cluster?.name, args: {} };
    this.clusterConfig = init.cluster;
    this.prompter = init.prompter;
    this.loaders = init.clients;
  }

  /** The cluster this run acts on; throws when the cookbook runs without one. */
  get cluster(): ClusterConfig {
    if (!this.clusterConfig) throw new InputError(`${this.cookbook} runs without a cluster here`, { hint: 'pass --cluster-name' });
    return this.clusterConfig;
  }

  /** True when a cluster was given. */
  get hasCluster(): boolean {
    return this.clusterConfig !== undefined;
  }

  /** Builds (once) and returns a client by name: remote, k8s, openstack, alerting. */
  client<T>(name: string): Promise<T> {
    let p = this.built.get(name);
    if (!p) {
      const loader = this.loaders[name];
      if (!loader) return Promise.reject(new CookbookError(`no client named ${name}`));
      p = loader(
        { cluster: this.cluster, gate: this.#gate, log: this.log, signal: this.signal, clock: this.clock, stateDir: this.stateDir },
        (peer) => this.client(peer),
      );
      this.built.set(name, p);
    }
    return p as Promise<T>;
  }

  /** The Kubernetes client (built on first use). */
  k8s(): Promise<Kube> {
    return this.client<Kube>('k8s');
  }

  /** The SSH client (built on first use). */
  remote(): Promise<Remote> {
    return this.client<Remote>('remote');
  }

  /** The OpenStack client (built on first use). */
  openstack(): Promise<OpenStackClient> {
    return this.client<OpenStackClient>('openstack');
  }

  /** The Alertmanager client (built on first use). */
  alerting(): Promise<AlertmanagerClient> {
    return this.client<AlertmanagerClient>('alerting');
  }

  /**
   * The same run on another cluster (component.deploy --then): its journal, gate, events, signal, clock and
   * prompter are this run's, its clients are built anew for `cluster`. The caller closes them (builtClients).
   */
  forCluster(cluster: ClusterConfig): Context {
    return new Context({ ...this.#init, cluster, audit: { ...this.audit, cluster: cluster.name } });
  }

  /** Clients built so far (the runner closes them at the end). */
  builtClients(): Promise<unknown>[] {
    return [...this.built.values()];
  }

  /** Shows text to the operator on stdout (human mode only; --json carries the cookbook's result instead). */
  print(text: string): void {
    this.#events.emit({ type: 'output', text });
  }

  /** Emits a progress event. */
  progress(event: Omit<Extract<RunEvent, { type: 'progress' }>, 'type'>): void {
    this.#events.emit({ type: 'progress', ...event });
  }

  /** Records that the real run would fail or be held (dry-run verdict); the runner turns these into exit 1. */
  planProblem(problem: PlanProblem): void {
    this.planProblems.push(problem);
    this.#journal.addProblem(problem);
    this.#events.emit({ type: 'plan.problem', problem });
  }

  /**
   * Asks before an action: `destructive` (or `always`) asks on every cluster, otherwise only on production
   * clusters. A destructive action on a production cluster needs the cluster's name typed, not just "y".
   * `details` lists what will happen (shown with the question and logged).
   */
  async confirm(message: string, options: { always?: boolean; destructive?: boolean; details?: readonly string[] } = {}): Promise<void> {
    const production = Boolean(this.clusterConfig?.production);
    if (!options.always && !options.destructive && !production) return;
    if (this.dryRun) {
      this.log.info(`would ask: ${message}${options.details?.length ? ` (${options.details.join('; ')})` : ''}`);
      return;
    }
    const typeToConfirm = options.destructive && production ? this.clusterConfig!.name : undefined;
    for (const d of options.details ?? []) this.log.debug(`confirmation detail: ${d}`);
    await confirmOrAbort(this.prompter, this.yes, message, (answer: ConfirmAnswer) => this.#events.emit({ type: 'confirm', message, answer }), {
      details: options.details,
      typeToConfirm,
    });
  }

  /** Returns a decision stored in the journal (from this run or the run it resumes), computing it once. */
  async memo<T>(key: string, compute: () => Promise<T>): Promise<T> {
    if (Object.prototype.hasOwnProperty.call(this.#journal.data.memo, key)) return this.#journal.data.memo[key] as T;
    const value = await compute();
    this.#journal.setMemo(key, value);
    return value;
  }

  /** Every journaled value (this run's and those copied from the run it resumes), read-only. */
  memos(): Readonly<Record<string, unknown>> {
    return this.#journal.data.memo;
  }

  /** The run this one resumes (its id), if any. */
  get resumedFrom(): string | undefined {
    return this.#journal.data.resumedFrom;
  }

  /** Reads a journaled value. */
  recall<T>(key: string): T | undefined {
    return this.#journal.data.memo[key] as T | undefined;
  }

  /** Stores a journaled value (progress that must survive an interruption). */
  remember(key: string, value: unknown): void {
    this.#journal.setMemo(key, value);
  }

  /** Throws InterruptedError when the run was interrupted: call at safe points of long loops. */
  checkpoint(what = 'run'): void {
    throwIfAborted(this.signal, what);
  }

  /** Polls until a condition holds; cancellation, clock and dry-run come from the Context. */
  waitFor<T>(probe: (attempt: number) => Promise<T | undefined | null | false>, options: Omit<WaitOptions, 'signal' | 'clock' | 'gate'>): Promise<T> {
    return waitFor(probe, { ...options, signal: this.signal, clock: this.clock, gate: this.#gate });
  }

  /** Retries with backoff until the deadline; cancellation and clock come from the Context. */
  retry<T>(fn: (attempt: number) => Promise<T>, options: Omit<RetryOptions, 'signal' | 'clock'>): Promise<T> {
    return retry(fn, { ...options, signal: this.signal, clock: this.clock });
  }

  /**
   * Runs an ensure-style step, journaled: skipped when `check` finds the state right, otherwise `apply` then
   * `verify`. In dry-run the step is "planned" when a value it needs is only planned (see StepSpec), when a
   * change made in its own async context was planned, or when planning stops inside it (DryRunStop) because it
   * would depend on a change that was only planned; none of these fails the run.
   */
  async step<T, N extends readonly unknown[] = []>(name: string, spec: StepSpec<T, N>): Promise<T | Planned> {
    throwIfAborted(this.signal, `step "${name}"`);
    const index = this.#journal.stepStarted(name);
    const started = this.clock.now();
    this.#events.emit({ type: 'step.start', name, index });
    const end = (status: 'done' | 'skipped' | 'planned' | 'failed', extra: { note?: string; error?: Record<string, unknown> } = {}): void => {
      this.#journal.stepEnded(index, status, extra);
      this.#events.emit({ type: 'step.end', name, index, status, durationMs: this.clock.now() - started, ...extra });
    };
    const stepPlanned = (): Planned => planned({ system: 'step', target: spec.target ?? name, action: name, planned: true, at: new Date().toISOString() });
    // Changes are counted per async context, not per gate: a concurrent step's change is not this one's.
    return inChangeScope(async (scope) => {
      try {
        await failpoint('before', name, this.clock, this.signal);
        await failpoint('in', name, this.clock, this.signal);
        const waitingFor = (spec.needs as readonly unknown[] | undefined)?.find(isPlanned);
        if (waitingFor && spec.onPlannedNeed !== 'assume') {
          end('planned', { note: `needs ${waitingFor.change.action} on ${waitingFor.change.target}` });
          return stepPlanned();
        }
        const args = [...(spec.needs ?? []), { assumed: waitingFor !== undefined }] as unknown as [...N, StepRun];
        if (spec.check && !waitingFor) {
          const existing = await spec.check(...args);
          if (existing !== undefined && existing !== null && existing !== false) {
            end('skipped', { note: 'already in the desired state' });
            await failpoint('after', name, this.clock, this.signal);
            return existing as T;
          }
        }
        throwIfAborted(this.signal, `step "${name}"`);
        const result = await spec.apply(...args);
        if (isPlanned(result) || (this.dryRun && scope.changes.length > 0)) {
          end('planned');
          return isPlanned(result) ? result : planned(scope.changes.at(-1)!);
        }
        if (spec.verify && !this.dryRun) {
          const ok = await spec.verify(result as T, ...args);
          if (ok === false) {
            throw new VerifyError(`step "${name}" did not take effect`, { context: { step: name, target: spec.target } });
          }
        }
        end('done');
        await failpoint('after', name, this.clock, this.signal);
        return result as T;
      } catch (err) {
        if (err instanceof DryRunStop && this.dryRun) {
          end('planned', { note: err.message });
          return stepPlanned();
        }
        if (err instanceof CookbookError && err.context.step === undefined) err.context.step = name;
        end('failed', { error: errorToJSON(err), note: err instanceof InterruptedError ? 'interrupted' : undefined });
        throw err;
      }
    });
  }
}

/**
 * The run's mutation gate, for client code built outside the client loaders (test fixtures standing in for a
 * client). Cookbooks and ops never need it: they change the world through clients and steps.
 */
export function gateOf(ctx: Context): Gate {
  return gateHandles.get(ctx)!;
}

const gateHandles = new WeakMap<Context, Gate>();

/** A Log that turns lines into run events (the display and the log file render them). */
export class EventLog implements Log {
  constructor(
    private readonly events: EventBus,
    private readonly verbose: boolean,
  ) {}
  debug(message: string, fields?: LogFields): void {
    this.events.emit({ type: 'log', level: 'debug', message, fields });
  }
  info(message: string, fields?: LogFields): void {
    this.events.emit({ type: 'log', level: 'info', message, fields });
  }
  warn(message: string, fields?: LogFields): void {
    this.events.emit({ type: 'log', level: 'warn', message, fields });
  }
  error(message: string, fields?: LogFields): void {
    this.events.emit({ type: 'log', level: 'error', message, fields });
  }
  /** Whether debug lines are shown on the console. */
  get isVerbose(): boolean {
    return this.verbose;
  }
}
