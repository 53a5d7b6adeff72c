// Integration tests of lib/alerting against a real Prometheus Alertmanager started on loopback by
// scripts/servers/alertmanager.ts. The test plays Prometheus itself by posting alerts to /api/v2/alerts.
import assert from 'node:assert/strict';
import { systemClock } from '../../../lib/core/clock.js';
import { GateViolation, InputError } from '../../../lib/core/errors.js';
import { Gate, isPlanned } from '../../../lib/core/gate.js';
import { MemoryLog } from '../../../lib/core/log.js';
import type { ClientContext } from '../../../lib/core/client.js';
import type { ClusterConfig } from '../../../lib/inventory/schema.js';
import {
  AlertmanagerClient,
  AlertmanagerHttp,
  AlertingConfigError,
  AlertingConnectionError,
  AlertingNotFoundError,
  AlertsFiringError,
  create,
  hostMatchers,
  type Silence,
} from '../../../lib/alerting/index.js';
import { startAlertmanager, type AlertmanagerServer } from '../../../scripts/servers/alertmanager.js';
import { freePort } from '../../../scripts/servers/common.js';

function contextFor(url: string | undefined, dryRun: boolean, log = new MemoryLog()): ClientContext & { gate: Gate; log: MemoryLog } {
  const cluster = { name: 'test', source: '/tmp/test.yaml', alertmanager: url ? { url } : undefined } as unknown as ClusterConfig;
  return { cluster, gate: new Gate({ dryRun }), log, signal: new AbortController().signal, clock: systemClock, stateDir: '/tmp' };
}

/** Posts alerts the way Prometheus does; `endsAt` in the past resolves them. */
async function postAlert(server: AlertmanagerServer, labels: Record<string, string>, endsAt?: Date): Promise<void> {
  const res = await fetch(`${server.url}/api/v2/alerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify([{ labels, annotations: { summary: 'test' }, ...(endsAt ? { endsAt: endsAt.toISOString() } : {}) }]),
  });
  assert.equal(res.status, 200, await res.text());
}

async function alertState(server: AlertmanagerServer, alertname: string): Promise<{ state: string; silencedBy: string[] }[]> {
  const res = await fetch(`${server.url}/api/v2/alerts?filter=${encodeURIComponent(`alertname="${alertname}"`)}`);
  const alerts = (await res.json()) as { status: { state: string; silencedBy: string[] } }[];
  return alerts.map((a) => a.status);
}

async function eventually<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 5000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function silenceSnapshot(server: AlertmanagerServer): Promise<string> {
  const res = await fetch(`${server.url}/api/v2/silences`);
  const list = (await res.json()) as Silence[];
  return JSON.stringify(list.map((s) => [s.id, s.status.state, s.endsAt, s.updatedAt]).sort());
}

describe('alerting against a real Alertmanager', function () {
  this.timeout(30_000);
  let server: AlertmanagerServer;
  let client: AlertmanagerClient;
  let log: MemoryLog;

  before(async () => {
    server = await startAlertmanager();
    const ctx = contextFor(server.url, false);
    log = ctx.log;
    client = await create(ctx);
  });

  after(async () => {
    await server?.stop();
  });

  it('binds to loopback only and answers', async () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const status = (await (await fetch(`${server.url}/api/v2/status`)).json()) as { cluster: { status: string } };
    // Gossip off means nothing listens on 0.0.0.0:9094.
    assert.equal(status.cluster.status, 'disabled');
  });

  it('creates, gets, extends and expires a silence', async () => {
    const id = await client.createSilence({ matchers: 'alertname=Lifecycle,instance=~"h0(:\\\\d+)?"', duration: '10m', comment: 'lifecycle test' });
    assert.ok(!isPlanned(id));
    const got = await client.getSilence(id);
    assert.equal(got.status.state, 'active');
    assert.equal(got.comment, 'lifecycle test');
    assert.match(got.createdBy, /cluster-cookbooks/);
    assert.deepEqual(
      got.matchers.map((m) => [m.name, m.value, m.isRegex, m.isEqual]).sort(),
      [
        ['alertname', 'Lifecycle', false, true],
        ['instance', 'h0(:\\d+)?', true, true],
      ],
    );
    const firstEnd = Date.parse(got.endsAt);
    assert.ok(Math.abs(firstEnd - (Date.now() + 600_000)) < 10_000, `endsAt ${got.endsAt} is about 10m from now`);

    const extended = await client.extendSilence(id, { duration: '2h' });
    assert.ok(!isPlanned(extended));
    const after = await client.getSilence(extended);
    assert.ok(Date.parse(after.endsAt) > firstEnd + 3_000_000, `extended end ${after.endsAt}`);
    assert.equal(after.status.state, 'active');
    // Alertmanager updates in place when matchers and start are unchanged: the id stays.
    assert.equal(extended, id);

    const listed = await client.listSilences({ matchers: 'alertname=Lifecycle', state: 'active' });
    assert.deepEqual(
      listed.map((s) => s.id),
      [id],
    );

    await client.expireSilence(id);
    assert.equal((await client.getSilence(id)).status.state, 'expired');
    await assert.rejects(client.extendSilence(id, { duration: '1h' }), /expired and cannot be extended/);
    assert.ok(log.lines.some((l) => l.message.includes(`silence ${id}`)));
  });

  it('suppresses a matching alert, and only the host it names', async () => {
    await postAlert(server, { alertname: 'HostSilenced', instance: 'tools-k8s-worker-1:9100' });
    await postAlert(server, { alertname: 'HostSilenced', instance: 'tools-k8s-worker-10:9100' });
    const id = await client.createSilence({ matchers: hostMatchers('tools-k8s-worker-1'), duration: '5m', comment: 'host silence' });
    const byInstance = await eventually(async () => {
      const res = await fetch(`${server.url}/api/v2/alerts?filter=${encodeURIComponent('alertname="HostSilenced"')}`);
      const alerts = (await res.json()) as { labels: Record<string, string>; status: { state: string; silencedBy: string[] } }[];
      const map = new Map(alerts.map((a) => [a.labels.instance, a.status]));
      return map.get('tools-k8s-worker-1:9100')?.state === 'suppressed' ? map : undefined;
    }, 'the alert to be suppressed');
    assert.deepEqual(byInstance.get('tools-k8s-worker-1:9100')!.silencedBy, [id]);
    assert.equal(byInstance.get('tools-k8s-worker-10:9100')!.state, 'active');
    await client.expireSilence(id as string);
    await eventually(async () => ((await alertState(server, 'HostSilenced')).every((s) => s.state === 'active') ? true : undefined), 'unsuppressed');
  });

  it('sees a firing alert as a blocker and stops seeing it once resolved', async () => {
    const matchers = [...hostMatchers('blocker-1'), { name: 'alertname', value: 'Blocker', isRegex: false, isEqual: true }];
    assert.deepEqual(await client.activeAlerts(matchers), []);
    await client.assertNoActiveAlerts(matchers, 'reboot blocker-1');

    await postAlert(server, { alertname: 'Blocker', instance: 'blocker-1:9100', severity: 'critical' });
    const firing = await client.activeAlerts(matchers);
    assert.equal(firing.length, 1);
    assert.equal(firing[0]!.labels.severity, 'critical');
    await assert.rejects(client.assertNoActiveAlerts(matchers, 'reboot blocker-1'), (err: unknown) => {
      assert.ok(err instanceof AlertsFiringError);
      assert.match(err.message, /refusing to reboot blocker-1: Blocker\{instance=blocker-1:9100,severity=critical\}/);
      return true;
    });

    // A silenced alert does not block, unless asked for.
    const id = await client.createSilence({ matchers, duration: '5m', comment: 'silenced blocker' });
    await eventually(async () => ((await client.activeAlerts(matchers)).length === 0 ? true : undefined), 'silenced alert to leave the query');
    assert.equal((await client.activeAlerts(matchers, { silenced: true })).length, 1);
    await client.expireSilence(id as string);
    await eventually(async () => ((await client.activeAlerts(matchers)).length === 1 ? true : undefined), 'alert back after expiry');

    await postAlert(server, { alertname: 'Blocker', instance: 'blocker-1:9100', severity: 'critical' }, new Date(Date.now() - 1000));
    await eventually(async () => ((await client.activeAlerts(matchers)).length === 0 ? true : undefined), 'resolved alert to disappear');
    await client.assertNoActiveAlerts(matchers, 'reboot blocker-1');
  });

  it('withSilence expires the silence when the step succeeds', async () => {
    let seen: string | undefined;
    const result = await client.withSilence({ matchers: hostMatchers('scope-ok'), duration: '10m', comment: 'scope ok' }, async (scope) => {
      seen = scope.id as string;
      assert.equal((await client.getSilence(seen)).status.state, 'active');
      await scope.extend({ duration: '20m' });
      assert.ok(Date.parse((await client.getSilence(scope.id as string)).endsAt) > Date.now() + 19 * 60_000);
      return 42;
    });
    assert.equal(result, 42);
    assert.equal((await client.getSilence(seen!)).status.state, 'expired');
  });

  it('withSilence keeps the silence when the step fails and logs its id and end', async () => {
    let seen: string | undefined;
    let end: string | undefined;
    await assert.rejects(
      client.withSilence({ matchers: hostMatchers('scope-fail'), duration: '10m', comment: 'scope fail' }, async (scope) => {
        seen = scope.id as string;
        end = scope.endsAt;
        throw new Error('step broke');
      }),
      /step broke/,
    );
    const silence = await client.getSilence(seen!);
    assert.equal(silence.status.state, 'active');
    const line = log.lines.find((l) => l.level === 'warn' && l.message.includes(seen!));
    assert.ok(line, 'a warning names the silence');
    assert.ok(line.message.includes(end!), 'and its end time');
    await client.expireSilence(seen!);
  });

  it('maps errors: unknown silence, unreachable server, bad input, no URL', async () => {
    await assert.rejects(client.getSilence('00000000-0000-4000-8000-000000000000'), (err: unknown) => {
      assert.ok(err instanceof AlertingNotFoundError);
      assert.equal(err.context.status, 404);
      assert.match(String(err.context.url), /\/api\/v2\/silence\/00000000-/);
      return true;
    });
    await assert.rejects(client.expireSilence('00000000-0000-4000-8000-000000000000'), AlertingNotFoundError);
    await assert.rejects(client.createSilence({ matchers: 'a=~"(bad"', duration: '1m', comment: 'x' }), InputError);
    await assert.rejects(client.createSilence({ matchers: 'a=b', duration: '1m', comment: '' }), InputError);
    await assert.rejects(client.createSilence({ matchers: 'a=b', endsAt: new Date(Date.now() - 1000), comment: 'past' }), InputError);

    const deadPort = await freePort();
    const dead = await create(contextFor(`http://127.0.0.1:${deadPort}`, false));
    await assert.rejects(dead.listSilences(), AlertingConnectionError);
    await assert.rejects(create(contextFor(undefined, false)), AlertingConfigError);
  });

  it('keeps credentials from the URL out of errors and sends them as basic auth', async () => {
    const withCreds = await create(contextFor(server.url.replace('http://', 'http://ops:s3cretpw@'), false));
    assert.equal(withCreds.url, server.url);
    await assert.rejects(withCreds.getSilence('00000000-0000-4000-8000-000000000001'), (err: unknown) => {
      assert.ok(err instanceof AlertingNotFoundError);
      assert.ok(!JSON.stringify({ m: err.message, c: err.context }).includes('s3cretpw'));
      return true;
    });
  });

  it('refuses a mutation outside the gate', async () => {
    const http = new AlertmanagerHttp({ url: server.url });
    await assert.rejects(http.request('POST', '/api/v2/silences', { body: {} }), GateViolation);
  });

  it('dry-run: every mutating method is planned and nothing reaches Alertmanager', async () => {
    const existing = await client.createSilence({ matchers: 'alertname=DryRunTarget', duration: '10m', comment: 'for dry-run extend' });
    const before = await silenceSnapshot(server);
    const ctx = contextFor(server.url, true);
    const dry = await create(ctx);
    const spec = { matchers: hostMatchers('dry-1'), duration: '10m', comment: 'dry' };
    const mutations = Object.entries(AlertmanagerClient.operations).filter(([, kind]) => kind === 'mutate').map(([name]) => name);
    const called: string[] = [];
    const calls: Record<string, () => Promise<unknown>> = {
      createSilence: () => dry.createSilence(spec),
      extendSilence: () => dry.extendSilence(existing as string, { duration: '3h' }),
      expireSilence: () => dry.expireSilence(existing as string),
      withSilence: () =>
        dry.withSilence(spec, async (scope) => {
          assert.ok(isPlanned(scope.id));
          await scope.extend({ duration: '1h' });
          return 'planned-run';
        }),
    };
    for (const name of mutations) {
      assert.ok(calls[name], `the dry-run test covers mutation ${name}`);
      const value = await calls[name]!();
      called.push(name);
      if (name !== 'withSilence') assert.ok(isPlanned(value), `${name} returns Planned`);
      else assert.equal(value, 'planned-run');
    }
    assert.deepEqual(called.sort(), ['createSilence', 'expireSilence', 'extendSilence', 'withSilence']);
    // Every read runs in dry-run.
    const reads: Record<string, () => Promise<unknown>> = {
      getSilence: async () => assert.equal((await dry.getSilence(existing as string)).status.state, 'active'),
      listSilences: async () => assert.ok((await dry.listSilences()).some((s) => s.id === existing)),
      activeAlerts: async () => assert.ok(Array.isArray(await dry.activeAlerts('alertname=DryRunTarget'))),
      assertNoActiveAlerts: () => dry.assertNoActiveAlerts('alertname=DryRunTarget', 'test'),
    };
    const readOps = Object.entries(AlertmanagerClient.operations).filter(([, kind]) => kind === 'read').map(([name]) => name).sort();
    assert.deepEqual(readOps, Object.keys(reads).sort(), 'the dry-run test covers every read');
    for (const name of readOps) await reads[name]!();
    assert.ok(ctx.gate.changes.length >= 4 && ctx.gate.changes.every((c) => c.planned && c.system === 'alerting'));
    assert.equal(await silenceSnapshot(server), before, 'no silence was created, extended or expired');
    await client.expireSilence(existing as string);
  });
});
