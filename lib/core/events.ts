// Typed run events. The console display, the JSON-lines log file, the journal and the --json result are all
// views of this one stream.
import type { Change } from './gate.js';

/** Final state of a step. */
export type StepStatus = 'running' | 'done' | 'skipped' | 'planned' | 'failed';

/** Final state of a run. */
export type RunStatus = 'success' | 'failed' | 'aborted' | 'interrupted';

/** Every event of a run. */
export type RunEvent =
  | ({ type: 'run.start'; dryRun: boolean; resumedFrom?: string } & AuditRecord)
  | { type: 'run.end'; runId: string; status: RunStatus; durationMs: number; error?: Record<string, unknown>; verdict?: Verdict['outcome'] }
  | { type: 'step.start'; name: string; index: number }
  | { type: 'step.end'; name: string; index: number; status: StepStatus; durationMs: number; note?: string; error?: Record<string, unknown> }
  | { type: 'change'; change: Change }
  | { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; message: string; fields?: Record<string, unknown> }
  | {
      type: 'progress';
      /** What the progress is about, e.g. `reboot`. */
      scope: string;
      target: string;
      phase: string;
      done?: number;
      total?: number;
      etaMs?: number;
      message?: string;
    }
  | { type: 'confirm'; message: string; answer: 'yes' | 'no' | 'no-tty' | 'assumed-yes' }
  /** Data a cookbook shows the operator (stdout in human mode; part of `result` in --json mode). */
  | { type: 'output'; text: string }
  /** A dry-run found that the real run would fail at a step, or would be held at a node (the verdict's input). */
  | { type: 'plan.problem'; problem: PlanProblem };

/** Who ran what, where and why: recorded in the log file, the journal, the --json result and reports. */
export interface AuditRecord {
  runId: string;
  /** The operator's login name. */
  operator: string;
  /** The machine the run was started on. */
  host: string;
  cookbook: string;
  cluster?: string;
  /** The cookbook's arguments, secrets redacted. */
  args: Record<string, unknown>;
  /** --reason */
  reason?: string;
  /** --task-id */
  taskId?: string;
}

/** A dry-run's verdict: what the real run would do. */
export interface Verdict {
  outcome: 'would-succeed' | 'would-fail' | 'would-hold';
  problems: PlanProblem[];
}

/** Why a dry-run's verdict is not "would succeed": a step that would fail, or a node the run would be held at. */
export interface PlanProblem {
  kind: 'fail' | 'hold';
  /** The step that would fail or hold. */
  step?: string;
  /** The node (or other object) concerned. */
  node?: string;
  reason: string;
}

/** An event with its timestamp. */
export type StampedEvent = RunEvent & { at: string };

/** A listener of run events. */
export type EventListener = (event: StampedEvent) => void;

/** A synchronous, typed event bus; listeners that throw are reported once and dropped, never break a run. */
export class EventBus {
  private listeners: EventListener[] = [];

  /** Adds a listener; returns a function that removes it. */
  on(listener: EventListener): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  /** Stamps and delivers an event to every listener. */
  emit(event: RunEvent): void {
    const stamped = { ...event, at: new Date().toISOString() } as StampedEvent;
    for (const listener of [...this.listeners]) {
      try {
        listener(stamped);
      } catch (err) {
        this.listeners = this.listeners.filter((l) => l !== listener);
        process.stderr.write(`cookbook: an event listener failed and was removed: ${(err as Error).message}\n`);
      }
    }
  }
}
