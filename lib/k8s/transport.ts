// Building client-node API objects that pass through the mutation gate: a promise middleware inspects every
// request before it is sent; a write that is not a server-side dry-run needs the gate's permit. It also
// counts requests, so drains and benches can report how many they made.
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
import { Agent } from 'node:https';
import { assertMayMutate } from '../core/gate.js';
import { registerSecret } from '../core/redact.js';
import { KubeApiError, KubeConflictError, KubeNotFoundError, KubeUnreachableError } from './errors.js';

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

/** Loads a kubeconfig: the inventory's file, else KUBECONFIG, else ~/.kube/config; picks the context. */
export function loadKubeConfig(options: { kubeconfig?: string; context?: string; apiServer?: string }): KubeConfig {
  const kc = new KubeConfig();
  if (options.kubeconfig) kc.loadFromFile(options.kubeconfig);
  else kc.loadFromDefault();
  if (options.context) kc.setCurrentContext(options.context);
  const user = kc.getCurrentUser();
  registerSecret(user?.token);
  registerSecret(user?.password);
  registerSecret(user?.keyData);
  return kc;
}

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
  if (!cluster) throw new KubeApiError('the kubeconfig has no current cluster', { status: 0, hint: 'check kubernetes.kubeconfig / context in the inventory' });
  const counts: Record<string, number> = {};
  const keepAlive = keepAliveMiddleware();
  const gateCheck = {
    pre: async (ctx: RequestContext): Promise<RequestContext> => {
      await keepAlive.pre(ctx);
      const method = String(ctx.getHttpMethod()).toUpperCase();
      counts[method] = (counts[method] ?? 0) + 1;
      const url = ctx.getUrl();
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

/** Turns any client-node failure into a typed KubeApiError describing `what` was attempted. */
export function toKubeError(err: unknown, what: string, context: Record<string, unknown> = {}): Error {
  if (err instanceof KubeApiError) return err;
  if (err instanceof ApiException) {
    const body = parseBody(err.body);
    const status = err.code;
    const reason = body?.reason;
    const message = `${what}: ${body?.message ?? `HTTP ${status}`}`;
    const opts = { status, reason, context: { ...context, request: what }, cause: err };
    if (status === 404) return new KubeNotFoundError(message, opts);
    if (status === 409) return new KubeConflictError(message, opts);
    if (status === 401 || status === 403) return new KubeApiError(message, { ...opts, hint: 'check the credentials in the kubeconfig and their RBAC permissions' });
    return new KubeApiError(message, opts);
  }
  if (err instanceof Error && 'code' in err && typeof (err as { code: unknown }).code === 'string') {
    return new KubeUnreachableError(`${what}: cannot reach the API server: ${err.message}`, {
      status: 0,
      context: { ...context, request: what },
      cause: err,
      hint: 'check the API server address in the kubeconfig and that it is up',
    });
  }
  if (err instanceof Error && /ECONNREFUSED|ETIMEDOUT|ENOTFOUND|socket hang up|certificate/i.test(err.message)) {
    return new KubeUnreachableError(`${what}: cannot reach the API server: ${err.message}`, { status: 0, context: { ...context, request: what }, cause: err });
  }
  return err instanceof Error ? err : new Error(String(err));
}

/** Runs an API call and maps its failure with toKubeError. */
export async function call<T>(what: string, fn: () => Promise<T>, context: Record<string, unknown> = {}): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toKubeError(err, what, context);
  }
}

/** Runs a read that may 404: undefined when the object does not exist. */
export async function readOptional<T>(what: string, fn: () => Promise<T>, context: Record<string, unknown> = {}): Promise<T | undefined> {
  try {
    return await call(what, fn, context);
  } catch (err) {
    if (err instanceof KubeNotFoundError) return undefined;
    throw err;
  }
}
