// The component engine's view of the Kubernetes API: any kind, through lib/k8s's lean JSON path (lean.ts: one
// kept-alive agent, gated like every transport: a write outside the gate fails; dryRun=All requests are let
// through) and its retry policy (429/5xx with Retry-After, connection resets). Server-side apply conflicts are
// named by field and manager. Built as the run's `component` client (create below): a plain kubeconfig is read
// without client-node, so an unchanged deploy never loads it.
import type { KubeConfig } from '@kubernetes/client-node';
import { ApiException } from '@kubernetes/client-node/dist/gen/apis/exception.js';
import type { ClientContext } from '../core/client.js';
import type { Clock } from '../core/clock.js';
import type { Gate, OperationTable, Planned } from '../core/gate.js';
import type { Log } from '../core/log.js';
import { KubeApiError, KubeConflictError, KubeNotFoundError, readyzFailures } from '../k8s/errors.js';
import type { Kube } from '../k8s/index.js';
import { LeanKubeTransport } from '../k8s/lean.js';
import { type LeanEndpoint, leanEndpoint } from '../k8s/lean-config.js';
import { type KubeRetryPolicy, KubeRequester } from '../k8s/requests.js';
import { FieldConflictError, ObjectRejectedError } from './errors.js';
import { FIELD_MANAGER, type KObject, displayName } from './objects.js';

/** Dependencies of the client (the run's gate, log, clock and signal; an optional retry policy). */
export interface ComponentKubeDeps {
  gate: Gate;
  log: Log;
  clock?: Clock;
  signal?: AbortSignal;
  retry?: Partial<KubeRetryPolicy>;
}

/** A 409 conflict of server-side apply: which fields, owned by which managers. */
export interface FieldConflict {
  field: string;
  manager: string;
}

/** Reads the conflicts out of a 409 Status body (details.causes, else the message). */
export function parseConflicts(body: unknown): FieldConflict[] {
  const b = (typeof body === 'string' ? safeJson(body) : body) as { message?: string; details?: { causes?: { type?: string; message?: string; field?: string }[] } } | undefined;
  const out: FieldConflict[] = [];
  for (const c of b?.details?.causes ?? []) {
    const m = /conflict with "([^"]+)"/.exec(c.message ?? '');
    if (c.field || m) out.push({ field: c.field ?? '?', manager: m?.[1] ?? '?' });
  }
  if (out.length === 0 && b?.message) {
    for (const m of b.message.matchAll(/conflict with "([^"]+)"(?: using [^:]+)?: ([^\n,]+)/g)) out.push({ manager: m[1]!, field: m[2]!.trim() });
  }
  return out;
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return { message: s };
  }
}

function bodyOf(err: unknown): unknown {
  let e: unknown = err;
  while (e) {
    if (e instanceof ApiException) return e.body;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Any-kind client for the component engine. */
export class ComponentKube {
  static readonly operations: OperationTable<ComponentKube> = {
    list: 'read',
    read: 'read',
    validate: 'read',
    readyz: 'read',
    requestCount: 'read',
    retryCount: 'read',
    close: 'read',
    apply: 'mutate',
    remove: 'mutate',
  };

  readonly gate: Gate;
  private readonly log: Log;
  private readonly lean: LeanKubeTransport;
  private readonly req: KubeRequester;

  constructor(kc: KubeConfig | LeanEndpoint, deps: ComponentKubeDeps) {
    this.gate = deps.gate;
    this.log = deps.log;
    // As many connections as --concurrency allows (at most 64), so no request waits for a socket.
    this.lean = new LeanKubeTransport(kc, { maxSockets: 64 });
    this.req = new KubeRequester({ log: deps.log, clock: deps.clock, signal: deps.signal, retry: deps.retry });
  }

  /** Requests sent so far. */
  requestCount(): number {
    return Object.values(this.lean.counts).reduce((a, b) => a + b, 0);
  }

  /** Retries of transient failures (429 with Retry-After, 5xx, resets) made so far. */
  retryCount(): number {
    return this.req.retries;
  }

  /** Every object of a kind matching a label selector, across namespaces (or in one), paged. A kind the server does not serve lists as empty. */
  async list(apiVersion: string, kind: string, options: { labelSelector?: string; namespace?: string } = {}): Promise<KObject[]> {
    const out: KObject[] = [];
    let cont: string | undefined;
    try {
      do {
        const page = await this.req.call(`LIST ${kind} ${options.labelSelector ?? ''}`.trim(), async () => {
          const path = await this.lean.pathOf({ apiVersion, kind, metadata: { name: '', namespace: options.namespace } }, { collection: true });
          return this.lean.request<{ items?: KObject[]; metadata?: { continue?: string } }>('GET', path, { query: { labelSelector: options.labelSelector, limit: 500, continue: cont } });
        });
        for (const item of page.items ?? []) out.push({ ...item, apiVersion, kind });
        cont = page.metadata?.continue || undefined;
      } while (cont);
    } catch (err) {
      if (err instanceof KubeNotFoundError) return [];
      throw err;
    }
    return out;
  }

  /** One object, or undefined. */
  async read(obj: KObject): Promise<KObject | undefined> {
    return this.req.readOptional(`GET ${displayName(obj)}`, async () => this.lean.request<KObject>('GET', await this.lean.pathOf(obj)), { context: { object: displayName(obj) } });
  }

  /** Server-side dry-run apply (dryRun=All): resolves when the server accepts the object, else ObjectRejectedError with its message. */
  async validate(obj: KObject, options: { forceConflicts?: boolean; as?: KObject } = {}): Promise<void> {
    try {
      await this.req.call(`dry-run apply ${displayName(obj)}`, () => this.serverSideApply(obj, options.forceConflicts ?? false, true, true), { kind: 'write', context: { object: displayName(obj) } });
    } catch (err) {
      throw this.explain(err, options.as ?? obj, true);
    }
  }

  /** Server-side apply under our field manager; a conflict is a FieldConflictError naming fields and managers. `result: false`: the stored object is not read back (resolves with {}). */
  async apply(obj: KObject, options: { forceConflicts?: boolean; result?: boolean } = {}): Promise<KObject | Planned> {
    return this.gate.mutate({ system: 'k8s', target: displayName(obj), action: 'server-side apply' }, async () => {
      try {
        return await this.req.call(`apply ${displayName(obj)}`, () => this.serverSideApply(obj, options.forceConflicts ?? false, false, options.result === false), { kind: 'write', context: { object: displayName(obj) } });
      } catch (err) {
        throw this.explain(err, obj, false);
      }
    });
  }

  /** Deletes an object (background propagation); absent is fine. */
  async remove(obj: KObject, action = 'delete'): Promise<boolean | Planned> {
    return this.gate.mutate({ system: 'k8s', target: displayName(obj), action }, async () => {
      const r = await this.req.readOptional(`delete ${displayName(obj)}`, async () => (await this.lean.request<unknown>('DELETE', await this.lean.pathOf(obj), { query: { propagationPolicy: 'Background' } })) ?? true, {
        kind: 'write',
        context: { object: displayName(obj) },
      });
      return r !== undefined;
    });
  }

  /** Whether the API server's /readyz answers 200 (within 5 s); a failure is logged at debug level, never thrown. */
  async readyz(): Promise<boolean> {
    try {
      await this.lean.request('GET', '/readyz', { timeoutMs: 5000, discardBody: true });
      return true;
    } catch (err) {
      const e = err as { code?: unknown; body?: unknown; message?: string };
      this.log.debug(`kubernetes: /readyz: ${typeof e.body === 'string' && e.body.trim() ? readyzFailures(e.body) : (e.message ?? String(err))}`, { status: e.code });
      return false;
    }
  }

  /** Closes kept-alive connections. */
  async close(): Promise<void> {
    this.lean.close();
  }

  /** One server-side apply request (JSON is YAML, so the object goes as it is). */
  private async serverSideApply(obj: KObject, force: boolean, dryRun: boolean, discardBody: boolean): Promise<KObject> {
    const path = await this.lean.pathOf(obj);
    return this.lean.request<KObject>('PATCH', path, {
      query: { fieldManager: FIELD_MANAGER, force: force ? 'true' : undefined, dryRun: dryRun ? 'All' : undefined },
      body: obj,
      contentType: 'application/apply-patch+yaml',
      discardBody,
    });
  }

  private explain(err: unknown, obj: KObject, dryRun: boolean): Error {
    const name = displayName(obj);
    if (err instanceof KubeConflictError) {
      const conflicts = parseConflicts(bodyOf(err));
      const what = conflicts.length ? conflicts.map((c) => `${c.field} (owned by ${c.manager})`).join(', ') : err.message;
      return new FieldConflictError(`${name}: server-side apply conflicts with another field manager: ${what}`, {
        context: { object: name, conflicts, request: err.context.request },
        cause: err,
        hint: 'another tool changed these fields; make the repository agree, or take them over with --force-conflicts',
      });
    }
    if (dryRun && err instanceof KubeApiError && (err.status === 400 || err.status === 422 || err.status === 403 || err.status === 404)) {
      const body = bodyOf(err) as { message?: string } | string | undefined;
      const message = typeof body === 'string' ? (safeJson(body) as { message?: string }).message : body?.message;
      return new ObjectRejectedError(`the API server rejects ${name}: ${message ?? err.message}`, {
        context: { object: name, status: err.status, request: err.context.request },
        cause: err,
        hint: 'fix the manifest (nothing was written)',
      });
    }
    return err as Error;
  }
}

/**
 * The run's `component` client (lib/runner/clients.ts): the cluster's kubeconfig through the lean reader when it
 * holds plain credentials, else the Kubernetes client's own (client-node) KubeConfig, as `k8s` loads it.
 */
export async function create(ctx: ClientContext, k8s: () => Promise<Kube>): Promise<ComponentKube> {
  const k = ctx.cluster.kubernetes;
  const target = leanEndpoint({ kubeconfig: k.kubeconfig, context: k.context }) ?? (await k8s()).kubeConfig;
  return new ComponentKube(target, { gate: ctx.gate, log: ctx.log, clock: ctx.clock, signal: ctx.signal });
}
