// The file lock backend: for local-only work and clusters configured with `lock.backend: file`. The lock is a
// file created atomically (O_EXCL) holding the holder's identity; a holder whose process is gone (same host,
// dead pid) is stale and taken over; a holder on another host is never second-guessed.
import { mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync, closeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { LockError, LockHeldError } from '../core/errors.js';
import type { ClusterConfig } from '../inventory/schema.js';
import { lockScopeFor } from './identity.js';
import { type LockBackend, type LockHandle, type LockHolder, type LockOptions, describeHolder, lockHandle } from './types.js';

/** True when a process with this pid exists on this host. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** File name for a scope (scopes like `cluster/tools` become `cluster__tools.lock`). */
export function lockFileName(scope: string): string {
  return `${scope.replace(/[^A-Za-z0-9._-]/g, '__')}.lock`;
}

/** Lock files in a directory. */
export class FileLockBackend implements LockBackend {
  readonly name = 'file' as const;

  /**
   * `cluster`, when given, is the cluster this backend locks: the runner's scope for it (named after the
   * inventory entry) then maps to a file named after the cluster's API server.
   */
  constructor(
    private readonly dir: string,
    private readonly cluster?: Pick<ClusterConfig, 'name' | 'kubernetes'>,
  ) {}

  private path(scope: string): string {
    return join(this.dir, lockFileName(lockScopeFor(scope, this.cluster)));
  }

  /** Reads the holder of a scope, if any. */
  async inspect(scope: string): Promise<LockHolder | undefined> {
    try {
      return JSON.parse(readFileSync(this.path(scope), 'utf8')) as LockHolder;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      // A torn file (holder died while writing) counts as held by nobody we can name.
      return { user: '?', host: '?', pid: 0, cookbook: '?', runId: '?', since: '?' };
    }
  }

  /** Creates the lock file, taking over a stale one (dead pid on this host). */
  async acquire(scope: string, holder: LockHolder, _options: LockOptions): Promise<LockHandle> {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const path = this.path(scope);
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const fd = openSync(path, 'wx', 0o600);
        try {
          writeSync(fd, JSON.stringify(holder));
        } finally {
          closeSync(fd);
        }
        return this.handle(scope, path, holder);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw new LockError(`cannot create lock file ${path}: ${(err as Error).message}`, { cause: err, context: { scope, path } });
        }
      }
      const current = await this.inspect(scope);
      if (current && current.host === hostname() && current.pid > 0 && !processAlive(current.pid)) {
        // Stale: move it aside atomically so two runs taking over at once cannot both win.
        try {
          renameSync(path, `${path}.stale-${process.pid}`);
          rmSync(`${path}.stale-${process.pid}`, { force: true });
        } catch {
          // Somebody else took it over first; loop and look again.
        }
        continue;
      }
      if (current) {
        throw new LockHeldError(`lock ${scope} is held by ${describeHolder(current)}`, {
          context: { scope, holder: current, path },
          hint: 'wait for that run to finish; if it is gone for good, remove the lock file named in the context',
        });
      }
    }
    throw new LockError(`could not take lock ${scope}: it kept changing hands`, { context: { scope, path } });
  }

  private handle(scope: string, path: string, holder: LockHolder): LockHandle {
    // A file lock is never lost while we live (no renewal), so its signal never aborts.
    return lockHandle(scope, holder, new AbortController().signal, async () => {
      const current = await this.inspect(scope);
      if (current && current.runId === holder.runId) rmSync(path, { force: true });
    });
  }

  /** Nothing to close for files. */
  async close(): Promise<void> {}
}

/**
 * The file lock backend for a cluster (or for cluster-less work when `cluster` is undefined): lock files in
 * `dir`, the cluster's named after its API server, so two inventory names for one cluster share one lock.
 */
export function createFileLockBackend(cluster: ClusterConfig | undefined, dir: string): FileLockBackend {
  return new FileLockBackend(dir, cluster);
}
