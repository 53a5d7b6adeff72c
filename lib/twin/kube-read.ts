// Read-only access to a cluster's API for the snapshot: discovery and paged GET lists of any resource, on the
// kubeconfig of our Kubernetes client (lib/k8s). Only GET is ever sent (the one request function below has no
// other verb), so a capture cannot change the cluster. Counting lists ask for metadata only (server-side Table
// with PartialObjectMetadata), so counting Secrets never transfers their data.
import type { IncomingMessage } from 'node:http';
import { Agent, request } from 'node:https';
import { text } from 'node:stream/consumers';
import type { RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { KubeApiError } from '../k8s/errors.js';

/** One listable resource from discovery. */
export interface ApiResource {
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
}

/** A list page's object, as plain JSON. */
export type RawObject = { metadata: { name: string; namespace?: string; [k: string]: unknown }; [k: string]: unknown };

const TABLE_ACCEPT = 'application/json;as=Table;g=meta.k8s.io;v=v1,application/json';

/** A GET-only reader over one kubeconfig, with kept-alive connections; counts its requests. */
export class KubeReader {
  requests = 0;
  private agent: Agent | undefined;

  constructor(
    private readonly kc: KubeConfig,
    private readonly signal?: AbortSignal,
  ) {}

  /** GET a path; the parsed JSON body, or undefined on 404. */
  async get<T>(path: string, accept = 'application/json'): Promise<T | undefined> {
    const server = this.kc.getCurrentCluster()?.server ?? '';
    // The server URL may carry a path (an API behind a proxy): requests go below it.
    const url = new URL(server.replace(/\/$/, '') + path);
    const opts: RequestOptions = { method: 'GET', headers: { Accept: accept } };
    await this.kc.applyToHTTPSOptions(opts);
    this.agent ??= new Agent({ keepAlive: true, maxSockets: 8, ca: opts.ca, cert: opts.cert, key: opts.key, rejectUnauthorized: opts.rejectUnauthorized });
    this.requests++;
    const what = `GET ${url.pathname}`;
    let res: IncomingMessage;
    let body: string;
    try {
      res = await new Promise<IncomingMessage>((resolve, reject) => {
        const req = request(url, { ...opts, agent: this.agent, signal: this.signal, timeout: 60_000 }, resolve);
        req.on('timeout', () => req.destroy(new Error('timed out after 60 s')));
        req.on('error', reject);
        req.end();
      });
      body = await text(res);
    } catch (err) {
      throw new KubeApiError(`snapshot: ${what}: ${(err as Error).message}`, { status: 0, context: { request: what, server }, cause: err, hint: 'check that the API server is reachable' });
    }
    const status = res.statusCode ?? 0;
    if (status === 404) return undefined;
    if (status < 200 || status >= 300) {
      let message = body.slice(0, 300);
      try {
        message = (JSON.parse(body) as { message?: string }).message ?? message;
      } catch {
        /* not a Status */
      }
      throw new KubeApiError(`snapshot: ${what} failed: ${status} ${message}`, { status, context: { request: what }, hint: 'check that the kubeconfig user may list this resource (the snapshot reads every listable kind)' });
    }
    try {
      return JSON.parse(body) as T;
    } catch (err) {
      throw new KubeApiError(`snapshot: ${what}: the answer is not JSON`, { status, context: { request: what }, cause: err });
    }
  }

  /** Every listable resource the server serves (preferred version of each group; subresources left out). */
  async discover(): Promise<ApiResource[]> {
    const out: ApiResource[] = [];
    const add = (group: string, version: string, list: { resources?: { name: string; kind: string; namespaced: boolean; verbs?: string[] }[] } | undefined) => {
      for (const r of list?.resources ?? []) {
        if (r.name.includes('/') || !(r.verbs ?? []).includes('list')) continue;
        out.push({ group, version, kind: r.kind, plural: r.name, namespaced: r.namespaced });
      }
    };
    add('', 'v1', await this.get('/api/v1'));
    const groups = await this.get<{ groups?: { name: string; preferredVersion?: { version: string }; versions: { version: string }[] }[] }>('/apis');
    for (const g of groups?.groups ?? []) {
      const version = g.preferredVersion?.version ?? g.versions[0]?.version;
      if (version) add(g.name, version, await this.get(`/apis/${g.name}/${version}`));
    }
    return out;
  }

  /** Pages through a list (limit/continue), handing each page's items to `each`; returns how many there were. */
  async list(res: Pick<ApiResource, 'group' | 'version' | 'plural'>, each: (items: RawObject[]) => void, options: { metadataOnly?: boolean; limit?: number; labelSelector?: string } = {}): Promise<number> {
    const base = res.group ? `/apis/${res.group}/${res.version}/${res.plural}` : `/api/v1/${res.plural}`;
    let cont: string | undefined;
    let count = 0;
    do {
      const q = new URLSearchParams({ limit: String(options.limit ?? 500) });
      if (cont) q.set('continue', cont);
      if (options.metadataOnly) q.set('includeObject', 'Metadata');
      if (options.labelSelector) q.set('labelSelector', options.labelSelector);
      const page = await this.get<{ items?: RawObject[]; rows?: { object?: RawObject }[]; metadata?: { continue?: string } }>(`${base}?${q}`, options.metadataOnly ? TABLE_ACCEPT : 'application/json');
      // A server that ignores the Table request answers a plain list: both shapes are read.
      const items = page?.rows ? page.rows.map((r) => r.object).filter((o): o is RawObject => !!o?.metadata) : (page?.items ?? []);
      count += items.length;
      each(items);
      cont = page?.metadata?.continue || undefined;
    } while (cont);
    return count;
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.agent?.destroy();
  }
}
