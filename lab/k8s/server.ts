// The HTTPS front of the lab API: bearer-token auth, fault injection, counters, URL routing to the object API,
// lists/watches with selectors and paging, subresources (status, scale, eviction, binding, log), discovery,
// OpenAPI, health endpoints (with the k8sReadyzFailRate fault), and Status bodies for every error.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { LabFaults, World } from '../world.js';
import { apiGroup, apiGroupList, apiResourceList, apiVersions, openApiV2Doc, openApiV3Doc, openApiV3Root, versionInfo } from './discovery.js';
import { ApiError, badRequest, internalError, methodNotAllowed, notFound, tooManyRequests } from './errors.js';
import { InflightLimiter, deleteOptionsOf, dryRunOf, managerFromAgent, parseJson, selectorText } from './requests.js';
import { evictPod, evictionSuccess } from './eviction.js';
import type { DisruptionController } from './controllers/disruption.js';
import { jsonPatch, mergePatch } from './patch.js';
import { apiVersionOf, qualifiedName } from './resources.js';
import { type NodeHealth, type Route, healthAnswer, isPublicPath, routeOf } from './routing.js';
import type { ObjectApi, WriteOptions } from './rest.js';
import { parseFieldSelector, parseLabelSelector } from './selectors.js';
import { toTable, wantsTable } from './table.js';
import { clone, type KObject } from './types.js';
import { WatchStream } from './watch.js';

/** What the server needs from its owner. */
export interface ServerDeps {
  world: World;
  api: ObjectApi;
  disruption: DisruptionController;
  token: string;
  certPem: string;
  keyPem: string;
  /** Interval of watch bookmarks (real ms). */
  bookmarkIntervalMs: number;
  /** Limits of requests in flight (0: none), as the apiserver's defaults: 400 read-only, 200 mutating. */
  maxInflight: number;
  maxMutatingInflight: number;
  /** Binds a pod to a node (the binding subresource). */
  bind: (ns: string, name: string, node: string, opts: WriteOptions) => KObject;
  /** The versions of the API servers behind the endpoint (one per running control node); none: the cluster's. */
  apiserverVersions?: () => string[];
  /**
   * The state of the one control node this server stands for (per-node endpoints): a failing check makes
   * /readyz, /livez and /healthz answer 500 naming it, as a real apiserver does while it starts.
   */
  nodeHealth?: () => NodeHealth;
}

const MAX_BODY = 16 * 1024 * 1024;

/** The lab API's HTTPS server. */
export class KubeServer {
  private server: Server | undefined;
  private readonly watches = new Set<WatchStream>();
  private readonly sockets = new Set<Socket>();
  /** Pod lists/watches seen since the k8sPodListFailAfter fault was (re)set. */
  private podLists = { faults: undefined as LabFaults | undefined, seen: 0 };
  private address = '';
  /** Requests being served now (long-running ones excepted), with the apiserver's max-in-flight limits. */
  private readonly inflight: InflightLimiter;

  /**
   * The version the API server answering this request runs: the endpoint stands for a load balancer in front of
   * every control node's API server (round robin), so during an upgrade `/version` answers old and new.
   */
  private nextApiserverVersion(): string {
    const versions = this.d.apiserverVersions?.() ?? [];
    if (versions.length === 0) return this.d.world.kubernetesVersion;
    return versions[this.versionTurn++ % versions.length]!;
  }
  private versionTurn = 0;

  constructor(private readonly d: ServerDeps) {
    this.inflight = new InflightLimiter(d.maxInflight, d.maxMutatingInflight, () => d.world.counters);
  }

  /** Starts listening on `host` (a 127.x address, default 127.0.0.1); returns the port. */
  async listen(port = 0, host = '127.0.0.1'): Promise<number> {
    const server = createServer({ cert: this.d.certPem, key: this.d.keyPem, keepAlive: true }, (req, res) => {
      this.handle(req, res).catch((e) => {
        try {
          this.sendError(res, e instanceof ApiError ? e : internalError((e as Error).message ?? String(e)));
        } catch {
          res.destroy();
        }
      });
    });
    server.keepAliveTimeout = 30_000;
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    server.on('secureConnection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port, host, exclusive: true }, () => resolve());
    });
    this.server = server;
    const p = (server.address() as AddressInfo).port;
    this.address = `${host}:${p}`;
    return p;
  }

  /** Cuts every connection still open (a graceful close that must end now). */
  abortConnections(): void {
    for (const s of this.sockets) s.destroy();
  }

  /** Serves another certificate from now on (new handshakes); open connections keep the one they negotiated. */
  setCertificate(certPem: string, keyPem: string): void {
    this.server?.setSecureContext({ cert: certPem, key: keyPem });
  }

  /** Closes every watch and the listener; connections at once, or after their requests (within `graceMs`). */
  async close(options: { graceMs?: number } = {}): Promise<void> {
    for (const w of [...this.watches]) w.close();
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      if (!options.graceMs) {
        for (const s of this.sockets) s.destroy();
        return;
      }
      // A graceful shutdown (an apiserver told to stop, not a machine going away): no new connections, idle
      // keep-alive ones closed, requests in flight answered; whatever is still open after graceMs is cut.
      server.closeIdleConnections();
      const timer = setTimeout(() => {
        for (const s of this.sockets) s.destroy();
      }, options.graceMs);
      timer.unref();
    });
  }

  private count(bytes: number): void {
    this.d.world.counters.bytes.k8s += bytes;
  }

  private send(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    const buf = Buffer.from(text);
    this.count(buf.length);
    res.writeHead(code, { 'Content-Type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json', 'Content-Length': String(buf.length), ...headers });
    res.end(buf);
  }

  private sendError(res: ServerResponse, e: ApiError): void {
    const headers: Record<string, string> = {};
    if (e.retryAfter) headers['Retry-After'] = String(e.retryAfter);
    this.send(res, e.code, e.toStatus(), headers);
  }

  private async readBody(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > MAX_BODY) throw new ApiError(413, 'RequestEntityTooLarge', 'the request body is too large');
      chunks.push(c as Buffer);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const w = this.d.world;
    const url = new URL(req.url ?? '/', 'https://lab');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const q = url.searchParams;
    const method = (req.method ?? 'GET').toUpperCase();
    const health = isPublicPath(path);
    // A load balancer's health checks of a node's own endpoint (every 500 ms) are not client requests.
    if (!(health && this.d.nodeHealth)) w.counters.requests.k8s++;

    if (health) {
      if (path.startsWith('/version')) return this.send(res, 200, versionInfo(this.nextApiserverVersion()));
      const a = await healthAnswer(w, path, q.has('verbose'), this.d.nodeHealth?.());
      return this.send(res, a.code, a.body, a.headers);
    }
    const auth = req.headers.authorization ?? '';
    if (auth !== `Bearer ${this.d.token}`) {
      return this.send(res, 401, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
    }

    // Discovery and OpenAPI.
    if (path === '/api') return this.send(res, 200, apiVersions(this.address));
    if (path === '/apis') return this.send(res, 200, apiGroupList(this.d.api.store.registry));
    if (path === '/openapi/v3') return this.send(res, 200, openApiV3Root(this.d.api.store.registry, w.kubernetesVersion));
    if (path.startsWith('/openapi/v3/')) {
      const doc = openApiV3Doc(this.d.api.store.registry, path.slice('/openapi/v3/'.length), w.kubernetesVersion);
      return doc ? this.send(res, 200, doc) : this.send(res, 404, '404 page not found\n');
    }
    if (path === '/openapi/v2') return this.send(res, 200, openApiV2Doc(w.kubernetesVersion));
    const segs = path.split('/').filter(Boolean).map(decodeURIComponent);
    if (segs[0] === 'apis' && segs.length === 2) {
      const g = apiGroup(this.d.api.store.registry, segs[1]!);
      return g ? this.send(res, 200, g) : this.send(res, 404, '404 page not found\n');
    }
    if ((segs[0] === 'api' && segs.length === 2) || (segs[0] === 'apis' && segs.length === 3)) {
      const group = segs[0] === 'api' ? '' : segs[1]!;
      const version = segs[segs.length - 1]!;
      const doc = apiResourceList(this.d.api.store.registry, group, version);
      return doc ? this.send(res, 200, doc) : this.send(res, 404, '404 page not found\n');
    }
    const route = routeOf(this.d.api.store.registry, segs);
    if (!route) return this.send(res, 404, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'the server could not find the requested resource', reason: 'NotFound', details: {}, code: 404 });

    // Max-in-flight, as the apiserver's --max-requests-inflight / --max-mutating-requests-inflight: requests
    // beyond the limit are answered 429 with Retry-After; long-running ones (watches, logs) do not count.
    const longRunning = route.sub === 'log' || (method === 'GET' && (route.watchPath || q.get('watch') === 'true' || q.get('watch') === '1'));
    if (!longRunning) this.inflight.enter(res, method !== 'GET');

    // Injected faults, read on every request so they can change at run time.
    const f = w.faults;
    const errRate = f.k8sErrorRate ?? 0;
    const tmrRate = f.k8s429Rate ?? 0;
    if (errRate > 0 || tmrRate > 0) {
      const r = w.random();
      if (r < errRate) throw internalError('the lab injected a server error (k8sErrorRate)', 1);
      if (r < errRate + tmrRate) throw tooManyRequests('Too many requests, please try again later.', 1);
    }
    if (f.k8sPodListFailAfter !== undefined && method === 'GET' && route.spec.kind === 'Pod' && route.name === undefined) {
      if (this.podLists.faults !== f) this.podLists = { faults: f, seen: 0 };
      if (++this.podLists.seen > f.k8sPodListFailAfter) throw internalError('the lab injected a server error on pod lists (k8sPodListFailAfter)');
    }

    const dryRunParam = q.getAll('dryRun');
    if (dryRunParam.some((v) => v !== 'All')) throw badRequest(`Invalid dry run argument: ${dryRunParam.join(',')}: the only supported value is "All"`);
    const opts: WriteOptions = {
      dryRun: dryRunParam.includes('All'),
      manager: q.get('fieldManager') ?? managerFromAgent(req.headers['user-agent']),
    };
    if (route.sub) opts.subresource = route.sub;
    const result = await this.dispatch(req, res, route, method, q, opts);
    if (result === undefined) return; // streamed (watch, log)
    if (['POST', 'PUT', 'PATCH', 'DELETE'].includes(method) && result.code < 300 && !opts.dryRun) w.counters.k8s_mutations++;
    this.send(res, result.code, result.body);
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse, r: Route, method: string, q: URLSearchParams, opts: WriteOptions): Promise<{ code: number; body: unknown } | undefined> {
    const api = this.d.api;
    const spec = r.spec;
    const ns = r.namespace;
    if (r.sub && !(spec.subresources ?? []).includes(r.sub)) throw notFound(spec, `${r.name}/${r.sub}`);
    if (r.name === undefined) {
      if (method === 'GET') {
        const isWatch = r.watchPath || q.get('watch') === 'true' || q.get('watch') === '1';
        if (isWatch) {
          this.startWatch(res, r, q);
          return undefined;
        }
        return { code: 200, body: this.list(req, r, q) };
      }
      if (method === 'POST') {
        if (spec.namespaced && ns === undefined) throw methodNotAllowed('POST on a namespaced resource needs a namespace');
        const body = parseJson(await this.readBody(req));
        const obj = api.create(spec, ns, body, opts);
        return { code: 201, body: obj };
      }
      if (method === 'DELETE') {
        const body = await this.readBody(req);
        const delOpts = deleteOptionsOf(body, q);
        if (dryRunOf(delOpts)) opts.dryRun = true;
        const labels = parseLabelSelector(q.get('labelSelector'));
        const fields = parseFieldSelector(q.get('fieldSelector'), spec.kind);
        const page = api.store.list(spec, { namespace: ns, labels, fields });
        const items: KObject[] = [];
        for (const o of page.items) {
          try {
            items.push(api.delete(spec, o.metadata.namespace, o.metadata.name, delOpts, opts).object);
          } catch (e) {
            if (!(e instanceof ApiError && e.code === 404)) throw e;
          }
        }
        return { code: 200, body: { kind: `${spec.kind}List`, apiVersion: apiVersionOf(spec), metadata: { resourceVersion: String(api.store.currentRv()) }, items } };
      }
      throw methodNotAllowed(method);
    }
    const name = r.name;
    if (spec.namespaced && ns === undefined) throw notFound(spec, name);
    switch (r.sub) {
      case 'eviction': {
        if (method !== 'POST') throw methodNotAllowed(method);
        const body = parseJson(await this.readBody(req));
        const delay = this.d.world.faults.slowEvictionMs ?? 0;
        if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
        evictPod(api, this.d.disruption, ns!, name, body, opts);
        return { code: 201, body: evictionSuccess };
      }
      case 'binding': {
        if (method !== 'POST') throw methodNotAllowed(method);
        const body = parseJson(await this.readBody(req)) as KObject;
        const target = body?.target?.name;
        if (!target) throw badRequest('binding: target.name is required');
        this.d.bind(ns!, name, target, opts);
        return { code: 201, body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 } };
      }
      case 'log': {
        const pod = api.get(spec, ns, name);
        const text = `lab: pod ${pod.metadata.namespace}/${pod.metadata.name} on ${pod.spec?.nodeName ?? '<none>'} (${pod.status?.phase ?? 'Pending'})\n`;
        this.send(res, 200, text);
        return undefined;
      }
      case 'scale':
        return this.scale(req, r, method, opts);
      case 'finalize': {
        if (method !== 'PUT') throw methodNotAllowed(method);
        const body = parseJson(await this.readBody(req)) as KObject;
        const obj = api.mutate(spec, ns, name, (o) => {
          o.spec = { ...(o.spec ?? {}), finalizers: body?.spec?.finalizers ?? [] };
        });
        if (!obj) throw notFound(spec, name);
        return { code: 200, body: obj };
      }
    }
    switch (method) {
      case 'GET': {
        const obj = api.get(spec, ns, name);
        if (wantsTable(req.headers.accept)) return { code: 200, body: toTable(spec.kind, [obj], { resourceVersion: obj.metadata.resourceVersion }, q.get('includeObject')) };
        return { code: 200, body: obj };
      }
      case 'PUT': {
        const body = parseJson(await this.readBody(req));
        return { code: 200, body: api.update(spec, ns, name, body, opts) };
      }
      case 'PATCH': {
        const body = await this.readBody(req);
        const force = q.get('force') === 'true';
        const out = api.patch(spec, ns, name, req.headers['content-type'] ?? '', body, { ...opts, force });
        return { code: out.created ? 201 : 200, body: out.object };
      }
      case 'DELETE': {
        const body = await this.readBody(req);
        const delOpts = deleteOptionsOf(body, q);
        if (dryRunOf(delOpts)) opts.dryRun = true;
        const out = api.delete(spec, ns, name, delOpts, opts);
        if (!out.gone || spec.kind === 'Pod' || spec.kind === 'Service' || spec.kind === 'Namespace') return { code: 200, body: out.object };
        const details: Record<string, string> = { name, kind: spec.plural, uid: out.object.metadata.uid ?? '' };
        if (spec.group) details.group = spec.group;
        return { code: 200, body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details } };
      }
      default:
        throw methodNotAllowed(method);
    }
  }

  private list(req: IncomingMessage, r: Route, q: URLSearchParams): unknown {
    const spec = r.spec;
    const labels = parseLabelSelector(q.get('labelSelector'));
    const fields = parseFieldSelector(q.get('fieldSelector'), spec.kind);
    const limitText = q.get('limit');
    const limit = limitText ? Number(limitText) : undefined;
    if (limitText && (!Number.isInteger(limit) || limit! < 0)) throw badRequest(`invalid limit: ${limitText}`);
    const page = this.d.api.store.list(spec, { namespace: r.namespace, labels, fields, limit, continueToken: q.get('continue') ?? undefined });
    const meta: Record<string, unknown> = { resourceVersion: page.resourceVersion };
    if (page.continueToken) meta.continue = page.continueToken;
    if (page.remainingItemCount !== undefined) meta.remainingItemCount = page.remainingItemCount;
    if (wantsTable(req.headers.accept)) return toTable(spec.kind, page.items, meta, q.get('includeObject'));
    return { kind: `${spec.kind}List`, apiVersion: apiVersionOf(spec), metadata: meta, items: page.items };
  }

  private startWatch(res: ServerResponse, r: Route, q: URLSearchParams): void {
    const labels = parseLabelSelector(q.get('labelSelector'));
    const fields = parseFieldSelector(q.get('fieldSelector'), r.spec.kind);
    if (r.watchPath && r.name) fields.push({ field: 'metadata.name', op: 'eq', value: r.name });
    const timeout = q.get('timeoutSeconds');
    const stream = new WatchStream(
      this.d.api.store,
      res,
      {
        spec: r.spec,
        namespace: r.namespace,
        labels,
        fields,
        resourceVersion: q.get('resourceVersion') ?? undefined,
        allowBookmarks: q.get('allowWatchBookmarks') === 'true',
        sendInitialEvents: q.get('sendInitialEvents') === 'true',
        timeoutSeconds: timeout ? Number(timeout) : undefined,
        bookmarkIntervalMs: this.d.bookmarkIntervalMs,
      },
      (n) => this.count(n),
      (w) => this.watches.delete(w),
    );
    this.watches.add(stream);
    stream.start();
  }

  private async scale(req: IncomingMessage, r: Route, method: string, opts: WriteOptions): Promise<{ code: number; body: unknown }> {
    const api = this.d.api;
    const spec = r.spec;
    const toScale = (o: KObject) => ({
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: { name: o.metadata.name, namespace: o.metadata.namespace, uid: o.metadata.uid, resourceVersion: o.metadata.resourceVersion, creationTimestamp: o.metadata.creationTimestamp },
      spec: { replicas: o.spec?.replicas ?? 0 },
      status: { replicas: o.status?.replicas ?? 0, selector: selectorText(o.spec?.selector) },
    });
    const live = api.get(spec, r.namespace, r.name!);
    if (method === 'GET') return { code: 200, body: toScale(live) };
    const raw = await this.readBody(req);
    let replicas: unknown;
    if (method === 'PUT') {
      const body = parseJson(raw) as KObject;
      if (body?.metadata?.resourceVersion && body.metadata.resourceVersion !== live.metadata.resourceVersion) {
        throw new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedName(spec)} "${r.name}": the object has been modified; please apply your changes to the latest version and try again`);
      }
      replicas = body?.spec?.replicas;
    } else if (method === 'PATCH') {
      const type = (req.headers['content-type'] ?? '').split(';')[0];
      const patched = type === 'application/json-patch+json' ? jsonPatch(toScale(live), parseJson(raw)) : mergePatch(toScale(live), parseJson(raw));
      replicas = (patched as KObject).spec?.replicas;
    } else throw methodNotAllowed(method);
    if (!Number.isInteger(replicas) || (replicas as number) < 0) throw badRequest('spec.replicas must be a non-negative integer');
    const next = clone(live);
    next.spec = { ...next.spec, replicas };
    const { subresource: _s, ...rest } = opts;
    const obj = api.update(spec, r.namespace, r.name!, next, rest);
    return { code: 200, body: toScale(obj) };
  }
}

export { managerFromAgent } from './requests.js';
