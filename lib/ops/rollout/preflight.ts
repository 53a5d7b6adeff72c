// The SSH preflight of a rollout, before anything changes: every target answers over SSH with a host key that
// verifies. A node found unreachable (or impersonated) only after its drain would be left drained for nothing.
import type { Context } from '../../core/context.js';
import { messageOf } from '../../core/errors.js';
import { mapLimit } from '../../core/pool.js';
import type { Remote } from '../../remote/index.js';
import { RolloutPreflightError } from './result.js';

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

/**
 * Every target must answer over SSH with a host key that verifies before the first cordon: a node found
 * unreachable (or impersonated) only after its drain would be left drained for nothing. A dry-run records
 * each as a step that would fail.
 */
export async function preflightSsh(ctx: Context, remote: Remote, targets: string[]): Promise<void> {
  if (targets.length === 0) return;
  const problems = await sshPreflight(remote, targets);
  if (problems.length === 0) return;
  for (const p of problems) ctx.log.error(`preflight: ${p.node}: ${p.error}`);
  if (ctx.dryRun) {
    for (const p of problems) ctx.planProblem({ kind: 'fail', node: p.node, step: `preflight SSH ${p.node}`, reason: p.error });
    return;
  }
  const keys = problems.filter((p) => /HostKey/.test(p.class));
  throw new RolloutPreflightError(
    `preflight: ${problems.length} of ${targets.length} node(s) cannot be used over SSH, nothing was changed: ${problems.map((p) => `${p.node} (${p.error.split('\n')[0]})`).join('; ')}`,
    {
      context: { host: problems[0]!.node, nodes: problems.map((p) => p.node), problems },
      hint: keys.length
        ? `a host key that does not verify can mean a man in the middle: check ${keys.map((p) => p.node).join(', ')} (console log fingerprints) before trusting a new key; or leave the node out with --hostname`
        : 'bring the named hosts back (or leave them out with --hostname) and run again',
    },
  );
}
