// Building client-node API objects that pass through the mutation gate: a promise middleware inspects every
// request before it is sent; a write that is not a server-side dry-run needs the gate's permit. It also
// counts requests, so drains and benches can report how many they made, hands each request the signal of the
// call in progress (so a deadline cancels it on the wire) and records "METHOD /path" for errors and logs.
import {
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
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'node:https';
import { messageOf } from '../core/errors.js';
import { assertMayMutate } from '../core/gate.js';
import { registerSecret } from '../core/redact.js';
import { KubeConfigError } from './errors.js';
import { requestScope } from './scope.js';

// The request scope and the error mapping live in scope.ts (no client-node there, so the lean path can load
// without it); re-exported for the modules that always found them here.
export { type RequestScope, isConnectionReset, requestScope, toKubeError } from './scope.js';

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

