// The service transport: JSON calls to catalog endpoints with the token, the mutation-gate check before any
// request that changes state, one re-authentication on 401, and retries of transient failures (429, 500, 502,
// 503, 504, lost connections) with backoff and jitter under a deadline, honouring Retry-After. Only calls
// that are safe to repeat are retried: reads, idempotent writes (a DELETE), and writes the API cannot have
// processed (429 and 503 say so) when the caller allows it. A POST that creates something is never retried
// here: a second POST after a lost answer would make a second VM; callers re-check by name instead.
import { type Clock, systemClock } from '../core/clock.js';
import { assertMayMutate } from '../core/gate.js';
import { nullLog, type Log } from '../core/log.js';
import { backoffDelay, defaultBackoff, transientHttpStatuses } from '../core/retry.js';
import type { KeystoneAuth } from './auth.js';
import { OpenStackApiError, OpenStackConnectionError } from './errors.js';
import { safeUrl, send, toApiError, type WireResponse } from './wire.js';

/** HTTP methods used. */
export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** Options of one call. */
export interface CallOptions {
  query?: Record<string, string | number | boolean | readonly string[] | undefined>;
  body?: unknown;
  headers?: Record<string, string>;
  /** Safe to send again (GET always is; a DELETE of a server is). */
  idempotent?: boolean;
  /** A write that is safe to send again when the API says it did not process it (429, 503): a reboot action. */
  retryUnprocessed?: boolean;
  /** A POST that only reads (Nova's os-getConsoleOutput action): allowed outside the mutation gate. */
  readOnly?: boolean;
  /** Use the endpoint URL as the catalog lists it, without the API version this client adds (paging links). */
  unversioned?: boolean;
  /** Names the call in error messages ("create server tb-1"). */
  what?: string;
}

/** A parsed answer. */
export interface ApiResponse<T> {
  status: number;
  headers: Headers;
  body: T;
  requestId: string | undefined;
}

/** Options of the transport. */
export interface OpenStackHttpOptions {
  auth: KeystoneAuth;
  log?: Log;
  clock?: Clock;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Attempts for idempotent calls (default 5). */
  maxAttempts?: number;
  /** Time budget of one call's retries in ms (default 60 s): no retry starts after it. */
  deadlineMs?: number;
  /** Backoff between attempts (tests make it short). */
  backoff?: Partial<typeof defaultBackoff>;
}

// Glance and Neutron list unversioned URLs in the catalog; Nova's includes /v2.1.
const VERSION_SUFFIX: Record<string, string> = { image: '/v2', network: '/v2.0' };

const RETRYABLE = transientHttpStatuses;
// Statuses that say the request was not processed at all, so even a non-idempotent write may be repeated.
const UNPROCESSED = new Set([429, 503]);

/** True for an error worth another attempt of a call that is safe to repeat (transient status or lost connection). */
export function isTransient(err: unknown): boolean {
  return err instanceof OpenStackConnectionError || (err instanceof OpenStackApiError && RETRYABLE.has(err.status));
}

/** JSON transport for the OpenStack service APIs. */
export class OpenStackHttp {
  readonly auth: KeystoneAuth;
  private readonly log: Log;
  private readonly clock: Clock;
  private readonly signal: AbortSignal | undefined;
  private readonly timeoutMs: number;
  /** Attempts of a call that is safe to repeat (also the client's create loop). */
  readonly maxAttempts: number;
  /** Time budget of one call's retries (ms). */
  readonly deadlineMs: number;
  private readonly backoff: typeof defaultBackoff;
  /** Requests sent, by method (diagnostics and tests). */
  readonly sent: Record<string, number> = {};

  constructor(options: OpenStackHttpOptions) {
    this.auth = options.auth;
    this.log = options.log ?? nullLog;
    this.clock = options.clock ?? systemClock;
    this.signal = options.signal;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.maxAttempts = options.maxAttempts ?? 5;
    this.deadlineMs = options.deadlineMs ?? 60_000;
    this.backoff = { ...defaultBackoff, ...options.backoff };
  }

  /**
   * The delay before attempt `attempt + 1` of a call that began at `startedAt` and failed with `err`: backoff
   * with jitter, at least the Retry-After the API asked for. Undefined when no attempt is left or the next one
   * would start after the call's deadline.
   */
  retryDelay(attempt: number, err: unknown, startedAt: number): number | undefined {
    if (attempt >= this.maxAttempts) return undefined;
    const asked = err instanceof OpenStackApiError ? (err.retryAfterMs ?? 0) : 0;
    const delay = Math.max(backoffDelay(attempt, this.backoff), asked);
    return this.clock.now() + delay - startedAt > this.deadlineMs ? undefined : delay;
  }

  /** Sleeps `ms` on the transport's clock, cancelled by its signal. */
  pause(ms: number): Promise<void> {
    return this.clock.sleep(ms, this.signal);
  }

  /** The base URL of a service (with the API version this client speaks). */
  async base(service: string, unversioned = false): Promise<string> {
    const url = await this.auth.endpoint(service);
    const suffix = VERSION_SUFFIX[service];
    if (unversioned || !suffix || url.endsWith(suffix)) return url;
    return url + suffix;
  }

  /** Sends a call and parses the JSON answer; throws typed errors (see wire.ts). */
  async call<T>(service: string, method: Method, path: string, options: CallOptions = {}): Promise<ApiResponse<T>> {
    const url = await this.url(service, path, options);
    const mutation = method !== 'GET' && !options.readOnly;
    if (mutation) assertMayMutate(`${method} ${safeUrl(url)}`);
    const idempotent = method === 'GET' || options.idempotent === true || options.readOnly === true;
    const where = safePath(url);
    const began = this.clock.now();
    let reauthenticated = false;
    for (let attempt = 1; ; attempt++) {
      const token = await this.auth.token();
      const started = this.clock.now();
      let res: WireResponse;
      try {
        this.sent[method] = (this.sent[method] ?? 0) + 1;
        res = await send({
          method,
          url,
          body: options.body,
          headers: { 'x-auth-token': token.value, ...options.headers },
          timeoutMs: this.timeoutMs,
          signal: this.signal,
        });
      } catch (err) {
        const delay = err instanceof OpenStackConnectionError && idempotent ? this.retryDelay(attempt, err, began) : undefined;
        if (delay !== undefined) {
          this.log.debug(`${method} ${where} failed (${err instanceof Error ? err.message : String(err)}); retry ${attempt + 1}/${this.maxAttempts} in ${delay}ms`);
          await this.pause(delay);
          continue;
        }
        if (err instanceof OpenStackConnectionError && !idempotent) {
          // The request may have reached the cloud: say so, the caller decides how to check.
          (err as { hint: string | undefined }).hint = `the ${method} may or may not have been applied; check the object's state before trying again`;
        }
        throw err;
      }
      this.log.debug(`${method} ${where} -> ${res.status} in ${this.clock.now() - started}ms${res.requestId ? ` [${res.requestId}]` : ''}`);
      if (res.status === 401 && !reauthenticated) {
        // The token expired early or was revoked: one fresh token, then the same request again (a 401 was not
        // processed, so repeating even a POST is safe).
        reauthenticated = true;
        this.auth.invalidate(token.value);
        attempt--;
        continue;
      }
      if (res.status >= 200 && res.status < 300) {
        return { status: res.status, headers: res.headers, body: parseBody<T>(res.text), requestId: res.requestId };
      }
      const err = toApiError(method, url, res, options.what);
      const repeatable = idempotent ? RETRYABLE.has(res.status) : options.retryUnprocessed === true && UNPROCESSED.has(res.status);
      const delay = repeatable ? this.retryDelay(attempt, err, began) : undefined;
      if (delay !== undefined) {
        this.log.debug(`${method} ${where} answered ${res.status}${res.requestId ? ` [${res.requestId}]` : ''}; retry ${attempt + 1}/${this.maxAttempts} in ${delay}ms`);
        await this.pause(delay);
        continue;
      }
      throw err;
    }
  }

  /** GET that follows the `next` links of Nova (`<key>_links`) and Glance (`next`) and returns all items. */
  async list<T>(service: string, path: string, key: string, options: CallOptions = {}): Promise<T[]> {
    const items: T[] = [];
    let next: string | undefined = path;
    let opts: CallOptions = options;
    for (let page = 0; next && page < 1000; page++) {
      const res: ApiResponse<Record<string, unknown>> = await this.call<Record<string, unknown>>(service, 'GET', next, opts);
      items.push(...((res.body[key] as T[] | undefined) ?? []));
      next = nextLink(res.body, key);
      // A next link carries its own query (marker, limit, filters).
      opts = { ...options, query: undefined, unversioned: service === 'image' };
    }
    return items;
  }

  private async url(service: string, path: string, options: CallOptions): Promise<string> {
    const base = await this.base(service, options.unversioned);
    let url: URL;
    if (/^https?:\/\//.test(path)) {
      url = new URL(path);
      // Never send the token to a host the catalog did not name.
      if (url.origin !== new URL(base).origin) {
        throw new OpenStackApiError(`refusing to follow a link to ${url.origin} outside the ${service} endpoint`, {
          method: 'GET',
          url: safeUrl(path),
          status: 0,
          apiMessage: 'foreign link',
        });
      }
    } else {
      url = new URL(base + (path.startsWith('/') ? path : `/${path}`));
    }
    for (const [k, v] of Object.entries(options.query ?? {})) {
      if (v === undefined) continue;
      for (const item of Array.isArray(v) ? v : [String(v)]) url.searchParams.append(k, item);
    }
    return url.toString();
  }
}

function parseBody<T>(text: string): T {
  if (text.trim() === '') return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    return text as T;
  }
}

/** Method-less path of a URL for logs: no credentials, no query (markers and filters are noise). */
function safePath(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return safeUrl(url);
  }
}

function nextLink(body: Record<string, unknown>, key: string): string | undefined {
  const links = body[`${key}_links`];
  if (Array.isArray(links)) {
    const next = (links as { rel?: string; href?: string }[]).find((l) => l.rel === 'next');
    if (next?.href) return next.href;
  }
  if (typeof body.next === 'string' && body.next) return body.next;
  return undefined;
}
