// The etcd lock backend: one key per scope, `/cluster-cookbooks/locks/<scope>`, holding the holder's JSON and
// attached to a lease. The key is written only if it does not exist (a transaction comparing its
// createRevision with 0), so two runs can never both hold it; the lease is kept alive while the run lives and
// a holder that dies stops renewing, so etcd deletes the key once the TTL has passed.
//
// Traps of npm etcd3 (see ../shared/notes/real-servers.md): its own lock() is a try-lock that does not
// exclude `etcdctl lock` holders, and client.close() does not stop a lease's keepalive. So this backend uses
// its own transaction, releases by deleting the key and revoking the lease, and stops every keepalive on
// close().
import { hostname } from 'node:os';
import { Etcd3, type IOptions, type Lease } from 'etcd3';
import type { ClientContext } from '../core/client.js';
import type { ClusterConfig } from '../inventory/schema.js';
import { CookbookError, InputError, LockError, LockHeldError, messageOf } from '../core/errors.js';
import { Gate, assertMayMutate, type OperationTable, isPlanned } from '../core/gate.js';
import { nullLog, type Log } from '../core/log.js';
import { formatMs } from '../core/retry.js';
import { processAlive } from './file.js';
import { lockScopeFor } from './identity.js';
import { describeHolder, type LockBackend, type LockHandle, type LockHolder, type LockOptions } from './types.js';

/** Where lock keys live in etcd. */
export const LOCK_PREFIX = '/cluster-cookbooks/locks/';

/** The etcd key of a lock scope. */
export function lockKey(scope: string): string {
  // Scopes become key suffixes: keep them printable and free of path tricks so keys stay predictable.
  if (!/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,199}$/.test(scope) || scope.split('/').some((p) => p === '..' || p === '.' || p === '')) {
    throw new InputError(`invalid lock scope "${scope}"`, {
      context: { scope },
      hint: 'lock scopes are letters, digits and . _ : - /, like cluster/toolsbeta',
    });
  }
  return LOCK_PREFIX + scope;
}

/** Options of an EtcdLockBackend. */
export interface EtcdLockOptions {
  /** Client URLs of the etcd members, e.g. http://127.0.0.1:2379. */
  endpoints: readonly string[];
  gate: Gate;
  log?: Log;
  /** Deadline for each unary etcd call (not the keepalive stream). */
  requestTimeoutMs?: number;
  /** Extra etcd3 client options (TLS credentials, auth). */
  client?: Partial<IOptions>;
  /** The cluster this backend locks: the runner's scope for it then maps to a key of the cluster's identity. */
  cluster?: Pick<ClusterConfig, 'name' | 'kubernetes'>;
}

/** A lock handle of the etcd backend, with the lease id for diagnostics. */
export interface EtcdLockHandle extends LockHandle {
  /** The etcd lease id (decimal), undefined for a planned (dry-run) handle. */
  readonly leaseId: string | undefined;
  /** True for the handle of a dry-run, which took nothing. */
  readonly planned: boolean;
}

/** The lock backend on etcd (npm etcd3). */
export class EtcdLockBackend implements LockBackend {
  /** Every public method and whether it changes etcd. close() only drops connections: a read. */
  static readonly operations: OperationTable<EtcdLockBackend> = Object.freeze({
    acquire: 'mutate',
    inspect: 'read',
    close: 'read',
  });

  readonly name = 'etcd' as const;
  /** The endpoints this backend talks to. */
  readonly endpoints: readonly string[];
  private readonly client: Etcd3;
  private readonly gate: Gate;
  private readonly log: Log;
  private readonly held = new Set<HeldLock>();
  private readonly cluster: Pick<ClusterConfig, 'name' | 'kubernetes'> | undefined;
  private closed = false;

  constructor(options: EtcdLockOptions) {
    if (options.endpoints.length === 0) {
      throw new LockError('no etcd endpoints for the etcd lock backend', {
        hint: 'set lock.etcdEndpoints (or etcd.endpoints) in the cluster inventory',
      });
    }
    this.endpoints = [...options.endpoints];
    this.gate = options.gate;
    this.log = options.log ?? nullLog;
    this.cluster = options.cluster;
    const timeout = options.requestTimeoutMs ?? 5_000;
    this.client = new Etcd3({
      hosts: [...options.endpoints],
      dialTimeout: timeout,
      // Unary calls get a deadline so an unreachable cluster fails the run instead of hanging it; the
      // keepalive stream must not, or it would be cut every `timeout`.
      defaultCallOptions: (call) => (call.isStream ? {} : { deadline: Date.now() + timeout }),
      ...options.client,
    });
  }

  /**
   * Takes the lock of `scope` for `holder` or throws LockHeldError naming the current holder. In dry-run nothing
   * is written: a held lock still fails (the real run would), a free one returns a planned handle.
   */
  async acquire(scope: string, holder: LockHolder, options: LockOptions): Promise<EtcdLockHandle> {
    this.assertOpen();
    const key = lockKey(lockScopeFor(scope, this.cluster));
    const ttlSeconds = Math.max(1, Math.ceil(options.ttlMs / 1000));
    throwIfAborted(options.signal, scope);
    if (this.gate.dryRun) {
      // Reads run in dry-run: predict the held-lock failure the real run would meet.
      const current = await this.inspect(scope);
      if (current) throw this.heldError(scope, key, current);
    }
    const result = await this.gate.mutate(
      { system: 'lock', target: `etcd:${key}`, action: 'acquire lock', detail: { ttlSeconds, holder, endpoints: this.endpoints } },
      () => this.take(scope, key, holder, ttlSeconds, options.signal),
    );
    if (isPlanned(result)) return plannedHandle(scope, holder);
    return result;
  }

  /** The current holder of `scope`, or undefined when the lock is free. */
  async inspect(scope: string): Promise<LockHolder | undefined> {
    this.assertOpen();
    const key = lockKey(lockScopeFor(scope, this.cluster));
    return this.gate.read(async () => {
      let value: string | null;
      try {
        value = await this.client.get(key).string();
      } catch (err) {
        throw this.backendError(`cannot read lock ${scope} from etcd`, key, err);
      }
      return value === null ? undefined : parseHolder(value);
    });
  }

  /** Releases every lock this backend still holds (delete + revoke), stops keepalives and closes connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    // client.close() alone would leave lease keepalives running and the locks held until the process exits.
    const errors: unknown[] = [];
    for (const lock of [...this.held]) {
      try {
        await lock.handle.release();
      } catch (err) {
        errors.push(err);
        lock.stop();
      }
    }
    this.closed = true;
    this.client.close();
    if (errors.length > 0) {
      throw new LockError(`could not release ${errors.length} etcd lock(s) on close: ${errors.map(messageOf).join('; ')}`, {
        cause: errors[0],
        hint: 'the locks expire by themselves after their TTL',
      });
    }
  }

  private async take(scope: string, key: string, holder: LockHolder, ttlSeconds: number, signal: AbortSignal | undefined): Promise<EtcdLockHandle> {
    assertMayMutate(`etcd grant lease + txn put ${key} if absent`);
    const lease = this.client.lease(ttlSeconds, { autoKeepAlive: true });
    // A 'lost' before we hold the key would otherwise be an unhandled error event.
    const earlyLoss: unknown[] = [];
    const onEarlyLoss = (err: unknown): void => void earlyLoss.push(err);
    lease.on('lost', onEarlyLoss);
    let leaseId: string;
    try {
      leaseId = await lease.grant();
    } catch (err) {
      lease.release();
      throw this.backendError(`cannot grant an etcd lease for lock ${scope}`, key, err);
    }
    let kvLease: string | undefined;
    let existing: string | undefined;
    try {
      throwIfAborted(signal, scope);
      const txn = await this.client
        .if(key, 'Create', '==', 0)
        .then(this.client.put(key).value(JSON.stringify(holder)).lease(leaseId))
        .else(this.client.get(key))
        .commit();
      if (!txn.succeeded) {
        const kv = txn.responses[0]?.response_range?.kvs?.[0];
        kvLease = kv?.lease;
        existing = kv?.value?.toString('utf8');
        const stale = existing !== undefined ? parseHolder(existing) : undefined;
        if (kv && stale && holderDeadHere(stale)) {
          // Its holder was killed on this very host: no need to wait out its TTL. Delete exactly that key
          // version (compare on mod revision) and try once more.
          await this.client.if(key, 'Mod', '==', kv.mod_revision).then(this.client.delete().key(key)).commit();
          const retry = await this.client
            .if(key, 'Create', '==', 0)
            .then(this.client.put(key).value(JSON.stringify(holder)).lease(leaseId))
            .commit();
          if (retry.succeeded) {
            lease.removeListener('lost', onEarlyLoss);
            return this.hold(scope, key, holder, lease, leaseId, ttlSeconds, earlyLoss[0]);
          }
        }
      }
      // etcd3 retries a call whose answer was lost; if our own put landed, the retry sees our key.
      if (txn.succeeded || kvLease === leaseId) {
        lease.removeListener('lost', onEarlyLoss);
        return this.hold(scope, key, holder, lease, leaseId, ttlSeconds, earlyLoss[0]);
      }
    } catch (err) {
      await revokeQuietly(lease);
      throw err instanceof CookbookError ? err : this.backendError(`cannot take lock ${scope} in etcd`, key, err);
    }
    await revokeQuietly(lease);
    // The key vanished between the compare and the read (its holder released): report it as free-but-busy.
    const current = existing !== undefined ? parseHolder(existing) : undefined;
    if (current) throw this.heldError(scope, key, current);
    throw new LockHeldError(`lock ${scope} was taken and released by another run while we tried; try again`, {
      context: { scope, key, backend: 'etcd' },
      hint: 'run the cookbook again',
    });
  }

  private hold(
    scope: string,
    key: string,
    holder: LockHolder,
    lease: Lease,
    leaseId: string,
    ttlSeconds: number,
    alreadyLost: unknown,
  ): EtcdLockHandle {
    const lost = new AbortController();
    const ttlMs = ttlSeconds * 1000;
    let lastRenewal = Date.now();
    let released = false;
    const markLost = (why: string, cause?: unknown): void => {
      if (released || lost.signal.aborted) return;
      this.log.error(`lock ${scope} lost: ${why}`, { scope, key, leaseId });
      lost.abort(
        new LockError(`lock ${scope} lost: ${why}`, {
          cause,
          context: { scope, key, leaseId, backend: 'etcd', endpoints: this.endpoints },
          hint: 'another run may take the lock now; check the cluster state before running again',
        }),
      );
      stop();
    };
    lease.on('keepaliveSucceeded', () => {
      lastRenewal = Date.now();
    });
    lease.on('keepaliveFailed', (err: unknown) => {
      // Not lost yet: the keepalive loop retries, possibly on another member.
      this.log.warn(`lock ${scope}: lease renewal failed, retrying: ${messageOf(err)}`, { scope, leaseId });
    });
    lease.on('lost', (err: unknown) => markLost(`the etcd lease expired or was revoked (${messageOf(err)})`, err));
    // etcd3 reports 'lost' only after 2 x TTL without renewal, but etcd drops the key after 1 x TTL: watch the
    // renewals ourselves so the run stops before another run can take the lock.
    const watchdog = setInterval(() => {
      const silentFor = Date.now() - lastRenewal;
      if (silentFor > ttlMs * 0.9) markLost(`no lease renewal for ${formatMs(silentFor)} (TTL ${ttlSeconds}s)`);
    }, Math.max(100, Math.min(1000, ttlMs / 5)));
    watchdog.unref();
    const stop = (): void => {
      clearInterval(watchdog);
      // Stops the keepalive; the lease then expires on its own if nobody revokes it.
      lease.release();
      this.held.delete(held);
    };
    const handle: EtcdLockHandle = {
      scope,
      holder,
      leaseId,
      planned: false,
      lost: lost.signal,
      release: async () => {
        if (released) return;
        await this.gate.mutate(
          { system: 'lock', target: `etcd:${key}`, action: 'release lock', detail: { leaseId } },
          async () => {
            assertMayMutate(`etcd txn delete ${key} if lease ${leaseId} + revoke lease`);
            try {
              // Delete only our own key: if our lease already expired, someone else's lock may sit there.
              await this.client.if(key, 'Lease', '==', leaseId).then(this.client.delete().key(key)).commit();
              await lease.revoke();
            } catch (err) {
              throw this.backendError(`cannot release lock ${scope} in etcd (it expires by itself within ${ttlSeconds}s)`, key, err);
            }
          },
        );
        released = true;
        stop();
        this.log.info(`released lock ${scope}`, { scope, key });
      },
    };
    const held: HeldLock = { handle, stop };
    this.held.add(held);
    if (alreadyLost !== undefined) markLost(`the etcd lease was lost while taking the lock (${messageOf(alreadyLost)})`, alreadyLost);
    this.log.info(`took lock ${scope} (etcd lease ${leaseId}, TTL ${ttlSeconds}s)`, { scope, key, leaseId });
    return handle;
  }

  private heldError(scope: string, key: string, current: LockHolder): LockHeldError {
    return new LockHeldError(`lock ${scope} is held by ${describeHolder(current)}`, {
      context: { scope, key, holder: current, backend: 'etcd', endpoints: this.endpoints },
      hint: `wait until that run ends; if its process is gone the lock expires after its TTL. To remove it by hand: etcdctl del ${key}`,
    });
  }

  private backendError(message: string, key: string, err: unknown): LockError {
    return new LockError(`${message}: ${messageOf(err)}`, {
      cause: err,
      context: { key, backend: 'etcd', endpoints: this.endpoints },
      hint: 'check that a quorum of the etcd members in the inventory is reachable from this host',
    });
  }

  private assertOpen(): void {
    if (this.closed) throw new LockError('the etcd lock backend is closed', { hint: 'create a new backend' });
  }
}

interface HeldLock {
  handle: EtcdLockHandle;
  stop(): void;
}

/** Builds the etcd lock backend for a client context (lock.etcdEndpoints, else etcd.endpoints), on the context's gate. */
export async function create(ctx: ClientContext): Promise<EtcdLockBackend> {
  const endpoints = ctx.cluster.lock?.etcdEndpoints ?? ctx.cluster.etcd?.endpoints ?? [];
  if (endpoints.length === 0) throw noEndpoints(ctx.cluster);
  return new EtcdLockBackend({ endpoints, gate: ctx.gate, log: ctx.log, cluster: ctx.cluster });
}

/**
 * The backend the runner builds from the inventory alone (lib/runner/clients.ts). The lock belongs to the run,
 * not to the cookbook's plan: the runner only inspects it in dry-run, so this backend has a gate of its own.
 */
export async function createEtcdLockBackend(cluster: ClusterConfig, log?: Log): Promise<EtcdLockBackend> {
  const endpoints = cluster.lock?.etcdEndpoints ?? cluster.etcd?.endpoints ?? [];
  if (endpoints.length === 0) throw noEndpoints(cluster);
  return new EtcdLockBackend({ endpoints, gate: new Gate({ dryRun: false }), log, cluster });
}

function noEndpoints(cluster: ClusterConfig): LockError {
  return new LockError(`cluster ${cluster.name} has no etcd endpoints for the etcd lock backend`, {
    context: { cluster: cluster.name, inventory: cluster.source },
    hint: `set lock.etcdEndpoints in ${cluster.source}`,
  });
}

/** Parses a lock value; a value that is not ours (e.g. written by hand) still names what is there. */
export function parseHolder(value: string): LockHolder {
  try {
    const parsed = JSON.parse(value) as Partial<LockHolder>;
    if (parsed && typeof parsed === 'object' && typeof parsed.user === 'string') {
      return {
        user: parsed.user,
        host: String(parsed.host ?? 'unknown'),
        pid: Number(parsed.pid ?? 0),
        cookbook: String(parsed.cookbook ?? 'unknown'),
        runId: String(parsed.runId ?? ''),
        since: String(parsed.since ?? 'unknown'),
      };
    }
  } catch {
    // not JSON: fall through
  }
  return { user: 'unknown', host: 'unknown', pid: 0, cookbook: `(foreign value ${JSON.stringify(value.slice(0, 60))})`, runId: '', since: 'unknown' };
}

function plannedHandle(scope: string, holder: LockHolder): EtcdLockHandle {
  return {
    scope,
    holder,
    leaseId: undefined,
    planned: true,
    lost: new AbortController().signal,
    release: async () => undefined,
  };
}

/** A holder on this very host whose process is gone (killed with SIGKILL). */
function holderDeadHere(h: LockHolder): boolean {
  return h.host === hostname() && h.pid > 0 && h.pid !== process.pid && !processAlive(h.pid);
}

async function revokeQuietly(lease: Lease): Promise<void> {
  try {
    await lease.revoke();
  } catch {
    // The lease expires by itself after its TTL.
  }
}

function throwIfAborted(signal: AbortSignal | undefined, scope: string): void {
  if (signal?.aborted) {
    throw new LockError(`taking lock ${scope} was interrupted`, { cause: signal.reason, hint: 'run the cookbook again' });
  }
}
