// Typed errors and the retry policy of the Kubernetes client: kubeconfig problems name the context and the
// file, unknown client-node failures keep the request and cause, /readyz keeps its cause, and the retry
// decisions (reads vs safe writes vs creates vs evictions) hold for each kind of failure.
import { ApiException } from '@kubernetes/client-node';
import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ExitCode } from '../../lib/core/errors.js';
import { Gate } from '../../lib/core/gate.js';
import { MemoryLog } from '../../lib/core/log.js';
import { KubeAbortedError, KubeApiError, KubeConfigError, KubeUnreachableError, kubeFromFile } from '../../lib/k8s/index.js';
import { KubeRequester, type RequestKind } from '../../lib/k8s/requests.js';
import { loadKubeConfig, toKubeError } from '../../lib/k8s/transport.js';
import { cleanupTempDirs, tempDir } from '../helpers/cli.js';

function kubeconfig(server: string, current = 'lab'): string {
  const file = join(tempDir('cc-kc-'), 'kubeconfig');
  writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: lab\n  cluster:\n    server: ${server}\n    insecure-skip-tls-verify: true`,
      'users:',
      '- name: admin\n  user:\n    token: not-a-real-token-0123456789',
      'contexts:',
      '- name: lab\n  context:\n    cluster: lab\n    user: admin',
      '- name: orphan\n  context:\n    cluster: missing\n    user: admin',
      `current-context: ${current}`,
      '',
    ].join('\n'),
  );
  return file;
}

const apiError = (code: number, headers: Record<string, string> = {}, message = 'boom'): ApiException<string> =>
  new ApiException(code, `HTTP-Code: ${code}`, JSON.stringify({ kind: 'Status', message, code }), headers);

/** A call that fails with the given errors in turn, then succeeds; counts its attempts. */
function flaky<T>(failures: unknown[], value: T): { fn: () => Promise<T>; attempts: () => number } {
  let n = 0;
  return {
    fn: async () => {
      const f = failures[n++];
      if (f !== undefined) throw f;
      return value;
    },
    attempts: () => n,
  };
}

describe('k8s errors and retry policy', () => {
  after(() => cleanupTempDirs());
  const requester = (timeoutMs = 5000): KubeRequester => new KubeRequester({ log: new MemoryLog(), retry: { timeoutMs, backoff: { initialMs: 5, maxMs: 20 } } });

  it('a kubeconfig whose current context is unknown names the context and the file (exit 2)', () => {
    const file = kubeconfig('https://127.0.0.1:1', 'gone');
    const err = (() => {
      try {
        loadKubeConfig({ kubeconfig: file });
      } catch (e) {
        return e;
      }
    })();
    assert.ok(err instanceof KubeConfigError, String(err));
    assert.match(err.message, /has no context "gone" \(its current-context\)/);
    assert.ok(err.message.includes(file));
    assert.equal(err.exitCode, ExitCode.usage);
    assert.match(err.hint ?? '', /contexts in .*: lab, orphan/);
    assert.throws(() => kubeFromFile(file, { gate: new Gate({ dryRun: false }), log: new MemoryLog(), context: 'nope' }), /has no context "nope" \(asked for/);
    assert.throws(() => loadKubeConfig({ kubeconfig: file, context: 'orphan' }), (e: unknown) => e instanceof KubeConfigError && /names cluster "missing"/.test(e.message));
  });

  it('an unknown client-node failure leaves as a KubeApiError with the request and its cause', () => {
    const cause = new TypeError('cannot read properties of undefined');
    const err = toKubeError(cause, 'LIST nodes', { node: 'x' }, 'GET /api/v1/nodes');
    assert.ok(err instanceof KubeApiError);
    assert.equal(err.context.request, 'GET /api/v1/nodes');
    assert.equal(err.context.operation, 'LIST nodes');
    assert.equal(err.cause, cause);
    assert.ok(err instanceof KubeApiError && err.hint, 'it tells the operator what to do');
    const serverError = toKubeError(apiError(503), 'GET x');
    assert.ok(serverError instanceof KubeApiError && /readyz/.test(serverError.hint ?? ''));
  });

  it('/readyz keeps the cause when the API server cannot be reached', async () => {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as { port: number }).port;
    await new Promise<void>((r) => srv.close(() => r()));
    const kube = kubeFromFile(kubeconfig(`https://127.0.0.1:${port}`), { gate: new Gate({ dryRun: false }), log: new MemoryLog() });
    const r = await kube.readyzCheck();
    assert.equal(r.ready, false);
    assert.ok(r.error instanceof KubeUnreachableError, String(r.error));
    assert.equal((r.error.cause as { code?: string }).code, 'ECONNREFUSED');
    assert.equal(await kube.readyz(), false);
  });

  it('reads are retried on 5xx, 429 and connection resets, honouring Retry-After', async () => {
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    const call = flaky([apiError(503, { 'retry-after': '0.05' }), apiError(429), reset, apiError(502)], 'ok');
    const req = requester();
    const t0 = Date.now();
    assert.equal(await req.call('GET thing', call.fn), 'ok');
    assert.equal(call.attempts(), 5);
    assert.ok(Date.now() - t0 >= 45, 'waited for Retry-After');
    const refused = flaky([Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })], 'ok');
    await assert.rejects(req.call('GET thing', refused.fn), KubeUnreachableError);
    assert.equal(refused.attempts(), 1, 'a refused connection fails at once (wrong address or server down)');
    const notFound = flaky([apiError(404)], 'ok');
    assert.equal(await req.readOptional('GET thing', notFound.fn), undefined);
  });

  it('a create is repeated only when the answer proves nothing was created, else confirmed first', async () => {
    const req = requester();
    const throttled = flaky([apiError(429), apiError(503)], 'created');
    assert.equal(await req.call('create x', throttled.fn, { kind: 'create' }), 'created');
    assert.equal(throttled.attempts(), 3);

    const ambiguous = flaky([apiError(500)], 'created');
    await assert.rejects(req.call('create x', ambiguous.fn, { kind: 'create' }), (e: unknown) => e instanceof KubeApiError && e.status === 500);
    assert.equal(ambiguous.attempts(), 1, 'no blind repeat after a 500');

    const done = flaky([apiError(500)], 'second');
    assert.equal(await req.call('create x', done.fn, { kind: 'create', confirm: async () => 'found' }), 'found');
    assert.equal(done.attempts(), 1, 'the object was there: not created again');

    const notDone = flaky([apiError(504)], 'second');
    assert.equal(await req.call('create x', notDone.fn, { kind: 'create', confirm: async () => undefined }), 'second');
    assert.equal(notDone.attempts(), 2);
  });

  it('a safe write meeting its own earlier change as a conflict is confirmed; evictions leave PDB answers to the drain', async () => {
    const req = requester();
    const write = flaky([apiError(500), apiError(409)], 'x');
    assert.equal(await req.call('update lease', write.fn, { kind: 'write', confirm: async () => 'ours' }), 'ours');
    const kinds: [RequestKind, number, number][] = [
      ['eviction', 429, 1],
      ['write', 429, 2],
    ];
    for (const [kind, code, attempts] of kinds) {
      const c = flaky([apiError(code)], 'ok');
      await req.call('evict', c.fn, { kind }).catch(() => undefined);
      assert.equal(c.attempts(), attempts, `${kind} ${code}`);
    }
    const multiPdb = flaky([apiError(500, {}, 'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.')], 'ok');
    await assert.rejects(req.call('evict', multiPdb.fn, { kind: 'eviction' }), KubeApiError);
    assert.equal(multiPdb.attempts(), 1);
  });

  it('gives up at the deadline with the last failure as cause, and a signal cancels the wait at once', async () => {
    const always = { fn: async () => Promise.reject(apiError(500)) };
    const err = await requester(60).call('LIST pods', always.fn).catch((e: unknown) => e);
    assert.ok(err instanceof KubeApiError && err.status === 500, String(err));
    assert.match(err.message, /gave up on LIST pods after \d+ attempts/);
    assert.ok(err.cause instanceof KubeApiError);
    const ac = new AbortController();
    const slow = new KubeRequester({ log: new MemoryLog(), retry: { timeoutMs: 60_000, backoff: { initialMs: 30_000, maxMs: 30_000 } } });
    const t0 = Date.now();
    const p = slow.call('LIST pods', always.fn, { signal: ac.signal }).catch((e: unknown) => e);
    setImmediate(() => ac.abort(new Error('deadline')));
    const aborted = await p;
    assert.ok(aborted instanceof KubeAbortedError, String(aborted));
    assert.ok(Date.now() - t0 < 2000);
  });
});
