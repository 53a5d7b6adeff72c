// Timers of the Kubernetes side: lab delays scaled by the world's speed (read when scheduled, so a speed
// change applies to what comes next), all cancelled by stop(); and a coalescing work queue for controllers.
import type { World } from '../world.js';

/** Scaled, cancellable timers owned by one lab API. */
export class LabTimers {
  private readonly pending = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(private readonly world: World) {}

  /** Runs fn after `ms` lab milliseconds (divided by the world's speed). Returns a cancel function. */
  after(ms: number, fn: () => void): () => void {
    return this.afterReal(this.world.scaled(ms), fn);
  }

  /** Runs fn after `ms` real milliseconds. */
  afterReal(ms: number, fn: () => void): () => void {
    if (this.stopped) return () => {};
    const t = setTimeout(() => {
      this.pending.delete(t);
      if (!this.stopped) fn();
    }, ms);
    t.unref();
    this.pending.add(t);
    return () => {
      clearTimeout(t);
      this.pending.delete(t);
    };
  }

  /** True once stop() ran. */
  get isStopped(): boolean {
    return this.stopped;
  }

  /** Cancels everything. */
  stop(): void {
    this.stopped = true;
    for (const t of this.pending) clearTimeout(t);
    this.pending.clear();
  }
}

/** A set of dirty keys processed together on the next turn of the event loop. */
export class WorkQueue {
  private keys = new Set<string>();
  private scheduled = false;
  private stopped = false;

  constructor(
    private readonly name: string,
    private readonly process: (key: string) => void,
  ) {}

  /** Marks a key dirty. */
  add(key: string): void {
    if (this.stopped) return;
    this.keys.add(key);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.run());
    }
  }

  private run(): void {
    this.scheduled = false;
    if (this.stopped) return;
    const keys = this.keys;
    this.keys = new Set();
    for (const k of keys) {
      try {
        this.process(k);
      } catch (e) {
        // A controller error must not stop the lab; the key is retried on its next change.
        process.emitWarning(`lab ${this.name} controller: ${k}: ${(e as Error).stack ?? e}`);
      }
    }
  }

  /** Stops processing. */
  stop(): void {
    this.stopped = true;
    this.keys.clear();
  }
}
