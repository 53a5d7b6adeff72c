// etcd.backup: a snapshot from one healthy member, verified there, copied over SFTP, its checksum compared,
// written atomically, old ones beyond --keep removed. Schedulable: cookbook schedule install etcd.backup ...
import { join } from 'node:path';
import { argInt, argString, clusterNameOption, frozen } from '../../lib/core/args.js';
import { defineCookbook } from '../../lib/core/cookbook.js';
import { defaultStateDir, expandPath } from '../../lib/core/paths.js';
import { backupSteps, checkBackupDir } from '../../lib/etcd/backup.js';
import { requireEtcdRole } from '../../lib/etcd/cookbook-args.js';

interface Args {
  clusterName: string;
  to: string;
  keep: number;
}

/** Where snapshots go without --to. */
function defaultDir(cluster: string): string {
  return join(defaultStateDir(), 'etcd-backups', cluster);
}

export default defineCookbook<Args>({
  summary: 'Take a verified etcd snapshot and keep the newest N on the operator host',
  description:
    'Takes `etcdctl snapshot save` against ONE healthy member (a follower when there is one), verifies it on the member (`snapshot status`: hash, revision, key count; the live key count at that revision), copies it over SFTP, compares its sha256, writes it atomically with a metadata file (<file>.json), and removes snapshots beyond --keep. etcd.restore-check proves a snapshot restorable.',
  options: {
    'cluster-name': clusterNameOption,
    to: { type: 'string', requiresArg: true, describe: 'Directory for the snapshots (default: <state dir>/etcd-backups/<cluster>)' },
    keep: { type: 'number', default: 7, describe: 'How many snapshots of this cluster to keep in the directory' },
  },
  examples: [
    ['cookbook etcd.backup --cluster-name tools --to /srv/etcd-backups --keep 14', 'Back up, keep two weeks of dailies'],
    ['cookbook schedule install etcd.backup --on-calendar "*-*-* 03:00" -- --cluster-name tools --to /srv/etcd-backups', 'A daily backup as a systemd timer'],
  ],
  parse: (raw) => {
    const clusterName = argString(raw, 'cluster-name', { required: true });
    const to = argString(raw, 'to');
    return frozen({ clusterName, to: to ? expandPath(to, process.cwd()) : defaultDir(clusterName), keep: argInt(raw, 'keep', { min: 1, max: 10_000, default: 7 })! });
  },
  validate(cluster, args) {
    requireEtcdRole(cluster);
    checkBackupDir(args.to);
  },
  async run(ctx, args) {
    const meta = await backupSteps(ctx, args.to, args.keep);
    if (meta) ctx.print(`snapshot ${join(args.to, meta.file)}: revision ${meta.status.revision}, ${meta.keys} keys, ${meta.bytes} bytes, sha256 ${meta.sha256} (from ${meta.member})`);
    return meta ? { ...meta, path: join(args.to, meta.file) } : { planned: true, dir: args.to };
  },
});
