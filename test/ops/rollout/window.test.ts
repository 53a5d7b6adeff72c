// Window arithmetic with fixed instants: weekdays, midnight crossing, daylight-saving changes.
import { strict as assert } from 'node:assert';
import { UsageError } from '../../../lib/core/errors.js';
import { formatInZone, mayStart, parseWindow, windowState } from '../../../lib/ops/rollout/window.js';

const t = (iso: string): number => Date.parse(iso);

describe('maintenance windows', () => {
  it('parses days, times and zones, and rejects nonsense', () => {
    const w = parseWindow('Mon-Fri 06:00-16:00 Europe/Madrid');
    assert.deepEqual([...w.days].sort(), [1, 2, 3, 4, 5]);
    assert.equal(w.startMinute, 360);
    assert.deepEqual([...parseWindow('Fri-Mon 22:00-04:00').days].sort(), [1, 5, 6, 7]);
    for (const bad of ['Mon-Fri', 'Mon-Xyz 06:00-07:00', 'Mon 6-7', 'Mon 06:00-06:00', 'Mon 06:00-07:00 Mars/Olympus', 'Mon 25:00-26:00']) {
      assert.throws(() => parseWindow(bad), UsageError, bad);
    }
  });

  it('is open inside the local window on listed days only', () => {
    const w = parseWindow('Mon-Fri 06:00-16:00 Europe/Madrid');
    // 2026-11-23 is a Monday; Madrid is UTC+1 in November.
    assert.equal(windowState(w, t('2026-11-23T05:30:00Z')).open, true); // 06:30 local
    assert.equal(windowState(w, t('2026-11-23T04:59:00Z')).open, false); // 05:59 local
    assert.equal(windowState(w, t('2026-11-23T15:00:00Z')).open, false); // 16:00 local: the end is exclusive
    assert.equal(windowState(w, t('2026-11-21T10:00:00Z')).open, false); // Saturday
    assert.equal(windowState(w, t('2026-11-21T10:00:00Z')).nextStart, t('2026-11-23T05:00:00Z'));
  });

  it('handles windows that cross midnight, belonging to the day they start', () => {
    const w = parseWindow('Fri 22:00-04:00 UTC');
    assert.equal(windowState(w, t('2026-11-20T23:00:00Z')).open, true); // Friday 23:00
    const s = windowState(w, t('2026-11-21T03:00:00Z')); // Saturday 03:00, still Friday's window
    assert.equal(s.open, true);
    assert.equal(s.endsAt, t('2026-11-21T04:00:00Z'));
    assert.equal(windowState(w, t('2026-11-22T03:00:00Z')).open, false); // Sunday 03:00: no Saturday window
  });

  it('follows daylight-saving changes (the window is local time)', () => {
    const w = parseWindow('daily 06:00-16:00 Europe/Madrid');
    // Summer (UTC+2) and winter (UTC+1): 06:00 local is 04:00Z and 05:00Z.
    assert.equal(windowState(w, t('2026-07-01T04:00:00Z')).open, true);
    assert.equal(windowState(w, t('2026-12-01T04:00:00Z')).open, false);
    assert.equal(windowState(w, t('2026-12-01T05:00:00Z')).open, true);
    // A night window across the spring-forward night (2026-03-29 02:00 -> 03:00 in Madrid) lasts one hour less.
    const night = parseWindow('Sat 23:00-05:00 Europe/Madrid');
    const s = windowState(night, t('2026-03-28T23:30:00Z')); // 00:30 local on Sunday, in Saturday's window
    assert.equal(s.open, true);
    assert.equal(s.endsAt, t('2026-03-29T03:00:00Z')); // 05:00 CEST
    const start = windowState(night, t('2026-03-28T12:00:00Z')).nextStart;
    assert.equal(s.endsAt! - start, 5 * 3600_000); // 23:00 CET to 05:00 CEST is five hours
    // Autumn: 2026-10-25 03:00 -> 02:00, the same window is seven hours.
    const autumn = windowState(night, t('2026-10-24T12:00:00Z'));
    const occ = windowState(night, autumn.nextStart);
    assert.equal(occ.endsAt! - autumn.nextStart, 7 * 3600_000);
  });

  it('does not start work that would run past the end of the window', () => {
    const w = parseWindow('daily 06:00-16:00 UTC');
    assert.deepEqual(mayStart(w, t('2026-11-23T15:50:00Z'), 5 * 60_000), { ok: true });
    const late = mayStart(w, t('2026-11-23T15:57:00Z'), 5 * 60_000);
    assert.equal(late.ok, false);
    assert.match((late as { reason: string }).reason, /^only 3m00s left in the window daily 06:00-16:00 UTC \(it closes Mon 2026-11-23 16:00 UTC\), a node takes about 5m00s; it opens next Tue 2026-11-24 06:00 UTC$/);
    const outside = mayStart(w, t('2026-11-23T17:00:00Z'), 1000);
    assert.equal((outside as { retryAt: number }).retryAt, t('2026-11-24T06:00:00Z'));
    assert.deepEqual(mayStart(undefined, 0, 1e9), { ok: true });
  });

  it('says when a window that has not opened yet opens, in the window\'s own zone (not "cannot fit")', () => {
    const w = parseWindow('Mon-Fri 06:00-16:00 Europe/Madrid');
    // Friday 16:30 in Madrid: the next opening is Monday 06:00 CET (05:00Z).
    const r = mayStart(w, t('2026-11-20T15:30:00Z'), 60_000);
    assert.equal(r.ok, false);
    assert.equal((r as { reason: string }).reason, 'outside the window Mon-Fri 06:00-16:00 Europe/Madrid: it opens Mon 2026-11-23 06:00 GMT+1');
    assert.doesNotMatch((r as { reason: string }).reason, /cannot fit/);
    // Summer time is printed as the zone has it then.
    assert.equal(formatInZone(w, t('2026-07-01T04:00:00Z')), 'Wed 2026-07-01 06:00 GMT+2');
  });

  it('malformed windows are usage errors naming the option and the value, with a runnable example', () => {
    try {
      parseWindow('Mon-Fri 06:00-16:00 Mars/Olympus');
      assert.fail('accepted an unknown zone');
    } catch (err) {
      assert.ok(err instanceof UsageError);
      assert.equal(err.exitCode, 2);
      assert.deepEqual(err.context, { option: 'window', value: 'Mon-Fri 06:00-16:00 Mars/Olympus' });
      assert.match(err.hint ?? '', /IANA zone/);
    }
  });
});
