// Joining a host to the cluster: the control node kubeadm runs on (checked before anything is disrupted), the
// bootstrap token's life (journaled by id before use, deleted in cleanup that an interrupt does not cancel,
// leftovers of earlier runs swept), the certificate key of control nodes and the join itself.
import type { V1Node } from '@kubernetes/client-node';
import type { Context } from '../../core/context.js';
import { RemoteError, messageOf } from '../../core/errors.js';
import { unlessPlanned } from '../../core/gate.js';
import { registerSecret } from '../../core/redact.js';
import type { Kube } from '../../k8s/index.js';
import { isNodeReady } from '../../k8s/nodes.js';
import { HostKeyMismatchError, HostKeyUnknownError, RemoteHostError } from '../../remote/errors.js';
import { type NodeTimeouts, NODE_TIMEOUTS, nodeTimeouts } from './timeouts.js';

/** Every bootstrap token this tool creates has a description starting with this (how re-runs find leftovers). */
export const TOKEN_DESCRIPTION_PREFIX = 'cluster-cookbooks:';
/** Journal key of the ids of tokens this run (or the run it resumes) created: ids only, never the secret. */
const TOKENS_MEMO = 'join:issued-ids';
/** What a dry-run's planned `kubeadm token create` stands for: the join is planned with these, in the real run's order. */
const PLANNED_JOIN = Object.freeze({ apiServerEndpoint: '<planned>', token: '<planned>', caCertHash: '<planned>' });

/** The Ready control-plane nodes kubeadm could run on (all but `exclude`), in a stable order. */
async function controlCandidates(kube: Kube, exclude: readonly string[]): Promise<string[]> {
  const nodes: V1Node[] = await kube.listNodes('node-role.kubernetes.io/control-plane');
  return nodes
    .filter((n) => isNodeReady(n) && !exclude.includes(n.metadata?.name ?? ''))
    .map((n) => n.metadata!.name!)
    .sort();
}

/**
 * Checks, before anything changes, that the hosts a run will use answer over SSH with the host keys we know.
 * A changed or unknown key is an error naming the host (it can mean a man in the middle), never a reason to
 * use another host. `optional` hosts may be unreachable (a host being removed); `controls` are the control
 * nodes kubeadm may run on: at least one must answer. Returns the control nodes that answered.
 */
export async function checkHostsFirst(
  ctx: Context,
  kube: Kube,
  options: { controls?: boolean; excludeControls?: string[]; optional?: string[]; timeouts?: Partial<NodeTimeouts> } = {},
): Promise<string[]> {
  const probeMs = nodeTimeouts(options.timeouts).sshProbeMs;
  const remote = await ctx.remote();
  const controls = options.controls === false ? [] : await controlCandidates(kube, options.excludeControls ?? []);
  const probe = async (host: string): Promise<{ host: string; error?: unknown }> => {
    try {
      await remote.query(host, ['true'], { timeoutMs: probeMs });
      return { host };
    } catch (err) {
      return { host, error: err };
    }
  };
  const results = await Promise.all([...controls, ...(options.optional ?? [])].map(probe));
  for (const r of results) {
    if (r.error instanceof HostKeyMismatchError || r.error instanceof HostKeyUnknownError) {
      const changed = r.error instanceof HostKeyMismatchError;
      throw new (changed ? HostKeyMismatchError : HostKeyUnknownError)(
        `${r.host} offers ${changed ? 'a host key different from the one recorded in known_hosts' : 'a host key that known_hosts does not list'}; refusing to use it or any other host instead (a changed key can mean a man in the middle): ${r.error.message}`,
        {
          context: { ...r.error.context, host: r.host },
          cause: r.error,
          // The remote layer's hint names the exact known_hosts entry and file.
          hint: `check ${r.host}'s key out of band (its console log, the cloud's fingerprints) before anything else; ${r.error.hint ?? `if it was legitimately reinstalled, remove its old known_hosts entry (ssh-keygen -R ${r.host})`}; then run the cookbook again`,
        },
      );
    }
  }
  const answered = results.filter((r) => r.error === undefined && controls.includes(r.host)).map((r) => r.host);
  if (options.controls === false) return answered;
  if (controls.length === 0 || answered.length === 0) {
    const tried = results.filter((r) => controls.includes(r.host)).map((r) => `${r.host}: ${messageOf(r.error)}`);
    throw new RemoteError(`no healthy control-plane node to run kubeadm on${tried.length ? `: ${tried.join('; ')}` : ' (no Ready control node)'}`, {
      context: { cluster: ctx.cluster.name, tried, excluded: options.excludeControls ?? [] },
      hint: 'check the control plane (kubectl get nodes -l node-role.kubernetes.io/control-plane) and SSH access to the control nodes, then run the cookbook again',
    });
  }
  for (const r of results) {
    if (r.error !== undefined && controls.includes(r.host)) ctx.log.warn(`control node ${r.host} does not answer over SSH (${messageOf(r.error)}); kubeadm will run on ${answered[0]}`);
  }
  return answered;
}

/** A Ready control-plane node other than `exclude` that answers over SSH with its known key, to run kubeadm on. */
export async function pickControlNode(ctx: Context, kube: Kube, exclude: string): Promise<string> {
  return (await checkHostsFirst(ctx, kube, { excludeControls: [exclude] }))[0]!;
}

/** Parses `kubeadm token create --print-join-command` output. */
export function parseJoinCommand(text: string, host = 'the control node'): { apiServerEndpoint: string; token: string; caCertHash: string } {
  const m = /kubeadm join (\S+) --token (\S+) --discovery-token-ca-cert-hash (sha256:[0-9a-f]{64})/.exec(text);
  if (!m) {
    // The output holds the token: name the problem, never echo it.
    throw new RemoteError(`unexpected output from kubeadm token create --print-join-command on ${host}`, {
      context: { host, command: 'kubeadm token create --print-join-command', outputLength: text.length },
      hint: `run "kubeadm token create --print-join-command" on ${host} by hand to see what it prints (then delete that token)`,
    });
  }
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

/** Bootstrap tokens as `kubeadm token list` shows them: id and description (the secret half is registered, never kept). */
export function parseTokenList(text: string): { id: string; description: string }[] {
  const out: { id: string; description: string }[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-z0-9]{6})\.([a-z0-9]{16})\s+(.*)$/.exec(line.trim());
    if (!m) continue;
    registerSecret(`${m[1]}.${m[2]}`);
    registerSecret(m[2]);
    const desc = /(\S*cluster-cookbooks:\S*)/.exec(m[3]!)?.[1] ?? '';
    out.push({ id: m[1]!, description: desc });
  }
  return out;
}

/** Runs a token cleanup command on a control node: survives an interrupt, bounded by its own short deadline. */
async function cleanupRun(ctx: Context, control: string, argv: string[], readOnly = false): Promise<string | undefined> {
  const remote = await ctx.remote();
  // A cleanup's own deadline: short, and not cancelled by SIGINT (the token must not outlive the run).
  const r = await remote.run(control, argv, { sudo: ctx.cluster.ssh.sudo, timeoutMs: NODE_TIMEOUTS.tokenCleanupMs, cleanup: true, readOnly });
  return unlessPlanned(r, undefined)?.stdout;
}

/** Deletes bootstrap tokens by id (already gone counts as deleted); failures are warnings: tokens expire in 15 minutes. */
async function deleteTokens(ctx: Context, control: string, ids: readonly string[]): Promise<void> {
  for (const id of ids) {
    try {
      await cleanupRun(ctx, control, ['kubeadm', 'token', 'delete', id]);
    } catch (err) {
      if (err instanceof RemoteHostError && /not found/.test(messageOf(err))) continue;
      ctx.log.warn(`could not delete bootstrap token ${id} on ${control}: ${messageOf(err)} (it expires within 15 minutes; delete it with: kubeadm token delete ${id})`);
    }
  }
  const left = (ctx.recall<string[]>(TOKENS_MEMO) ?? []).filter((t) => !ids.includes(t));
  if (!ctx.dryRun) ctx.remember(TOKENS_MEMO, left);
}

/**
 * Bootstrap tokens earlier runs of this tool left behind (killed between creating and deleting one): those
 * whose description starts with TOKEN_DESCRIPTION_PREFIX, and ids the resumed journal names. Reads only. The
 * run holds the cluster's lock, so no other run of ours is using one.
 */
export async function leftoverTokens(ctx: Context, control: string): Promise<string[]> {
  const listed = parseTokenList((await cleanupRun(ctx, control, ['kubeadm', 'token', 'list'], true)) ?? '');
  const journaled = ctx.recall<string[]>(TOKENS_MEMO) ?? [];
  return listed.filter((t) => t.description.startsWith(TOKEN_DESCRIPTION_PREFIX) || journaled.includes(t.id)).map((t) => t.id);
}

/** Deletes the leftover tokens of earlier runs (see leftoverTokens); returns their ids. */
export async function sweepLeftoverTokens(ctx: Context, control: string): Promise<string[]> {
  const ours = await leftoverTokens(ctx, control);
  if (ours.length) ctx.log.info(`deleting ${ours.length} bootstrap token(s) an interrupted earlier run left: ${ours.join(', ')}`);
  await deleteTokens(ctx, control, ours);
  return ours;
}

/** The certificate key control nodes join with (`kubeadm init phase upload-certs`); a placeholder when only planned. */
async function uploadCerts(ctx: Context, control: string): Promise<string> {
  const up = unlessPlanned(await (await ctx.remote()).run(control, ['kubeadm', 'init', 'phase', 'upload-certs', '--upload-certs'], { sudo: ctx.cluster.ssh.sudo }), undefined);
  if (!up) return '<planned>';
  const key = /([0-9a-f]{64})\s*$/.exec(up.stdout.trim())?.[1];
  if (!key) {
    throw new RemoteError(`kubeadm init phase upload-certs on ${control} printed no certificate key`, {
      context: { host: control, command: 'kubeadm init phase upload-certs --upload-certs' },
      hint: `run "kubeadm init phase upload-certs --upload-certs" on ${control} by hand and read its output`,
    });
  }
  registerSecret(key);
  return key;
}

/**
 * Joins a provisioned host to the cluster: a fresh short-lived token made on a healthy control node (its id
 * journaled before use, deleted in every case, even after SIGINT), for control nodes a certificate key from
 * `kubeadm init phase upload-certs`; the join configuration reaches the host as a 0600 file over SFTP. In
 * dry-run every one of these mutations is planned, in the order the real run performs them.
 */
export async function joinNode(ctx: Context, kube: Kube, hostname: string, controlPlane: boolean, timeouts: Partial<NodeTimeouts> = {}): Promise<void> {
  const remote = await ctx.remote();
  const sudo = ctx.cluster.ssh.sudo;
  const control = await pickControlNode(ctx, kube, hostname);
  // Names the tool and the node, not the run: a dry-run plans the very command the real run sends.
  const description = `${TOKEN_DESCRIPTION_PREFIX}${ctx.cookbook}:${hostname}`;
  let tokenId: string | undefined;
  try {
    // In dry-run each command is only planned: placeholders stand for its output, so every later command is
    // still planned, in the order the real run sends them.
    const made = unlessPlanned(await remote.run(control, ['kubeadm', 'token', 'create', '--print-join-command', '--ttl', '15m', '--description', description], { sudo }), undefined);
    const join = made ? parseJoinCommand(made.stdout, control) : PLANNED_JOIN;
    tokenId = made ? join.token.split('.')[0]! : '<token-id>';
    if (made) {
      registerSecret(join.token);
      // Journaled before the token is used: a run killed from here on leaves an id a re-run deletes.
      ctx.remember(TOKENS_MEMO, [...(ctx.recall<string[]>(TOKENS_MEMO) ?? []), tokenId]);
    }
    const certificateKey = controlPlane ? await uploadCerts(ctx, control) : undefined;
    const config = joinConfiguration({ ...join, nodeName: hostname, certificateKey });
    await remote.runWithSecretFile(hostname, config, (path) => ['kubeadm', 'join', '--config', path], { sudo, timeoutMs: nodeTimeouts(timeouts).joinMs });
  } finally {
    if (tokenId !== undefined) {
      await deleteTokens(ctx, control, [tokenId]);
    } else if (!ctx.dryRun) {
      // The create failed or was interrupted before its answer arrived: the token may exist with an id we
      // never learned. Ours carry this description (the tool and the node).
      try {
        const listed = parseTokenList((await cleanupRun(ctx, control, ['kubeadm', 'token', 'list'], true)) ?? '');
        await deleteTokens(ctx, control, listed.filter((t) => t.description === description).map((t) => t.id));
      } catch (err) {
        ctx.log.warn(`could not check ${control} for a bootstrap token of this run: ${messageOf(err)} (a re-run deletes it)`);
      }
    }
  }
}
