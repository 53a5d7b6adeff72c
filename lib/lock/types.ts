// The lock contract shared by every backend (file, Kubernetes Lease, etcd). A run takes its cookbook's lock
// scope before it changes anything; a held lock is reported with the holder's identity (exit 3).

/** Who holds a lock. */
export interface LockHolder {
  user: string;
  host: string;
  pid: number;
  cookbook: string;
  runId: string;
  /** ISO time the lock was taken. */
  since: string;
}

/** Options of acquire(). */
export interface LockOptions {
  /** Time to live: a holder that stops renewing loses the lock after this long. */
  ttlMs: number;
  signal?: AbortSignal;
}

/** A held lock. */
export interface LockHandle {
  readonly scope: string;
  readonly holder: LockHolder;
  /** Aborts (reason: a LockError) when the lock is lost, e.g. renewal failed; the run stops at its next safe point. */
  readonly lost: AbortSignal;
  /** Releases the lock; idempotent. */
  release(): Promise<void>;
}

/** A lock backend. */
export interface LockBackend {
  readonly name: 'file' | 'kubernetes' | 'etcd';
  /** Takes the lock or throws LockHeldError (naming the holder) / LockError (backend failure). */
  acquire(scope: string, holder: LockHolder, options: LockOptions): Promise<LockHandle>;
  /** The current holder, if any (read-only; used by dry-run and status). */
  inspect(scope: string): Promise<LockHolder | undefined>;
  /** Releases resources (connections) held by the backend. */
  close(): Promise<void>;
}

/** "user@host pid N running COOKBOOK since T" for messages. */
export function describeHolder(h: LockHolder): string {
  return `${h.user}@${h.host} (pid ${h.pid}) running ${h.cookbook} since ${h.since}`;
}

/**
 * A LockHandle whose `release` does its work once: later calls return at once, also while the first is still
 * running. `released` turns true at the first call (so a renewal loop stops before the lock is given back).
 */
export function lockHandle(scope: string, holder: LockHolder, lost: AbortSignal, release: () => Promise<void>): LockHandle & { readonly released: boolean } {
  let released = false;
  return {
    scope,
    holder,
    lost,
    get released() {
      return released;
    },
    release: async () => {
      if (released) return;
      released = true;
      await release();
    },
  };
}
