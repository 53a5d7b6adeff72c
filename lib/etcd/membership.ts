// Adding and removing etcd members as ensure-style, journaled steps. Add: VM (the node ops' ensureVm),
// provision, `member add --learner`, start with exactly what add printed (state existing, empty data dir),
// promote once caught up, then the apiservers and kubeadm-config. Remove: apiservers and kubeadm-config
// first, leadership moved away, `member remove`, stop etcd, delete the VM. Every step re-reads the cluster,
// so a run killed anywhere and run again converges: no orphan member, no apiserver pointing at a removed one.
import type { Context } from '../core/context.js';
import { messageOf } from '../core/errors.js';
import { type Planned, isPlanned } from '../core/gate.js';
import { getRole } from '../inventory/naming.js';
import { deleteVmStep, ensureVm } from '../ops/node/vm.js';
import { HostUnreachableError } from '../remote/errors.js';
import { updateEtcdServers } from './apiservers.js';
import { ETCD_ROLE, type Etcd, EtcdCommandError, EtcdVerifyError, parseEndpointStatus, urlFor } from './index.js';
import { type ClusterSummary, type MemberRow, readCluster, rowOf } from './members.js';

/** Debian's etcd reads its settings from here. */
export const ETCD_DEFAULTS = '/etc/default/etcd';

/** The peer and client URLs a new member on `address` gets: an existing member's scheme and ports. */
export function newMemberUrls(summary: ClusterSummary, hostname: string, address: string): { peerUrl: string; clientUrl: string } {
  const template = summary.rows.find((r) => r.peerUrl && r.clientUrl);
  if (!template) throw new EtcdVerifyError('no started member to take the URL scheme and ports from', { hint: 'the cluster has no started member: restore it from a backup' });
  const host = (url: string): string => {
    const h = new URL(url).hostname;
    // Members named by IP get the new host's address; members named by FQDN get <hostname>.<same domain>.
    return /^[\d.]+$|:/.test(h) ? address : `${hostname}${h.slice(h.indexOf('.'))}`;
  };
  return { peerUrl: urlFor(template.peerUrl, host(template.peerUrl)), clientUrl: urlFor(template.clientUrl, host(template.clientUrl)) };
}

/** The /etc/default/etcd of a member joining an existing cluster. */
export function joiningConfig(o: { name: string; peerUrl: string; clientUrl: string; initialCluster: string }): string {
  const listen = (u: string): string => u;
  return [
    `# written by cluster-cookbooks etcd.add-member: joins the existing cluster as printed by member add`,
    `ETCD_NAME=${o.name}`,
    `ETCD_DATA_DIR=/var/lib/etcd/${o.name}`,
    `ETCD_LISTEN_CLIENT_URLS=${listen(o.clientUrl)}`,
    `ETCD_ADVERTISE_CLIENT_URLS=${o.clientUrl}`,
    `ETCD_LISTEN_PEER_URLS=${listen(o.peerUrl)}`,
    `ETCD_INITIAL_ADVERTISE_PEER_URLS=${o.peerUrl}`,
    `ETCD_INITIAL_CLUSTER=${o.initialCluster}`,
    `ETCD_INITIAL_CLUSTER_STATE=existing`,
    '',
  ].join('\n');
}

/** ETCD_INITIAL_CLUSTER as `member add` prints it: every member name=peer URL, the new one under its name. */
export function initialClusterFor(summary: ClusterSummary, name: string, peerUrl: string): string {
  const rows = summary.rows.filter((r) => r.peerUrl !== peerUrl).map((r) => `${r.name}=${r.peerUrl}`);
  return [...rows, `${name}=${peerUrl}`].join(',');
}

const recent = new WeakMap<Context, { at: number; value: Promise<{ etcd: Etcd; summary: ClusterSummary }> }>();

/**
 * The cluster as read at most `maxAgeMs` ago (a step's apply reuses what its check just read); every change
 * this module makes drops it (changed()), so a read after a change is always new.
 */
async function fresh(ctx: Context, maxAgeMs = 1000): Promise<{ etcd: Etcd; summary: ClusterSummary }> {
  const hit = recent.get(ctx);
  if (hit && Date.now() - hit.at <= maxAgeMs) return hit.value;
  const value = readCluster(ctx);
  recent.set(ctx, { at: Date.now(), value });
  value.catch(() => recent.delete(ctx));
  return value;
}

/**
 * Runs a reconfiguration until etcd accepts it: etcd refuses one ("unhealthy cluster") until its leader has
 * seen every member for 5 s, e.g. right after a member started; the change was judged safe before this.
 */
async function untilAccepted<T>(ctx: Context, what: string, reconfigure: () => Promise<T>): Promise<T> {
  return ctx.waitFor(
    async () => {
      try {
        return await reconfigure();
      } catch (err) {
        if (err instanceof EtcdCommandError && /unhealthy cluster/.test(err.message)) return undefined;
        throw err;
      }
    },
    { what: `etcd to accept ${what} (unhealthy cluster)`, timeoutMs: 60_000, backoff: { initialMs: 250, maxMs: 1000 } },
  );
}

/** Forgets the last read: the cluster changed. */
function changed(ctx: Context): void {
  recent.delete(ctx);
}

/**
 * Adds `hostname` as a member: learner first, promoted once in sync, then listed by every apiserver.
 * `initial`: the cluster as the run's preflight read it (its URL scheme and ports spare one more read).
 */
export async function addMemberSteps(ctx: Context, hostname: string, initial?: ClusterSummary): Promise<{ hostname: string; id: string | undefined; clientUrl: string }> {
  const remote = await ctx.remote();
  const sudo = ctx.cluster.ssh.sudo;
  const role = getRole(ctx.cluster, ETCD_ROLE);
  const vm = await ensureVm(ctx, ETCD_ROLE, hostname);

  await ctx.step(`provision ${hostname}`, {
    target: `host/${hostname}`,
    needs: [vm],
    onPlannedNeed: 'assume',
    check: async (_vm, run) => (run.assumed ? undefined : (await remote.query(hostname, ['dpkg-query', '-W', 'etcd-server'], { sudo, okExitCodes: 'any' })).exitCode === 0 ? true : undefined),
    apply: async () => {
      let last: true | Planned = true;
      for (const argv of role.provision) {
        const r = await remote.run(hostname, argv, { sudo, timeoutMs: 15 * 60_000 });
        if (isPlanned(r)) last = r;
      }
      return last;
    },
  });

  // The URLs follow the VM's address: known once it exists (a planned VM plans the rest as a whole).
  const urls = await ctx.step(`choose URLs of ${hostname}`, {
    target: `host/${hostname}`,
    needs: [vm],
    // A planned VM has no address yet: the plan names the member by its host name instead.
    onPlannedNeed: 'assume',
    apply: async (_vm, run) => {
      const address = run.assumed ? hostname : (await remote.resolveHosts([hostname]))[0]!.address;
      // Any started member's scheme and ports will do: the preflight's read has them.
      const summary = initial ?? (await fresh(ctx)).summary;
      if (run.assumed) return newMemberUrls(summary, hostname, address);
      return ctx.memo(`etcd:urls:${hostname}`, async () => newMemberUrls(summary, hostname, address));
    },
  });

  const added = await ctx.step(`member add ${hostname} as learner`, {
    target: `etcd-member/${hostname}`,
    needs: [urls],
    check: async (u) => {
      const { summary } = await fresh(ctx);
      return summary.rows.find((r) => r.peerUrl === u.peerUrl) ? true : undefined;
    },
    apply: async (u) => {
      const { etcd, summary } = await fresh(ctx);
      // etcd refuses reconfigurations ("unhealthy cluster") until its leader has seen every member for 5 s,
      // e.g. right after a restart: the members were checked healthy just before, so this passes.
      const printed = await untilAccepted(ctx, `the new member ${hostname}`, () => etcd.memberAdd(summary.via, summary.endpoints, hostname, u.peerUrl, true));
      changed(ctx);
      if (isPlanned(printed)) return printed;
      // Exactly what add printed is what the new member starts with (kept in the journal for a resume).
      ctx.remember(`etcd:added:${hostname}`, printed);
      return true;
    },
  });

  await ctx.step(`start etcd on ${hostname}`, {
    target: `host/${hostname}`,
    needs: [urls, added],
    onPlannedNeed: 'assume',
    check: async (u) => {
      const { summary } = await fresh(ctx);
      const row = summary.rows.find((r) => r.peerUrl === u.peerUrl);
      return row && row.name !== '' ? true : undefined;
    },
    apply: async (u) => {
      const { etcd, summary } = await fresh(ctx);
      const printed = ctx.recall<Record<string, string>>(`etcd:added:${hostname}`);
      const initialCluster = printed?.ETCD_INITIAL_CLUSTER ?? initialClusterFor(summary, hostname, u.peerUrl);
      // A new member needs an empty data dir: the package's first start (or an earlier attempt) may have left one.
      // Stop + empty data dir and the settings file are independent: both in flight, then one enable --now.
      const config = joiningConfig({ name: printed?.ETCD_NAME ?? hostname, peerUrl: u.peerUrl, clientUrl: u.clientUrl, initialCluster });
      await Promise.all([
        (async () => {
          await remote.run(hostname, ['systemctl', 'stop', 'etcd'], { sudo });
          await remote.run(hostname, ['rm', '-rf', `/var/lib/etcd/${hostname}`], { sudo });
        })(),
        (async () => {
          await remote.run(hostname, ['mkdir', '-p', '/etc/default'], { sudo });
          await remote.upload(hostname, ETCD_DEFAULTS, config, { mode: 0o644 });
        })(),
      ]);
      await remote.run(hostname, ['systemctl', 'enable', '--now', 'etcd'], { sudo });
      changed(ctx);
      // Started means: its own endpoint answers `endpoint status` (a learner refuses `endpoint health`).
      await ctx.waitFor(
        async () => (await etcd.etcdctlRead(['-w', 'json', 'endpoint', 'status'], { hosts: [summary.via], endpoints: [u.clientUrl] })).exitCode === 0,
        { what: `etcd on ${hostname} to start and answer`, timeoutMs: 5 * 60_000, backoff: { initialMs: 50, maxMs: 250 } },
      );
      return true;
    },
  });

  const promoted = await ctx.step(`promote ${hostname}`, {
    target: `etcd-member/${hostname}`,
    needs: [urls, added],
    onPlannedNeed: 'assume',
    check: async (u) => {
      const { summary } = await fresh(ctx);
      const row = summary.rows.find((r) => r.peerUrl === u.peerUrl);
      return row && !row.learner ? row : undefined;
    },
    apply: async (u) => {
      const { etcd, summary } = await fresh(ctx);
      const row = summary.rows.find((r) => r.peerUrl === u.peerUrl);
      if (!row && ctx.dryRun) return etcd.memberPromote(summary.via, summary.endpoints, `<id of ${hostname}>`) as Promise<Planned>;
      if (!row) throw new EtcdVerifyError(`learner ${hostname} disappeared from the member list`, { context: { hostname }, hint: 'someone removed it: run the same etcd.add-member command again' });
      if (!row.learner) return row;
      // Caught up first (reads), so that normally one promotion is sent, not a burst of refused ones.
      await ctx.waitFor(
        async () => {
          const r = await etcd.etcdctlRead(['-w', 'json', 'endpoint', 'status'], { hosts: [summary.via], endpoints: [row.clientUrl, ...summary.endpoints] });
          const st = parseEndpointStatus(r.stdout);
          const mine = st.find((x) => x.memberId === row.id);
          const leader = st.find((x) => x.memberId === x.leaderId);
          // etcd's own rule (isLearnerReady): the learner's index within 90% of the leader's.
          return mine && leader && mine.raftIndex >= leader.raftIndex * 0.9 ? true : undefined;
        },
        { what: `learner ${hostname} to catch up with the leader`, timeoutMs: 10 * 60_000, backoff: { initialMs: 50, maxMs: 250 } },
      );
      // etcd refuses the promotion until the learner has caught up with the leader: retry until it accepts.
      return ctx.waitFor(
        async () => {
          const ok = await etcd.memberPromote(summary.via, summary.endpoints, row.id);
          changed(ctx);
          if (isPlanned(ok)) return ok as never;
          return ok ? { ...row, learner: false } : undefined;
        },
        { what: `learner ${hostname} to catch up and be promoted`, timeoutMs: 10 * 60_000, backoff: { initialMs: 50, maxMs: 250 } },
      );
    },
    // The member list alone says whether it is a voter now.
    verify: async (row: MemberRow) => (await (await ctx.client<Etcd>('etcd')).members()).some((m) => m.id === row.id && !m.isLearner),
  });

  const u = isPlanned(urls) ? undefined : urls;
  const url = u?.clientUrl ?? `the client URL of ${hostname}`;
  await updateEtcdServers(ctx, `add ${hostname}`, (cur) => (cur.includes(url) ? [...cur] : [...cur, url]), u ? true : urls);
  return { hostname, id: isPlanned(promoted) ? undefined : promoted.id, clientUrl: u?.clientUrl ?? '' };
}

/** Removes `hostname`'s member: apiservers first, leadership moved away, member remove, stop etcd, delete VM. */
export async function removeMemberSteps(ctx: Context, hostname: string, initial: MemberRow | undefined): Promise<{ hostname: string; id: string | undefined; movedLeader: boolean }> {
  const remote = await ctx.remote();
  const os = await ctx.openstack();
  const sudo = ctx.cluster.ssh.sudo;
  const id = initial?.id ?? ctx.recall<string>(`etcd:removing:${hostname}`);
  const clientUrl = initial?.clientUrl ?? ctx.recall<string>(`etcd:removing-url:${hostname}`);
  if (id) ctx.remember(`etcd:removing:${hostname}`, id);
  if (clientUrl) ctx.remember(`etcd:removing-url:${hostname}`, clientUrl);

  if (clientUrl) await updateEtcdServers(ctx, `remove ${hostname}`, (cur) => cur.filter((x) => x !== clientUrl));

  let movedLeader = false;
  if (id) {
    await ctx.step(`move leadership off ${hostname}`, {
      target: `etcd-member/${hostname}`,
      check: async () => {
        const { summary } = await fresh(ctx);
        return summary.leader?.id !== id ? true : undefined;
      },
      apply: async () => {
        const { etcd, summary } = await fresh(ctx);
        const to = summary.rows.find((r) => r.id !== id && !r.learner && r.healthy);
        if (!to) throw new EtcdVerifyError(`no healthy voter to move leadership to from ${hostname}`, { context: { hostname }, hint: 'bring another member back first' });
        const r = await etcd.moveLeader(summary.via, summary.leader!.clientUrl, to.id);
        changed(ctx);
        if (isPlanned(r)) return r;
        movedLeader = true;
        await ctx.waitFor(async () => ((await fresh(ctx, 0)).summary.leader?.id === to.id ? true : undefined), { what: `leadership to move to ${to.name}`, timeoutMs: 60_000, backoff: { initialMs: 50, maxMs: 1000 } });
        return true;
      },
    });

    await ctx.step(`member remove ${hostname}`, {
      target: `etcd-member/${hostname}`,
      check: async () => ((await fresh(ctx)).summary.rows.some((r) => r.id === id) ? undefined : true),
      apply: async () => {
        const { etcd, summary } = await fresh(ctx);
        // A surviving member's host, the first by name (the same one a dry-run plans).
        const via = summary.rows.filter((r) => r.id !== id && r.healthy && r.host).map((r) => r.host!).sort()[0] ?? summary.via;
        // Judged safe above: only etcd's 5 s window after a member started is waited out.
        const r = await untilAccepted(ctx, `the removal of ${hostname}`, () => etcd.memberRemove(via, summary.endpoints.filter((e) => e !== clientUrl), id));
        changed(ctx);
        return r;
      },
      verify: async () => !(await fresh(ctx, 0)).summary.rows.some((r) => r.id === id),
    });
  }

  await ctx.step<unknown>(`stop etcd on ${hostname}`, {
    target: `host/${hostname}`,
    check: async () => ((await os.findServer(hostname)) ? undefined : 'no VM'),
    apply: async () => {
      try {
        await remote.run(hostname, ['systemctl', 'disable', 'etcd'], { sudo });
        const r = await remote.run(hostname, ['systemctl', 'stop', 'etcd'], { sudo });
        changed(ctx);
        return r;
      } catch (err) {
        if (!(err instanceof HostUnreachableError)) throw err;
        ctx.log.warn(`${hostname} is unreachable; its VM is deleted next (${messageOf(err)})`);
        return 'unreachable';
      }
    },
  });

  await deleteVmStep(ctx, hostname);
  return { hostname, id, movedLeader };
}

/** The member row of a host now (undefined when it is no member). */
export async function memberRowOf(ctx: Context, hostname: string): Promise<MemberRow | undefined> {
  return rowOf((await readCluster(ctx)).summary, hostname);
}
