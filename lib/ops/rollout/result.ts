// The shapes a rollout shares between its entry point, executor and dry-run planner: the options a cookbook
// parses, the result (--json) and the typed ways a rollout ends early (failed, held, interrupted, refused by
// its preflight). Light: cookbooks import the option types at load time.
import { CookbookError, InterruptedError, RemoteError } from '../../core/errors.js';
import type { LabelSelector } from '../../k8s/pods.js';
import type { Limits } from './decide.js';
import type { Selection } from './select.js';
import type { Window } from './window.js';

/** How a rollout goes, whatever its per-node work: selection, limits, window, blockers, timing, report. */
export interface RolloutOptions {
  selection: Selection;
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
  /** How often a held run says it is still held (default one minute; a log line, so it shows without a TTY). */
  heldNoticeMs?: number;
}

/** One node that failed. */
export interface FailedNode {
  node: string;
  phase: string;
  error: string;
  leftCordoned: boolean;
  /** How long the node spent in the phase it failed in. */
  phaseMs?: number;
}

/** What a rollout returns (the --json result) and what the failure report carries. */
export interface RolloutResult {
  cluster: string;
  dryRun: boolean;
  rollout: { id: string; startedAt: string; continued: boolean; complete: boolean };
  targets: string[];
  /** Every node done in this rollout, and those done by this run (the name k8s.reboot's --json has always used). */
  done: string[];
  rebootedThisRun: string[];
  /** The order this run started nodes in. */
  started: string[];
  remaining: string[];
  skipped: { node: string; reason: string }[];
  failed: FailedNode[];
  /** Nodes we cordoned that are still cordoned (also named in failed, or in flight when interrupted). */
  leftCordoned: string[];
  /** Silences left in place for failed nodes. */
  silencesLeft: string[];
  stoppedBy?: 'window' | 'failures';
  /** When the window opens next (ISO, UTC) and the same in the window's own zone. */
  nextWindow?: string;
  nextWindowLocal?: string;
  /** Median cordon-to-uncordon time of the nodes finished so far, and each node's. */
  cycleMs: { median?: number; perNode: Record<string, number> };
  /** The expected time per node used for planning, and where it came from. */
  expected?: { perNodeMs: number; source: string };
  plan?: { order: string[]; batches: string[][]; predictedMs: number; stuck: { node: string; reason: string }[] };
  limits: Limits;
  report?: string;
}

/** The rollout failed: names the failed nodes and every node left cordoned (exit 1). */
export class RolloutFailedError extends CookbookError {}

/** The rollout was held (alerts, PDBs, limits) for longer than --hold-timeout. */
export class RolloutHeldError extends CookbookError {}

/** SIGINT/SIGTERM stopped the rollout (exit 130): names the nodes left cordoned and those not done. */
export class RolloutInterruptedError extends InterruptedError {}

/** Before anything changed, some targets could not be reached over SSH or their host key did not verify. */
export class RolloutPreflightError extends RemoteError {}
