// TLS files of the lab's real etcd. /etc/default/etcd (ETCD_CERT_FILE, ETCD_KEY_FILE, ETCD_TRUSTED_CA_FILE and
// the peer ones) and etcdctl's --cacert/--cert/--key (or ETCDCTL_CACERT/CERT/KEY) name files on the lab host,
// which live in the lab's memory; etcd and etcdctl are real processes reading real files. Each named file is
// copied into a real directory of the lab's state (0600) and the path rewritten, as a bind mount would.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LabHost } from '../world.js';
import * as fs from '../ssh/fs.js';

/** /etc/default/etcd variables that name files. */
export const ENV_FILE_KEYS = ['ETCD_CERT_FILE', 'ETCD_KEY_FILE', 'ETCD_TRUSTED_CA_FILE', 'ETCD_PEER_CERT_FILE', 'ETCD_PEER_KEY_FILE', 'ETCD_PEER_TRUSTED_CA_FILE'];
/** etcdctl flags that name files. */
export const FLAG_FILE_KEYS = ['--cacert', '--cert', '--key'];
/** etcdctl environment variables that name files. */
export const ETCDCTL_ENV_FILE_KEYS = ['ETCDCTL_CACERT', 'ETCDCTL_CERT', 'ETCDCTL_KEY'];

/** Copies host file `hostPath` into `realDir`; the real path, or why it cannot (etcd's and etcdctl's wording). */
export function materialize(host: LabHost, hostPath: string, realDir: string): { path: string } | { problem: string } {
  const path = fs.normalizePath(hostPath, '/root');
  const bytes = fs.readBytes(host, path);
  if (!bytes) return { problem: `open ${hostPath}: no such file or directory` };
  mkdirSync(realDir, { recursive: true, mode: 0o700 });
  const real = join(realDir, path.replace(/[^A-Za-z0-9._-]+/g, '_'));
  writeFileSync(real, bytes, { mode: 0o600 });
  return { path: real };
}

/** The member's environment with its TLS file paths made real; a problem names the first missing file. */
export function realEnv(host: LabHost, env: Record<string, string>, realDir: string): { env: Record<string, string>; problem?: string } {
  const out = { ...env };
  for (const k of ENV_FILE_KEYS) {
    if (!out[k]) continue;
    const m = materialize(host, out[k]!, realDir);
    if ('problem' in m) return { env: out, problem: `${k}: ${m.problem}` };
    out[k] = m.path;
  }
  return { env: out };
}

/** etcdctl's arguments and environment with file flags made real (`--cacert=P` and `--cacert P` forms). */
export function realEtcdctl(host: LabHost, args: string[], env: Record<string, string>, realDir: string): { args: string[]; env: Record<string, string>; problem?: string } {
  const outArgs = [...args];
  const outEnv = { ...env };
  for (let i = 0; i < outArgs.length; i++) {
    const a = outArgs[i]!;
    const flag = FLAG_FILE_KEYS.find((f) => a === f || a.startsWith(f + '='));
    if (!flag) continue;
    const inline = a.startsWith(flag + '=');
    const value = inline ? a.slice(flag.length + 1) : outArgs[i + 1];
    if (value === undefined) continue;
    const m = materialize(host, value, realDir);
    if ('problem' in m) return { args: outArgs, env: outEnv, problem: `Error: ${m.problem}` };
    if (inline) outArgs[i] = `${flag}=${m.path}`;
    else outArgs[++i] = m.path;
  }
  for (const k of ETCDCTL_ENV_FILE_KEYS) {
    if (!outEnv[k]) continue;
    const m = materialize(host, outEnv[k]!, realDir);
    if ('problem' in m) return { args: outArgs, env: outEnv, problem: `Error: ${m.problem}` };
    outEnv[k] = m.path;
  }
  return { args: outArgs, env: outEnv };
}
