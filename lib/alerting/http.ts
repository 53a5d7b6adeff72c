// The HTTP transport of the Alertmanager client: JSON over global fetch with a timeout tied to the run's
// signal, the mutation-gate check before anything but GET, credentials taken out of the URL (fetch refuses
// them there, and they must never reach an error message), and Alertmanager's error bodies turned into typed
// errors.
import { assertMayMutate } from '../core/gate.js';
import { registerSecret } from '../core/redact.js';
import { type Clock, systemClock, throwIfAborted } from '../core/clock.js';
import { backoffDelay, defaultBackoff } from '../core/retry.js';
import { messageOf } from '../core/errors.js';
import { AlertingApiError, AlertingConfigError, AlertingConnectionError, AlertingNotFoundError } from './errors.js';

/** Options of an AlertmanagerHttp transport. */
export interface AlertmanagerHttpOptions {
  /** Base URL, e.g. http://127.0.0.1:9093 or https://user:pass@alertmanager.example.org/prefix. */
  url: string;
  /** Per-request timeout. */
  timeoutMs?: number;
  /** The run's signal: aborting it aborts requests in flight. */
  signal?: AbortSignal;
  /** A bearer token, when Alertmanager sits behind an authenticating proxy. */
  bearerToken?: string;
  clock?: Clock;
}

/** One request. */
export interface RequestOptions {
  query?: Record<string, string | boolean | readonly string[] | undefined>;
  body?: unknown;
}

/** JSON transport for the Alertmanager v2 API. */
export class AlertmanagerHttp {
  /** The base URL without credentials (safe to log). */
  readonly baseUrl: string;
  private readonly authorization: string | undefined;
  private readonly timeoutMs: number;
  private readonly signal: AbortSignal | undefined;
  private readonly clock: Clock;

  constructor(options: AlertmanagerHttpOptions) {
    let parsed: URL;
    try {
      parsed = new URL(options.url);
    } catch (err) {
      throw new AlertingConfigError(`alertmanager URL is not a URL`, { cause: err, hint: 'set alertmanager.url in the inventory to http(s)://host:port' });
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new AlertingConfigError(`alertmanager URL must be http or https, not ${parsed.protocol}`, {
        hint: 'set alertmanager.url in the inventory to http(s)://host:port',
      });
    }
    if (parsed.username || parsed.password) {
      const user = decodeURIComponent(parsed.username);
      const password = decodeURIComponent(parsed.password);
      registerSecret(password);
      const basic = Buffer.from(`${user}:${password}`).toString('base64');
      registerSecret(basic);
      this.authorization = `Basic ${basic}`;
      parsed.username = '';
      parsed.password = '';
    } else if (options.bearerToken) {
      registerSecret(options.bearerToken);
      this.authorization = `Bearer ${options.bearerToken}`;
    }
    this.baseUrl = parsed.toString().replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.signal = options.signal;
    this.clock = options.clock ?? systemClock;
  }

  /** Sends one request and returns the parsed JSON body (or undefined for an empty body). */
  async request<T>(method: 'GET' | 'POST' | 'DELETE', path: string, options: RequestOptions = {}): Promise<T> {
    const url = this.url(path, options.query);
    const what = `${method} ${url}`;
    if (method !== 'GET') assertMayMutate(what);
    // Only reads are retried: a repeated POST would create a second silence.
    const attempts = method === 'GET' ? 3 : 1;
    for (let attempt = 1; ; attempt++) {
      throwIfAborted(this.signal, what);
      try {
        return await this.once<T>(method, url, options.body);
      } catch (err) {
        const transient = err instanceof AlertingConnectionError || (err instanceof AlertingApiError && err.status >= 502);
        if (!transient || attempt >= attempts) throw err;
      }
      await this.clock.sleep(backoffDelay(attempt, defaultBackoff), this.signal);
    }
  }

  private url(path: string, query: RequestOptions['query']): string {
    const url = new URL(this.baseUrl + path);
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value === undefined) continue;
      const values = Array.isArray(value) ? value : [String(value)];
      for (const v of values) url.searchParams.append(key, v);
    }
    return url.toString();
  }

  private async once<T>(method: string, url: string, body: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.authorization) headers.authorization = this.authorization;
    const signals = [AbortSignal.timeout(this.timeoutMs)];
    if (this.signal) signals.push(this.signal);
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.any(signals),
      });
    } catch (err) {
      throwIfAborted(this.signal, `${method} ${url}`);
      const cause = (err as { cause?: unknown }).cause;
      throw new AlertingConnectionError(`cannot reach Alertmanager: ${method} ${url}: ${messageOf(cause ?? err)}`, {
        cause: err,
        context: { method, url },
        hint: 'check that Alertmanager is up and alertmanager.url in the inventory is right',
      });
    }
    const text = await res.text();
    if (!res.ok) throw apiError(method, url, res.status, text);
    if (text.trim() === '') return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new AlertingApiError(`Alertmanager answered ${method} ${url} with something that is not JSON`, res.status, {
        cause: err,
        context: { method, url, status: res.status, body: text.slice(0, 200) },
        hint: 'is alertmanager.url pointing at Alertmanager (not a proxy login page)?',
      });
    }
  }
}

/** Alertmanager's own message from an error body: a JSON string, {message}, or plain text. */
export function apiMessage(text: string): string {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'string') return parsed;
    if (parsed && typeof parsed === 'object' && typeof (parsed as { message?: unknown }).message === 'string') {
      return (parsed as { message: string }).message;
    }
  } catch {
    // not JSON: use the text
  }
  return text.trim().slice(0, 500);
}

function apiError(method: string, url: string, status: number, text: string): AlertingApiError {
  const message = apiMessage(text);
  const context = { method, url, status, apiMessage: message };
  // Alertmanager 0.25 answers DELETE of an unknown silence with 500 "silence not found".
  if (status === 404 || /not found/i.test(message)) {
    return new AlertingNotFoundError(`Alertmanager: ${message} (${method} ${url})`, status, {
      context,
      hint: 'the silence may have been deleted or garbage-collected; list silences to find the current one',
    });
  }
  const hint =
    status === 400 || status === 422
      ? 'the request was rejected as invalid: check the matchers and times'
      : status === 401 || status === 403
        ? 'Alertmanager (or its proxy) refused the credentials in alertmanager.url'
        : 'Alertmanager failed; look at its log';
  return new AlertingApiError(`Alertmanager answered ${status}: ${message} (${method} ${url})`, status, { context, hint });
}
