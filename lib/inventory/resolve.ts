// Finding a cluster by name: the inventory directories first, then a running lab of that name (started with
// `cookbook lab up --cluster-name NAME`, which writes its own inventory into its state directory), so
// `--cluster-name NAME` works without `--inventory`. Also: host names given as FQDNs (as alerts show them)
// are shortened to the names used everywhere else, once the cluster and its domain are known.
import { join } from 'node:path';
import { InputError } from '../core/errors.js';
import { findLabInventoryDir } from '../../lab/api.js';
import { type Inventory, getCluster, loadClusterFile, loadInventory } from './load.js';
import { isDnsLabel } from './naming.js';
import type { ClusterConfig } from './schema.js';

/**
 * The named cluster from the inventory directories; when none defines it, the inventory of a running lab of
 * that name. Otherwise the InputError of getCluster (known clusters listed), with a hint naming `lab status`.
 */
export function findCluster(name: string, dirs: readonly string[], inventory: Inventory = loadInventory(dirs)): ClusterConfig {
  if (inventory.clusters.has(name)) return getCluster(inventory, name);
  const labDir = findLabInventoryDir(name);
  if (labDir) {
    const cluster = loadClusterFile(join(labDir, 'inventory.yaml'));
    if (cluster.name === name) return cluster;
  }
  try {
    return getCluster(inventory, name);
  } catch (err) {
    if (err instanceof InputError) {
      (err as { hint?: string }).hint = `pick one of the known clusters, add its file with --inventory DIR, or start a lab: cookbook lab up --cluster-name ${name} (cookbook lab status lists running labs)`;
    }
    throw err;
  }
}

/** Options whose values are host names (FQDNs are shortened for them). */
export function isHostOption(key: string): boolean {
  return key === 'hostname' || key.endsWith('-hostname');
}

/**
 * The short name of `host` in the cluster: a name with dots must end with the cluster's domain
 * (`tb-k8s-worker-1.toolsbeta.eqiad1.wikimedia.cloud` -> `tb-k8s-worker-1`); a short name is returned as is.
 */
export function shortHostname(cluster: ClusterConfig, host: string, option = 'hostname'): string {
  const name = host.replace(/\.$/, '').toLowerCase();
  // Only a well-formed DNS name is a full name; anything else is left to the host name check to refuse.
  if (!name.includes('.') || !name.split('.').every(isDnsLabel)) return host;
  const domain = cluster.domain?.replace(/^\.|\.$/g, '').toLowerCase();
  const context = { cluster: cluster.name, [option]: host, domain: domain ?? null };
  if (!domain) {
    throw new InputError(`--${option}: ${host} is a full name, but cluster ${cluster.name} has no domain in its inventory`, {
      context,
      hint: `give the short name (${name.split('.')[0]}) or add domain: to ${cluster.source}`,
    });
  }
  const short = name.slice(0, -(domain.length + 1));
  if (!name.endsWith(`.${domain}`) || !isDnsLabel(short)) {
    throw new InputError(`--${option}: ${host} is not a host of cluster ${cluster.name}: its hosts are <name>.${domain}`, {
      context,
      hint: `give the short name, or a full name ending in .${domain}`,
    });
  }
  return short;
}

/**
 * Rewrites host-name options of parsed arguments in place: every FQDN becomes its short name (list values
 * too, comma-separated or repeated). The cluster is looked up only when some value has a dot.
 */
export function shortenHostArgs(argv: Record<string, unknown>, keys: readonly string[], cluster: () => ClusterConfig): void {
  const hostKeys = keys.filter((k) => isHostOption(k) && argv[k] !== undefined);
  const hasDot = (v: unknown): boolean => (Array.isArray(v) ? v.some(hasDot) : typeof v === 'string' && v.includes('.'));
  if (!hostKeys.some((k) => hasDot(argv[k]))) return;
  const c = cluster();
  for (const key of hostKeys) {
    const fix = (v: unknown): unknown => (typeof v === 'string' ? v.split(',').map((h) => shortHostname(c, h.trim(), key)).join(',') : v);
    const value = argv[key];
    const fixed = Array.isArray(value) ? value.map(fix) : fix(value);
    argv[key] = fixed;
    const camel = key.replace(/-([a-z])/g, (_m, ch: string) => ch.toUpperCase());
    if (camel in argv) argv[camel] = fixed;
  }
}
