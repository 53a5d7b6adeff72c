// The etcd client: etcdctl run over SSH on the member hosts, as operators do (argument arrays, `-w json`
// parsed), never a direct connection from the operator host. Reads run on the first member host that answers;
// single-endpoint operations (snapshot save, move-leader) run on the member they target.
import type { ClientContext } from '../core/client.js';
import { messageOf } from '../core/errors.js';
import type { OperationTable, Planned } from '../core/gate.js';
import { isPlanned } from '../core/gate.js';
import { rolePattern } from '../inventory/naming.js';
import type { OpenStackClient } from '../openstack/index.js';
import type { CommandResult, Remote } from '../remote/index.js';
import { HostUnreachableError, RemoteTimeoutError } from '../remote/errors.js';
import { mutateArgv, readArgv, tlsOf } from './argv.js';
import { EtcdCommandError, EtcdUnavailableError, EtcdVerifyError } from './errors.js';
import {
  type EndpointHealth,
  type EndpointStatus,
  type EtcdMember,
  type SnapshotStatus,
  parseEndpointHealth,
  parseEndpointStatus,
  parseMemberAdd,
  parseMemberList,
  parseSnapshotStatus,
} from './parse.js';

export * from './argv.js';
export * from './errors.js';
export * from './parse.js';

/** The inventory role whose hosts are the etcd members. */
export const ETCD_ROLE = 'etcd';

/** Everything the cookbooks gate on, read in one go. */
export interface ClusterView {
  members: EtcdMember[];
  health: EndpointHealth[];
  status: EndpointStatus[];
  /** Hex id of the leader, '' when none answered. */
  leaderId: string;
  /** The member host the reads ran on. */
  via: string;
}

/** What the client needs besides its context. */
export interface EtcdDeps {
  remote: Remote;
  openstack: OpenStackClient;
}

/** etcd membership, health and snapshots of one cluster. */
export class Etcd {
  /** Every public method, read or mutate (see lib/core/gate.ts). */
  static readonly operations: OperationTable<Etcd> = Object.freeze({
    memberHosts: 'read',
    hostOf: 'read',
    addresses: 'read',
    view: 'read',
    members: 'read',
    etcdctlRead: 'read',
    snapshotStatus: 'read',
    checksum: 'read',
    memberAdd: 'mutate',
    memberPromote: 'mutate',
    memberRemove: 'mutate',
    moveLeader: 'mutate',
    snapshotSave: 'mutate',
  } as const);

  private preferred: string | undefined;

  constructor(
    private readonly ctx: ClientContext,
    private readonly deps: EtcdDeps,
  ) {}

  private get sudo(): boolean {
    return this.ctx.cluster.ssh.sudo;
  }

  /** Hosts of the etcd role that exist as VMs, sorted by name. */
  async memberHosts(): Promise<string[]> {
    const role = this.ctx.cluster.roles[ETCD_ROLE];
    if (!role) {
      throw new EtcdUnavailableError(`cluster ${this.ctx.cluster.name} has no ${ETCD_ROLE} role in its inventory`, { context: { cluster: this.ctx.cluster.name }, hint: 'the etcd cookbooks work on clusters with external etcd members (an inventory role named etcd)' });
    }
    const re = rolePattern(this.ctx.cluster, role);
    const servers = await this.deps.openstack.listServers({ name: re.source });
    return servers.map((s) => s.name).filter((n) => re.test(n)).sort();
  }

  /** SSH addresses of member hosts (a learner that never started is known only by its peer URL's address). */
  async addresses(hosts: readonly string[]): Promise<Map<string, string>> {
    const resolved = await this.deps.remote.resolveHosts(hosts);
    return new Map(resolved.map((r) => [r.host, r.address]));
  }

  /** The member host a member runs on (by name, else by its peer URL's host or address), or undefined. */
  hostOf(member: EtcdMember, hosts: readonly string[], addresses: ReadonlyMap<string, string> = new Map()): string | undefined {
    const byName = hosts.find((h) => member.name === h || member.name.startsWith(h + '.'));
    if (byName) return byName;
    const peer = member.peerUrls[0] ? new URL(member.peerUrls[0]).hostname : '';
    return hosts.find((h) => peer === h || peer.startsWith(h + '.') || (peer !== '' && addresses.get(h) === peer));
  }

  /** Runs a read-only etcdctl command on the first member host that answers; the result whatever its status. */
  async etcdctlRead(args: readonly string[], opts: { hosts?: readonly string[]; endpoints?: readonly string[] } = {}): Promise<CommandResult> {
    const hosts = opts.hosts ?? (await this.memberHosts());
    const order = this.preferred && hosts.includes(this.preferred) ? [this.preferred, ...hosts.filter((h) => h !== this.preferred)] : [...hosts];
    const failures: string[] = [];
    for (const host of order) {
      const argv = readArgv(args, opts.endpoints, tlsOf(this.ctx.cluster));
      let r: CommandResult;
      try {
        r = await this.deps.remote.query(host, argv, { sudo: this.sudo, okExitCodes: 'any', timeoutMs: 30_000 });
      } catch (err) {
        // A changed host key or a refused login is not "down": it stops the run.
        if (!(err instanceof HostUnreachableError) && !(err instanceof RemoteTimeoutError)) throw err;
        failures.push(`${host}: ${messageOf(err)}`);
        continue;
      }
      // Without --endpoints the host's own member answers; a stopped member means: ask the next host.
      if (r.exitCode !== 0 && !opts.endpoints?.length) {
        failures.push(`${host}: ${lastLine(r.stderr)}`);
        if (/lab runs real etcd|runs no real etcd|command not found/.test(r.stderr)) throw this.unavailable(failures, r.stderr);
        continue;
      }
      this.preferred = host;
      return r;
    }
    throw this.unavailable(failures);
  }

  private unavailable(failures: string[], detail?: string): EtcdUnavailableError {
    const lab = detail && /apt-get install[^\n]*/.exec(detail);
    return new EtcdUnavailableError(`no etcd member of cluster ${this.ctx.cluster.name} answered: ${failures.join('; ') || 'no member hosts'}`, {
      context: { cluster: this.ctx.cluster.name, failures },
      hint: lab ? `this lab runs no real etcd: ${lab[0]}` : `check the members with: cookbook etcd.status --cluster-name ${this.ctx.cluster.name}; start a stopped member with systemctl start etcd on its host`,
    });
  }

  /** The member list (from any member that answers). */
  async members(): Promise<EtcdMember[]> {
    const r = await this.etcdctlRead(['-w', 'json', 'member', 'list']);
    return parseMemberList(r.stdout);
  }

  /** Members, then the health and status of every started member's endpoint, and the leader. */
  async view(): Promise<ClusterView> {
    const members = await this.members();
    const via = this.preferred ?? '';
    const endpoints = members.flatMap((m) => m.clientUrls);
    // A learner refuses the linearizable read `endpoint health` makes, after the whole --command-timeout
    // (1.5 s on every read while a learner catches up): ask voters only; a learner is judged by its status.
    const voters = members.filter((m) => !m.isLearner).flatMap((m) => m.clientUrls);
    const [health, s] = await Promise.all([
      voters.length ? this.etcdctlRead(['-w', 'json', 'endpoint', 'health'], { endpoints: voters, hosts: [via] }).then((r) => parseEndpointHealth(r.stdout)) : Promise.resolve([]),
      this.etcdctlRead(['-w', 'json', 'endpoint', 'status'], { endpoints, hosts: [via] }),
    ]);
    const status = parseEndpointStatus(s.stdout);
    const leaderId = status.find((x) => x.leaderId !== '0' && x.leaderId)?.leaderId ?? '';
    return { members, health, status, leaderId, via };
  }

  /** `snapshot status` of a file on a member host (hash, revision, keys, size). */
  async snapshotStatus(host: string, path: string): Promise<SnapshotStatus> {
    // Offline (reads the file): no TLS flags needed, but harmless; kept out so the command reads as it runs.
    const r = await this.deps.remote.query(host, ['etcdctl', '-w', 'json', 'snapshot', 'status', path], { sudo: this.sudo, okExitCodes: 'any' });
    if (r.exitCode !== 0) throw this.commandError(`snapshot ${path} on ${host} does not verify`, host, r, EtcdVerifyError, 'the snapshot is damaged: take a new one');
    return parseSnapshotStatus(r.stdout);
  }

  /** sha256 of a file on a member host. */
  async checksum(host: string, path: string): Promise<string> {
    const r = await this.deps.remote.query(host, ['sha256sum', path], { sudo: this.sudo });
    return r.stdout.split(/\s+/)[0] ?? '';
  }

  /** `member add NAME --peer-urls=URL [--learner]`; returns what etcd printed for the new member. */
  async memberAdd(host: string, endpoints: readonly string[], name: string, peerUrl: string, learner = true): Promise<Record<string, string> | Planned> {
    const r = await this.mutating(host, endpoints, ['member', 'add', name, `--peer-urls=${peerUrl}`, ...(learner ? ['--learner'] : [])], `add member ${name}`);
    return isPlanned(r) ? r : parseMemberAdd(r.stdout);
  }

  /** `member promote ID`: false while the learner has not caught up with the leader yet. */
  async memberPromote(host: string, endpoints: readonly string[], id: string): Promise<boolean | Planned> {
    const r = await this.mutating(host, endpoints, ['member', 'promote', id], `promote member ${id}`, /in sync with leader|not ready|too many requests|not a learner/);
    if (isPlanned(r)) return r;
    // "not a learner": an earlier promotion whose answer was lost took effect.
    return r.exitCode === 0 || /not a learner/.test(r.stderr);
  }

  /** `member remove ID`. */
  async memberRemove(host: string, endpoints: readonly string[], id: string): Promise<true | Planned> {
    const r = await this.mutating(host, endpoints, ['member', 'remove', id], `remove member ${id}`);
    return isPlanned(r) ? r : true;
  }

  /** `move-leader ID`, sent to the leader's own endpoint (etcd accepts it only there). */
  async moveLeader(host: string, leaderEndpoint: string, toId: string): Promise<true | Planned> {
    const r = await this.mutating(host, [leaderEndpoint], ['move-leader', toId], `move leadership to ${toId}`);
    return isPlanned(r) ? r : true;
  }

  /** `snapshot save PATH` against one endpoint, on a member host. */
  async snapshotSave(host: string, endpoint: string, path: string): Promise<true | Planned> {
    const r = await this.mutating(host, [endpoint], ['snapshot', 'save', path], `snapshot to ${path}`);
    return isPlanned(r) ? r : true;
  }

  /** A mutating etcdctl on `host` through the gate; a non-zero status throws unless it matches `tolerate`. */
  private async mutating(host: string, endpoints: readonly string[], args: string[], what: string, tolerate?: RegExp): Promise<CommandResult | Planned> {
    // The verb first: the change record reads `run etcdctl member ...`, whatever the endpoints are.
    const argv = mutateArgv(args, endpoints, tlsOf(this.ctx.cluster));
    const r = await this.deps.remote.run(host, argv, { sudo: this.sudo, okExitCodes: 'any', timeoutMs: 5 * 60_000, detail: { etcd: what } });
    if (isPlanned(r)) return r;
    if (r.exitCode !== 0 && !(tolerate && tolerate.test(r.stderr))) throw this.commandError(`etcd: ${what} failed on ${host}`, host, r);
    return r;
  }

  private commandError(message: string, host: string, r: CommandResult, Cls: typeof EtcdCommandError = EtcdCommandError, hint?: string): EtcdCommandError {
    const said = lastLine(r.stderr);
    return new Cls(`${message}: ${said}`, {
      context: { cluster: this.ctx.cluster.name, host, command: r.command, exitCode: r.exitCode, stderr: r.stderr.slice(-2000) },
      hint: hint ?? (/unhealthy cluster/.test(said) ? 'a member is down or the cluster started less than 5 s ago: check with cookbook etcd.status, then run the same command again' : `look at etcd on ${host} (journalctl -u etcd), then run the same command again`),
    });
  }
}

/** The last non-empty line of etcdctl's stderr without its JSON log lines. */
function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('{'));
  return lines.at(-1) ?? text.trim().split('\n').at(-1) ?? '';
}

/** The client factory the runner's loader calls. */
export async function create(ctx: ClientContext, deps: EtcdDeps): Promise<Etcd> {
  return new Etcd(ctx, deps);
}
