// Load-balancer operations (issue 14): keep every HAProxy in front of the API servers in step with the control
// nodes. All functions are no-ops when the cluster has no load-balancer hosts.
import type { Context } from '../../core/context.js';

/** Sets the node's backend to drain on every LB and waits until no LB has sessions on it (a journaled step). */
export async function backendOut(_ctx: Context, _nodeName: string): Promise<void> {
  // stub: real implementation follows
}

/** Waits for the node's /readyz, sets its backend ready on every LB and waits until every LB reports it UP. */
export async function backendIn(_ctx: Context, _nodeName: string): Promise<void> {
  // stub: real implementation follows
}

/** Makes every LB list (present) or not list the node: managed-block edit + reload, or a check for `external`. */
export async function ensureBackendListed(_ctx: Context, _nodeName: string, _present: boolean): Promise<void> {
  // stub: real implementation follows
}

/** Every LB reachable, every remaining backend UP, each config lists exactly the control nodes. */
export async function lbPreflight(_ctx: Context): Promise<void> {
  // stub: real implementation follows
}
