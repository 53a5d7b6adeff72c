// The Alertmanager client's pure message helpers: how an alert and a silence's remaining time are shown. (The
// client itself runs against a real Alertmanager in test/integration/alerting/alertmanager.test.ts.)
import assert from 'node:assert/strict';
import { type Alert, type Silence, describeAlert, remainingOf } from '../../lib/alerting/client.js';

const alert = (labels: Record<string, string>, state: Alert['status']['state'] = 'active'): Alert => ({
  labels,
  annotations: {},
  startsAt: '2026-11-30T10:00:00.000Z',
  endsAt: '2026-11-30T11:00:00.000Z',
  updatedAt: '2026-11-30T10:00:00.000Z',
  fingerprint: 'f',
  receivers: [],
  status: { state, silencedBy: [], inhibitedBy: [] },
});

describe('alerting client: describeAlert', () => {
  const rows: [string, Alert, string][] = [
    ['labels sorted after the name', alert({ instance: 'h1:9100', alertname: 'NodeDown', cluster: 'tb' }), 'NodeDown{cluster=tb,instance=h1:9100} since 2026-11-30T10:00:00.000Z (active)'],
    ['only a name', alert({ alertname: 'Watchdog' }, 'suppressed'), 'Watchdog{} since 2026-11-30T10:00:00.000Z (suppressed)'],
    ['no name', alert({ severity: 'page' }), '(no alertname){severity=page} since 2026-11-30T10:00:00.000Z (active)'],
  ];
  for (const [title, a, want] of rows) it(`${title} → ${want}`, () => assert.equal(describeAlert(a), want));
});

describe('alerting client: remainingOf', () => {
  const now = Date.parse('2026-11-30T10:00:00.000Z');
  const silence = (endsAt: string): Silence => ({ endsAt }) as Silence;
  const rows: [string, string, string][] = [
    ['12m30s left', '2026-11-30T10:12:30.000Z', '12m30s'],
    ['ended: nothing left, never negative', '2026-11-30T09:00:00.000Z', '0ms'],
  ];
  for (const [title, endsAt, want] of rows) it(`${title} → ${want}`, () => assert.equal(remainingOf(silence(endsAt), now), want));
});
