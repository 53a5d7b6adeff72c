// /readyz with its cause: client-node's Health replaces every failure by "Error occurred in health request",
// which tells an operator nothing. This sends the GET itself with the kubeconfig's TLS settings and keeps the
// status and the underlying error.
import type { KubeConfig } from '@kubernetes/client-node';
import { request as httpRequest } from 'node:http';
import { type RequestOptions, request as httpsRequest } from 'node:https';
import { KubeApiError, readyzFailures } from './errors.js';
import { toKubeError } from './transport.js';

/** The answer of /readyz: ready, or why not (the HTTP status, or the typed error with its cause). */
export interface ReadyzResult {
  ready: boolean;
  status?: number;
  /** The server's body when it was not ready (which checks failed). */
  body?: string;
  error?: KubeApiError;
}

/** GET /readyz with the kubeconfig's credentials; never throws for a not-ready or unreachable server. */
export async function checkReadyz(kc: KubeConfig, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<ReadyzResult> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) return { ready: false, error: new KubeApiError('GET /readyz: the kubeconfig has no current cluster', { status: 0, context: { request: 'GET /readyz' } }) };
  try {
    const url = new URL('/readyz', cluster.server);
    const opts: RequestOptions = { method: 'GET', timeout: options.timeoutMs ?? 5000, signal: options.signal, headers: {} };
    await kc.applyToHTTPSOptions(opts);
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = (url.protocol === 'http:' ? httpRequest : httpsRequest)(url, opts, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text.length < 2000 ? (text += c) : undefined));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${opts.timeout} ms`), { code: 'ETIMEDOUT' })));
      req.on('error', reject);
      req.end();
    });
    if (status === 200) return { ready: true, status };
    return {
      ready: false,
      status,
      body: body.trim(),
      error: new KubeApiError(`GET /readyz: HTTP ${status}${body.trim() ? `: ${readyzFailures(body)}` : ''}`, {
        status,
        context: { request: 'GET /readyz' },
      }),
    };
  } catch (err) {
    const e = toKubeError(err, 'GET /readyz', {}, 'GET /readyz', options.signal);
    if (!(e instanceof KubeApiError)) throw e;
    return { ready: false, error: e };
  }
}
