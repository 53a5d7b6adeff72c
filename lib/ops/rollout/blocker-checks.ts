// The blockers of a rollout checked against the world: --block-on-alert matchers against Alertmanager's
// firing, unsilenced alerts (node-independent matchers once per round, `{node}` ones per node) and
// --block-on-pod selectors against the pods on a node, once per round from its snapshot and again, fresh,
// right before a node starts.
import { type AlertmanagerClient, describeAlert, parseMatchers } from '../../alerting/index.js';
import type { Context } from '../../core/context.js';
import { InputError, UsageError } from '../../core/errors.js';
import { alertSpecFor, perNodeSpec, podBlocker } from './blockers.js';
import type { ClusterFacts } from './facts.js';
import type { RolloutOptions } from './result.js';
import type { RolloutClients } from './work.js';

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

/** Blockers known from one snapshot: blocking pods, and alerts that do not depend on the node. */
export async function roundBlockers(clients: RolloutClients, opts: RolloutOptions, facts: ClusterFacts, pending: readonly string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  if (opts.blockOnPod.length) {
    for (const n of pending) {
      const reason = podBlocker(facts.pods.get(n) ?? [], opts.blockOnPod);
      if (reason) out[n] = reason;
    }
  }
  const global = opts.blockOnAlert.filter((s) => !s.includes('{node}'));
  if (global.length && clients.alerting) Object.assign(out, { ...(await alertBlockers(clients.alerting, global, pending)), ...out });
  return out;
}

/** The preflight of one node right before it starts: fresh blockers (pods, alerts incl. its own) and /readyz. */
export async function nodePreflight(ctx: Context, clients: RolloutClients, opts: RolloutOptions, node: string, lastFacts: ClusterFacts | undefined): Promise<string | undefined> {
  // The round's snapshot read /readyz a moment ago; only an older one is worth another request.
  const recent = lastFacts && ctx.clock.now() - lastFacts.at < 2000 && lastFacts.readyz;
  if (!recent && !(await clients.kube.readyz())) return 'cluster not healthy: the API server does not answer /readyz';
  if (opts.blockOnPod.length) {
    const reason = podBlocker(await clients.kube.listPodsOnNode(node), opts.blockOnPod);
    if (reason) return reason;
  }
  if (opts.blockOnAlert.length && clients.alerting) {
    const held = await alertBlockers(clients.alerting, opts.blockOnAlert, [node]);
    if (held[node]) return held[node];
  }
  return undefined;
}
