// The Alertmanager transport against a small HTTP server on loopback that answers what each row says: one
// table of answers → typed error, hint and attempts; one of URLs → base URL or refusal; one of error bodies →
// the message shown. Credentials never reach a message.
import assert from 'node:assert/strict';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AlertingApiError, AlertingConfigError, AlertingConnectionError, AlertingNotFoundError } from '../../lib/alerting/errors.js';
import { AlertmanagerHttp, apiMessage } from '../../lib/alerting/http.js';
import type { Clock } from '../../lib/core/clock.js';
import { Gate } from '../../lib/core/gate.js';

/** Retries of reads back off: this clock lets them go at once, so the table stays fast. */
const noWait: Clock = { now: () => Date.now(), sleep: async () => undefined };

describe('alerting http: apiMessage', () => {
  const rows: [string, string, string][] = [
    ['a JSON string', '"silence not found"', 'silence not found'],
    ['a {message} object', '{"code": 400, "message": "bad matcher"}', 'bad matcher'],
    ['plain text, trimmed', '  bad gateway \n', 'bad gateway'],
    ['JSON without a message: the text', '{"code": 500}', '{"code": 500}'],
    ['long text is cut', 'x'.repeat(600), 'x'.repeat(500)],
  ];
  for (const [title, text, want] of rows) it(`${title} → ${want.length > 30 ? `${want.length} characters` : want}`, () => assert.equal(apiMessage(text), want));
});

describe('alerting http: the URL', () => {
  const rows: [string, string, string | RegExp][] = [
    ['a plain URL', 'http://127.0.0.1:9093', 'http://127.0.0.1:9093'],
    ['a trailing slash dropped', 'https://am.example.org/prefix/', 'https://am.example.org/prefix'],
    ['credentials taken out', 'https://ops:pa%24%24word@am.example.org', 'https://am.example.org'],
    ['not a URL', 'am.example.org:9093', /alertmanager URL/],
    ['not http', 'ftp://am.example.org', /must be http or https, not ftp:/],
  ];
  for (const [title, url, want] of rows) {
    it(`${title} → ${want instanceof RegExp ? 'AlertingConfigError' : want}`, () => {
      if (typeof want === 'string') return assert.equal(new AlertmanagerHttp({ url }).baseUrl, want);
      assert.throws(() => new AlertmanagerHttp({ url }), (err: unknown) => err instanceof AlertingConfigError && want.test(err.message) && /alertmanager\.url/.test(String(err.hint)));
    });
  }
});

describe('alerting http: answers (loopback server)', () => {
  let server: Server;
  let base: string;
  let answer: { status: number; body: string };
  let seen: { method: string; url: string; authorization?: string }[];
  before(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization });
      req.resume();
      req.on('end', () => {
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        res.end(answer.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://ops:am-pass-9f2c@127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  beforeEach(() => {
    seen = [];
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  type Want = { value: unknown } | { cls: new (...a: never[]) => Error; status?: number; message: RegExp; hint?: RegExp };
  const rows: [string, 'GET' | 'POST' | 'DELETE', { status: number; body: string }, number, Want][] = [
    ['a JSON answer', 'GET', { status: 200, body: '[{"id":"s1"}]' }, 1, { value: [{ id: 's1' }] }],
    ['an empty answer', 'DELETE', { status: 200, body: '' }, 1, { value: undefined }],
    ['404', 'GET', { status: 404, body: '"not found"' }, 1, { cls: AlertingNotFoundError, status: 404, message: /Alertmanager: not found \(GET http:\/\/127\.0\.0\.1:\d+\/api\/v2\/silence\/s1\)/ }],
    ['500 "silence not found" (Alertmanager 0.25)', 'DELETE', { status: 500, body: '"silence not found"' }, 1, { cls: AlertingNotFoundError, status: 500, message: /silence not found/, hint: /deleted or garbage-collected/ }],
    ['400: invalid', 'POST', { status: 400, body: '{"message":"bad matcher"}' }, 1, { cls: AlertingApiError, status: 400, message: /answered 400: bad matcher/, hint: /check the matchers and times/ }],
    ['401: credentials', 'GET', { status: 401, body: 'Unauthorized' }, 1, { cls: AlertingApiError, status: 401, message: /answered 401/, hint: /refused the credentials/ }],
    ['502 on a read: retried, then given up', 'GET', { status: 502, body: 'bad gateway' }, 3, { cls: AlertingApiError, status: 502, message: /answered 502: bad gateway/, hint: /look at its log/ }],
    ['502 on a write: never repeated', 'POST', { status: 502, body: 'bad gateway' }, 1, { cls: AlertingApiError, status: 502, message: /answered 502/ }],
    ['not JSON', 'GET', { status: 200, body: '<html>login</html>' }, 1, { cls: AlertingApiError, status: 200, message: /something that is not JSON/, hint: /proxy login page/ }],
  ];
  for (const [title, method, given, attempts, want] of rows) {
    it(`${method} ${title} → ${'value' in want ? 'its body' : want.cls.name}, ${attempts} request(s)`, async () => {
      answer = given;
      const http = new AlertmanagerHttp({ url: base, clock: noWait });
      // Writes are gated: run them as a real run would.
      const call = (): Promise<unknown> => http.request(method, '/api/v2/silence/s1', method === 'GET' ? {} : { body: { x: 1 } });
      const got = await (method === 'GET' ? call() : new Gate({ dryRun: false }).mutate({ system: 'alerting', target: 't', action: 'a' }, call)).catch((e: unknown) => e);
      assert.equal(seen.length, attempts);
      assert.ok(seen.every((s) => s.method === method && s.authorization === `Basic ${Buffer.from('ops:am-pass-9f2c').toString('base64')}`));
      if ('value' in want) return assert.deepEqual(got, want.value);
      assert.equal((got as Error).constructor, want.cls);
      const err = got as AlertingApiError;
      if (want.status !== undefined) assert.equal(err.status, want.status);
      assert.match(err.message, want.message);
      if (want.hint) assert.match(String(err.hint), want.hint);
      assert.ok(!JSON.stringify({ m: err.message, c: err.context }).includes('am-pass-9f2c'), 'no password in the error');
    });
  }

  it('a server that is not there → AlertingConnectionError naming the URL without credentials', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const http = new AlertmanagerHttp({ url: `http://ops:am-pass-9f2c@127.0.0.1:${port}`, clock: noWait });
    const err = await http.request('GET', '/api/v2/status').catch((e: unknown) => e);
    assert.ok(err instanceof AlertingConnectionError, String(err));
    assert.match(err.message, new RegExp(`cannot reach Alertmanager: GET http://127\\.0\\.0\\.1:${port}/api/v2/status`));
    assert.ok(!err.message.includes('am-pass-9f2c'));
  });
});
