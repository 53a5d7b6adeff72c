// Maintenance windows for scheduled runs: "Mon-Fri 06:00-16:00 Europe/Madrid". Pure time arithmetic with
// luxon, so daylight-saving changes and windows that cross midnight are handled by the time zone database, not
// by hand. A window opens on each listed day at its start time (local) and closes at its end time, on the next
// day when the end is not after the start.
import { DateTime } from 'luxon';
import { InputError, UsageError } from '../../core/errors.js';
import { formatMs } from '../../core/retry.js';

/** A parsed window. */
export interface Window {
  /** ISO weekdays (1 = Monday .. 7 = Sunday) on which the window opens. */
  days: ReadonlySet<number>;
  startMinute: number;
  endMinute: number;
  zone: string;
  /** The text it was parsed from. */
  spec: string;
}

const EXAMPLE = 'e.g. --window "Mon-Fri 06:00-16:00 Europe/Madrid" (days: Mon-Fri, Sat,Sun, daily; an end before the start crosses midnight)';

/** A malformed --window (exit 2, nothing changed). */
function bad(why: string, value: string, hint = EXAMPLE): UsageError {
  return new UsageError(`--window: ${why}`, { context: { option: 'window', value }, hint });
}

const DAYS: Record<string, number> = { mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6, sun: 7 };

function parseDays(text: string): Set<number> {
  const t = text.toLowerCase();
  if (t === '*' || t === 'daily' || t === 'every') return new Set([1, 2, 3, 4, 5, 6, 7]);
  const out = new Set<number>();
  for (const part of t.split(',')) {
    const m = /^([a-z]{3})(?:-([a-z]{3}))?$/.exec(part.trim());
    const a = m && DAYS[m[1]!];
    const b = m?.[2] ? DAYS[m[2]] : a;
    if (!a || !b) throw bad(`unknown day range "${part}"`, text);
    // Ranges wrap around the week: Fri-Mon is Fri, Sat, Sun, Mon.
    for (let d = a; ; d = (d % 7) + 1) {
      out.add(d);
      if (d === b) break;
    }
  }
  return out;
}

function parseTime(text: string): number {
  const m = /^(\d{1,2}):(\d{2})$/.exec(text);
  if (!m || Number(m[1]) > 24 || Number(m[2]) > 59 || (Number(m[1]) === 24 && Number(m[2]) !== 0)) {
    throw bad(`"${text}" is not a time (HH:MM, 00:00 to 24:00)`, text);
  }
  return Number(m[1]) * 60 + Number(m[2]);
}

/** Parses "DAYS HH:MM-HH:MM [ZONE]" (zone defaults to UTC). */
export function parseWindow(spec: string): Window {
  const parts = spec.trim().split(/\s+/);
  if (parts.length < 2 || parts.length > 3) throw bad(`expected "DAYS HH:MM-HH:MM [TIME ZONE]", got "${spec}"`, spec);
  const [daysText, range, zone = 'UTC'] = parts as [string, string, string?];
  const m = /^(\d{1,2}:\d{2})-(\d{1,2}:\d{2})$/.exec(range);
  if (!m) throw bad(`"${range}" is not a time range (HH:MM-HH:MM)`, spec);
  const startMinute = parseTime(m[1]!);
  const endMinute = parseTime(m[2]!);
  if (startMinute === endMinute) throw bad('start and end are the same time', spec);
  if (!DateTime.now().setZone(zone).isValid) throw bad(`unknown time zone "${zone}"`, spec, 'use an IANA zone name such as Europe/Madrid or UTC');
  return Object.freeze({ days: parseDays(daysText), startMinute, endMinute, zone, spec });
}

function at(day: DateTime, minute: number): DateTime {
  // Wall-clock time on that local day; luxon moves a time inside a skipped (spring-forward) hour forward.
  if (minute === 24 * 60) return day.startOf('day').plus({ days: 1 });
  return day.startOf('day').set({ hour: Math.floor(minute / 60), minute: minute % 60 });
}

/** The occurrence [start, end) of the window that opens on local day `day`. */
function occurrence(w: Window, day: DateTime): { start: number; end: number } {
  const start = at(day, w.startMinute);
  const end = w.endMinute > w.startMinute ? at(day, w.endMinute) : at(day.plus({ days: 1 }), w.endMinute);
  return { start: start.toMillis(), end: end.toMillis() };
}

/** Where `now` stands: inside an occurrence (and when it ends), and when the next one starts. */
export function windowState(w: Window, now: number): { open: boolean; endsAt?: number; nextStart: number } {
  const local = DateTime.fromMillis(now, { zone: w.zone });
  for (const back of [1, 0]) {
    const day = local.minus({ days: back });
    if (!w.days.has(day.weekday)) continue;
    const occ = occurrence(w, day);
    if (occ.start <= now && now < occ.end) return { open: true, endsAt: occ.end, nextStart: nextStartAfter(w, now) };
  }
  return { open: false, nextStart: nextStartAfter(w, now) };
}

function nextStartAfter(w: Window, now: number): number {
  const local = DateTime.fromMillis(now, { zone: w.zone });
  for (let d = 0; d <= 8; d++) {
    const day = local.plus({ days: d });
    if (!w.days.has(day.weekday)) continue;
    const occ = occurrence(w, day);
    if (occ.start > now) return occ.start;
  }
  // Unreachable for a parsed window (it has at least one day); typed anyway, naming the window.
  throw new InputError(`the window "${w.spec}" never opens`, { context: { option: 'window', value: w.spec, zone: w.zone }, hint: EXAMPLE });
}

/** An instant as the operator of the window reads it: its weekday, date and time in the window's zone. */
export function formatInZone(w: Pick<Window, 'zone'>, ms: number): string {
  return DateTime.fromMillis(ms, { zone: w.zone }).toFormat('ccc yyyy-MM-dd HH:mm ZZZZ');
}

/** True when a unit of work of `durationMs` may start now: the window is open and will not end before it is done. */
export function mayStart(w: Window | undefined, now: number, durationMs: number): { ok: true } | { ok: false; reason: string; retryAt?: number } {
  if (!w) return { ok: true };
  const s = windowState(w, now);
  if (!s.open) return { ok: false, reason: `outside the window ${w.spec}: it opens ${formatInZone(w, s.nextStart)}`, retryAt: s.nextStart };
  const left = s.endsAt! - now;
  if (left < durationMs) {
    return {
      ok: false,
      reason: `only ${formatMs(left)} left in the window ${w.spec} (it closes ${formatInZone(w, s.endsAt!)}), a node takes about ${formatMs(durationMs)}; it opens next ${formatInZone(w, s.nextStart)}`,
      retryAt: s.nextStart,
    };
  }
  return { ok: true };
}
