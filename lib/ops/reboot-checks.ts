// The checks a rolling reboot makes before it disrupts anything: SSH reachability and host keys of every
// target (before the first cordon), cluster health (API server, strangers' NotReady nodes), the health of
// control nodes and etcd members (before a control node goes), and the per-node blockers (pods, alerts).
// Shared by the real run and the dry-run, so a plan sees the same holds the run would.
import type { Context } from '../core/context.js';
import { messageOf } from '../core/errors.js';
import { mapLimit } from '../core/pool.js';
import { hostsOfRole } from '../inventory/naming.js';
import { isNodeReady } from '../k8s/index.js';
import type { Remote } from '../remote/index.js';
import { alertBlockers } from './reboot-alerts.js';
import { podBlocker } from './reboot-blockers.js';
import type { ClusterFacts } from './reboot-facts.js';
import type { RolloutClients, RolloutOptions } from './reboot-result.js';
import type { RolloutState } from './reboot-state.js';

/** One target that cannot be reached, or whose host key does not verify. */
export interface SshProblem {
  node: string;
  /** The error class (HostKeyMismatchError, HostUnreachableError, ...). */
  class: string;
  error: string;
}

/**
 * Connects to every host (a few at a time): proves it answers over SSH and that its host key verifies
 * against known_hosts. Returns the hosts that failed; connections stay pooled for the run.
 */
export async function sshPreflight(remote: Remote, hosts: readonly string[], options: { timeoutMs?: number; concurrency?: number } = {}): Promise<SshProblem[]> {
  const problems: SshProblem[] = [];
  await mapLimit(hosts, options.concurrency ?? 8, async (host) => {
    try {
      await remote.connect(host, { timeoutMs: options.timeoutMs ?? 15_000 });
    } catch (err) {
      problems.push({ node: host, class: err instanceof Error ? err.name : 'Error', error: messageOf(err) });
    }
  });
  return problems.sort((a, b) => hosts.indexOf(a.node) - hosts.indexOf(b.node));
}

/** What clusterProblems needs to know about the run. */
export interface RunView {
  state: RolloutState;
  inflight: ReadonlySet<string>;
  failed: ReadonlySet<string>;
}

/** Problems that stop every start: the API server, or a node NotReady that is neither ours nor known before. */
export function clusterProblems(facts: ClusterFacts, run: RunView): string[] {
  const problems: string[] = [];
  if (!facts.readyz) problems.push('the API server does not answer /readyz');
  const rollout = run.state.rollout;
  for (const n of facts.nodes) {
    const name = n.metadata?.name ?? '';
    if (isNodeReady(n) || run.inflight.has(name) || rollout.notReadyBefore.includes(name) || run.failed.has(name)) continue;
    // A target this rollout left half-way (failed, or interrupted) is ours to finish, not a stranger's outage.
    const phase = rollout.targets.includes(name) ? run.state.node(name).phase : 'pending';
    if (phase !== 'pending' && phase !== 'done') continue;
    problems.push(`node ${name} is NotReady`);
  }
  return problems;
}

/** Problems that stop control nodes: a control node not Ready, or an etcd member whose etcd is not active. */
export async function controlProblems(ctx: Context, clients: RolloutClients, facts: ClusterFacts): Promise<string[]> {
  const problems = facts.planNodes.filter((n) => n.control && !n.ready).map((n) => `control node ${n.name} is NotReady`);
  const etcdRole = Object.entries(ctx.cluster.roles).find(([name, r]) => r.node === 'none' && name === 'etcd');
  if (!etcdRole) return problems;
  try {
    const os = await clients.openstack();
    const servers = await os.listServers({ name: `^${ctx.cluster.prefix}-` });
    const members = hostsOfRole(ctx.cluster, etcdRole[0], servers.map((s) => s.name));
    for (const m of members) {
      const r = await clients.remote.query(m, ['systemctl', 'is-active', 'etcd'], { okExitCodes: 'any', timeoutMs: 15_000 }).catch((err: unknown) => ({ stdout: messageOf(err) }));
      if (r.stdout.trim() !== 'active') problems.push(`etcd member ${m}: ${r.stdout.trim().split('\n')[0] || 'not active'}`);
    }
  } catch (err) {
    problems.push(`cannot check the etcd members: ${messageOf(err)}`);
  }
  return problems;
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
