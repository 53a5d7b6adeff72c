// How a failed API call becomes a typed error the operator can act on: one table of failures → error class,
// status, message and hint, one `it` per row. Also which kubeconfig is read and what counts as a reset.
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { homedir } from 'node:os';
import { ApiException } from '@kubernetes/client-node';
import { InterruptedError } from '../../lib/core/errors.js';
import { KubeAbortedError, KubeApiError, KubeConflictError, KubeNotFoundError, KubeUnreachableError } from '../../lib/k8s/errors.js';
import { isConnectionReset, kubeconfigSource, toKubeError } from '../../lib/k8s/transport.js';

const api = (code: number, body: unknown, headers: Record<string, string> = {}): ApiException<unknown> => new ApiException(code, 'HTTP error', typeof body === 'string' ? body : JSON.stringify(body), headers);
const coded = (code: string, message = code): Error => Object.assign(new Error(message), { code });
const aborted = (reason: unknown): AbortSignal => AbortSignal.abort(reason);

interface Want {
  cls: new (...args: never[]) => Error;
  status?: number;
  message?: RegExp;
  hint?: RegExp;
  retryAfterMs?: number;
}

const rows: [string, () => unknown, AbortSignal | undefined, Want][] = [
  ['404', () => api(404, { reason: 'NotFound', message: 'nodes "w9" not found' }), undefined, { cls: KubeNotFoundError, status: 404, message: /^GET node w9: nodes "w9" not found$/ }],
  ['409', () => api(409, { reason: 'Conflict', message: 'the object has been modified' }), undefined, { cls: KubeConflictError, status: 409, message: /modified/ }],
  ['401', () => api(401, { message: 'Unauthorized' }), undefined, { cls: KubeApiError, status: 401, hint: /credentials in the kubeconfig/ }],
  ['403', () => api(403, { message: 'forbidden' }), undefined, { cls: KubeApiError, status: 403, hint: /RBAC/ }],
  ['429 with Retry-After', () => api(429, { message: 'slow down' }, { 'retry-after': '3' }), undefined, { cls: KubeApiError, status: 429, hint: /throttling/, retryAfterMs: 3000 }],
  ['500', () => api(500, { message: 'etcdserver: leader changed' }), undefined, { cls: KubeApiError, status: 500, hint: /readyz/ }],
  ['422', () => api(422, { message: 'spec.taints: Invalid value' }), undefined, { cls: KubeApiError, status: 422, hint: /rejected the request as invalid/ }],
  ['a body that is no JSON', () => api(502, '<html>bad gateway</html>'), undefined, { cls: KubeApiError, status: 502, message: /<html>bad gateway<\/html>/ }],
  ['connection refused (a Node error code)', () => coded('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:6443'), undefined, { cls: KubeUnreachableError, status: 0, message: /cannot reach the API server/, hint: /API server address/ }],
  ['a TLS failure in the message', () => new Error('unable to verify the first certificate'), undefined, { cls: KubeUnreachableError, status: 0 }],
  ['anything else: typed, with its cause', () => new TypeError('Cannot read properties of undefined'), undefined, { cls: KubeApiError, status: 0, hint: /unexpected failure/ }],
  ['a typed error passes as it is', () => new KubeNotFoundError('x', { status: 404 }), undefined, { cls: KubeNotFoundError, status: 404, message: /^x$/ }],
  ['an interruption passes as it is', () => new InterruptedError('interrupted'), undefined, { cls: InterruptedError, message: /^interrupted$/ }],
  ['cancelled by a deadline', () => new Error('This operation was aborted'), aborted(new KubeApiError('drain deadline', { status: 0 })), { cls: KubeAbortedError, status: 0, message: /GET node w9: cancelled: drain deadline/ }],
  ['cancelled by the run\'s interruption', () => new Error('aborted'), aborted(new InterruptedError('SIGINT')), { cls: InterruptedError, message: /^SIGINT$/ }],
];

describe('k8s transport: toKubeError', () => {
  for (const [title, failure, signal, want] of rows) {
    it(`${title} → ${want.cls.name}`, () => {
      const err = toKubeError(failure(), 'GET node w9', { node: 'w9' }, 'GET /api/v1/nodes/w9', signal);
      assert.equal(err.constructor, want.cls);
      if (want.message) assert.match(err.message, want.message);
      if (!(err instanceof KubeApiError)) return;
      if (want.status !== undefined) assert.equal(err.status, want.status);
      if (want.hint) assert.match(String(err.hint), want.hint);
      if (want.retryAfterMs !== undefined) assert.equal(err.retryAfterMs, want.retryAfterMs);
      if (want.message?.source !== '^x$') {
        assert.equal(err.context.request, 'GET /api/v1/nodes/w9');
        assert.equal(err.context.operation, 'GET node w9');
        assert.equal(err.context.node, 'w9');
      }
    });
  }
});

describe('k8s transport: isConnectionReset', () => {
  const resets: [string, unknown, boolean][] = [
    ['ECONNRESET', coded('ECONNRESET'), true],
    ['EPIPE', coded('EPIPE'), true],
    ['undici socket error', coded('UND_ERR_SOCKET'), true],
    ['socket hang up (message only)', new Error('socket hang up'), true],
    ['connection refused: not a reset', coded('ECONNREFUSED'), false],
    ['not an error', 'ECONNRESET?', false],
  ];
  for (const [title, err, want] of resets) it(`${title} → ${want}`, () => assert.equal(isConnectionReset(err), want));
});

describe('k8s transport: kubeconfigSource', () => {
  let saved: string | undefined;
  before(() => {
    saved = process.env.KUBECONFIG;
  });
  after(() => {
    if (saved === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = saved;
  });
  const rows: [string, string | undefined, string | undefined, string][] = [
    ['the inventory wins', '/inv/kubeconfig', '/env/kc', '/inv/kubeconfig'],
    ['else KUBECONFIG', undefined, '/env/kc', '/env/kc'],
    ['else ~/.kube/config', undefined, undefined, join(homedir(), '.kube', 'config')],
  ];
  for (const [title, given, env, want] of rows) {
    it(`${title} → ${want}`, () => {
      if (env === undefined) delete process.env.KUBECONFIG;
      else process.env.KUBECONFIG = env;
      assert.equal(kubeconfigSource(given), want);
    });
  }
});
