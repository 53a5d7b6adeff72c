// The Alertmanager v2 client: silences (create, extend, expire, get, list), the active-alert query used as
// a blocker before disruptive steps, and withSilence(), a scope whose silence ends when the step succeeds
// and stays when it fails (so the operator is not paged while repairing). Every method is declared read or
// mutate; mutations go through the gate, so --dry-run sends nothing but GETs.
import { userInfo, hostname } from 'node:os';
import type { Clock } from '../core/clock.js';
import { systemClock } from '../core/clock.js';
import { type Gate, type OperationTable, type Planned, isPlanned } from '../core/gate.js';
import type { Log } from '../core/log.js';
import { nullLog } from '../core/log.js';
import { AlertingError, InputError, messageOf } from '../core/errors.js';
import { formatMs, parseDuration } from '../core/retry.js';
import { AlertmanagerHttp } from './http.js';
import { AlertsFiringError } from './errors.js';
import { type Matcher, formatMatcher, matcher, operatorOf, parseMatchers } from './matchers.js';

/** Silence states as Alertmanager reports them. */
export type SilenceState = 'active' | 'pending' | 'expired';

/** A silence as returned by the API. */
export interface Silence {
  id: string;
  matchers: Matcher[];
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
  updatedAt: string;
  status: { state: SilenceState };
}

/** Matchers as objects or as operator strings (`instance=~"h1(:\\d+)?"`). */
export type MatcherInput = readonly Matcher[] | string | readonly string[];

/** What createSilence() needs. Give `duration` (ms or text like 30m) or `endsAt`. */
export interface SilenceSpec {
  matchers: MatcherInput;
  duration?: number | string;
  endsAt?: Date | string;
  /** Defaults to `<user>@<host> (cluster-cookbooks)`. */
  createdBy?: string;
  /** Why: shown to whoever looks at the silence. Required by Alertmanager. */
  comment: string;
}

/** How far to extend a silence: a new duration counted from now, or an absolute end. */
export interface ExtendSpec {
  duration?: number | string;
  endsAt?: Date | string;
}

/** An alert as returned by GET /api/v2/alerts. */
export interface Alert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  updatedAt: string;
  fingerprint: string;
  generatorURL?: string;
  receivers: { name: string }[];
  status: { state: 'active' | 'suppressed' | 'unprocessed'; silencedBy: string[]; inhibitedBy: string[] };
}

/** Options of activeAlerts(). */
export interface AlertQuery {
  /** Include silenced alerts (default false: a silenced alert does not block). */
  silenced?: boolean;
  /** Include inhibited alerts (default false). */
  inhibited?: boolean;
}

/** What the function of withSilence() gets: the silence's id (Planned in dry-run), its end and a way to extend it. */
export interface SilenceScope {
  /** The id of the silence, or Planned in dry-run. Changes when Alertmanager replaces it on extend. */
  readonly id: string | Planned;
  /** ISO end time. */
  readonly endsAt: string;
  /** Extends the silence in this scope (the scope expires the current one at the end). */
  extend(spec: ExtendSpec): Promise<void>;
}

/** Options of an AlertmanagerClient. */
export interface AlertmanagerClientOptions {
  http: AlertmanagerHttp;
  gate: Gate;
  log?: Log;
  clock?: Clock;
}

/** Client for one Alertmanager. */
export class AlertmanagerClient {
  /** Every public method and whether it reads or changes Alertmanager. */
  static readonly operations: OperationTable<AlertmanagerClient> = Object.freeze({
    createSilence: 'mutate',
    extendSilence: 'mutate',
    expireSilence: 'mutate',
    withSilence: 'mutate',
    getSilence: 'read',
    listSilences: 'read',
    activeAlerts: 'read',
    assertNoActiveAlerts: 'read',
  });

  /** Base URL (without credentials). */
  readonly url: string;
  private readonly http: AlertmanagerHttp;
  private readonly gate: Gate;
  private readonly log: Log;
  private readonly clock: Clock;

  constructor(options: AlertmanagerClientOptions) {
    this.http = options.http;
    this.url = options.http.baseUrl;
    this.gate = options.gate;
    this.log = options.log ?? nullLog;
    this.clock = options.clock ?? systemClock;
  }

  /** Creates a silence and returns its id (Planned in dry-run). */
  async createSilence(spec: SilenceSpec): Promise<string | Planned> {
    const matchers = toMatchers(spec.matchers);
    const now = this.clock.now();
    const endsAt = this.endOf(spec, now);
    const body = {
      matchers,
      startsAt: new Date(now).toISOString(),
      endsAt: new Date(endsAt).toISOString(),
      createdBy: spec.createdBy ?? defaultCreatedBy(),
      comment: requireComment(spec.comment),
    };
    const target = `silence/${matchers.map(formatMatcher).join(',')}`;
    return this.gate.mutate(
      { system: 'alerting', target, action: 'create silence', detail: { endsAt: body.endsAt, comment: body.comment, alertmanager: this.url } },
      async () => {
        const res = await this.http.request<{ silenceID: string }>('POST', '/api/v2/silences', { body });
        this.log.info(`silenced ${matchers.map(formatMatcher).join(', ')} until ${body.endsAt} (silence ${res.silenceID})`, {
          silence: res.silenceID,
          endsAt: body.endsAt,
        });
        return res.silenceID;
      },
    );
  }

  /**
   * Moves a silence's end (from now + duration, or to endsAt). Returns the silence's id: Alertmanager keeps it
   * when it can update in place and otherwise expires the old silence and answers with a new id.
   */
  async extendSilence(id: string, spec: ExtendSpec): Promise<string | Planned> {
    const current = await this.getSilence(id);
    if (current.status.state === 'expired') {
      throw new AlertingError(`silence ${id} has expired and cannot be extended`, {
        context: { silence: id, endsAt: current.endsAt },
        hint: 'create a new silence instead',
      });
    }
    const endsAt = new Date(this.endOf(spec, this.clock.now())).toISOString();
    // Same matchers and startsAt as stored: that is what lets Alertmanager update in place and keep the id.
    const body = {
      id: current.id,
      matchers: current.matchers,
      startsAt: current.startsAt,
      endsAt,
      createdBy: current.createdBy,
      comment: current.comment,
    };
    return this.gate.mutate(
      { system: 'alerting', target: `silence/${id}`, action: 'extend silence', detail: { from: current.endsAt, endsAt } },
      async () => {
        const res = await this.http.request<{ silenceID: string }>('POST', '/api/v2/silences', { body });
        this.log.info(`extended silence ${id} until ${endsAt}${res.silenceID !== id ? ` (now silence ${res.silenceID})` : ''}`, {
          silence: res.silenceID,
          endsAt,
        });
        return res.silenceID;
      },
    );
  }

  /** Expires (ends) a silence now. Expiring an already expired silence succeeds. */
  async expireSilence(id: string): Promise<void | Planned> {
    requireId(id);
    return this.gate.mutate({ system: 'alerting', target: `silence/${id}`, action: 'expire silence' }, async () => {
      await this.http.request<void>('DELETE', `/api/v2/silence/${encodeURIComponent(id)}`);
      this.log.info(`expired silence ${id}`, { silence: id });
    });
  }

  /** One silence by id; AlertingNotFoundError when there is none. */
  async getSilence(id: string): Promise<Silence> {
    requireId(id);
    return this.gate.read(() => this.http.request<Silence>('GET', `/api/v2/silence/${encodeURIComponent(id)}`));
  }

  /** Silences, optionally only those whose matchers match `matchers` (Alertmanager's filter) and in a state. */
  async listSilences(options: { matchers?: MatcherInput; state?: SilenceState } = {}): Promise<Silence[]> {
    const filter = options.matchers ? toMatchers(options.matchers).map(formatMatcher) : undefined;
    const all = await this.gate.read(() => this.http.request<Silence[]>('GET', '/api/v2/silences', { query: { filter } }));
    return options.state ? all.filter((s) => s.status.state === options.state) : all;
  }

  /**
   * Firing alerts whose labels match every matcher; silenced and inhibited ones are left out unless asked for.
   * Resolved alerts (endsAt in the past) are never returned.
   */
  async activeAlerts(matchers: MatcherInput, query: AlertQuery = {}): Promise<Alert[]> {
    const filter = toMatchers(matchers).map(formatMatcher);
    const alerts = await this.gate.read(() =>
      this.http.request<Alert[]>('GET', '/api/v2/alerts', {
        query: {
          active: true,
          silenced: query.silenced ?? false,
          inhibited: query.inhibited ?? false,
          unprocessed: true,
          filter,
        },
      }),
    );
    return alerts.sort((a, b) => a.startsAt.localeCompare(b.startsAt) || a.fingerprint.localeCompare(b.fingerprint));
  }

  /** Throws AlertsFiringError naming the alerts when any unsilenced alert matches: a blocker before `what`. */
  async assertNoActiveAlerts(matchers: MatcherInput, what: string, query: AlertQuery = {}): Promise<void> {
    const alerts = await this.activeAlerts(matchers, query);
    if (alerts.length === 0) return;
    const names = alerts.map(describeAlert);
    throw new AlertsFiringError(`${alerts.length} alert(s) firing, refusing to ${what}: ${names.slice(0, 5).join('; ')}${alerts.length > 5 ? '; ...' : ''}`, {
      context: { alerts: names, matchers: toMatchers(matchers).map(formatMatcher), alertmanager: this.url },
      hint: 'look at the alerts first; once they are understood, silence them or wait until they resolve',
    });
  }

  /**
   * Runs `fn` under a silence: on success the silence is expired; on failure it stays until its end (logged
   * with its id and end) so nobody is paged while the failure is looked at, and the error is rethrown.
   */
  async withSilence<T>(spec: SilenceSpec, fn: (scope: SilenceScope) => Promise<T>): Promise<T> {
    const now = this.clock.now();
    let endsAt = new Date(this.endOf(spec, now)).toISOString();
    let id: string | Planned = await this.createSilence({ ...spec, duration: undefined, endsAt });
    const scope: SilenceScope = {
      get id() {
        return id;
      },
      get endsAt() {
        return endsAt;
      },
      extend: async (extend: ExtendSpec) => {
        const newEnd = new Date(this.endOf(extend, this.clock.now())).toISOString();
        if (isPlanned(id)) {
          endsAt = newEnd;
          return;
        }
        const next = await this.extendSilence(id, extend);
        if (!isPlanned(next)) id = next;
        endsAt = newEnd;
      },
    };
    let result: T;
    try {
      result = await fn(scope);
    } catch (err) {
      if (!isPlanned(id)) {
        this.log.warn(`step failed: silence ${id} stays until ${endsAt} (expire it with DELETE ${this.url}/api/v2/silence/${id} when done)`, {
          silence: id,
          endsAt,
          error: messageOf(err),
        });
      }
      throw err;
    }
    if (!isPlanned(id)) {
      try {
        await this.expireSilence(id);
      } catch (err) {
        // The step itself succeeded; a silence that lingers until its end is no reason to fail the run.
        this.log.warn(`could not expire silence ${id}; it ends by itself at ${endsAt}: ${messageOf(err)}`, { silence: id, endsAt });
      }
    }
    return result;
  }

  private endOf(spec: { duration?: number | string; endsAt?: Date | string }, now: number): number {
    if (spec.endsAt !== undefined && spec.duration !== undefined) {
      throw new InputError('give a silence either a duration or an end time, not both', { hint: 'drop one of duration/endsAt' });
    }
    let end: number;
    if (spec.endsAt !== undefined) {
      end = (spec.endsAt instanceof Date ? spec.endsAt : new Date(spec.endsAt)).getTime();
      if (Number.isNaN(end)) throw new InputError(`not a time: ${String(spec.endsAt)}`, { hint: 'use an ISO time such as 2025-01-31T12:00:00Z' });
    } else if (spec.duration !== undefined) {
      const ms = typeof spec.duration === 'number' ? spec.duration : parseDuration(spec.duration);
      end = now + ms;
    } else {
      throw new InputError('a silence needs a duration or an end time', { hint: 'pass duration (e.g. "30m") or endsAt' });
    }
    if (end <= now) {
      throw new InputError(`silence end ${new Date(end).toISOString()} is not in the future`, {
        hint: `give a later end or a positive duration (now is ${new Date(now).toISOString()})`,
      });
    }
    return end;
  }
}

/** "NodeDown{instance=h1:9100} since 2025-.. (active)" for messages. */
export function describeAlert(alert: Alert): string {
  const { alertname, ...rest } = alert.labels;
  const labels = Object.entries(rest)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return `${alertname ?? '(no alertname)'}{${labels}} since ${alert.startsAt} (${alert.status.state})`;
}

/** How long a silence still runs, for messages ("12m30s"). */
export function remainingOf(silence: Silence, now = Date.now()): string {
  return formatMs(Math.max(0, new Date(silence.endsAt).getTime() - now));
}

function toMatchers(input: MatcherInput): Matcher[] {
  if (typeof input === 'string') return parseMatchers(input);
  if (input.length === 0) throw new InputError('no matchers given', { hint: 'give at least one matcher, e.g. alertname=NodeDown' });
  if (typeof input[0] === 'string') return parseMatchers(input as readonly string[]);
  // Re-validated: objects can come from anywhere, and a bad regex must fail here, not in Alertmanager.
  return (input as readonly Matcher[]).map((m) => matcher(m.name, operatorOf(m), m.value));
}

function requireComment(comment: string): string {
  if (!comment || !comment.trim()) throw new InputError('a silence needs a comment saying why', { hint: 'pass comment: "reboot of ... by cookbook ..."' });
  return comment;
}

function requireId(id: string): void {
  if (!/^[0-9a-fA-F-]{8,64}$/.test(id)) throw new InputError(`not a silence id: "${id}"`, { hint: 'silence ids are UUIDs' });
}

function defaultCreatedBy(): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    user = process.env.USER ?? 'unknown';
  }
  return `${user}@${hostname()} (cluster-cookbooks)`;
}
