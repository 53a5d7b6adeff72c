// Helpers of the load-balancer tests on the lab: the inventory's drain timeout made short (the only long-lived
// clients of a lab's API are the cookbook processes themselves), and the real HAProxy's view of the backend.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { adminCommand } from '../../../lab/haproxy/process.js';
import { type BackendServer, backendServers, parseServersState, parseShowStat } from '../../../lib/haproxy/client.js';
import { strict as assert } from 'node:assert';
import type { LabOptions } from '../../../lab/index.js';
import { type TestLab, startTestLab } from '../../helpers/lab.js';
import { labRunner } from '../../helpers/lab-cli.js';

/** Sets kubernetes.loadBalancers.drainTimeoutSeconds: 2 (and any other LB settings given) in the lab's generated inventory. */
export function shortDrainTimeout(lab: TestLab, settings: Record<string, unknown> = {}): void {
  const file = join(lab.stateDir, 'inventory.yaml');
  const inv = parse(readFileSync(file, 'utf8')) as { kubernetes: { loadBalancers?: Record<string, unknown> } };
  inv.kubernetes.loadBalancers = { management: 'haproxy-config', ...inv.kubernetes.loadBalancers, drainTimeoutSeconds: 2, ...settings };
  writeFileSync(file, stringify(inv));
}

/** The k8s-api backend as the real HAProxy on `lbHost` reports it (through its own admin socket). */
export async function lbServers(lab: TestLab, lbHost: string): Promise<BackendServer[]> {
  const host = lab.world.hosts.get(lbHost);
  const socket = host && lab.loadBalancers.haproxy?.socketPath(host, '/run/haproxy/admin.sock');
  if (!socket) throw new Error(`${lbHost} runs no real HAProxy in this lab`);
  const stat = await adminCommand(socket, 'show stat');
  const state = await adminCommand(socket, 'show servers state k8s-api');
  return backendServers(parseShowStat(stat), parseServersState(state), 'k8s-api');
}

/** A lab whose load balancers run real HAProxy (asserted), with a short drain timeout, and a cookbook runner on it. */
export async function startLbLab(options: LabOptions): Promise<{ lab: TestLab; cb: ReturnType<typeof labRunner> }> {
  const lab = await startTestLab({ workersNfs: 0, ingress: 0, speed: 100, namespaces: 1, loadbalancer: 1, ...options });
  assert.ok(lab.loadBalancers.haproxy, `real HAProxy runs (${lab.loadBalancers.unavailable ?? ''})`);
  shortDrainTimeout(lab);
  return { lab, cb: labRunner(lab) };
}
