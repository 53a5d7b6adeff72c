// The per-node work a rollout runs, as a parameter of the engine: the reboot today (lib/ops/reboot), a kubelet
// upgrade next. The engine decides when a node starts (decide.ts), keeps its record and phases (state.ts),
// shows progress and writes the report; the work says what its phases are and does one node.
import type { V1Node } from '@kubernetes/client-node';
import type { AlertmanagerClient } from '../../alerting/index.js';
import type { Context } from '../../core/context.js';
import { CookbookError, messageOf } from '../../core/errors.js';
import type { DrainFilterOptions } from '../../k8s/drain-plan.js';
import type { Kube } from '../../k8s/index.js';
import type { OpenStackClient } from '../../openstack/index.js';
import type { Remote } from '../../remote/index.js';
import type { Limits } from './decide.js';
import type { ReportStyle } from './report.js';
import type { NodePhase, RolloutState } from './state.js';

/** The clients a rollout works with. */
export interface RolloutClients {
  kube: Kube;
  remote: Remote;
  alerting?: AlertmanagerClient;
  openstack: () => Promise<OpenStackClient>;
}

/** What a node's work gets from the engine. */
export interface NodeEnv<O> extends RolloutClients {
  ctx: Context;
  state: RolloutState;
  /** The work's own options (timeouts, drain options). */
  options: O;
  /** Told about every phase change (progress display). */
  onPhase(node: string, phase: NodePhase): void;
  /** Told when the node no longer occupies an unavailable slot (uncordoned, or Ready again when it stays cordoned). */
  onSlotFree(node: string): void;
}

/** The per-node work of a rollout (see the module comment). */
export interface NodeWork<O = unknown> {
  /** Short name: the journal's memo keys (`NAME:node:HOST`) and the progress scope. */
  readonly name: string;
  /** What the rollout is called in messages: "the rolling reboot". */
  readonly title: string;
  /** What a node is once the work is done, in messages: "rebooted" ("not rebooted: ..."). */
  readonly participle: string;
  /** The phases a node goes through, in order, between the engine's `preflight` and `done`/`failed`. */
  readonly phases: readonly NodePhase[];
  /** Phases in which a node still holds pods to evict: its pod list is read afresh every round. */
  readonly undrainedPhases: readonly NodePhase[];
  /** Phases in which the host is expected not to answer (the SSH preflight leaves such nodes to the work). */
  readonly offlinePhases: readonly NodePhase[];
  /** What the HTML report says about the work: names, the phases' colours, its own column. */
  readonly report: ReportStyle;
  /** Parts of the selection key beyond the selection (runs with the same key continue the same rollout). */
  readonly key: Readonly<Record<string, unknown>>;
  /** The work's options, handed to `run` in its environment. */
  readonly options: O;
  /**
   * The expected time per node before anything is measured (no earlier rollout of the cluster, no
   * --node-duration): a typical VM's. No ETA is shown from it.
   */
  readonly typicalNodeMs: number;
  /** How the work's drain picks pods: the facts count the pods it would evict the same way. */
  readonly drainFilter: DrainFilterOptions;
  /** A fact of each target recorded when the rollout begins (the boot id), to tell later that the work was done. */
  mark(node: V1Node): string | null;
  /** Why a pending target counts as done already (rebooted by other means since `mark`), or undefined. */
  doneAlready(node: V1Node, mark: string | null | undefined): string | undefined;
  /** Keeps the targets that need the work (--only-if-needed); the others with why. */
  needed?(ctx: Context, clients: RolloutClients, targets: string[]): Promise<{ targets: string[]; skipped: { node: string; reason: string }[] }>;
  /** The question asked before a real run changes anything. */
  confirmMessage(ctx: Context, nodes: readonly string[], limits: Limits): string;
  /** Lines the dry-run prints about the work's options. */
  planNotes?(): string[];
  /** Does one node, resuming from its record's phase; throws NodeWorkError when the node failed. */
  run(env: NodeEnv<O>, node: string): Promise<void>;
}

/** A node whose work failed; the rollout stops starting new nodes (unless --max-failures allows more). */
export class NodeWorkError extends CookbookError {
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
