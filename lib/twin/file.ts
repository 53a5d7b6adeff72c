// Snapshot files: JSON, mode 0600 (a snapshot holds no secret, but it maps a production cluster), gzip-compressed
// when large. Reading accepts both and checks the format version, so a twin never starts from a wrong file.
import { chmodSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { InputError, messageOf } from '../core/errors.js';
import type { ClusterSnapshot } from './types.js';

/** Above this many bytes of JSON a snapshot file is gzip-compressed. */
export const GZIP_ABOVE_BYTES = 1 << 20;

/** Writes a snapshot atomically (0600); gzip when the JSON is large. Returns the bytes written and whether compressed. */
export function writeSnapshotFile(path: string, snapshot: ClusterSnapshot): { bytes: number; gzip: boolean } {
  const json = Buffer.from(JSON.stringify(snapshot) + '\n');
  const gzip = json.length > GZIP_ABOVE_BYTES || path.endsWith('.gz');
  const data = gzip ? gzipSync(json) : json;
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
  return { bytes: data.length, gzip };
}

/** Reads a snapshot file (plain or gzip JSON); an InputError (exit 2) when it is missing or not a snapshot. */
export function readSnapshotFile(path: string): ClusterSnapshot {
  let raw: Buffer;
  try {
    raw = readFileSync(path);
  } catch (err) {
    throw new InputError(`--from-snapshot ${path}: cannot read it: ${messageOf(err)}`, { context: { file: path }, cause: err, hint: 'take one with: cookbook lab snapshot --cluster-name NAME --out FILE' });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse((raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw).toString('utf8'));
  } catch (err) {
    throw new InputError(`--from-snapshot ${path}: not a JSON snapshot (${messageOf(err)})`, { context: { file: path }, cause: err, hint: 'pass a file written by: cookbook lab snapshot' });
  }
  return checkSnapshot(parsed, path);
}

/** Checks the shape of a parsed snapshot (format 1 and the lists a twin reads); InputError otherwise. */
export function checkSnapshot(value: unknown, where = 'snapshot'): ClusterSnapshot {
  const s = value as Partial<ClusterSnapshot> | null;
  const missing = (['nodes', 'workloads', 'pods', 'pdbs', 'namespaces', 'hosts'] as const).find((k) => !Array.isArray(s?.[k]));
  const problem =
    !s || typeof s !== 'object'
      ? 'not an object'
      : s.format !== 1
        ? `format ${JSON.stringify(s.format)} (this version reads format 1)`
        : !s.cluster?.name || !s.cluster.prefix || !s.cluster.roles
          ? 'no cluster name, prefix or roles'
          : missing
            ? `no ${missing} list`
            : undefined;
  if (problem) throw new InputError(`${where}: not a usable cluster snapshot: ${problem}`, { context: { file: where }, hint: 'take a new one with: cookbook lab snapshot --cluster-name NAME --out FILE' });
  return s as ClusterSnapshot;
}
