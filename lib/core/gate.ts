// The mutation gate. Every client operation is declared read or mutate; mutations run only through
// Gate.mutate, which records the change and, in --dry-run, returns a typed Planned result instead of
// calling the operation. Transports (HTTP, SSH exec, etcd) call assertMayMutate() before they send anything
// that changes state: the permit lives in AsyncLocalStorage and is only ever created inside Gate.mutate, so a
// client that forgets the gate fails loudly on its first write instead of writing in a dry-run.
import { AsyncLocalStorage } from 'node:async_hooks';
import { DryRunStop, GateViolation } from './errors.js';

/** One mutation, performed or planned. */
export interface Change {
  /** What is changed: a host, `node/NAME`, `server/NAME`, `lease/NS/NAME`, ... */
  target: string;
  /** A short verb phrase: `cordon`, `create server`, `run kubeadm join`, ... */
  action: string;
  /** Extra facts (never secrets: they are redacted again on output anyway). */
  detail?: Record<string, unknown>;
  /** True when it was only planned (dry-run). */
  planned: boolean;
  /** Which client made it: remote, k8s, openstack, alerting, lock, ... */
  system: string;
  at: string;
}

/** What a caller says about a mutation before it is performed. */
export type ChangeSpec = Omit<Change, 'planned' | 'at'>;

const PLANNED = Symbol.for('cluster-cookbooks.planned');

/** The result of a mutation that dry-run did not perform. Code must check for it with isPlanned(). */
export interface Planned {
  readonly [PLANNED]: true;
  readonly change: Change;
}

/** True when a value is the typed result of a planned (not performed) mutation. */
export function isPlanned(value: unknown): value is Planned {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[PLANNED] === true;
}

/** Build a Planned value for a change. */
export function planned(change: Change): Planned {
  return Object.freeze({ [PLANNED]: true as const, change });
}

/** Returns the value, or throws DryRunStop when it is only planned: planning cannot continue from it. */
export function need<T>(value: T | Planned, what = 'a planned change'): T {
  if (isPlanned(value)) {
    throw new DryRunStop(`would continue after ${value.change.action} on ${value.change.target}`, {
      context: { waitingFor: what, change: value.change },
    });
  }
  return value;
}

const PERMIT = Symbol('mutation-permit');

/** Proof, held in async context, that the current code runs inside Gate.mutate. */
export interface MutationPermit {
  readonly [PERMIT]: true;
  readonly change: Change;
}

const permits = new AsyncLocalStorage<MutationPermit>();

/**
 * Transports call this before sending any state-changing request. Throws GateViolation when the caller is not
 * inside Gate.mutate (a client bug). `what` names the request for the error.
 */
export function assertMayMutate(what: string): MutationPermit {
  const permit = permits.getStore();
  if (!permit) {
    throw new GateViolation(`mutation attempted outside the mutation gate: ${what}`, {
      context: { request: what },
      hint: 'wrap the client method in gate.mutate() and declare it as a mutation',
    });
  }
  return permit;
}

/** True when the current async context holds a mutation permit. */
export function mayMutate(): boolean {
  return permits.getStore() !== undefined;
}

/** Whether an operation reads or changes the world. */
export type OperationKind = 'read' | 'mutate';

/** Declared operations of a client class: every public method name mapped to its kind. */
export type OperationTable<C> = { readonly [K in keyof C]?: OperationKind };

/**
 * The changes made in one async context (a step's): the gate records every change into the scope of the code
 * that made it and into the enclosing scopes, so concurrent steps each see only their own changes.
 */
export class ChangeScope {
  readonly changes: Change[] = [];
  constructor(readonly parent?: ChangeScope) {}
}

const scopes = new AsyncLocalStorage<ChangeScope>();

/** Runs `fn` in a new change scope nested in the current one (the step runner calls it around each step). */
export function inChangeScope<T>(fn: (scope: ChangeScope) => Promise<T>): Promise<T> {
  const scope = new ChangeScope(scopes.getStore());
  return scopes.run(scope, () => fn(scope));
}

/** `fn(value)`, or the Planned as it is: shapes a client's result inside a step without deciding anything. */
export function mapUnlessPlanned<T, U>(value: T | Planned, fn: (v: T) => U): U | Planned {
  return isPlanned(value) ? value : fn(value);
}

/** The value, or `instead` when it is only planned (dry-run): for results and placeholders, never to decide what to do. */
export function unlessPlanned<T, U>(value: T | Planned, instead: U): T | U {
  return isPlanned(value) ? instead : value;
}

/** Options for a Gate. */
export interface GateOptions {
  dryRun: boolean;
  /** Called for every performed or planned change (the journal and the event bus listen here). */
  onChange?: (change: Change) => void;
}

/** The mutation gate of one run; clients receive it and route every operation through it. */
export class Gate {
  readonly dryRun: boolean;
  private readonly onChange: ((change: Change) => void) | undefined;
  private readonly recorded: Change[] = [];

  constructor(options: GateOptions) {
    this.dryRun = options.dryRun;
    this.onChange = options.onChange;
  }

  /** Every change performed or planned so far. */
  get changes(): readonly Change[] {
    return this.recorded;
  }

  /** Runs a read operation. Reads always run, also in dry-run. */
  async read<T>(fn: () => Promise<T>): Promise<T> {
    return fn();
  }

  /**
   * Runs a mutation: in dry-run it is recorded as planned and `fn` is not called; otherwise `fn` runs with a
   * mutation permit and the change is recorded once it succeeded.
   */
  async mutate<T>(spec: ChangeSpec, fn: () => Promise<T>): Promise<T | Planned> {
    const change: Change = { ...spec, planned: this.dryRun, at: new Date().toISOString() };
    if (this.dryRun) {
      this.record(change);
      return planned(change);
    }
    const permit: MutationPermit = Object.freeze({ [PERMIT]: true as const, change });
    const result = await permits.run(permit, fn);
    this.record(change);
    return result;
  }

  /**
   * In dry-run, stops planning when a wait would depend on a planned change; outside dry-run does nothing.
   * Wait helpers call it when their condition is not met yet.
   */
  stopIfPlanning(what: string): void {
    if (this.dryRun) throw new DryRunStop(`would wait for ${what}`, { context: { waitingFor: what } });
  }

  private record(change: Change): void {
    this.recorded.push(change);
    for (let scope = scopes.getStore(); scope; scope = scope.parent) scope.changes.push(change);
    this.onChange?.(change);
  }
}
