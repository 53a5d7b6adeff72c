// File transfer over the connection's SFTP session. Uploads are written to a fresh temporary name in the
// target directory (opened exclusively, so no symlink or old file is followed), chmod-ed, then renamed over the
// target: readers never see half a file, and a secret file is never readable by others, not even briefly.
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import type { SFTPWrapper } from 'ssh2';
import { InputError } from '../core/errors.js';
import { assertMayMutate } from '../core/gate.js';
import type { HostConnection } from './connection.js';
import { RemoteHostError } from './errors.js';

/** SFTP status codes worth naming in errors. */
const SFTP_NO_SUCH_FILE = 2;
const SFTP_PERMISSION_DENIED = 3;

/** Throws InputError unless `path` is an absolute remote path without NUL bytes. */
export function validateRemotePath(path: string): string {
  if (typeof path !== 'string' || !path.startsWith('/') || path.includes('\0') || path.endsWith('/')) {
    throw new InputError(`invalid remote path ${JSON.stringify(path)}: must be an absolute file path`, { context: { path } });
  }
  return path;
}

function call<T>(fn: (cb: (err: Error | undefined | null, value?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value as T))));
}

function sftpError(conn: HostConnection, what: string, path: string, err: unknown): RemoteHostError {
  const code = (err as { code?: number }).code;
  const reason = code === SFTP_NO_SUCH_FILE ? 'no such file or directory' : code === SFTP_PERMISSION_DENIED ? 'permission denied' : (err as Error).message;
  return new RemoteHostError(`${what} ${path} on ${conn.target.host} failed: ${reason}`, {
    context: { ...conn.context(), path, sftpCode: code },
    cause: err,
    hint: code === SFTP_PERMISSION_DENIED ? `the SSH user cannot write there: upload to a directory it owns and move the file with sudo` : 'check the path on the host',
  });
}

/** Options of uploadFile. */
export interface UploadOptions {
  /** File mode (default 0o644; secrets use 0o600). */
  mode?: number;
  /** Write to `path` directly with O_EXCL instead of temp + rename: fails when it exists (secret files). */
  exclusive?: boolean;
}

async function writeAll(sftp: SFTPWrapper, handle: Buffer, data: Buffer): Promise<void> {
  // Chunks of 32 KiB stay below every server's maximum SFTP packet size.
  for (let off = 0; off < data.length; off += 32768) {
    const len = Math.min(32768, data.length - off);
    await call<void>((cb) => sftp.write(handle, data, off, len, off, cb));
  }
}

async function writeNew(sftp: SFTPWrapper, path: string, data: Buffer, mode: number): Promise<void> {
  const handle = await call<Buffer>((cb) => sftp.open(path, 'wx', { mode }, cb));
  try {
    // The server applies its umask at create time: set the exact mode before any content is written.
    await call<void>((cb) => sftp.fchmod(handle, mode, cb));
    await writeAll(sftp, handle, data);
  } finally {
    await call<void>((cb) => sftp.close(handle, cb)).catch(() => undefined);
  }
}

/** Uploads `content` to `path` with `mode` (a mutation: needs the gate's permit). */
export async function uploadFile(conn: HostConnection, path: string, content: string | Buffer, options: UploadOptions = {}): Promise<void> {
  validateRemotePath(path);
  const mode = options.mode ?? 0o644;
  const data = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  assertMayMutate(`sftp upload ${conn.target.host}:${path}`);
  const sftp = await conn.sftp();
  if (options.exclusive) {
    try {
      await writeNew(sftp, path, data, mode);
    } catch (err) {
      throw sftpError(conn, 'upload to', path, err);
    }
    return;
  }
  const tmp = posix.join(posix.dirname(path), `.${posix.basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeNew(sftp, tmp, data, mode);
    await call<void>((cb) => sftp.ext_openssh_rename(tmp, path, cb));
  } catch (err) {
    await call<void>((cb) => sftp.unlink(tmp, cb)).catch(() => undefined);
    throw sftpError(conn, 'upload to', path, err);
  }
}

/** Removes a remote file (a mutation); a file that is already gone is fine. */
export async function removeFile(conn: HostConnection, path: string): Promise<void> {
  validateRemotePath(path);
  assertMayMutate(`sftp unlink ${conn.target.host}:${path}`);
  const sftp = await conn.sftp();
  try {
    await call<void>((cb) => sftp.unlink(path, cb));
  } catch (err) {
    if ((err as { code?: number }).code === SFTP_NO_SUCH_FILE) return;
    throw sftpError(conn, 'remove', path, err);
  }
}

/** Bytes per READ request: below every server's maximum SFTP packet size (as in writeAll). */
const READ_CHUNK = 32768;
/** READ requests kept in flight at once (as ssh2's fastGet): one round trip per chunk would cost ~3,200 for 100 MB. */
const READS_IN_FLIGHT = 64;

/** Reads `size` bytes of an open file with up to READS_IN_FLIGHT requests at increasing offsets. */
async function readAll(sftp: SFTPWrapper, handle: Buffer, size: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(size);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < size) {
      const start = next;
      const end = Math.min(size, start + READ_CHUNK);
      next = end;
      // A server may answer with fewer bytes than asked: ask again for the rest of the chunk.
      for (let off = start; off < end; ) {
        const n = await call<number>((cb) => sftp.read(handle, buf, off, end - off, off, (err, bytesRead) => cb(err, bytesRead)));
        if (!n) throw new Error(`the file ended at byte ${off} of ${size}: it changed while being read`);
        off += n;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(READS_IN_FLIGHT, Math.ceil(size / READ_CHUNK)) }, worker));
  return buf;
}

/** Downloads a remote file (refusing files larger than `maxBytes`, default 64 MiB), many reads in flight. */
export async function downloadFile(conn: HostConnection, path: string, maxBytes = 64 * 1024 * 1024): Promise<Buffer> {
  validateRemotePath(path);
  const sftp = await conn.sftp();
  let handle: Buffer | undefined;
  try {
    handle = await call<Buffer>((cb) => sftp.open(path, 'r', cb));
    // The size of what is open (not of the path, which may be replaced meanwhile).
    const st = await call<{ size: number }>((cb) => sftp.fstat(handle!, cb));
    if (st.size > maxBytes) {
      throw new RemoteHostError(`${path} on ${conn.target.host} is ${st.size} bytes, more than the ${maxBytes} allowed`, { context: { ...conn.context(), path, size: st.size }, hint: 'raise maxBytes if this file is expected to be that large' });
    }
    return await readAll(sftp, handle, st.size);
  } catch (err) {
    if (err instanceof RemoteHostError) throw err;
    throw sftpError(conn, 'download of', path, err);
  } finally {
    if (handle) await call<void>((cb) => sftp.close(handle!, cb)).catch(() => undefined);
  }
}
