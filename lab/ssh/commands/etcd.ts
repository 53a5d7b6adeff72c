// etcdctl on a lab host runs the real etcdctl against the lab's real etcd members (lab/etcd); sha256sum reads
// the host's files byte for byte (an etcd snapshot is binary). Without Debian's etcd the lab says what to install.
import { createHash } from 'node:crypto';
import type { CommandSpec } from '../interpreter.js';
import * as fs from '../fs.js';

/** Verbs that change the cluster or the host (counted as SSH mutations). */
const MUTATING = new Set(['put', 'del', 'txn', 'member', 'move-leader', 'snapshot', 'defrag', 'alarm', 'compaction', 'lease', 'lock', 'elect', 'auth', 'user', 'role']);

const etcdctl: CommandSpec = {
  async run(args, io, sh) {
    const host = sh.host;
    if (!host.packages.has('etcd-client') && !host.packages.has('etcd-server')) {
      io.err('bash: etcdctl: command not found\n');
      return 127;
    }
    const backend = sh.world.etcd;
    if (!backend) {
      io.err(`etcdctl: ${sh.world.etcdUnavailable ?? 'this lab runs no real etcd'}\n`);
      return 1;
    }
    const verb = args.find((a) => !a.startsWith('-'));
    const readOnlyMember = verb === 'member' && args.includes('list');
    const readOnlySnapshot = verb === 'snapshot' && args.includes('status');
    if (verb && MUTATING.has(verb) && !readOnlyMember && !readOnlySnapshot) sh.mutation();
    const r = await backend.etcdctl(host, args, sh.env);
    io.out(r.stdout);
    io.err(r.stderr);
    return r.code;
  },
};

const sha256sum: CommandSpec = {
  run(args, io, sh) {
    const files = args.filter((a) => !a.startsWith('-'));
    let status = 0;
    for (const f of files) {
      const bytes = fs.readBytes(sh.host, sh.path(f));
      if (!bytes) {
        io.err(`sha256sum: ${f}: No such file or directory\n`);
        status = 1;
        continue;
      }
      io.out(`${createHash('sha256').update(bytes).digest('hex')}  ${f}\n`);
    }
    return status;
  },
};

/** The etcd command table. */
export const etcdCommands: Record<string, CommandSpec> = { etcdctl, sha256sum };
