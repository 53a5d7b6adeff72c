// Entry of the OpenStack client module: create(ctx) finds the cluster's cloud (inventory openstack.*, then
// clouds.yaml / OS_*), and builds the Keystone session, the transport and the client. The Context imports
// this lazily. Nothing is sent until the first call.
import { dirname } from 'node:path';
import type { ClientContext } from '../core/client.js';
import { expandPath } from '../core/paths.js';
import { KeystoneAuth } from './auth.js';
import { OpenStackClient } from './client.js';
import { loadCloudConfig } from './config.js';
import { OpenStackHttp } from './http.js';

export * from './client.js';
export * from './errors.js';
export * from './quota.js';
export * from './types.js';
export { KeystoneAuth, selectEndpoint, tokenRequestBody, type CatalogService, type CatalogEndpoint, type Token, type KeystoneAuthOptions } from './auth.js';
export { loadCloudConfig, normaliseAuthUrl, standardCloudsPaths, type CloudConfig, type LoadCloudOptions, type AuthType, type EndpointInterface } from './config.js';
export { OpenStackHttp, type CallOptions, type ApiResponse, type OpenStackHttpOptions, type Method } from './http.js';
export { apiMessageOf, quotaOf, toApiError } from './wire.js';

/** Options for create() beyond the context (tests shorten the backoff). */
export interface CreateOptions {
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  maxAttempts?: number;
  /** Time budget of one call's retries (ms, default 60 s). */
  deadlineMs?: number;
  backoff?: { initialMs?: number; maxMs?: number; factor?: number; jitter?: number };
}

/** Builds the OpenStack client of the cluster's project. */
export async function create(ctx: ClientContext, options: CreateOptions = {}): Promise<OpenStackClient> {
  const os = ctx.cluster.openstack;
  const config = loadCloudConfig({
    cloud: os.cloud,
    // A relative cloudsFile is relative to the inventory file that names it.
    cloudsFile: os.cloudsFile ? expandPath(os.cloudsFile, dirname(ctx.cluster.source)) : undefined,
    region: os.region,
    interface: os.interface,
    project: os.project,
    env: options.env,
  });
  const auth = new KeystoneAuth({ config, clock: ctx.clock, log: ctx.log, signal: ctx.signal, timeoutMs: options.timeoutMs, expectedProject: os.project });
  const http = new OpenStackHttp({
    auth,
    log: ctx.log,
    clock: ctx.clock,
    signal: ctx.signal,
    timeoutMs: options.timeoutMs,
    maxAttempts: options.maxAttempts,
    deadlineMs: options.deadlineMs,
    backoff: options.backoff,
  });
  return new OpenStackClient({ http, gate: ctx.gate, log: ctx.log, clock: ctx.clock, signal: ctx.signal });
}
