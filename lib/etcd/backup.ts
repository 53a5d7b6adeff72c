// etcd backups: a snapshot taken from ONE healthy member (etcd refuses several endpoints), verified on the
// member (`snapshot status`: hash, revision, keys; the live key count at that exact revision), copied to the
// operator host over SFTP, its sha256 compared with the member's, written atomically (temp file, fsync,
// rename) next to a metadata file, and old snapshots beyond --keep removed.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Context } from '../core/context.js';
import { InputError } from '../core/errors.js';
import { unwritableDirReason } from '../core/paths.js';
import { type Planned, isPlanned, planned } from '../core/gate.js';
import { type SnapshotStatus, EtcdVerifyError } from './index.js';
import { readCluster } from './members.js';

/** Where snapshots wait on the member before they are copied (root only). */
export const MEMBER_BACKUP_DIR = '/var/backups/cluster-cookbooks';

/** What a backup's metadata file (<snapshot>.json) records. */
export interface BackupMeta {
  cluster: string;
  file: string;
  member: string;
  endpoint: string;
  takenAt: string;
  sha256: string;
  bytes: number;
  status: SnapshotStatus;
  /** Live keys at the snapshot's revision (what a restore must hold). */
  keys: number;
}

/** Refuses (exit 2) a backup directory that cannot be written (or created under a writable parent). */
export function checkBackupDir(dir: string): void {
  const why = unwritableDirReason(dir);
  if (why) {
    throw new InputError(`backup directory ${dir} is not writable: ${why}`, {
      context: { dir, reason: why },
      hint: 'pass a directory you can write to with --to, or fix its permissions',
    });
  }
}

/** Snapshot files of a cluster in `dir`, newest first (names sort by time). */
export function listBackups(dir: string, cluster: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.startsWith(`${cluster}-etcd-`) && f.endsWith('.db'))
    .sort()
    .reverse();
}

/** Writes a file atomically: temp file in the same directory, fsync, rename, fsync of the directory. */
export function writeAtomic(path: string, content: Buffer | string, mode = 0o600): void {
  const tmp = join(dirname(path), `.${Date.now()}-${process.pid}.part`);
  const fd = openSync(tmp, 'w', mode);
  try {
    const buf = typeof content === 'string' ? Buffer.from(content) : content;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  fsyncDir(dirname(path));
}

/** fsync of a directory: a rename in it survives a crash. */
function fsyncDir(dir: string): void {
  const dfd = openSync(dir, 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}

/**
 * writeAtomic for a large file that must match a checksum: the bytes go to the temp file on the thread pool
 * while their sha256 is computed here, and the temp file is renamed into place only when `accept(sha256)`
 * does not throw (otherwise it is removed). Returns the sha256.
 */
export async function writeAtomicChecked(path: string, data: Buffer, accept: (sha256: string) => void, mode = 0o600): Promise<string> {
  const tmp = join(dirname(path), `.${Date.now()}-${process.pid}.part`);
  const fh = await open(tmp, 'w', mode);
  let done = false;
  try {
    const writing = (async () => {
      for (let off = 0; off < data.length; ) off += (await fh.write(data, off, data.length - off, off)).bytesWritten;
      await fh.sync();
    })();
    let sha256: string;
    try {
      sha256 = createHash('sha256').update(data).digest('hex');
    } finally {
      await writing;
    }
    accept(sha256);
    await fh.close();
    renameSync(tmp, path);
    done = true;
    fsyncDir(dirname(path));
    return sha256;
  } finally {
    if (!done) {
      await fh.close().catch(() => undefined);
      rmSync(tmp, { force: true });
    }
  }
}

/** Takes, verifies, copies and keeps a snapshot; returns its metadata (undefined in dry-run). */
export async function backupSteps(ctx: Context, dir: string, keep: number): Promise<BackupMeta | undefined> {
  const remote = await ctx.remote();
  const sudo = ctx.cluster.ssh.sudo;
  const { etcd, summary } = await readCluster(ctx);
  // A healthy follower spares the leader; any healthy member will do.
  const source = summary.rows.filter((r) => r.healthy && r.host && !r.learner).sort((a, b) => Number(a.leader) - Number(b.leader))[0];
  if (!source) {
    throw new EtcdVerifyError(`no healthy etcd member of ${ctx.cluster.name} to take a snapshot from`, { context: { members: summary.rows.map((r) => ({ name: r.name, problem: r.problem })) }, hint: `check with: cookbook etcd.status --cluster-name ${ctx.cluster.name}` });
  }
  const host = source.host!;
  const stamp = ctx.clock.now();
  const name = await ctx.memo('etcd:backup-name', async () => `${ctx.cluster.name}-etcd-${new Date(stamp).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}.db`);
  const remotePath = `${MEMBER_BACKUP_DIR}/${name}`;
  ctx.progress({ scope: 'etcd.backup', target: host, phase: 'snapshot', message: `snapshot of ${ctx.cluster.name} from ${source.name}` });

  const saved = await ctx.step(`snapshot save on ${host}`, {
    target: `host/${host}:${remotePath}`,
    check: async () => ((await remote.query(host, ['test', '-f', remotePath], { sudo, okExitCodes: 'any' })).exitCode === 0 ? true : undefined),
    apply: async () => {
      await remote.run(host, ['mkdir', '-p', '-m', '0700', MEMBER_BACKUP_DIR], { sudo });
      return etcd.snapshotSave(host, source.clientUrl, remotePath);
    },
  });

  // The copy does not depend on the verification: its bytes come over while the member verifies the file (a
  // read; used only once the verification passed, dropped otherwise). Not when an earlier run copied it already.
  const maxBytes = 8 * 1024 ** 3;
  let prefetch: Promise<Buffer> | undefined;
  if (!ctx.dryRun && !isPlanned(saved) && !existsSync(join(dir, name))) {
    prefetch = remote.download(host, remotePath, { maxBytes });
    prefetch.catch(() => undefined);
  }

  const verified = await ctx.step(`verify snapshot on ${host}`, {
    target: `host/${host}:${remotePath}`,
    needs: [saved],
    apply: async () => {
      const [status, sha256] = await Promise.all([etcd.snapshotStatus(host, remotePath), etcd.checksum(host, remotePath)]);
      return { status, sha256 };
    },
  });

  /** The live key count at the snapshot's own revision: what a restore of this file must hold. */
  const countKeys = async (status: SnapshotStatus): Promise<number> => {
    // etcd 3.4 has no --count-only: a one-key page still reports the range's full count.
    const count = await etcd.etcdctlRead(['-w', 'json', 'get', '', '--from-key', '--keys-only', '--limit=1', ...(status.revision > 0 ? [`--rev=${status.revision}`] : [])], { hosts: [host], endpoints: [source.clientUrl] });
    if (count.exitCode !== 0) throw new EtcdVerifyError(`cannot count the keys at revision ${status.revision} on ${host}: ${count.stderr.trim().split('\n').at(-1)}`, { context: { host, revision: status.revision }, hint: 'a compaction may have run right after the snapshot: run the backup again' });
    return Number((JSON.parse(count.stdout) as { count?: number }).count ?? 0);
  };

  const copied = await ctx.step(`copy snapshot to ${dir}`, {
    target: `file/${join(dir, name)}`,
    needs: [verified],
    check: async () => (existsSync(join(dir, name)) && existsSync(join(dir, `${name}.json`)) ? true : undefined),
    apply: async (v) => {
      if (ctx.dryRun) return localPlanned(join(dir, name), 'write snapshot');
      // The key count is a read on the member: it runs while the bytes come over.
      const [data, keys] = await Promise.all([prefetch ?? remote.download(host, remotePath, { maxBytes }), countKeys(v.status)]);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const sha256 = await writeAtomicChecked(join(dir, name), data, (sum) => {
        if (sum !== v.sha256) {
          throw new EtcdVerifyError(`the copy of ${remotePath} from ${host} does not match: sha256 ${sum} here, ${v.sha256} on the member`, { context: { host, remotePath, local: sum, member: v.sha256 }, hint: 'the transfer was damaged: run the backup again' });
        }
      });
      const meta: BackupMeta = { cluster: ctx.cluster.name, file: name, member: source.name, endpoint: source.clientUrl, takenAt: new Date(stamp).toISOString(), sha256, bytes: data.length, status: v.status, keys };
      writeAtomic(join(dir, `${name}.json`), JSON.stringify(meta, null, 2) + '\n', 0o644);
      ctx.remember('etcd:backup', meta);
      return true;
    },
  });

  await ctx.step(`remove snapshot from ${host}`, {
    target: `host/${host}:${remotePath}`,
    needs: [copied],
    onPlannedNeed: 'assume',
    apply: async () => remote.run(host, ['rm', '-f', remotePath], { sudo }),
  });

  await ctx.step(`keep the newest ${keep} snapshots in ${dir}`, {
    target: `dir/${dir}`,
    needs: [copied],
    apply: async () => {
      const old = listBackups(dir, ctx.cluster.name).slice(keep);
      if (ctx.dryRun) return localPlanned(dir, `remove ${old.length} old snapshot(s)`);
      for (const f of old) {
        rmSync(join(dir, f), { force: true });
        rmSync(join(dir, `${f}.json`), { force: true });
      }
      return old;
    },
  });
  return ctx.recall<BackupMeta>('etcd:backup');
}

/** A local file change in dry-run: recorded as planned, never made (local files have no client gate). */
function localPlanned(target: string, action: string): Planned {
  return planned({ system: 'local', target, action, planned: true, at: new Date().toISOString() });
}
