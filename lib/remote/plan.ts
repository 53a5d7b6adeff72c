// Pure planning of a fan-out: how hosts are cut into batches and how many must succeed. Kept apart from the
// code that runs commands so the rules can be tested exhaustively without any host.
import { InputError } from '../core/errors.js';

/** Hosts per batch: a count, or a percentage of all hosts like `25%` (rounded up, at least 1). */
export type BatchSize = number | `${number}%`;

/**
 * How many hosts must succeed: a fraction 0..1 of all hosts (1 = every host, the default), a percentage like
 * `90%`, or an explicit `{ count }` (also written as an integer above 1).
 */
export type SuccessThreshold = number | `${number}%` | { count: number };

function percent(text: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)%$/.exec(text);
  const v = m ? Number(m[1]) : NaN;
  if (!(v > 0 && v <= 100)) throw new InputError(`invalid ${what} ${JSON.stringify(text)}: a percentage must be in (0%, 100%]`, { context: { [what]: text } });
  return v / 100;
}

/** The number of hosts per batch for `total` hosts (all of them when no size is given). */
export function batchLength(total: number, size?: BatchSize): number {
  if (size === undefined) return Math.max(1, total);
  if (typeof size === 'string') return Math.max(1, Math.ceil(total * percent(size, 'batch size') - 1e-9));
  if (!Number.isInteger(size) || size < 1) throw new InputError(`invalid batch size ${JSON.stringify(size)}: a positive integer or a percentage`, { context: { batchSize: size } });
  return size;
}

/** Cuts hosts into consecutive batches, keeping their order. */
export function planBatches<T>(hosts: readonly T[], size?: BatchSize): T[][] {
  const n = batchLength(hosts.length, size);
  const out: T[][] = [];
  for (let i = 0; i < hosts.length; i += n) out.push(hosts.slice(i, i + n));
  return out;
}

/** How many of `total` hosts must succeed under a threshold. Throws InputError for one that can never be met. */
export function requiredSuccesses(total: number, threshold: SuccessThreshold = 1): number {
  let required: number;
  if (typeof threshold === 'object' && threshold !== null) {
    required = threshold.count;
    if (!Number.isInteger(required) || required < 0) throw new InputError(`invalid success threshold count ${JSON.stringify(required)}`, { context: { successThreshold: threshold } });
  } else if (typeof threshold === 'string') {
    required = Math.ceil(total * percent(threshold, 'success threshold') - 1e-9);
  } else if (typeof threshold === 'number' && threshold >= 0 && threshold <= 1) {
    required = Math.max(0, Math.ceil(total * threshold - 1e-9));
  } else if (typeof threshold === 'number' && Number.isInteger(threshold) && threshold > 1) {
    required = threshold;
  } else {
    throw new InputError(`invalid success threshold ${JSON.stringify(threshold)}: a fraction 0..1, a percentage, or a count`, { context: { successThreshold: threshold } });
  }
  if (required > total) {
    throw new InputError(`success threshold needs ${required} successful hosts but only ${total} are targeted`, { context: { successThreshold: threshold, hosts: total } });
  }
  return required;
}

/** True while the threshold can still be met: the hosts not (yet) failed are enough. */
export function thresholdReachable(required: number, total: number, failed: number): boolean {
  return total - failed >= required;
}
