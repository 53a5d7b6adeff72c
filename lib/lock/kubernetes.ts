// The default lock for a cluster: a coordination.k8s.io/v1 Lease in the cluster itself, holding the holder's
// identity, renewed while the run lives. A holder that stops renewing (killed, partitioned) loses the lock once
// its lease duration has passed; a renewal that fails for good fires `lost`, and the run stops at its next
// safe point. Every write carries the resourceVersion it read, so two runs can never both win.
import { hostname } from 'node:os';
import type { V1Lease } from '@kubernetes/client-node';
import type { Clock } from '../core/clock.js';
import { systemClock } from '../core/clock.js';
import { LockError, LockHeldError, messageOf } from '../core/errors.js';
import { Gate, isPlanned } from '../core/gate.js';
import { nullLog } from '../core/log.js';
import type { ClusterConfig } from '../inventory/schema.js';
import { KubeConflictError, KubeNotFoundError, type Kube, Kube as KubeClient, kubeFromFile } from '../k8s/index.js';
import { loadKubeConfig } from '../k8s/transport.js';
import { processAlive } from './file.js';
import { CLUSTER_LEASE_NAME, CLUSTER_SCOPE_PREFIX, lockScopeFor } from './identity.js';
import { type LockBackend, type LockHandle, type LockHolder, type LockOptions, describeHolder, lockHandle } from './types.js';

/** Annotation holding the holder as JSON. */
export const HOLDER_ANNOTATION = 'cluster-cookbooks.io/holder';

/** The Lease name for a scope: a DNS-1123 subdomain; the one fixed name for the whole-cluster scope. */
export function leaseName(scope: string): string {
  // The Lease lives in the cluster it locks: whatever an inventory calls the cluster, this is its lock.
  if (scope.startsWith(CLUSTER_SCOPE_PREFIX)) return CLUSTER_LEASE_NAME;
  const clean = scope.toLowerCase().replace(/[^a-z0-9.-]+/g, '-').replace(/^[-.]+|[-.]+$/g, '');
  return `cluster-cookbooks-${clean}`.slice(0, 253);
}

function holderOf(lease: V1Lease | undefined): LockHolder | undefined {
  const raw = lease?.metadata?.annotations?.[HOLDER_ANNOTATION];
  if (!raw) return undefined;
  try {
    return JSON.parse(raw) as LockHolder;
  } catch {
    return undefined;
  }
}

/** True when the lease is held by someone whose renewal has not expired yet. */
export function leaseActive(lease: V1Lease | undefined, now: number): boolean {
  if (!lease?.spec?.holderIdentity) return false;
  const renew = lease.spec.renewTime ? new Date(lease.spec.renewTime).getTime() : 0;
  const duration = (lease.spec.leaseDurationSeconds ?? 0) * 1000;
  return renew + duration > now;
}

/** Lease-based lock backend. */
export class KubernetesLockBackend implements LockBackend {
  readonly name = 'kubernetes' as const;

  /**
   * `cluster`, when given, is the cluster this backend locks: the runner's scope for it (named after the
   * inventory entry) then maps to the cluster's one Lease.
   */
  constructor(
    private readonly kube: Kube,
    private readonly namespace: string,
    private readonly clock: Clock = systemClock,
    private readonly cluster?: Pick<ClusterConfig, 'name' | 'kubernetes'>,
  ) {}

  private leaseOf(scope: string): string {
    return leaseName(lockScopeFor(scope, this.cluster));
  }

  /** The live holder of a scope, if any. */
  async inspect(scope: string): Promise<LockHolder | undefined> {
    const lease = await this.kube.getLease(this.namespace, this.leaseOf(scope));
    return leaseActive(lease, this.clock.now()) ? (holderOf(lease) ?? unknownHolder(lease)) : undefined;
  }

  private body(name: string, holder: LockHolder, ttlMs: number, base?: V1Lease): V1Lease {
    const now = new Date(this.clock.now());
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name,
        namespace: this.namespace,
        resourceVersion: base?.metadata?.resourceVersion,
        labels: { 'app.kubernetes.io/managed-by': 'cluster-cookbooks' },
        annotations: { [HOLDER_ANNOTATION]: JSON.stringify(holder) },
      },
      spec: {
        holderIdentity: `${holder.user}@${holder.host}/${holder.pid}/${holder.runId}`,
        leaseDurationSeconds: Math.max(1, Math.ceil(ttlMs / 1000)),
        acquireTime: base?.spec?.holderIdentity?.endsWith(`/${holder.runId}`) ? base.spec.acquireTime : now,
        renewTime: now,
        leaseTransitions: (base?.spec?.leaseTransitions ?? 0) + (base ? 1 : 0),
      },
    };
  }

  /** Takes the lease: creates it, or takes over an expired or released one; otherwise LockHeldError. */
  async acquire(scope: string, holder: LockHolder, options: LockOptions): Promise<LockHandle> {
    const name = this.leaseOf(scope);
    let lease: V1Lease | undefined;
    for (let attempt = 0; attempt < 3 && !lease; attempt++) {
      const existing = await this.kube.getLease(this.namespace, name);
      if (existing && leaseActive(existing, this.clock.now()) && !holderDeadHere(holderOf(existing))) throw this.held(scope, existing);
      try {
        const r = existing ? await this.kube.replaceLease(this.namespace, this.body(name, holder, options.ttlMs, existing)) : await this.kube.createLease(this.namespace, this.body(name, holder, options.ttlMs));
        if (isPlanned(r)) throw new LockError('the lock backend must not run in dry-run');
        lease = r;
      } catch (err) {
        // Somebody else created or renewed it between our read and our write: look again.
        if (!(err instanceof KubeConflictError)) throw wrap(err, scope);
      }
    }
    if (!lease) throw this.held(scope, await this.kube.getLease(this.namespace, name));
    return this.handle(scope, name, holder, options.ttlMs, lease);
  }

  private held(scope: string, lease: V1Lease | undefined): LockHeldError {
    const h = holderOf(lease) ?? unknownHolder(lease);
    return new LockHeldError(`lock ${scope} is held by ${describeHolder(h)}`, {
      context: { scope, lease: `${this.namespace}/${this.leaseOf(scope)}`, holder: h, renewTime: lease?.spec?.renewTime },
      hint: `wait for that run to finish; a dead holder loses the lock ${lease?.spec?.leaseDurationSeconds ?? '?'}s after its last renewal (Lease ${this.namespace}/${this.leaseOf(scope)})`,
    });
  }

  private handle(scope: string, name: string, holder: LockHolder, ttlMs: number, first: V1Lease): LockHandle {
    const lost = new AbortController();
    let current = first;
    let lastRenew = this.clock.now();
    const renew = async (): Promise<void> => {
      if (handle.released) return;
      try {
        const r = await this.kube.replaceLease(this.namespace, this.body(name, holder, ttlMs, current));
        if (!isPlanned(r)) current = r;
        lastRenew = this.clock.now();
      } catch (err) {
        if (err instanceof KubeConflictError || err instanceof KubeNotFoundError || this.clock.now() - lastRenew >= ttlMs) {
          clearInterval(timer);
          lost.abort(new LockError(`lost lock ${scope}: renewal failed: ${messageOf(err)}`, { cause: err, context: { scope } }));
        }
      }
    };
    const timer = setInterval(() => void renew(), Math.max(200, Math.floor(ttlMs / 3)));
    timer.unref();
    const handle = lockHandle(scope, holder, lost.signal, async () => {
      clearInterval(timer);
      if (lost.signal.aborted) return;
      try {
        await this.kube.deleteLease(this.namespace, name, { uid: current.metadata?.uid });
      } catch (err) {
        if (!(err instanceof KubeConflictError)) throw wrap(err, scope);
      }
    });
    return handle;
  }

  /** Nothing to close. */
  async close(): Promise<void> {}
}

/** A holder on this very host whose process is gone (killed): its lease can be taken over at once. */
function holderDeadHere(h: LockHolder | undefined): boolean {
  return h !== undefined && h.host === hostname() && h.pid > 0 && h.pid !== process.pid && !processAlive(h.pid);
}

function unknownHolder(lease: V1Lease | undefined): LockHolder {
  return { user: '?', host: lease?.spec?.holderIdentity ?? '?', pid: 0, cookbook: '?', runId: '?', since: String(lease?.spec?.acquireTime ?? '?') };
}

function wrap(err: unknown, scope: string): LockError {
  return err instanceof LockError ? err : new LockError(`lock ${scope}: ${messageOf(err)}`, { cause: err, context: { scope } });
}

/**
 * The backend for a cluster: its one Lease (cluster-cookbooks-lock) in `lock.namespace`, through a client of
 * its own (never dry-run).
 */
export async function createKubernetesLockBackend(cluster: ClusterConfig): Promise<LockBackend> {
  const gate = new Gate({ dryRun: false });
  const k = cluster.kubernetes;
  const kube = k.kubeconfig
    ? kubeFromFile(k.kubeconfig, { gate, log: nullLog, context: k.context })
    : new KubeClient(loadKubeConfig({ kubeconfig: process.env.KUBECONFIG, context: k.context }), { gate, log: nullLog });
  return new KubernetesLockBackend(kube, cluster.lock.namespace, systemClock, cluster);
}
