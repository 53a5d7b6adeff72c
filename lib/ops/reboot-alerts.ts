// Alert blockers of a rolling reboot: --block-on-alert matchers checked against Alertmanager's firing,
// unsilenced alerts; node-independent matchers once per round, `{node}` ones per node.
import { type AlertmanagerClient, describeAlert, parseMatchers } from '../alerting/index.js';
import { InputError, UsageError } from '../core/errors.js';
import { alertSpecFor, perNodeSpec } from './reboot-blockers.js';

/** Validates --block-on-alert values before anything changes (a placeholder node name stands in for {node}). */
export function validateAlertBlockers(specs: readonly string[]): void {
  for (const s of specs) {
    try {
      parseMatchers(alertSpecFor(s, 'node-1'));
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      throw new UsageError(`--block-on-alert: ${err.message}`, { context: { option: 'block-on-alert', matcher: s }, hint: err.hint });
    }
  }
}

/** Checks the alert blockers for a set of nodes; returns the reason per held node. */
export async function alertBlockers(alerting: AlertmanagerClient, specs: readonly string[], nodes: readonly string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const spec of specs) {
    if (!perNodeSpec(spec)) {
      const alerts = await alerting.activeAlerts(parseMatchers(spec));
      if (alerts.length) {
        const reason = `alert ${describeAlert(alerts[0]!)}${alerts.length > 1 ? ` and ${alerts.length - 1} more` : ''} firing (--block-on-alert ${spec})`;
        for (const n of nodes) out[n] ??= reason;
      }
      continue;
    }
    for (const n of nodes) {
      if (out[n]) continue;
      const alerts = await alerting.activeAlerts(parseMatchers(alertSpecFor(spec, n)));
      if (alerts.length) out[n] = `alert ${describeAlert(alerts[0]!)} firing (--block-on-alert ${spec})`;
    }
  }
  return out;
}
