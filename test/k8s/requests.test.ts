// Which failed Kubernetes calls are retried: one table of (error, request kind) → verdict, one `it` per row.
// `retry`: send again; `ambiguous`: a write that may have happened, confirmed before it is repeated; `fatal`.
import { strict as assert } from 'node:assert';
import { KubeApiError, KubeNotFoundError, KubeUnreachableError } from '../../lib/k8s/errors.js';
import { type RequestKind, retryVerdict } from '../../lib/k8s/requests.js';

const api = (status: number, message = 'failed'): KubeApiError => new KubeApiError(message, { status });
const reset = (): KubeUnreachableError => new KubeUnreachableError('socket hang up', { status: 0, cause: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }) });
const refused = (): KubeUnreachableError => new KubeUnreachableError('connect ECONNREFUSED', { status: 0, cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });

const rows: [title: string, error: () => KubeApiError, kind: RequestKind, verdict: ReturnType<typeof retryVerdict>][] = [
  ['read, 500', () => api(500), 'read', 'retry'],
  ['read, 503', () => api(503), 'read', 'retry'],
  ['read, 429', () => api(429), 'read', 'retry'],
  ['read, connection reset', reset, 'read', 'retry'],
  ['read, 404', () => new KubeNotFoundError('gone', { status: 404 }), 'read', 'fatal'],
  ['read, 403', () => api(403), 'read', 'fatal'],
  ['read, connection refused (not a reset)', refused, 'read', 'fatal'],
  ['write, 429 (not processed)', () => api(429), 'write', 'retry'],
  ['write, 503 (not processed)', () => api(503), 'write', 'retry'],
  ['write, 500 (may have happened)', () => api(500), 'write', 'ambiguous'],
  ['write, 504 (may have happened)', () => api(504), 'write', 'ambiguous'],
  ['write, connection reset', reset, 'write', 'ambiguous'],
  ['write, 409', () => api(409), 'write', 'fatal'],
  ['create, 503', () => api(503), 'create', 'retry'],
  ['create, 502', () => api(502), 'create', 'ambiguous'],
  ['create, 422', () => api(422), 'create', 'fatal'],
  ['eviction, 429 (a PodDisruptionBudget: the drain decides)', () => api(429), 'eviction', 'fatal'],
  ['eviction, 500 "more than one PodDisruptionBudget"', () => api(500, 'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.'), 'eviction', 'fatal'],
  ['eviction, other 500', () => api(500, 'etcdserver: request timed out'), 'eviction', 'ambiguous'],
  ['eviction, 503', () => api(503), 'eviction', 'retry'],
];

describe('k8s requests: retryVerdict', () => {
  for (const [title, error, kind, verdict] of rows) it(`${title} → ${verdict}`, () => assert.equal(retryVerdict(error(), kind), verdict));
});
