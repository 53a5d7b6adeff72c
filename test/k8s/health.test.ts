// /readyz with its cause, against a loopback HTTP server answering what each row says: one table of answers →
// ready, status and the message an operator reads (the failed checks, not "Error occurred in health request").
import { strict as assert } from 'node:assert';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeUnreachableError } from '../../lib/k8s/errors.js';
import { checkReadyz } from '../../lib/k8s/health.js';

function kubeconfigFor(server: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: server ? [{ name: 'c', server, skipTLSVerify: true }] : [],
    users: [{ name: 'u', token: 'readyz-token-7c1e' }],
    contexts: [{ name: 'ctx', cluster: server ? 'c' : 'missing', user: 'u' }],
    currentContext: 'ctx',
  });
  return kc;
}

describe('k8s health: checkReadyz', () => {
  let server: Server;
  let url: string;
  let answer: { status: number; body: string; hang?: boolean };
  let authorization: string | undefined;
  before(async () => {
    server = createServer((req, res) => {
      authorization = req.headers.authorization;
      if (answer.hang) return;
      res.writeHead(answer.status);
      res.end(answer.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const failing = '[+]ping ok\n[-]etcd failed: reason withheld\n[+]log ok\n[-]poststarthook/rbac failed: not finished\nreadyz check failed\n';
  const rows: [string, { status: number; body: string; hang?: boolean }, { ready: boolean; status?: number; message?: RegExp }][] = [
    ['ready', { status: 200, body: 'ok' }, { ready: true, status: 200 }],
    ['failed checks: named', { status: 500, body: failing }, { ready: false, status: 500, message: /^GET \/readyz: HTTP 500: \[-\]etcd failed: reason withheld; \[-\]poststarthook\/rbac failed: not finished$/ }],
    ['another answer: its start', { status: 503, body: 'starting up' }, { ready: false, status: 503, message: /^GET \/readyz: HTTP 503: starting up$/ }],
    ['an empty answer', { status: 403, body: '' }, { ready: false, status: 403, message: /^GET \/readyz: HTTP 403$/ }],
    ['no answer in time', { status: 0, body: '', hang: true }, { ready: false, message: /no answer within 300 ms/ }],
  ];
  for (const [title, given, want] of rows) {
    it(`${title} → ${want.ready ? 'ready' : 'not ready'}`, async () => {
      answer = given;
      const r = await checkReadyz(kubeconfigFor(url), { timeoutMs: 300 });
      assert.equal(r.ready, want.ready);
      assert.equal(r.status, want.status);
      assert.equal(authorization, 'Bearer readyz-token-7c1e', 'sent with the kubeconfig credentials');
      if (want.message) assert.match(String(r.error?.message), want.message);
      else assert.equal(r.error, undefined);
    });
  }

  it('an API server that is not there → not ready, KubeUnreachableError with its cause', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const r = await checkReadyz(kubeconfigFor(`http://127.0.0.1:${port}`), { timeoutMs: 1000 });
    assert.equal(r.ready, false);
    assert.ok(r.error instanceof KubeUnreachableError, String(r.error));
    assert.match(String((r.error.cause as Error).message), /ECONNREFUSED/);
  });

  it('a kubeconfig without a current cluster → not ready, saying so', async () => {
    const r = await checkReadyz(kubeconfigFor(undefined));
    assert.equal(r.ready, false);
    assert.match(String(r.error?.message), /no current cluster/);
  });
});
