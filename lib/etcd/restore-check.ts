// Proving a backup usable: the snapshot is restored into a throwaway single-member etcd on the operator host
// (127.0.0.1, free ports, a temporary data dir), started, and its revision and live key count compared with
// what the backup recorded. The process is stopped by its PID and the directory removed, whatever happens.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../core/errors.js';
import type { BackupMeta } from './backup.js';
import { EtcdCommandError, EtcdVerifyError, parseSnapshotStatus, type SnapshotStatus } from './index.js';

const ETCD = '/usr/bin/etcd';
const ETCDCTL = '/usr/bin/etcdctl';

/** What a restore check found. */
export interface RestoreCheck {
  file: string;
  expected: { revision: number; keys?: number; hash: number; totalKey: number };
  restored: { revision: number; keys: number };
  ok: boolean;
  durationMs: number;
}

/** Refuses (exit 2) a snapshot file that cannot be read, or an operator host without etcd and etcdctl. */
export function checkRestoreInput(file: string): void {
  if (!existsSync(file)) throw new InputError(`snapshot ${file} does not exist`, { context: { file }, hint: 'pass a file written by etcd.backup (its directory is --to, default <state dir>/etcd-backups/<cluster>)' });
  const missing = [ETCD, ETCDCTL].filter((b) => !existsSync(b));
  if (missing.length) {
    throw new InputError(`etcd.restore-check needs ${missing.join(' and ')} on this host`, { context: { missing }, hint: 'install Debian etcd: apt-get install -y --no-install-recommends etcd-server etcd-client' });
  }
}

function run(bin: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(bin, args, { env: { PATH: '/usr/bin:/bin', ETCDCTL_API: '3' }, maxBuffer: 16 * 1024 * 1024, timeout: 10 * 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0, stdout, stderr });
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen({ host: '127.0.0.1', port: 0 }, () => {
      const p = (srv.address() as { port: number }).port;
      srv.close(() => resolve(p));
    });
  });
}

/** `snapshot status` of a local file. */
export async function localSnapshotStatus(file: string): Promise<SnapshotStatus> {
  const r = await run(ETCDCTL, ['-w', 'json', 'snapshot', 'status', file]);
  if (r.code !== 0) throw new EtcdVerifyError(`snapshot ${file} does not verify: ${r.stderr.trim().split('\n').at(-1)}`, { context: { file, command: `etcdctl snapshot status ${file}` }, hint: 'the file is damaged: take a new backup' });
  return parseSnapshotStatus(r.stdout);
}

/** Restores `file` into a throwaway member, starts it, and compares revision and key count. */
export async function restoreCheck(file: string, signal?: AbortSignal): Promise<RestoreCheck> {
  const started = Date.now();
  const metaFile = `${file}.json`;
  const meta = existsSync(metaFile) ? (JSON.parse(readFileSync(metaFile, 'utf8')) as BackupMeta) : undefined;
  const status = await localSnapshotStatus(file);
  const dir = mkdtempSync(join(tmpdir(), 'cc-restore-check-'));
  let child: ChildProcess | undefined;
  try {
    const [client, peer] = [await freePort(), await freePort()];
    const peerUrl = `http://127.0.0.1:${peer}`;
    const clientUrl = `http://127.0.0.1:${client}`;
    const data = join(dir, 'data');
    const restore = await run(ETCDCTL, ['snapshot', 'restore', file, '--name', 'restore-check', '--data-dir', data, '--initial-cluster', `restore-check=${peerUrl}`, '--initial-advertise-peer-urls', peerUrl, '--initial-cluster-token', 'restore-check']);
    if (restore.code !== 0) throw new EtcdCommandError(`cannot restore ${file}: ${restore.stderr.trim().split('\n').at(-1)}`, { context: { file, command: 'etcdctl snapshot restore' }, hint: 'the snapshot is not usable: take a new backup' });
    child = spawn(ETCD, ['--name', 'restore-check', '--data-dir', data, '--listen-client-urls', clientUrl, '--advertise-client-urls', clientUrl, '--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl, '--initial-cluster', `restore-check=${peerUrl}`, '--log-level', 'error', '--logger', 'zap'], { stdio: 'ignore', env: { PATH: '/usr/bin:/bin' } });
    child.on('error', () => undefined);
    let counted: { code: number; stdout: string; stderr: string } | undefined;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (signal?.aborted) throw signal.reason;
      counted = await run(ETCDCTL, [`--endpoints=${clientUrl}`, '--dial-timeout=1s', '--command-timeout=3s', '-w', 'json', 'get', '', '--from-key', '--keys-only', '--limit=1']);
      if (counted.code === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    if (!counted || counted.code !== 0) throw new EtcdVerifyError(`the restored etcd did not answer: ${counted?.stderr.trim().split('\n').at(-1) ?? 'no answer'}`, { context: { file, endpoint: clientUrl }, hint: 'the snapshot restores but does not start: take a new backup' });
    const doc = JSON.parse(counted.stdout.replace(/("(?:cluster_id|member_id)":)(\d+)/g, '$1"$2"')) as { header: { revision: number }; count?: number };
    const restored = { revision: Number(doc.header.revision), keys: Number(doc.count ?? 0) };
    const expected = { revision: status.revision, hash: status.hash, totalKey: status.totalKey, ...(meta ? { keys: meta.keys } : {}) };
    const ok = restored.revision === expected.revision && (expected.keys === undefined || expected.keys === restored.keys) && (!meta || meta.status.hash === status.hash);
    return { file, expected, restored, ok, durationMs: Date.now() - started };
  } finally {
    if (child?.pid && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
