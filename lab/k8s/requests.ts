// Pieces of request handling the server composes: the max-in-flight limiter (429 + Retry-After beyond the
// apiserver's limits, and the k8s_peak_inflight gauge), body parsing, DeleteOptions (with a dry run in the
// body, as kubectl sends it) and the field manager derived from a User-Agent.
import type { ServerResponse } from 'node:http';
import { parse as parseYaml } from 'yaml';
import type { LabCounters } from '../world.js';
import { badRequest, tooManyRequests } from './errors.js';
import type { DeleteOptions } from './rest.js';
import { isPlainObject } from './types.js';

/** Requests in flight, read-only and mutating, each against its limit (0: none). */
export class InflightLimiter {
  private readOnly = 0;
  private mutating = 0;

  constructor(
    private readonly maxReadOnly: number,
    private readonly maxMutating: number,
    /** Where the peak is recorded (read on each request: a counters reset replaces the object). */
    private readonly counters: () => LabCounters,
  ) {}

  /** Counts a request in flight until its response ends; throws 429 when its kind is at the limit. */
  enter(res: ServerResponse, mutating: boolean): void {
    const limit = mutating ? this.maxMutating : this.maxReadOnly;
    if (limit > 0 && (mutating ? this.mutating : this.readOnly) >= limit) throw tooManyRequests('Too many requests, please try again later.', 1);
    if (mutating) this.mutating++;
    else this.readOnly++;
    const total = this.mutating + this.readOnly;
    const c = this.counters();
    if (total > c.k8s_peak_inflight) c.k8s_peak_inflight = total;
    let done = false;
    const leave = (): void => {
      if (done) return;
      done = true;
      if (mutating) this.mutating--;
      else this.readOnly--;
    };
    res.once('finish', leave);
    res.once('close', leave);
  }
}

/** A matchLabels selector as the scale subresource shows it (`a=b,c=d`). */
export function selectorText(sel: { matchLabels?: Record<string, string> } | undefined): string {
  return Object.entries(sel?.matchLabels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** A JSON (or YAML, as the real server accepts) request body; 400 when empty or unparsable. */
export function parseJson(text: string): unknown {
  if (!text.trim()) throw badRequest('the request body is empty');
  try {
    return JSON.parse(text);
  } catch {
    // The real server also accepts YAML bodies.
    try {
      return parseYaml(text);
    } catch {
      throw badRequest(`couldn't get version/kind; json parse error: invalid JSON`);
    }
  }
}

/** True when DeleteOptions in the body ask for a dry run (kubectl delete --dry-run=server sends it there). */
export function dryRunOf(o: DeleteOptions & { dryRun?: unknown }): boolean {
  if (o.dryRun === undefined || o.dryRun === null) return false;
  if (!Array.isArray(o.dryRun) || o.dryRun.some((v) => v !== 'All')) throw badRequest(`Invalid dry run argument: ${JSON.stringify(o.dryRun)}: the only supported value is "All"`);
  return o.dryRun.length > 0;
}

/** DeleteOptions from the body and the query parameters (the query wins). */
export function deleteOptionsOf(body: string, q: URLSearchParams): DeleteOptions {
  let opts: DeleteOptions = {};
  if (body.trim()) {
    const parsed = JSON.parse(body) as unknown;
    if (isPlainObject(parsed)) opts = parsed as DeleteOptions;
  }
  const grace = q.get('gracePeriodSeconds');
  if (grace !== null) opts.gracePeriodSeconds = Number(grace);
  const prop = q.get('propagationPolicy');
  if (prop) opts.propagationPolicy = prop as DeleteOptions['propagationPolicy'];
  if (q.get('orphanDependents') === 'true') opts.orphanDependents = true;
  return opts;
}

/** The field manager the API server derives from a User-Agent (`kubectl/v1.29.4 (...)` → `kubectl`). */
export function managerFromAgent(ua: string | undefined): string {
  if (!ua) return 'unknown';
  const first = ua.split('/')[0]!.trim();
  return first.slice(0, 128) || 'unknown';
}
