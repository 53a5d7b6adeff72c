// Entry of the Alertmanager client module: create(ctx) builds a client for the cluster's alertmanager.url;
// the Context imports this lazily.
import type { ClientContext } from '../core/client.js';
import { AlertmanagerClient } from './client.js';
import { AlertingConfigError } from './errors.js';
import { AlertmanagerHttp } from './http.js';

export * from './client.js';
export * from './errors.js';
export * from './matchers.js';
export { AlertmanagerHttp, apiMessage, type AlertmanagerHttpOptions } from './http.js';

/**
 * Builds the Alertmanager client of the cluster (inventory `alertmanager.url`; `ALERTMANAGER_TOKEN` adds a
 * bearer token for an authenticating proxy). Throws AlertingConfigError when none is configured.
 */
export async function create(ctx: ClientContext): Promise<AlertmanagerClient> {
  const url = ctx.cluster.alertmanager?.url;
  if (!url) {
    throw new AlertingConfigError(`cluster ${ctx.cluster.name} has no Alertmanager configured`, {
      context: { cluster: ctx.cluster.name, inventory: ctx.cluster.source },
      hint: `add "alertmanager: {url: http://HOST:9093}" to ${ctx.cluster.source}`,
    });
  }
  const http = new AlertmanagerHttp({ url, signal: ctx.signal, clock: ctx.clock, bearerToken: process.env.ALERTMANAGER_TOKEN || undefined });
  return new AlertmanagerClient({ http, gate: ctx.gate, log: ctx.log, clock: ctx.clock });
}
