// One HTTP exchange with an OpenStack API over Node's global fetch, and the mapping of error answers to typed
// errors. Shared by the Keystone auth (token creation) and the service transport, so both report failures
// the same way: method, URL without credentials, status, request id and the API's own message.
import { messageOf } from '../core/errors.js';
import { throwIfAborted } from '../core/clock.js';
import { parseRetryAfter } from '../core/retry.js';
import {
  type ApiErrorFacts,
  OpenStackApiError,
  OpenStackAuthError,
  OpenStackBadRequestError,
  OpenStackConflictError,
  OpenStackConnectionError,
  OpenStackForbiddenError,
  OpenStackNotFoundError,
  OpenStackQuotaError,
  OpenStackRateLimitError,
  OpenStackServiceError,
} from './errors.js';

/** A raw answer. */
export interface WireResponse {
  status: number;
  headers: Headers;
  text: string;
  /** x-openstack-request-id or x-compute-request-id. */
  requestId: string | undefined;
}

/** What send() needs. */
export interface WireRequest {
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: unknown;
  timeoutMs: number;
  signal?: AbortSignal;
}

/** Sends one request; throws OpenStackConnectionError when no answer came (refused, DNS, TLS, timeout). */
export async function send(req: WireRequest): Promise<WireResponse> {
  const signals = [AbortSignal.timeout(req.timeoutMs)];
  if (req.signal) signals.push(req.signal);
  const headers: Record<string, string> = { accept: 'application/json', ...req.headers };
  if (req.body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  let text: string;
  try {
    res = await fetch(req.url, {
      method: req.method,
      headers,
      body: req.body === undefined ? undefined : JSON.stringify(req.body),
      signal: AbortSignal.any(signals),
    });
    text = await res.text();
  } catch (err) {
    throwIfAborted(req.signal, `${req.method} ${safeUrl(req.url)}`);
    const cause = (err as { cause?: unknown }).cause;
    const timedOut = (err as { name?: string }).name === 'TimeoutError';
    throw new OpenStackConnectionError(
      `${timedOut ? `no answer within ${req.timeoutMs} ms` : 'cannot reach the OpenStack API'}: ${req.method} ${safeUrl(req.url)}${timedOut ? '' : `: ${messageOf(cause ?? err)}`}`,
      {
        cause: err,
        context: { method: req.method, url: safeUrl(req.url), timedOut },
        hint: 'check that the API endpoint is reachable from this host (VPN, bastion, catalog interface/region)',
      },
    );
  }
  return { status: res.status, headers: res.headers, text, requestId: requestIdOf(res.headers) };
}

/** The request id OpenStack logs a call under. */
export function requestIdOf(headers: Headers): string | undefined {
  return headers.get('x-openstack-request-id') ?? headers.get('x-compute-request-id') ?? undefined;
}

/** A URL without user info or query secrets, for messages. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return url;
  }
}

/**
 * The API's own message from an error body. Nova wraps it as {"itemNotFound": {"message", "code"}}, Keystone as
 * {"error": {"message"}}, Neutron as {"NeutronError": {"message"}}, Glance often answers plain text or HTML.
 */
export function apiMessageOf(text: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return text.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 500);
  }
  if (typeof parsed === 'string') return parsed;
  if (parsed && typeof parsed === 'object') {
    const obj = parsed as Record<string, unknown>;
    if (typeof obj.message === 'string') return obj.message;
    for (const value of Object.values(obj)) {
      if (value && typeof value === 'object' && typeof (value as { message?: unknown }).message === 'string') {
        return (value as { message: string }).message;
      }
    }
  }
  return text.slice(0, 500);
}

/** The quota named by an over-quota message ("Quota exceeded for instances: ..."), if any. */
export function quotaOf(message: string): string | undefined {
  const m =
    /quota exceeded for (?:resources?:?\s*)?\[?'?([a-z_]+)/i.exec(message) ??
    /maximum number of ([a-z_ ]+?) (?:allowed )?exceeded/i.exec(message) ??
    /([a-z_]+) quota exceeded/i.exec(message);
  return m?.[1]?.trim().replace(/ /g, '_');
}

/** Maps an error answer to a typed error; `what` names the call for the message (e.g. "create server tb-1"). */
export function toApiError(method: string, url: string, res: WireResponse, what?: string): OpenStackApiError {
  const apiMessage = apiMessageOf(res.text) || `HTTP ${res.status}`;
  const facts: ApiErrorFacts = { method, url: safeUrl(url), status: res.status, apiMessage, ...(res.requestId ? { requestId: res.requestId } : {}) };
  const call = what ?? `${method} ${safeUrl(url)}`;
  const rid = res.requestId ? ` [request ${res.requestId}]` : '';
  const text = (summary: string): string => `${summary}: ${apiMessage} (${call})${rid}`;
  const s = res.status;
  const err = typedApiError(s, text, facts, apiMessage);
  err.retryAfterMs = retryAfterMs(res.headers);
  return err;
}

/** The Retry-After header in ms from now (seconds or an HTTP date); undefined when absent or unreadable. */
export function retryAfterMs(headers: Headers, now: number = Date.now()): number | undefined {
  return parseRetryAfter(headers.get('retry-after'), now);
}

function typedApiError(s: number, text: (summary: string) => string, facts: ApiErrorFacts, apiMessage: string): OpenStackApiError {
  if ((s === 403 || s === 413) && /quota|over ?limit|exceed/i.test(apiMessage)) {
    const quota = quotaOf(apiMessage);
    return new OpenStackQuotaError(text(`over quota${quota ? ` for ${quota}` : ''}`), facts, quota, {
      hint: `free ${quota ?? 'quota'} (delete unused servers) or ask the cloud admins to raise the project quota`,
    });
  }
  if (s === 400) return new OpenStackBadRequestError(text('rejected as invalid'), facts, { hint: 'check the names and parameters given (flavor, image, network, metadata)' });
  if (s === 401) {
    return new OpenStackAuthError(text('not authenticated'), facts, {
      hint: 'check the credentials in clouds.yaml / OS_* (password or application credential, user and project domains)',
    });
  }
  if (s === 403) return new OpenStackForbiddenError(text('forbidden'), facts, { hint: 'the credentials lack the role this needs in the project' });
  if (s === 404) return new OpenStackNotFoundError(text('not found'), facts, { hint: 'it may have been deleted; list to see what exists' });
  if (s === 409) return new OpenStackConflictError(text('conflict'), facts, { hint: 'the object is busy or in a state that does not allow this; wait and look at its status' });
  if (s === 413 || s === 429) return new OpenStackRateLimitError(text('rate limited'), facts, { hint: 'slow down and try again later' });
  if (s >= 500) return new OpenStackServiceError(text(`the cloud failed (HTTP ${s})`), facts, { hint: 'retry later; give the request id to the cloud admins if it persists' });
  return new OpenStackApiError(text(`HTTP ${s}`), facts, { hint: 'unexpected answer from the OpenStack API' });
}
