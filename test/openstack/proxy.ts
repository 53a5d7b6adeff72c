// A small HTTP proxy in front of the lab's OpenStack API for tests of what the network does to answers: it
// forwards every request (rewriting the catalog's URLs to itself), and can cut the connection after forwarding
// (a lost answer) or answer in the API's place (a 429 with Retry-After).
import { createServer, type IncomingMessage, type Server as HttpServer } from 'node:http';

/** A running proxy. */
export interface Proxy {
  url: string;
  dropped: number;
  close(): Promise<void>;
}

async function readAll(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Forwards to `target`, rewriting catalog URLs to itself; drops the answer of requests `drop` selects;
 * `instead` may answer a request itself (it is then not forwarded).
 */
export async function startProxy(
  target: string,
  drop: (method: string, path: string) => boolean,
  instead?: (method: string, path: string) => { status: number; headers: Record<string, string>; body: string } | undefined,
): Promise<Proxy> {
  let base = '';
  const state = { dropped: 0 };
  const server: HttpServer = createServer((req, res) => {
    void (async () => {
      const body = await readAll(req);
      const own = instead?.(req.method ?? 'GET', new URL(req.url ?? '/', base).pathname);
      if (own) {
        res.writeHead(own.status, { 'content-type': 'application/json', ...own.headers });
        res.end(own.body);
        return;
      }
      const headers: Record<string, string> = {};
      for (const h of ['x-auth-token', 'content-type', 'accept', 'openstack-api-version', 'x-openstack-nova-api-version']) {
        const v = req.headers[h];
        if (typeof v === 'string') headers[h] = v;
      }
      const upstream = await fetch(target + req.url, { method: req.method, headers, body: body.length ? body : undefined });
      const text = (await upstream.text()).split(target).join(base);
      if (drop(req.method ?? 'GET', new URL(req.url ?? '/', base).pathname)) {
        state.dropped++;
        req.socket.destroy();
        return;
      }
      const out: Record<string, string> = {};
      upstream.headers.forEach((v, k) => {
        if (k !== 'content-length' && k !== 'transfer-encoding' && k !== 'connection') out[k] = v;
      });
      res.writeHead(upstream.status, out);
      res.end(text);
    })().catch(() => res.socket?.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    url: base,
    get dropped() {
      return state.dropped;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
