// Node lifecycle steps shared by the cookbooks (add, remove, replace, cordon, drain, reboot): each is an
// ensure-style step (check, act, verify) built on the client layers, so every cookbook that cordons or joins a
// node does it the same, resumable way.
import type { V1Node } from '@kubernetes/client-node';
import type { Context } from '../core/context.js';
import { InputError, RemoteError, messageOf } from '../core/errors.js';
import { type Planned, isPlanned } from '../core/gate.js';
import { registerSecret } from '../core/redact.js';
import { getRole, nextHostname, requireHostOfRole, roleOf } from '../inventory/naming.js';
import type { ClusterConfig, RoleConfig } from '../inventory/schema.js';
// Values come from the light k8s submodules, types from the client: cookbooks import this module, and
// `cookbook list` must not load client-node.
import type { DrainOptions, DrainResult, Kube } from '../k8s/index.js';
import { DrainFailedError, DrainRefusedError } from '../k8s/errors.js';
import { isCordoned, isNodeReady, ourCordon } from '../k8s/nodes.js';
import type { Server } from '../openstack/index.js';

/** The cluster host a cookbook acts on, validated: a DNS label of this cluster (and of `role`, when given). */
export function clusterHost(cluster: ClusterConfig, hostname: string, role?: string): { hostname: string; role: string } {
  requireHostOfRole(cluster, hostname, role);
  return { hostname, role: roleOf(cluster, hostname)! };
}

/** The Node of a host, or an InputError (exit 2) naming it: the operator named a host that is not a node. */
export async function requireClusterNode(kube: Kube, cluster: ClusterConfig, hostname: string): Promise<V1Node> {
  const node = await kube.getNode(hostname);
  if (!node) {
    throw new InputError(`host ${hostname} is not a Kubernetes node of cluster ${cluster.name}`, {
      context: { cluster: cluster.name, hostname },
      hint: 'check the name with: kubectl get nodes',
    });
  }
  return node;
}

/** A Kubernetes role (not `etcd`-style `node: none`), or an InputError. */
export function requireNodeRole(cluster: ClusterConfig, roleName: string): RoleConfig {
  const role = getRole(cluster, roleName);
  if (role.node === 'none') {
    throw new InputError(`role ${roleName} of cluster ${cluster.name} is not a Kubernetes node role`, { context: { cluster: cluster.name, role: roleName } });
  }
  return role;
}

/** Cordons a node as a journaled step; returns whether the cordon is ours (we never uncordon another's). */
export async function cordonStep(ctx: Context, kube: Kube, node: string): Promise<{ ours: boolean } | Planned> {
  return ctx.step(`cordon ${node}`, {
    target: `node/${node}`,
    check: async () => {
      const n = await kube.requireNode(node);
      return isCordoned(n) ? { ours: ourCordon(n) !== undefined } : undefined;
    },
    apply: async () => {
      const r = await kube.cordon(node, { runId: ctx.runId, cookbook: ctx.cookbook });
      return isPlanned(r) ? r : { ours: r.ours };
    },
    verify: async () => isCordoned(await kube.requireNode(node)),
  });
}

/** Uncordons a node we cordoned (or any, with force) as a journaled step. */
export async function uncordonStep(ctx: Context, kube: Kube, node: string, options: { force?: boolean } = {}): Promise<unknown> {
  return ctx.step(`uncordon ${node}`, {
    target: `node/${node}`,
    check: async () => (!isCordoned(await kube.requireNode(node)) ? { node, changed: false, ours: false } : undefined),
    apply: () => kube.uncordon(node, options),
    verify: async () => !isCordoned(await kube.requireNode(node)),
  });
}

/**
 * Drains a cordoned node as a journaled step (skipped when nothing is left to evict). On failure the node
 * stays cordoned, unless `uncordonOnFailure` and the cordon is ours.
 */
export async function drainStep(
  ctx: Context,
  kube: Kube,
  node: string,
  options: Partial<DrainOptions> & { uncordonOnFailure?: boolean },
): Promise<DrainResult | Planned | undefined> {
  try {
    return await ctx.step(`drain ${node}`, {
      target: `node/${node}`,
      check: async () => {
        const plan = await kube.planDrain(node, { ignoreDaemonSets: true, deleteEmptyDirData: false, forceUnmanaged: false, skipWaitForDeleteTimeoutSeconds: 0, ...options });
        return plan.evict.length === 0 && plan.refuse.length === 0 ? ({ node, planned: false, evicted: [], skipped: [], warnings: [], blocked: [], failed: [], durationMs: 0, requests: 0 } satisfies DrainResult) : undefined;
      },
      apply: async () => {
        const r = await kube.drain(node, {
          ...options,
          onProgress: (e) => ctx.progress({ scope: 'drain', target: e.pod, phase: e.state, message: e.detail }),
        });
        for (const w of r.warnings) ctx.log.warn(w);
        return r;
      },
    });
  } catch (err) {
    if (err instanceof DrainFailedError || err instanceof DrainRefusedError) {
      if (options.uncordonOnFailure) {
        const n = await kube.getNode(node);
        if (n && ourCordon(n)) {
          ctx.log.warn(`drain of ${node} failed; uncordoning it as asked (--uncordon-on-failure)`);
          await uncordonStep(ctx, kube, node);
        } else {
          ctx.log.warn(`drain of ${node} failed; it was not cordoned by us, so it stays cordoned`);
        }
      } else {
        ctx.log.warn(`drain of ${node} failed; the node stays cordoned (uncordon it with: cookbook k8s.uncordon --cluster-name ${ctx.cluster.name} --hostname ${node})`);
      }
    }
    throw err;
  }
}

/** Every host name of the cluster known to OpenStack or Kubernetes (for naming and role counts). */
export async function knownHostnames(ctx: Context): Promise<{ servers: Server[]; nodes: V1Node[]; names: Set<string> }> {
  const [os, kube] = await Promise.all([ctx.openstack(), ctx.k8s()]);
  const prefix = `^${ctx.cluster.prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-`;
  const [servers, nodes] = await Promise.all([os.listServers({ name: prefix }), kube.listNodes()]);
  const names = new Set<string>([...servers.map((s) => s.name), ...nodes.map((n) => n.metadata?.name ?? '')].filter(Boolean));
  return { servers, nodes, names };
}

/** The host name a new node of `role` gets: journaled, so a resumed run finishes the same node. */
export async function chooseNewHostname(ctx: Context, roleName: string, requested?: string): Promise<string> {
  return ctx.memo(`hostname:${roleName}`, async () => {
    if (requested) {
      clusterHost(ctx.cluster, requested, roleName);
      return requested;
    }
    const { names } = await knownHostnames(ctx);
    return nextHostname(ctx.cluster, roleName, names);
  });
}

/** Overrides of the role's VM settings. */
export interface VmOverrides {
  flavor?: string;
  image?: string;
  network?: string;
}

/**
 * Ensures a VM exists for the host, is ACTIVE and reachable over SSH with its host key verified against the
 * console log (cloud-init's fingerprints; never trust on first use).
 */
export async function ensureVm(ctx: Context, roleName: string, hostname: string, overrides: VmOverrides = {}): Promise<Server | Planned> {
  const role = getRole(ctx.cluster, roleName);
  const os = await ctx.openstack();
  let group: unknown;
  if (role.serverGroup) {
    const sg = role.serverGroup;
    group = await ctx.step(`ensure server group ${sg.name}`, {
      target: `server-group/${sg.name}`,
      check: async () => {
        const g = await os.findServerGroup(sg.name);
        return g && g.policy === sg.policy ? g : undefined;
      },
      apply: () => os.ensureServerGroup(sg.name, sg.policy),
    });
  }
  const created = await ctx.step(`create VM ${hostname}`, {
    target: `server/${hostname}`,
    check: async () => (await os.findServer(hostname)) ?? undefined,
    apply: () =>
      os.createServer({
        name: hostname,
        flavor: overrides.flavor ?? role.flavor,
        image: overrides.image ?? role.image,
        network: overrides.network ?? role.network,
        securityGroups: role.securityGroups,
        serverGroup: group as never,
        metadata: { ...role.metadata, 'cluster-cookbooks:cluster': ctx.cluster.name, 'cluster-cookbooks:role': roleName },
      }),
  });
  const active = await ctx.step(`wait VM ${hostname} ACTIVE`, {
    target: `server/${hostname}`,
    check: async () => {
      const s = isPlanned(created) ? undefined : await os.findServer(hostname);
      return s?.status === 'ACTIVE' ? s : undefined;
    },
    apply: async () => {
      const s = ctx.need(created, `VM ${hostname}`);
      const r = await os.waitForStatus(s, 'ACTIVE', { timeoutMs: 15 * 60_000 });
      if (!r) throw new InputError(`VM ${hostname} disappeared while building`);
      return r;
    },
  });
  const remote = await ctx.remote();
  await ctx.step<unknown>(`verify SSH host key of ${hostname}`, {
    target: `host/${hostname}`,
    check: async () => {
      if (isPlanned(active)) return undefined;
      try {
        return await remote.connect(hostname, { timeoutMs: 10_000 });
      } catch {
        return undefined;
      }
    },
    apply: async () => {
      const s = ctx.need(active, `VM ${hostname}`);
      // cloud-init prints the fingerprints late in the first boot: wait until the console shows them.
      const consoleText = await ctx.waitFor(
        async () => {
          const text = await os.getConsoleOutput(s);
          return /BEGIN SSH HOST KEY FINGERPRINTS[\s\S]*END SSH HOST KEY FINGERPRINTS/.test(text) ? text : undefined;
        },
        { what: `SSH host key fingerprints in the console log of ${hostname}`, timeoutMs: 10 * 60_000, backoff: { initialMs: 500, maxMs: 5000 } },
      );
      return remote.trustFromConsoleLog(hostname, consoleText);
    },
  });
  return active;
}

/** A Ready control-plane node other than `exclude` that answers over SSH, to run kubeadm on. */
export async function pickControlNode(ctx: Context, kube: Kube, exclude: string): Promise<string> {
  const controls = (await kube.listNodes('node-role.kubernetes.io/control-plane')).filter((n) => isNodeReady(n) && n.metadata?.name !== exclude);
  const remote = await ctx.remote();
  const errors: string[] = [];
  for (const n of controls) {
    const name = n.metadata!.name!;
    try {
      await remote.query(name, ['true'], { timeoutMs: 15_000 });
      return name;
    } catch (err) {
      errors.push(`${name}: ${messageOf(err)}`);
    }
  }
  throw new RemoteError(`no healthy control-plane node to run kubeadm on${errors.length ? `: ${errors.join('; ')}` : ''}`, {
    context: { tried: errors },
    hint: 'check the control plane (kubectl get nodes) and SSH access to the control nodes',
  });
}

/** Parses `kubeadm token create --print-join-command` output. */
export function parseJoinCommand(text: string): { apiServerEndpoint: string; token: string; caCertHash: string } {
  const m = /kubeadm join (\S+) --token (\S+) --discovery-token-ca-cert-hash (sha256:[0-9a-f]{64})/.exec(text);
  if (!m) throw new RemoteError('unexpected output from kubeadm token create --print-join-command', { context: { output: text.slice(0, 200) } });
  return { apiServerEndpoint: m[1]!, token: m[2]!, caCertHash: m[3]! };
}

/** A kubeadm JoinConfiguration: secrets travel in this file (SFTP, 0600), never on a command line. */
export function joinConfiguration(o: { apiServerEndpoint: string; token: string; caCertHash: string; nodeName: string; certificateKey?: string }): string {
  const lines = [
    'apiVersion: kubeadm.k8s.io/v1beta3',
    'kind: JoinConfiguration',
    'discovery:',
    '  bootstrapToken:',
    `    apiServerEndpoint: "${o.apiServerEndpoint}"`,
    `    token: "${o.token}"`,
    '    caCertHashes:',
    `      - "${o.caCertHash}"`,
    'nodeRegistration:',
    `  name: "${o.nodeName}"`,
  ];
  if (o.certificateKey) lines.push('controlPlane:', `  certificateKey: "${o.certificateKey}"`);
  return lines.join('\n') + '\n';
}

/**
 * Joins a provisioned host to the cluster: a fresh short-lived token made on a healthy control node (deleted
 * in every case), for control nodes a certificate key from `kubeadm init phase upload-certs`; the join
 * configuration reaches the host as a 0600 file over SFTP.
 */
export async function joinNode(ctx: Context, kube: Kube, hostname: string, controlPlane: boolean): Promise<void> {
  const remote = await ctx.remote();
  const control = await pickControlNode(ctx, kube, hostname);
  const created = await remote.run(control, ['kubeadm', 'token', 'create', '--print-join-command', '--ttl', '15m'], { sudo: ctx.cluster.ssh.sudo });
  if (isPlanned(created)) return;
  const join = parseJoinCommand(created.stdout);
  registerSecret(join.token);
  const tokenId = join.token.split('.')[0]!;
  try {
    let certificateKey: string | undefined;
    if (controlPlane) {
      const up = await remote.run(control, ['kubeadm', 'init', 'phase', 'upload-certs', '--upload-certs'], { sudo: ctx.cluster.ssh.sudo });
      if (isPlanned(up)) return;
      certificateKey = /([0-9a-f]{64})\s*$/.exec(up.stdout.trim())?.[1];
      if (!certificateKey) throw new RemoteError('kubeadm init phase upload-certs printed no certificate key', { context: { host: control } });
      registerSecret(certificateKey);
    }
    const config = joinConfiguration({ ...join, nodeName: hostname, certificateKey });
    await remote.runWithSecretFile(hostname, config, (path) => ['kubeadm', 'join', '--config', path], { sudo: ctx.cluster.ssh.sudo, timeoutMs: 10 * 60_000 });
  } finally {
    // The token id is not secret (the secret half is after the dot); delete by id in every case.
    await remote.run(control, ['kubeadm', 'token', 'delete', tokenId], { sudo: ctx.cluster.ssh.sudo }).catch((err: unknown) => {
      ctx.log.warn(`could not delete bootstrap token ${tokenId} on ${control}: ${messageOf(err)} (it expires in 15 minutes)`);
    });
  }
}
