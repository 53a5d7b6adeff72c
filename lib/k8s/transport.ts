// Building client-node API objects that pass through the mutation gate: a promise middleware inspects every
// request before it is sent; a write that is not a server-side dry-run needs the gate's permit. It also
// counts requests, so drains and benches can report how many they made, hands each request the signal of the
// call in progress (so a deadline cancels it on the wire) and records "METHOD /path" for errors and logs.
import {
  ApiException,
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  PolicyV1Api,
  ServerConfiguration,
  createConfiguration,
  type RequestContext,
  type ResponseContext,
} from '@kubernetes/client-node';
import { AsyncLocalStorage } from 'node:async_hooks';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'node:https';
import { CookbookError, KubernetesError, messageOf } from '../core/errors.js';
import { assertMayMutate } from '../core/gate.js';
import { registerSecret } from '../core/redact.js';
import { parseRetryAfter } from '../core/retry.js';
import { KubeAbortedError, KubeApiError, KubeConfigError, KubeConflictError, KubeNotFoundError, KubeUnreachableError } from './errors.js';

/** The typed API groups we use, all sharing one gated configuration. */
export interface KubeApis {
  kc: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  policy: PolicyV1Api;
  coordination: CoordinationV1Api;
  objects: KubernetesObjectApi;
  /** Requests sent so far, by method. */
  counts: Record<string, number>;
  /** Closes the kept-alive connections. */
  close(): void;
}

/** Which kubeconfig file(s) a client would read: the inventory's, else KUBECONFIG, else ~/.kube/config. */
export function kubeconfigSource(kubeconfig?: string): string {
  return kubeconfig || process.env.KUBECONFIG || join(homedir(), '.kube', 'config');
}

/**
 * Loads a kubeconfig: the inventory's file, else KUBECONFIG, else ~/.kube/config; picks the context. A context
 * (asked for or current) that the file does not define, or that names a missing cluster, is a KubeConfigError
 * naming the context and the file: client-node would only say "no current cluster" at the first request.
 */
export function loadKubeConfig(options: { kubeconfig?: string; context?: string; apiServer?: string }): KubeConfig {
  const kc = new KubeConfig();
  const file = kubeconfigSource(options.kubeconfig);
  try {
    if (options.kubeconfig) kc.loadFromFile(options.kubeconfig);
    else kc.loadFromDefault();
  } catch (err) {
    throw new KubeConfigError(`cannot read the kubeconfig ${file}: ${messageOf(err)}`, {
      status: 0,
      context: { kubeconfig: file },
      cause: err,
      hint: 'check kubernetes.kubeconfig in the inventory or KUBECONFIG',
    });
  }
  if (options.context) kc.setCurrentContext(options.context);
  checkContext(kc, file, options.context !== undefined);
  const user = kc.getCurrentUser();
  registerSecret(user?.token);
  registerSecret(user?.password);
  registerSecret(user?.keyData);
  return kc;
}

function checkContext(kc: KubeConfig, file: string, asked: boolean): void {
  const name = kc.getCurrentContext();
  const known = kc.getContexts().map((c) => c.name);
  const hint = `contexts in ${file}: ${known.join(', ') || '(none)'}; set kubernetes.context in the inventory, or current-context in the file`;
  if (!name) {
    throw new KubeConfigError(`the kubeconfig ${file} has no current-context and none was given`, { status: 0, context: { kubeconfig: file, contexts: known }, hint });
  }
  const ctx = kc.getContextObject(name);
  if (!ctx) {
    throw new KubeConfigError(`the kubeconfig ${file} has no context "${name}"${asked ? ' (asked for in the inventory)' : ' (its current-context)'}`, {
      status: 0,
      context: { kubeconfig: file, kubeContext: name, contexts: known },
      hint,
    });
  }
  if (!kc.getCluster(ctx.cluster)) {
    throw new KubeConfigError(`context "${name}" of the kubeconfig ${file} names cluster "${ctx.cluster}", which the file does not define`, {
      status: 0,
      context: { kubeconfig: file, kubeContext: name, cluster: ctx.cluster, clusters: kc.getClusters().map((c) => c.name) },
      hint: 'fix the kubeconfig (kubectl config get-clusters / get-contexts)',
    });
  }
}

/** What the current API call knows about itself: the signal that cancels it, and the last request it sent. */
export interface RequestScope {
  signal?: AbortSignal;
  /** "METHOD /path" of the last request sent inside this scope (no query string, never a token). */
  last?: string;
}

/** The scope of the API call in progress; the middleware reads it to cancel requests and name them. */
export const requestScope = new AsyncLocalStorage<RequestScope>();

/**
 * client-node builds a new agent (a new TLS handshake) for every request; this middleware swaps in one
 * kept-alive agent with the same TLS settings, so a drain's hundred evictions share a few connections.
 */
export function keepAliveMiddleware(maxSockets = 32): { pre(ctx: RequestContext): Promise<RequestContext>; post(ctx: ResponseContext): Promise<ResponseContext>; close(): void } {
  let shared: Agent | undefined;
  return {
    pre: async (ctx) => {
      const own = ctx.getAgent();
      if (own instanceof Agent) {
        shared ??= new Agent({ ...own.options, keepAlive: true, maxSockets });
        ctx.setAgent(shared);
      }
      return ctx;
    },
    post: async (ctx) => ctx,
    close: () => shared?.destroy(),
  };
}

/** Builds the API objects for a kubeconfig, with the gate check and request counting. */
export function makeApis(kc: KubeConfig): KubeApis {
  const cluster = kc.getCurrentCluster();
  if (!cluster) {
    const name = kc.getCurrentContext();
    throw new KubeConfigError(`the kubeconfig has no cluster for context "${name || '(none)'}"`, {
      status: 0,
      context: { kubeContext: name, contexts: kc.getContexts().map((c) => c.name) },
      hint: 'check kubernetes.kubeconfig / context in the inventory',
    });
  }
  const counts: Record<string, number> = {};
  const keepAlive = keepAliveMiddleware();
  const gateCheck = {
    pre: async (ctx: RequestContext): Promise<RequestContext> => {
      await keepAlive.pre(ctx);
      const method = String(ctx.getHttpMethod()).toUpperCase();
      counts[method] = (counts[method] ?? 0) + 1;
      const url = ctx.getUrl();
      const scope = requestScope.getStore();
      if (scope) {
        scope.last = `${method} ${new URL(url).pathname}`;
        if (scope.signal) ctx.setSignal(scope.signal);
      }
      if (method !== 'GET' && method !== 'HEAD' && !/[?&]dryRun=All\b/.test(url)) {
        assertMayMutate(`${method} ${new URL(url).pathname}`);
      }
      return ctx;
    },
    post: async (ctx: ResponseContext): Promise<ResponseContext> => ctx,
  };
  const config = createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    authMethods: { default: kc },
    promiseMiddleware: [gateCheck],
  });
  return {
    kc,
    core: new CoreV1Api(config),
    apps: new AppsV1Api(config),
    policy: new PolicyV1Api(config),
    coordination: new CoordinationV1Api(config),
    objects: new KubernetesObjectApi(config),
    counts,
    close: () => keepAlive.close(),
  };
}

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
