// Real HAProxy in the lab: provisioning of the load balancer hosts (haproxy and socat installed, the model's
// haproxy.cfg listing every control node's API endpoint, the unit enabled and running) and the processes.
import type { LabHost, World } from '../world.js';
import { installPackage } from '../ssh/commands/apt.js';
import * as fs from '../ssh/fs.js';
import { type Backend, HAPROXY_CFG, renderHaproxyConfig } from './config.js';
import { LabHaproxy, haproxyMissing } from './process.js';
import { attachHaproxy, detachHaproxy } from './registry.js';

export { HAPROXY_PACKAGES_HINT, LabHaproxy, haproxyMissing } from './process.js';
export { haproxyOf, haproxyUnavailable } from './registry.js';

/** The per-control-node API endpoints the Kubernetes side serves (lab-api), seen without depending on it. */
interface ApiEndpoints {
  apiserverPort?: number;
  apiserverEndpoint?: (name: string) => { address: string; port: number } | undefined;
}

/** The world's per-node API endpoints, when the lab serves them. */
export function apiEndpoints(world: World): ApiEndpoints {
  return world as unknown as ApiEndpoints;
}

/** Every control node's API endpoint, by node name (sorted), as a load balancer lists them. */
export function controlBackends(world: World, port: number): Backend[] {
  const ep = apiEndpoints(world);
  return [...world.hosts.values()]
    .filter((h) => h.kubelet.controlPlane)
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((h) => ({ name: h.name, ...(ep.apiserverEndpoint?.(h.name) ?? { address: h.address, port }) }));
}

/** Provisions a load balancer host as the model's Puppet does: packages, haproxy.cfg, the unit enabled and active. */
export function provisionLoadBalancer(host: LabHost, world: World, port: number): void {
  installPackage(host, undefined, 'haproxy', '2.6.12-1+deb12u1');
  installPackage(host, undefined, 'socat', '1.7.4.4-2');
  fs.writeFile(host, HAPROXY_CFG, renderHaproxyConfig({ bindAddress: host.address, port, backends: controlBackends(world, port) }));
}

/** The load balancers of a lab: their hosts, port, and the real processes (absent without Debian's haproxy). */
export interface LabLoadBalancers {
  hosts: LabHost[];
  port: number;
  haproxy?: LabHaproxy;
  /** Why no real haproxy runs (what to install). */
  unavailable?: string;
  /** https://FIRST-LB:PORT when its haproxy runs. */
  url?: string;
  stop(): Promise<void>;
}

/**
 * Provisions the hosts of role `role` and starts their real haproxy (they listen on `port`, the API port of every
 * control node). Without Debian's haproxy the hosts are still provisioned and `unavailable` says what to install.
 */
export async function startLoadBalancers(world: World, o: { role: string; port: number; stateDir: string; bin?: string; log: (m: string) => void; onChange?: () => void }): Promise<LabLoadBalancers> {
  const hosts = [...world.hosts.values()].filter((h) => h.role === o.role).sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const h of hosts) provisionLoadBalancer(h, world, o.port);
  const none = { hosts, port: o.port, stop: async () => {} };
  if (hosts.length === 0) return none;
  const missing = haproxyMissing(o.bin);
  if (missing) {
    o.log(`haproxy: ${missing}`);
    attachHaproxy(world, { unavailable: missing });
    return { ...none, unavailable: missing };
  }
  const haproxy = new LabHaproxy(world, { stateDir: o.stateDir, bin: o.bin, log: o.log, onChange: o.onChange });
  attachHaproxy(world, haproxy);
  await haproxy.start();
  const first = hosts[0]!;
  return {
    hosts,
    port: o.port,
    haproxy,
    ...(haproxy.pids()[first.name] ? { url: `https://${first.address}:${o.port}` } : {}),
    stop: async () => {
      detachHaproxy(world);
      await haproxy.stop();
    },
  };
}
