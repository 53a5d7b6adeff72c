// Loads inventory directories: every *.yaml / *.yml file is one cluster. Errors name the file, the path inside
// it and the reason; a later directory's cluster replaces an earlier one of the same name.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { InputError } from '../core/errors.js';
import { expandPath } from '../core/paths.js';
import { type ClusterConfig, clusterSchema } from './schema.js';
import { suggest } from './suggest.js';

/** A malformed inventory file: names the file, the path inside it and what is wrong. */
export class InventoryError extends InputError {}

/** Every cluster found in the given directories, by name. */
export interface Inventory {
  readonly clusters: ReadonlyMap<string, ClusterConfig>;
  readonly dirs: readonly string[];
}

/** Most alias expansions one inventory file may use (a real inventory uses a handful). */
export const MAX_ALIAS_COUNT = 100;

const NOT_INVENTORY = new Set(['clouds.yaml', 'clouds.yml', 'secure.yaml', 'secure.yml']);

function yamlFiles(dir: string): string[] {
  let entries: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new InventoryError(`inventory path is not a directory: ${dir}`, { context: { dir } });
    entries = readdirSync(dir);
  } catch (err) {
    if (err instanceof InventoryError) throw err;
    throw new InventoryError(`cannot read inventory directory ${dir}: ${(err as Error).message}`, {
      context: { dir },
      cause: err,
      hint: 'check --inventory / COOKBOOK_INVENTORY',
    });
  }
  // A lab's state dir is also an inventory dir and holds OpenStack's own clouds.yaml/secure.yaml beside it.
  return entries
    .filter((f) => /\.ya?ml$/.test(f) && !NOT_INVENTORY.has(f) && !f.startsWith('.'))
    .sort()
    .map((f) => join(dir, f));
}

function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(top level)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
}

/** Parses and validates one inventory file. */
export function loadClusterFile(file: string): ClusterConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new InventoryError(`${file}: cannot read: ${(err as Error).message}`, { context: { file }, cause: err });
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const pos = lineCounter.linePos(e.pos[0]);
    throw new InventoryError(`${file}:${pos.line}:${pos.col}: YAML error: ${e.message.split('\n')[0]}`, {
      context: { file, line: pos.line, column: pos.col },
    });
  }
  let data: unknown;
  try {
    // The yaml package counts alias expansions: a file whose aliases multiply (a "billion laughs" bomb) is
    // refused instead of expanding without bound in memory.
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    throw new InventoryError(`${file}: YAML aliases expand without bound (more than ${MAX_ALIAS_COUNT} alias expansions): refused`, {
      context: { file, maxAliasCount: MAX_ALIAS_COUNT },
      cause: err,
      hint: 'write the repeated parts out, or use fewer nested aliases',
    });
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new InventoryError(`${file}: expected a mapping describing one cluster`, { context: { file } });
  }
  const parsed = clusterSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    let path = issue.path;
    let message = issue.message;
    if (issue.code === 'unrecognized_keys') {
      path = [...issue.path, issue.keys[0]!];
      message = `unknown key "${issue.keys[0]}"`;
    } else if (issue.code === 'invalid_key') {
      message = `invalid name: ${issue.issues[0]?.message ?? message}`;
    } else if (issue.code === 'invalid_type' && /received undefined$/.test(message)) {
      message = `is required (${issue.expected})`;
    }
    const where = formatPath(path);
    const more = parsed.error.issues.length > 1 ? ` (and ${parsed.error.issues.length - 1} more)` : '';
    throw new InventoryError(`${file}: ${where}: ${message}${more}`, {
      context: { file, path: where, issues: parsed.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`) },
    });
  }
  const base = dirname(file);
  const c = parsed.data;
  checkCrossFields(file, c);
  const resolved = {
    ...c,
    source: file,
    openstack: { ...c.openstack, cloudsFile: c.openstack.cloudsFile && expandPath(c.openstack.cloudsFile, base) },
    kubernetes: { ...c.kubernetes, kubeconfig: c.kubernetes.kubeconfig && expandPath(c.kubernetes.kubeconfig, base) },
    ssh: {
      ...c.ssh,
      knownHosts: c.ssh.knownHosts && expandPath(c.ssh.knownHosts, base),
      identityFile: c.ssh.identityFile && expandPath(c.ssh.identityFile, base),
    },
    lab: c.lab && { ...c.lab, stateDir: c.lab.stateDir && expandPath(c.lab.stateDir, base) },
  };
  return deepFreeze(resolved) as ClusterConfig;
}

function checkCrossFields(file: string, c: Omit<ClusterConfig, 'source'>): void {
  const seen = new Map<string, string>();
  for (const [name, role] of Object.entries(c.roles)) {
    const other = seen.get(role.prefix);
    if (other) {
      throw new InventoryError(`${file}: roles.${name}.prefix: "${role.prefix}" is also the prefix of role ${other}`, {
        context: { file, path: `roles.${name}.prefix` },
      });
    }
    seen.set(role.prefix, name);
  }
  if (c.lock.backend === 'etcd' && !c.lock.etcdEndpoints?.length && !c.etcd?.endpoints.length) {
    throw new InventoryError(`${file}: lock.etcdEndpoints: the etcd lock backend needs lock.etcdEndpoints or etcd.endpoints`, {
      context: { file, path: 'lock.etcdEndpoints' },
    });
  }
}

/** Loads every cluster from the directories, later directories overriding earlier ones by cluster name. */
export function loadInventory(dirs: readonly string[]): Inventory {
  const clusters = new Map<string, ClusterConfig>();
  for (const dir of dirs) {
    const inDir = new Map<string, string>();
    for (const file of yamlFiles(dir)) {
      const cluster = loadClusterFile(file);
      const dup = inDir.get(cluster.name);
      if (dup) {
        throw new InventoryError(`${file}: name: cluster "${cluster.name}" is also defined in ${dup}`, { context: { file, path: 'name' } });
      }
      inDir.set(cluster.name, file);
      clusters.set(cluster.name, cluster);
    }
  }
  return { clusters, dirs };
}

/** The named cluster, or an InputError listing the known ones. */
export function getCluster(inventory: Inventory, name: string): ClusterConfig {
  const cluster = inventory.clusters.get(name);
  if (!cluster) {
    const known = [...inventory.clusters.keys()].sort();
    const close = suggest(name, known);
    throw new InputError(`unknown cluster "${name}"; ${close.length ? `did you mean ${close.join(', ')}? ` : ''}known clusters: ${known.join(', ') || '(none)'}`, {
      context: { cluster: name, inventory: inventory.dirs },
      hint: 'pick one of the known clusters or add its file with --inventory DIR',
    });
  }
  return cluster;
}

/** Freezes an object graph (inventory entries are shared and must never change under a run). */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  }
  return value;
}
