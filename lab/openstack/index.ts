// The lab's OpenStack API: one HTTP port on 127.0.0.1 with Keystone under /identity, Nova under /compute,
// Glance under /image and Neutron under /network (all in the Keystone catalog). Services other than Keystone
// need a valid token, as keystonemiddleware enforces. Counts requests, bytes and mutations; injects 503s.
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { World } from '../world.js';
import { Cloud, type CloudOptions, type HostProvider } from './cloud.js';
import { handleGlance } from './glance.js';
import { ApiError, type ApiRequest, type ApiResponse, type ServiceName, errorResponse, newRequestId, readBody, send, unauthorized } from './http.js';
import { Identity, type IdentityOptions } from './keystone.js';
import { handleNeutron } from './neutron.js';
import { Nova } from './nova.js';

export { Cloud } from './cloud.js';
export type { HostProvider, ServerRecord } from './cloud.js';
export { Identity } from './keystone.js';

/** Options of startOpenStack. */
export interface OpenStackOptions {
  identity: IdentityOptions;
  cloud: Omit<CloudOptions, 'projectId' | 'userId'>;
  hosts: HostProvider;
  /** Port on 127.0.0.1 (0: any free port). */
  port?: number;
  log?: (message: string) => void;
}

/** A running lab OpenStack API. */
export interface OpenStackHandle {
  /** Base URL, e.g. http://127.0.0.1:PORT. */
  url: string;
  /** Keystone v3 URL for clouds.yaml auth_url. */
  authUrl: string;
  identity: Identity;
  cloud: Cloud;
  stop(): Promise<void>;
}

const SERVICES: ServiceName[] = ['identity', 'compute', 'image', 'network'];

/** True for the version documents clients read before they authenticate. */
function isVersionDoc(service: ServiceName, method: string, path: string): boolean {
  if (method !== 'GET') return false;
  if (path === '' || path === '/') return true;
  if (service === 'compute') return /^\/v2(\.1)?\/?$/.test(path);
  if (service === 'image') return path === '/versions';
  return false;
}

function isMutation(service: ServiceName, req: ApiRequest): boolean {
  if (req.method === 'GET' || req.method === 'HEAD') return false;
  if (service === 'identity') return !req.path.startsWith('/v3/auth/tokens');
  if (service === 'compute') return Nova.isMutation(req);
  return true;
}

/** Starts the lab's OpenStack API for a world. */
export async function startOpenStack(world: World, options: OpenStackOptions): Promise<OpenStackHandle> {
  const identity = new Identity(options.identity);
  const cloud = new Cloud(world, options.hosts, { ...options.cloud, projectId: identity.projectId, userId: identity.userId });
  const nova = new Nova(cloud);
  let base = '';

  const dispatch = async (service: ServiceName, req: ApiRequest): Promise<ApiResponse> => {
    switch (service) {
      case 'identity':
        return identity.handle(req);
      case 'compute':
        return await nova.handle(req);
      case 'image':
        return handleGlance(cloud, req);
      case 'network':
        return handleNeutron(cloud, req);
    }
  };

  const onRequest = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = newRequestId();
    const url = new URL(req.url ?? '/', base);
    const [, first = '', ...rest] = url.pathname.split('/');
    const service = SERVICES.find((s) => s === first);
    world.counters.requests.openstack++;
    if (!service) {
      world.counters.bytes.openstack += send(res, { status: 404, body: { error: { code: 404, title: 'Not Found', message: `no OpenStack service at /${first}` } } }, requestId, 'identity');
      return;
    }
    let response: ApiResponse;
    const apiReq: ApiRequest = {
      method: (req.method ?? 'GET').toUpperCase(),
      path: rest.length ? '/' + rest.join('/') : '',
      query: url.searchParams,
      headers: req.headers,
      body: undefined,
      base,
      requestId,
    };
    try {
      const raw = await readBody(req);
      world.counters.bytes.openstack += raw.length;
      if (raw.length > 0) {
        try {
          apiReq.body = JSON.parse(raw.toString('utf8'));
        } catch {
          throw new ApiError(400, service === 'compute' ? 'Malformed request body' : 'Expecting to find application/json in Content-Type header');
        }
      }
      if (isMutation(service, apiReq)) world.counters.openstack_mutations++;
      const rate = world.faults.openstackErrorRate ?? 0;
      if (rate > 0 && world.random() < rate) throw new ApiError(503, 'The server is currently unavailable. Please try again at a later time.');
      if (service !== 'identity' && !isVersionDoc(service, apiReq.method, apiReq.path)) {
        if (!identity.validToken(req.headers['x-auth-token'] as string | undefined)) {
          // keystonemiddleware answers for every service, in Keystone's shape.
          response = errorResponse('identity', unauthorized(base));
          world.counters.bytes.openstack += send(res, response, requestId, service);
          return;
        }
      }
      response = await dispatch(service, apiReq);
    } catch (err) {
      if (err instanceof ApiError) response = errorResponse(service, err);
      else {
        options.log?.(`openstack ${apiReq.method} ${url.pathname}: ${(err as Error).stack ?? String(err)}`);
        response = errorResponse(service, new ApiError(500, `Unexpected API Error. ${(err as Error).message}`));
      }
    }
    if (apiReq.method === 'HEAD') response = { ...response, body: undefined, text: undefined };
    world.counters.bytes.openstack += send(res, response, requestId, service);
  };

  const server: Server = createServer((req, res) => {
    onRequest(req, res).catch((err: unknown) => {
      options.log?.(`openstack: ${(err as Error).stack ?? String(err)}`);
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as { port: number }).port;
  base = `http://127.0.0.1:${port}`;
  return {
    url: base,
    authUrl: `${base}/identity/v3`,
    identity,
    cloud,
    async stop() {
      cloud.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
