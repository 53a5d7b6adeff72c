// A lean HTTPS path to the API server for bulk work (thousands of server-side applies in one deploy): plain
// node:https on one kept-alive agent, JSON in and out, no per-request client-node machinery (its fetch
// stack cost more CPU per request than the server took to answer). It keeps the contracts of the gated
// transport (transport.ts): a write that is not a dryRun=All request needs the gate's permit
// (assertMayMutate), requests are counted by method, the call in progress (requestScope) gets its signal and
// its "METHOD /path"; a non-2xx answer is client-node's ApiException with the body and headers, so
// KubeRequester's retries (429/5xx, Retry-After, resets) and toKubeError's typed errors apply unchanged.
// Where it connects comes from a LeanEndpoint: lean-config.ts reads plain kubeconfigs without client-node;
// kubeConfigEndpoint() wraps a client-node KubeConfig (exec plugins, OIDC, proxies) for everything else.
import type { KubeConfig } from '@kubernetes/client-node';
import { ApiException } from '@kubernetes/client-node/dist/gen/apis/exception.js';
import { Agent, type AgentOptions, type RequestOptions, request } from 'node:https';
import { assertMayMutate } from '../core/gate.js';
import { KubeConfigError } from './errors.js';
import type { LeanEndpoint } from './lean-config.js';
import { requestScope } from './scope.js';

/** How a kind is served: its resource (plural) name and whether it is namespaced. */
export interface ServedResource {
  plural: string;
  namespaced: boolean;
}

/** An object's identity, enough to build its URL. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
}

/** One request: the query string parameters (undefined ones left out), a JSON body and its content type. */
export interface LeanRequest {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  /** A 2xx answer's body is not read into an object (bulk writes whose answers nobody looks at): resolves with {}. */
  discardBody?: boolean;
  /** Fails with ETIMEDOUT when no answer came within this many ms (health probes). */
  timeoutMs?: number;
}

/**
 * An agent for one API server with one TLS configuration: its connection pool needs no per-request name (node
 * builds it from the host and every TLS option, CA and client certificate PEMs included, on each request).
 */
class OneServerAgent extends Agent {
  override getName(): string {
    return 'api-server';
  }
}

/** Auth headers are re-read from the kubeconfig this often (exec plugins and OIDC refresh their tokens). */
const AUTH_REFRESH_MS = 30_000;

/** JSON requests to one API server through a kept-alive agent, gated, counted and cancellable. */
export class LeanKubeTransport {
  /** Requests sent so far, by method. */
  readonly counts: Record<string, number> = {};
  private readonly base: URL;
  private agent: Agent | undefined;
  private auth: { headers: Record<string, string>; at: number } | undefined;
  private authPending: Promise<Record<string, string>> | undefined;
  private readonly discovery = new Map<string, Promise<Map<string, ServedResource>>>();

  private readonly endpoint: LeanEndpoint;

  constructor(
    target: KubeConfig | LeanEndpoint,
    private readonly options: { maxSockets?: number; now?: () => number } = {},
  ) {
    this.endpoint = 'connection' in target ? target : kubeConfigEndpoint(target);
    this.base = new URL(this.endpoint.server);
  }

  /** Sends one request; resolves with the parsed JSON body of a 2xx answer, rejects with ApiException otherwise. */
  async request<T>(method: string, path: string, options: LeanRequest = {}): Promise<T> {
    const query = Object.entries(options.query ?? {})
      .filter(([, v]) => v !== undefined && v !== '')
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
      .join('&');
    const basePath = this.base.pathname.replace(/\/$/, '');
    const fullPath = `${basePath}${path}${query ? `?${query}` : ''}`;
    const scope = requestScope.getStore();
    if (scope) scope.last = `${method} ${path}`;
    if (method !== 'GET' && method !== 'HEAD' && options.query?.dryRun !== 'All') assertMayMutate(`${method} ${path}`);
    this.counts[method] = (this.counts[method] ?? 0) + 1;
    const headers: Record<string, string> = { ...(await this.authHeaders()), Accept: 'application/json' };
    const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
    if (payload) {
      headers['Content-Type'] = options.contentType ?? 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    const opts: RequestOptions = {
      protocol: this.base.protocol,
      hostname: this.base.hostname.replace(/^\[|\]$/g, ''),
      port: this.base.port || 443,
      method,
      path: fullPath,
      headers,
      agent: this.agent,
      signal: scope?.signal,
    };
    return new Promise<T>((resolve, reject) => {
      const req = request(opts, (res) => {
        const chunks: Buffer[] = [];
        const status = res.statusCode ?? 0;
        const discard = options.discardBody && status >= 200 && status < 300;
        res.on('data', (c: Buffer) => discard || chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          if (discard) return resolve({} as T);
          const text = Buffer.concat(chunks).toString('utf8');
          if (status >= 200 && status < 300) {
            try {
              resolve((text ? JSON.parse(text) : undefined) as T);
            } catch (err) {
              reject(new ApiException(status, `${method} ${path}: the answer is not JSON: ${(err as Error).message}`, text.slice(0, 300), {}));
            }
            return;
          }
          const hdrs: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) hdrs[k] = Array.isArray(v) ? v.join(', ') : v;
          reject(new ApiException(status, `HTTP-Code: ${status}\nMessage: ${method} ${path}\nBody: ${text.slice(0, 300)}`, text, hdrs));
        });
      });
      req.on('error', reject);
      if (options.timeoutMs) req.setTimeout(options.timeoutMs, () => req.destroy(Object.assign(new Error(`no answer within ${options.timeoutMs} ms`), { code: 'ETIMEDOUT' })));
      req.end(payload);
    });
  }

  /** The resource serving a kind (discovery, cached per apiVersion and asked again once for a kind it lacks: a CRD just established). */
  async resourceFor(apiVersion: string, kind: string): Promise<ServedResource> {
    for (let attempt = 0; attempt < 2; attempt++) {
      if (attempt > 0) this.discovery.delete(apiVersion);
      let served = this.discovery.get(apiVersion);
      if (!served) {
        served = this.discover(apiVersion);
        this.discovery.set(apiVersion, served);
        // A failed discovery is not cached: the next call asks again.
        served.catch(() => this.discovery.delete(apiVersion));
      }
      const found = (await served).get(kind);
      if (found) return found;
    }
    const message = `the server does not have resource type for kind ${kind} in ${apiVersion}`;
    throw new ApiException(404, message, JSON.stringify({ kind: 'Status', status: 'Failure', reason: 'NotFound', code: 404, message }), {});
  }

  /** The URL path of an object (or, with `collection`, of its kind's collection in its namespace, or across all when it has none). */
  async pathOf(ref: ObjectRef, options: { collection?: boolean } = {}): Promise<string> {
    const r = await this.resourceFor(ref.apiVersion, ref.kind);
    const root = ref.apiVersion.includes('/') ? `/apis/${ref.apiVersion}` : `/api/${ref.apiVersion}`;
    const ns = r.namespaced && ref.metadata.namespace ? `/namespaces/${encodeURIComponent(ref.metadata.namespace)}` : '';
    const coll = `${root}${ns}/${r.plural}`;
    return options.collection ? coll : `${coll}/${encodeURIComponent(ref.metadata.name)}`;
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.agent?.destroy();
    this.agent = undefined;
  }

  private async discover(apiVersion: string): Promise<Map<string, ServedResource>> {
    const root = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    let list: { resources?: { name: string; kind: string; namespaced: boolean }[] } | undefined;
    try {
      list = await this.request('GET', root);
    } catch (err) {
      // A group/version the server does not serve at all: no kinds (the caller names the kind it looked for).
      if (!(err instanceof ApiException && err.code === 404)) throw err;
    }
    const out = new Map<string, ServedResource>();
    for (const r of list?.resources ?? []) if (!r.name.includes('/')) out.set(r.kind, { plural: r.name, namespaced: r.namespaced });
    return out;
  }

  /** The endpoint's auth headers (and, once, the TLS settings for our kept-alive agent). */
  private async authHeaders(): Promise<Record<string, string>> {
    const now = (this.options.now ?? Date.now)();
    if (this.auth && now - this.auth.at < AUTH_REFRESH_MS) return { ...this.auth.headers };
    this.authPending ??= (async () => {
      const { headers, tls, agent: own } = await this.endpoint.connection();
      if (!this.agent) {
        // A proxy agent (proxy-url in the kubeconfig) is used as it is; otherwise our own kept-alive one.
        const plain = own === undefined || (own instanceof Agent && own.constructor === Agent);
        this.agent = plain ? new OneServerAgent({ ...tls, keepAlive: true, maxSockets: this.options.maxSockets ?? 32 }) : (own as Agent);
      }
      this.auth = { headers, at: (this.options.now ?? Date.now)() };
      return headers;
    })().finally(() => (this.authPending = undefined));
    return { ...(await this.authPending) };
  }
}

/** A client-node KubeConfig as the lean transport's endpoint (its current cluster; credentials refreshed by client-node). */
export function kubeConfigEndpoint(kc: KubeConfig): LeanEndpoint {
  const cluster = kc.getCurrentCluster();
  if (!cluster) {
    throw new KubeConfigError(`the kubeconfig has no cluster for context "${kc.getCurrentContext() || '(none)'}"`, {
      status: 0,
      context: { kubeContext: kc.getCurrentContext() },
      hint: 'check kubernetes.kubeconfig / context in the inventory',
    });
  }
  return {
    server: cluster.server,
    connection: async () => {
      const opts: RequestOptions = {};
      await kc.applyToHTTPSOptions(opts);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(opts.headers ?? {})) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : String(v);
      if (opts.auth) headers.Authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
      const own = opts.agent;
      const tls: AgentOptions = own instanceof Agent ? own.options : {};
      return { headers, tls, agent: own };
    },
  };
}
