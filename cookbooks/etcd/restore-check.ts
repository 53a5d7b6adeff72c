// etcd.restore-check FILE: restores a snapshot into a throwaway single-member etcd on the operator host and
// compares revision and key count with what the backup recorded, so a backup is known to be usable.
import { resolve } from 'node:path';
import { frozen } from '../../lib/core/args.js';
import { defineCookbook } from '../../lib/core/cookbook.js';
import { UsageError } from '../../lib/core/errors.js';
import { EtcdVerifyError } from '../../lib/etcd/errors.js';
import { checkRestoreInput, restoreCheck } from '../../lib/etcd/restore-check.js';

interface Args {
  file: string;
}

export default defineCookbook<Args>({
  summary: 'Prove an etcd snapshot restorable (throwaway local etcd; revision and key count compared)',
  description:
    'Runs `etcdctl snapshot restore` into a temporary directory, starts a single-member etcd on 127.0.0.1 from it, and compares its revision and live key count with the snapshot (and with the metadata etcd.backup wrote next to it). Nothing outside the temporary directory changes; the process is stopped by its PID. Needs etcd and etcdctl on this host.',
  options: {
    'cluster-name': { type: 'string', requiresArg: true, describe: 'Cluster the snapshot belongs to (recorded in the journal only: the check is local)' },
    file: { type: 'string', requiresArg: true, describe: 'The snapshot file (also accepted as the first positional argument)' },
  },
  examples: [['cookbook etcd.restore-check --file /srv/etcd-backups/tools-etcd-20260101T030000Z.db', 'Check last night\'s backup']],
  lock: 'none',
  cluster: () => undefined,
  parse: (raw) => {
    const positional = (raw._ as unknown[] | undefined)?.filter((x) => typeof x === 'string' && x !== 'etcd.restore-check') as string[] | undefined;
    const file = (raw.file as string | undefined) ?? positional?.[0];
    if (!file) throw new UsageError('--file: the snapshot to check is required', { context: { option: 'file' }, hint: 'cookbook etcd.restore-check --file <snapshot.db>' });
    const abs = resolve(file);
    checkRestoreInput(abs);
    return frozen({ file: abs });
  },
  async run(ctx, args) {
    // Local and throwaway: a dry-run reads the snapshot's status only.
    if (ctx.dryRun) {
      const { localSnapshotStatus } = await import('../../lib/etcd/restore-check.js');
      const status = await localSnapshotStatus(args.file);
      ctx.log.info(`would restore ${args.file} (revision ${status.revision}) into a throwaway etcd and compare`);
      return { file: args.file, planned: true, status };
    }
    const r = await ctx.step(`restore ${args.file} into a throwaway etcd`, { target: `file/${args.file}`, apply: () => restoreCheck(args.file, ctx.signal) });
    const check = r as Awaited<ReturnType<typeof restoreCheck>>;
    ctx.print(`${check.ok ? 'OK' : 'MISMATCH'}: restored revision ${check.restored.revision} (expected ${check.expected.revision}), ${check.restored.keys} keys${check.expected.keys === undefined ? ' (no metadata file: key count not compared)' : ` (expected ${check.expected.keys})`}`);
    if (!check.ok) {
      throw new EtcdVerifyError(`snapshot ${args.file} restores to revision ${check.restored.revision} with ${check.restored.keys} keys; expected revision ${check.expected.revision}${check.expected.keys === undefined ? '' : ` with ${check.expected.keys} keys`}`, {
        context: { file: args.file, expected: check.expected, restored: check.restored },
        hint: 'do not rely on this snapshot: take a new backup and check it',
      });
    }
    return check;
  },
});
