// The component engine's view of the Kubernetes API: any kind, through client-node's KubernetesObjectApi on
// lib/k8s's gated transport (a write outside the gate fails; dryRun=All requests are let through) and its
// retry policy (429/5xx with Retry-After, connection resets). Server-side apply conflicts are named by field
// and manager.
import { ApiException, type Configuration, type KubeConfig, type KubernetesObject, KubernetesObjectApi, PatchStrategy, type ResponseContext } from '@kubernetes/client-node';
import type { Clock } from '../core/clock.js';
import type { Gate, OperationTable, Planned } from '../core/gate.js';
import type { Log } from '../core/log.js';
import { KubeApiError, KubeConflictError, KubeNotFoundError } from '../k8s/errors.js';
import { type KubeRetryPolicy, KubeRequester } from '../k8s/requests.js';
import { type KubeApis, makeApis } from '../k8s/transport.js';
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

/**
 * client-node deserializes the list of a kind it has no model for (a custom resource) as a plain object and
 * drops metadata.continue, which ends paging after the first page; lists read here keep their wire form.
 */
class WireListApi extends KubernetesObjectApi {
  protected override async processResponse<T extends KubernetesObject>(response: ResponseContext, type?: string): Promise<T> {
    if (response.httpStatusCode >= 200 && response.httpStatusCode <= 299) return JSON.parse(await response.body.text()) as T;
    return super.processResponse<T>(response, type);
  }
}

/** Any-kind client for the component engine. */
export class ComponentKube {
  static readonly operations: OperationTable<ComponentKube> = {
    list: 'read',
    read: 'read',
    validate: 'read',
    requestCount: 'read',
    retryCount: 'read',
    close: 'read',
    apply: 'mutate',
    remove: 'mutate',
  };

  readonly gate: Gate;
  private readonly apis: KubeApis;
  private readonly req: KubeRequester;
  private readonly lists: WireListApi;

  constructor(kc: KubeConfig, deps: ComponentKubeDeps) {
    this.gate = deps.gate;
    this.apis = makeApis(kc);
    // The same configuration (so the same gated, counting middleware) as every other call.
    this.lists = new WireListApi((this.apis.objects as unknown as { configuration: Configuration }).configuration);
    this.req = new KubeRequester({ log: deps.log, clock: deps.clock, signal: deps.signal, retry: deps.retry });
  }

  /** Requests sent so far. */
  requestCount(): number {
    return Object.values(this.apis.counts).reduce((a, b) => a + b, 0);
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
        const page = await this.req.call(`LIST ${kind} ${options.labelSelector ?? ''}`.trim(), () =>
          this.lists.list(apiVersion, kind, options.namespace, undefined, undefined, undefined, undefined, options.labelSelector, 500, cont),
        );
        for (const item of page.items) out.push({ ...(item as unknown as KObject), apiVersion, kind });
        const meta = page.metadata as { _continue?: string; continue?: string } | undefined;
        cont = meta?._continue || meta?.continue || undefined;
      } while (cont);
    } catch (err) {
      if (err instanceof KubeNotFoundError || /Unrecognized API version and kind|does not have resource/i.test((err as Error).message)) return [];
      throw err;
    }
    return out;
  }

  /** One object, or undefined. */
  async read(obj: KObject): Promise<KObject | undefined> {
    return (await this.req.readOptional(`GET ${displayName(obj)}`, () => this.apis.objects.read({ apiVersion: obj.apiVersion, kind: obj.kind, metadata: { name: obj.metadata.name, namespace: obj.metadata.namespace } }), {
      context: { object: displayName(obj) },
    })) as KObject | undefined;
  }

  /** Server-side dry-run apply (dryRun=All): what the server would store, or ObjectRejectedError with its message. */
  async validate(obj: KObject, options: { forceConflicts?: boolean; as?: KObject } = {}): Promise<KObject> {
    try {
      return (await this.req.call(`dry-run apply ${displayName(obj)}`, () => this.apis.objects.patch(obj as KubernetesObject, undefined, 'All', FIELD_MANAGER, options.forceConflicts ?? false, PatchStrategy.ServerSideApply), {
        kind: 'write',
        context: { object: displayName(obj) },
      })) as KObject;
    } catch (err) {
      throw this.explain(err, options.as ?? obj, true);
    }
  }

  /** Server-side apply under our field manager; a conflict is a FieldConflictError naming fields and managers. */
  async apply(obj: KObject, options: { forceConflicts?: boolean } = {}): Promise<KObject | Planned> {
    return this.gate.mutate({ system: 'k8s', target: displayName(obj), action: 'server-side apply' }, async () => {
      try {
        return (await this.req.call(`apply ${displayName(obj)}`, () => this.apis.objects.patch(obj as KubernetesObject, undefined, undefined, FIELD_MANAGER, options.forceConflicts ?? false, PatchStrategy.ServerSideApply), {
          kind: 'write',
          context: { object: displayName(obj) },
        })) as KObject;
      } catch (err) {
        throw this.explain(err, obj, false);
      }
    });
  }

  /** Deletes an object (background propagation); absent is fine. */
  async remove(obj: KObject, action = 'delete'): Promise<boolean | Planned> {
    return this.gate.mutate({ system: 'k8s', target: displayName(obj), action }, async () => {
      const r = await this.req.readOptional(`delete ${displayName(obj)}`, () => this.apis.objects.delete({ apiVersion: obj.apiVersion, kind: obj.kind, metadata: { name: obj.metadata.name, namespace: obj.metadata.namespace } }, undefined, undefined, undefined, undefined, 'Background'), {
        kind: 'write',
        context: { object: displayName(obj) },
      });
      return r !== undefined;
    });
  }

  /** Closes kept-alive connections. */
  async close(): Promise<void> {
    this.apis.close();
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
