// The lab's state directory: where it lives, what is in it, and how each file looks. Secrets (the admin
// token, the OpenStack password, the Kubernetes token, the SSH private key) are written only here, in files of
// mode 0600 inside a 0700 directory, atomically (temporary file + rename) so readers never see half a file.
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { LabError } from '../lib/core/errors.js';
import { defaultStateDir, packageRoot } from '../lib/core/paths.js';
import { loadClusterFile } from '../lib/inventory/load.js';
import type { ClusterConfig } from '../lib/inventory/schema.js';
import { DAEMON_PID, LAB_JSON, readLabInfo } from './running.js';

export { readLabInfo };

/** File names inside a lab state directory. */
export const STATE_FILES = Object.freeze({
  kubeconfig: 'kubeconfig',
  clouds: 'clouds.yaml',
  key: 'id_ed25519',
  publicKey: 'id_ed25519.pub',
  knownHosts: 'known_hosts',
  labJson: LAB_JSON,
  inventory: 'inventory.yaml',
  log: 'lab.log',
  pid: DAEMON_PID,
});

/** One host as lab.json lists it. */
export interface LabHostInfo {
  name: string;
  address: string;
  port: number;
  role: string;
}

/** The content of lab.json. */
export interface LabInfo {
  pid: number;
  clusterName: string;
  stateDir: string;
  speed: number;
  seed: number;
  kubernetesVersion: string;
  startedAt: string;
  /** Bearer token of the admin endpoint (a secret: lab.json is 0600). */
  adminToken: string;
  /** apiserverPort: the port every control node's own kube-apiserver listens on (its address, this port). */
  endpoints: { kubernetes: string; openstack: string; admin: string; apiserverPort?: number };
  ssh: { port: number };
  hosts: LabHostInfo[];
  /** Real etcd behind hosts of role etcd: the ports, or why not (the packages to install). */
  etcd?: { clientPort: number; peerPort: number } | { unavailable: string };
  /** Real HAProxy on hosts of role loadbalancer: the frontend port and the PIDs by host, or why not. */
  haproxy?: { port: number; pids: Record<string, number[]> } | { unavailable: string };
}

/** Where lab/etcd keeps its members' data dirs and logs, inside the state directory. */
export const ETCD_STATE_DIR = 'etcd';
/** Where lab/haproxy keeps each load balancer's real config, sockets, state files and log. */
export const HAPROXY_STATE_DIR = 'haproxy';

/** The state directory of a lab: the given one, or <XDG state>/cluster-cookbooks/labs/<cluster>. */
export function labStateDir(clusterName: string, stateDir?: string): string {
  // Absolute: the daemon runs in its state directory, and `lab down` finds its daemon by this path.
  return resolve(stateDir ?? join(defaultStateDir(), 'labs', clusterName));
}

/** Creates the state directory (0700, also when it existed with looser permissions). */
export function ensureStateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

/** Writes a state file atomically with the given mode. */
export function writeStateFile(dir: string, name: string, content: string, mode = 0o600): void {
  const target = join(dir, name);
  const tmp = join(dir, `.${name}.${process.pid}.tmp`);
  writeFileSync(tmp, content, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, target);
}

/**
 * Removes a lab's state directory: only the files the lab writes, then the directory if it is empty. A
 * directory with other files in it stays (a mistyped --state-dir must never delete someone's data).
 */
export function removeStateDir(dir: string): { removed: boolean; left: string[] } {
  if (!existsSync(dir)) return { removed: true, left: [] };
  const ours = new Set<string>(Object.values(STATE_FILES));
  for (const f of readdirSync(dir)) {
    if (ours.has(f) || /^\..*\.\d+\.tmp$/.test(f)) rmSync(join(dir, f), { force: true });
    // The real etcd members' data dirs and logs (lab/etcd), written only by the lab.
    else if (f === ETCD_STATE_DIR || f === HAPROXY_STATE_DIR) rmSync(join(dir, f), { recursive: true, force: true });
  }
  const left = readdirSync(dir);
  if (left.length > 0) return { removed: false, left };
  rmdirSync(dir);
  return { removed: true, left: [] };
}

/** A kubeconfig with one cluster, user and context named after the lab's cluster. */
export function renderKubeconfig(o: { clusterName: string; server: string; caPem: string; token: string }): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: o.clusterName, cluster: { server: o.server, 'certificate-authority-data': Buffer.from(o.caPem).toString('base64') } }],
    users: [{ name: o.clusterName, user: { token: o.token } }],
    contexts: [{ name: o.clusterName, context: { cluster: o.clusterName, user: o.clusterName, namespace: 'default' } }],
    'current-context': o.clusterName,
    preferences: {},
  });
}

/** A clouds.yaml with one cloud named after the lab's cluster. */
export function renderCloudsYaml(o: { cloud: string; authUrl: string; username: string; password: string; projectName: string; region: string }): string {
  return stringify({
    clouds: {
      [o.cloud]: {
        auth: {
          auth_url: o.authUrl,
          username: o.username,
          password: o.password,
          project_name: o.projectName,
          user_domain_name: 'Default',
          project_domain_name: 'Default',
        },
        region_name: o.region,
        interface: 'public',
        identity_api_version: 3,
      },
    },
  });
}

/** Loads inventory/local.yaml from the package (the model of every lab cluster). */
export function localClusterTemplate(): ClusterConfig {
  return loadClusterFile(join(packageRoot(), 'inventory', 'local.yaml'));
}

/**
 * The inventory entry a lab cluster of this name uses: inventory/local.yaml itself for `local`, otherwise a
 * copy renamed to NAME with prefix NAME-k8s (server group names follow the prefix).
 */
export function deriveCluster(clusterName: string, template: ClusterConfig = localClusterTemplate()): ClusterConfig {
  if (clusterName === template.name) return template;
  const prefix = `${clusterName}-k8s`;
  const roles = Object.fromEntries(
    Object.entries(template.roles).map(([name, role]) => [
      name,
      { ...role, serverGroup: role.serverGroup && { ...role.serverGroup, name: role.serverGroup.name.replace(template.prefix, prefix) } },
    ]),
  );
  return {
    ...template,
    name: clusterName,
    description: `Lab cluster ${clusterName} (fake Kubernetes, OpenStack and SSH hosts on 127.0.0.0/8)`,
    prefix,
    openstack: { ...template.openstack, cloud: clusterName },
    roles,
  } as ClusterConfig;
}

/** Paths and endpoints the generated inventory points at. */
export interface InventoryTargets {
  stateDir: string;
  apiServer: string;
  kubernetesVersion: string;
  sshPort: number;
  region: string;
  /** The port of every control node's own API endpoint, when the lab serves them. */
  apiserverPort?: number;
}

/** The complete cluster file of a running lab (valid under lib/inventory/schema.ts). */
export function renderInventory(cluster: ClusterConfig, t: InventoryTargets): string {
  const pin = (args: readonly string[]): string[] => args.map((a) => a.replace(/^(kubeadm|kubelet|kubectl)=1\.\d+\.\d+-1\.1$/, `$1=${t.kubernetesVersion}-1.1`));
  const roles = Object.fromEntries(
    Object.entries(cluster.roles).map(([name, r]) => {
      const role: Record<string, unknown> = {
        prefix: r.prefix,
        node: r.node,
        flavor: r.flavor,
        image: r.image,
        network: r.network,
        securityGroups: [...r.securityGroups],
        labels: { ...r.labels },
        taints: r.taints.map((x) => ({ ...x })),
        min: r.min,
        provision: r.provision.map(pin),
        metadata: { ...r.metadata },
      };
      if (r.serverGroup) role.serverGroup = { ...r.serverGroup };
      if (r.maxUnavailable !== undefined) role.maxUnavailable = r.maxUnavailable;
      return [name, role];
    }),
  );
  const doc: Record<string, unknown> = {
    name: cluster.name,
    description: cluster.description ?? `Lab cluster ${cluster.name}`,
    production: false,
    prefix: cluster.prefix,
    domain: cluster.domain ?? 'lab.internal',
    openstack: {
      cloud: cluster.openstack.cloud,
      project: cluster.openstack.project,
      region: t.region,
      interface: 'public',
      cloudsFile: join(t.stateDir, STATE_FILES.clouds),
    },
    kubernetes: {
      apiServer: t.apiServer,
      kubeconfig: join(t.stateDir, STATE_FILES.kubeconfig),
      context: cluster.name,
      version: t.kubernetesVersion,
      // Each control node's own API port (lib finds a node's endpoint with it when apiServer is not on that port).
      ...(t.apiserverPort ? { apiserverPort: t.apiserverPort } : {}),
      ...(cluster.kubernetes.loadBalancers ? { loadBalancers: { ...cluster.kubernetes.loadBalancers } } : {}),
    },
    ssh: {
      user: 'root',
      port: t.sshPort,
      knownHosts: join(t.stateDir, STATE_FILES.knownHosts),
      identityFile: join(t.stateDir, STATE_FILES.key),
      sudo: false,
      addresses: 'openstack',
    },
    lock: { ...cluster.lock },
    lab: { stateDir: t.stateDir },
    roles,
  };
  if (cluster.alertmanager) doc.alertmanager = { ...cluster.alertmanager };
  // The example components repository shipped in the package (component.* cookbooks).
  doc.components = cluster.components ? { ...cluster.components } : { repo: join(packageRoot(), 'components-example') };
  return `# Written by \`cookbook lab up\` for the running lab ${cluster.name}; regenerated on every start.\n` + stringify(doc);
}

/** Throws a LabError unless `dir` looks like a lab state directory (it holds lab.json). */
export function requireLabDir(dir: string): LabInfo {
  const info = readLabInfo(dir);
  if (!info) throw new LabError(`no lab state in ${dir} (lab.json missing)`, { context: { stateDir: dir }, hint: 'start one with: cookbook lab up' });
  return info;
}
