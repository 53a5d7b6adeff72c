// HTTP plumbing of the lab's OpenStack API: one port, services under path prefixes, request ids, counters,
// injected 503s, and each service's own error body shape (Keystone {"error"}, Nova {"itemNotFound"} …,
// Neutron {"NeutronError"}, Glance plain text), so clients see what real OpenStack sends.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** The four services behind the one port. */
export type ServiceName = 'identity' | 'compute' | 'image' | 'network';

/** A parsed request as handlers see it. */
export interface ApiRequest {
  method: string;
  /** Path below the service prefix, without query, e.g. `/servers/ID/action`. */
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  /** Parsed JSON body (undefined when there was none). */
  body: unknown;
  /** Base URL of the whole API (`http://127.0.0.1:PORT`). */
  base: string;
  requestId: string;
}

/** What a handler returns. */
export interface ApiResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Raw text body (Glance errors), sent as text/plain. */
  text?: string;
}

/** An error a handler throws to answer with the service's error shape. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Neutron error type (NetworkNotFound …) or Keystone title override. */
    readonly kind?: string,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

const NOVA_FAULTS: Record<number, string> = {
  400: 'badRequest',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'itemNotFound',
  405: 'badMethod',
  406: 'notAcceptable',
  409: 'conflictingRequest',
  413: 'overLimit',
  415: 'badMediaType',
  429: 'overLimit',
  501: 'notImplemented',
  503: 'serviceUnavailable',
};

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  413: 'Request Entity Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** The error body a service sends for a status and message. */
export function errorResponse(service: ServiceName, err: ApiError): ApiResponse {
  const headers = err.headers;
  switch (service) {
    case 'identity':
      return { status: err.status, headers, body: { error: { code: err.status, title: err.kind ?? TITLES[err.status] ?? 'Error', message: err.message } } };
    case 'compute':
      return { status: err.status, headers, body: { [NOVA_FAULTS[err.status] ?? 'computeFault']: { code: err.status, message: err.message } } };
    case 'network':
      return { status: err.status, headers, body: { NeutronError: { type: err.kind ?? (TITLES[err.status] ?? 'Error').replace(/ /g, ''), message: err.message, detail: '' } } };
    case 'image':
      // Glance answers errors in webob's plain-text form.
      return { status: err.status, headers, text: `${err.status} ${TITLES[err.status] ?? 'Error'}\n\n${err.message}\n\n   ` };
  }
}

/** keystonemiddleware's answer to a request without a valid token. */
export function unauthorized(base: string): ApiError {
  return new ApiError(401, 'The request you have made requires authentication.', 'Unauthorized', {
    'WWW-Authenticate': `Keystone uri="${base}/identity"`,
  });
}

/** Reads a request body (bounded: the lab API takes small JSON documents only). */
export function readBody(req: IncomingMessage, limit = 1 << 20): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new ApiError(413, 'Request is too large.'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** A new request id in OpenStack's form. */
export function newRequestId(): string {
  return `req-${randomUUID()}`;
}

/** Writes a response; returns the number of body bytes sent. */
export function send(res: ServerResponse, response: ApiResponse, requestId: string, service: ServiceName): number {
  const headers: Record<string, string> = { 'x-openstack-request-id': requestId, ...response.headers };
  if (service === 'compute') headers['x-compute-request-id'] = requestId;
  let payload = '';
  if (response.text !== undefined) {
    payload = response.text;
    headers['content-type'] = 'text/plain; charset=UTF-8';
  } else if (response.body !== undefined) {
    payload = JSON.stringify(response.body);
    headers['content-type'] = 'application/json';
  }
  headers['content-length'] = String(Buffer.byteLength(payload));
  res.writeHead(response.status, headers);
  res.end(payload);
  return Buffer.byteLength(payload);
}

/** Matches `path` against a pattern with `:name` segments; returns the captured segments or undefined. */
export function match(pattern: string, path: string): Record<string, string> | undefined {
  const p = pattern.split('/').filter(Boolean);
  const s = path.split('/').filter(Boolean);
  if (p.length !== s.length) return undefined;
  const out: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    if (p[i]!.startsWith(':')) out[p[i]!.slice(1)] = decodeURIComponent(s[i]!);
    else if (p[i] !== s[i]) return undefined;
  }
  return out;
}

/** ISO-8601 time without milliseconds, as Nova prints it. */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** ISO-8601 with microseconds, as Keystone prints expires_at. */
export function isoMicro(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '000Z');
}

/** An object body or a 400 in the service's words. */
export function objectBody(req: ApiRequest, key: string): Record<string, any> {
  const body = req.body as Record<string, unknown> | undefined;
  const inner = body?.[key];
  if (!inner || typeof inner !== 'object' || Array.isArray(inner)) {
    throw new ApiError(400, `Invalid input for field/attribute ${key}. Value: ${JSON.stringify(body ?? null)}. '${key}' is a required property`);
  }
  return inner as Record<string, any>;
}
