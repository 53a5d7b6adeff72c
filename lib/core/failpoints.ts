// Failpoints for crash-safety tests, in the spirit of etcd's gofail: COOKBOOK_FAILPOINTS names steps at
// which the process kills itself, sleeps or fails, so tests can interrupt a real run at every step boundary.
// Syntax: `action:step name[=arg]` separated by `;`; the step name may use `*` as a wildcard.
//   kill-before:NAME   SIGKILL just after the step is journaled as started, before it checks anything
//   kill-after:NAME    SIGKILL right after the step is journaled as finished
//   sleep-in:NAME=MS   sleep (interruptible) after the step started, before it acts
//   fail-in:NAME       throw inside the step
import type { Clock } from './clock.js';
import { CookbookError } from './errors.js';

/** One parsed failpoint. */
export interface Failpoint {
  action: 'kill-before' | 'kill-after' | 'sleep-in' | 'fail-in';
  pattern: RegExp;
  arg?: string;
}

/** Parses a COOKBOOK_FAILPOINTS value (invalid entries are ignored: failpoints are a test tool). */
export function parseFailpoints(spec: string | undefined): Failpoint[] {
  if (!spec) return [];
  const out: Failpoint[] = [];
  for (const part of spec.split(';')) {
    const m = /^\s*(kill-before|kill-after|sleep-in|fail-in):(.+?)(?:=([^=]*))?\s*$/.exec(part);
    if (!m) continue;
    const re = new RegExp(`^${m[2]!.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
    out.push({ action: m[1] as Failpoint['action'], pattern: re, arg: m[3] });
  }
  return out;
}

let active: Failpoint[] | undefined;

function points(): Failpoint[] {
  active ??= parseFailpoints(process.env.COOKBOOK_FAILPOINTS);
  return active;
}

/** Triggers the failpoints of a step at one moment of its life. */
export async function failpoint(moment: 'before' | 'in' | 'after', step: string, clock: Clock, signal: AbortSignal): Promise<void> {
  for (const fp of points()) {
    if (!fp.pattern.test(step)) continue;
    if ((fp.action === 'kill-before' && moment === 'before') || (fp.action === 'kill-after' && moment === 'after')) {
      process.kill(process.pid, 'SIGKILL');
      await new Promise(() => {}); // never continue past a kill
    }
    if (fp.action === 'sleep-in' && moment === 'in') await clock.sleep(Number(fp.arg ?? 30_000), signal);
    if (fp.action === 'fail-in' && moment === 'in') throw new CookbookError(`failpoint: step "${step}" fails`, { context: { step } });
  }
}
