// The parts of the Kubernetes transport that need no client-node: the scope of the API call in progress and
// the mapping of any failure to a typed KubeApiError. ApiException comes from its own module of client-node
// (the same class the package index exports), so the lean path (lean.ts) never loads the whole client.
import { AsyncLocalStorage } from 'node:async_hooks';
import { ApiException } from '@kubernetes/client-node/dist/gen/apis/exception.js';
import { CookbookError, KubernetesError, messageOf } from '../core/errors.js';
import { parseRetryAfter } from '../core/retry.js';
import { KubeAbortedError, KubeApiError, KubeConflictError, KubeNotFoundError, KubeUnreachableError } from './errors.js';

/** What the current API call knows about itself: the signal that cancels it, and the last request it sent. */
export interface RequestScope {
  signal?: AbortSignal;
  /** "METHOD /path" of the last request sent inside this scope (no query string, never a token). */
  last?: string;
}

/** The scope of the API call in progress; the middleware reads it to cancel requests and name them. */
export const requestScope = new AsyncLocalStorage<RequestScope>();

interface StatusBody {
  message?: string;
  reason?: string;
  code?: number;
  details?: { causes?: { message?: string }[] };
}

function parseBody(body: unknown): StatusBody | undefined {
  if (typeof body === 'string') {
    try {
      return JSON.parse(body) as StatusBody;
    } catch {
      return { message: body.slice(0, 300) };
    }
  }
  return body as StatusBody | undefined;
}

const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET']);

/** True when a low-level error says the connection broke mid-request (worth a retry of a safe request). */
export function isConnectionReset(err: unknown): boolean {
  const code = typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : '';
  return RESET_CODES.has(code) || (err instanceof Error && /socket hang up|ECONNRESET|EPIPE/i.test(err.message));
}

function hintFor(status: number): string | undefined {
  if (status === 429) return 'the API server is throttling requests; run again later';
  if (status >= 500) return 'the API server failed; check its health (kubectl get --raw /readyz) and run again';
  if (status === 400 || status === 422) return 'the API server rejected the request as invalid (see the message for the field); check the cluster version';
  return undefined;
}

/**
 * Turns any failure of an API call into a typed error describing `what` was attempted: a KubeApiError (or
 * subclass) with context.request ("METHOD /path" when known) and the original as cause. A cancelled call is
 * KubeAbortedError, except when the run itself was interrupted (InterruptedError and other run-level
 * CookbookErrors pass on as they are, so the runner maps them to their exit codes).
 */
export function toKubeError(err: unknown, what: string, context: Record<string, unknown> = {}, request?: string, signal?: AbortSignal): Error {
  if (err instanceof KubeApiError) return err;
  const ctx = { ...context, request: request ?? what, ...(request && request !== what ? { operation: what } : {}) };
  if (signal?.aborted) {
    const reason: unknown = signal.reason;
    if (reason instanceof CookbookError && !(reason instanceof KubernetesError)) return reason;
    return new KubeAbortedError(`${what}: cancelled: ${messageOf(reason)}`, {
      status: 0,
      context: ctx,
      cause: reason ?? err,
      hint: 'the request was cancelled by a deadline or an interruption; whatever it changed is re-checked on the next run',
    });
  }
  if (err instanceof CookbookError && !(err instanceof KubernetesError)) return err;
  if (err instanceof ApiException) {
    const body = parseBody(err.body);
    const status = err.code;
    const reason = body?.reason;
    const message = `${what}: ${body?.message ?? `HTTP ${status}`}`;
    const headers = (err.headers ?? {}) as Record<string, string>;
    const opts = { status, reason, context: ctx, cause: err, retryAfterMs: parseRetryAfter(headers['retry-after'] ?? headers['Retry-After']) };
    if (status === 404) return new KubeNotFoundError(message, opts);
    if (status === 409) return new KubeConflictError(message, opts);
    if (status === 401 || status === 403) return new KubeApiError(message, { ...opts, hint: 'check the credentials in the kubeconfig and their RBAC permissions' });
    return new KubeApiError(message, { ...opts, hint: hintFor(status) });
  }
  const unreachable = { status: 0, context: ctx, cause: err, hint: 'check the API server address in the kubeconfig and that it is up' };
  if (err instanceof Error && 'code' in err && typeof (err as { code: unknown }).code === 'string') {
    return new KubeUnreachableError(`${what}: cannot reach the API server: ${err.message}`, unreachable);
  }
  if (err instanceof Error && /ECONNREFUSED|ETIMEDOUT|ENOTFOUND|socket hang up|certificate/i.test(err.message)) {
    return new KubeUnreachableError(`${what}: cannot reach the API server: ${err.message}`, unreachable);
  }
  // Anything else client-node throws (a response it could not parse, a bug): still typed, with the request.
  return new KubeApiError(`${what}: ${messageOf(err)}`, { status: 0, context: ctx, cause: err, hint: 'an unexpected failure of the Kubernetes client; the cause says more' });
}
