// The SFTP subsystem of a lab host, over the host's in-memory files: enough for clients to put and get small
// files with modes (a kubeadm JoinConfiguration with a certificate key uploaded as 0600, for instance),
// list directories, stat, chmod, rename and remove. Writes go straight into the host's file map.
import ssh2 from 'ssh2';
import type { Attributes, SFTPWrapper } from 'ssh2';
import type { LabHost, World } from '../world.js';
import { modeString } from './commands/basic.js';
import * as fs from './fs.js';

const { STATUS_CODE, OPEN_MODE } = ssh2.utils.sftp;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;

interface FileHandle {
  kind: 'file';
  path: string;
  flags: number;
  content: Buffer;
}

interface DirHandle {
  kind: 'dir';
  path: string;
  done: boolean;
}

function attrsOf(st: fs.HostStat): Attributes {
  const now = Math.floor(Date.now() / 1000);
  return { mode: (st.kind === 'dir' ? S_IFDIR : S_IFREG) | st.mode, uid: 0, gid: 0, size: st.size, atime: now, mtime: now };
}

function modeFrom(attrs: { mode?: number | string } | undefined): number | undefined {
  if (attrs?.mode === undefined) return undefined;
  const m = typeof attrs.mode === 'string' ? parseInt(attrs.mode, 8) : attrs.mode;
  return Number.isFinite(m) ? m & 0o7777 : undefined;
}

/** OpenSSH extensions the lab's SFTP server implements (advertised in its VERSION packet, as sftp-server does). */
const EXTENSIONS: [string, string][] = [
  ['posix-rename@openssh.com', '1'],
  ['fsync@openssh.com', '1'],
];

/** The VERSION packet ssh2 sends (version 3, no extensions). */
const BARE_VERSION = Buffer.from([0, 0, 0, 5, 2, 0, 0, 0, 3]);

function sshString(text: string): Buffer {
  const body = Buffer.from(text, 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

/** Our VERSION packet: version 3 plus the extension pairs. */
function versionPacket(): Buffer {
  const body = Buffer.concat([Buffer.from([2, 0, 0, 0, 3]), ...EXTENSIONS.flatMap(([n, v]) => [sshString(n), sshString(v)])]);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

/**
 * ssh2's SFTP server answers INIT with a VERSION that lists no extensions, so clients (ssh2's own
 * ext_openssh_rename, OpenSSH's sftp) would not use posix-rename. Swap that one packet for ours on its way out,
 * keeping the channel's window accounting right.
 */
function advertiseExtensions(sftp: SFTPWrapper): void {
  const internals = sftp as unknown as { _protocol: Record<string | symbol, unknown>; outgoing: { id: number; window: number } };
  const protocol = internals._protocol;
  const original = protocol.channelData as (id: number, data: Buffer) => unknown;
  let done = false;
  internals._protocol = new Proxy(protocol, {
    get(target, prop) {
      if (prop === 'channelData') {
        return (id: number, data: Buffer): unknown => {
          if (!done && id === internals.outgoing.id && data.equals(BARE_VERSION)) {
            done = true;
            const ours = versionPacket();
            internals.outgoing.window -= ours.length - data.length;
            return original.call(target, id, ours);
          }
          return original.call(target, id, data);
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
    set(target, prop, value) {
      return Reflect.set(target, prop, value, target);
    },
  });
}

/** Reads the SSH strings of an extended request's data. */
function readStrings(data: Buffer | undefined, count: number): string[] | undefined {
  if (!data) return undefined;
  const out: string[] = [];
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 4 > data.length) return undefined;
    const len = data.readUInt32BE(p);
    if (p + 4 + len > data.length) return undefined;
    out.push(data.subarray(p + 4, p + 4 + len).toString('utf8'));
    p += 4 + len;
  }
  return out;
}

/** Serves SFTP requests on `sftp` against `host`; counts mutations and bytes in the world's counters. */
export function serveSftp(sftp: SFTPWrapper, host: LabHost, world: World): void {
  advertiseExtensions(sftp);
  const handles = new Map<number, FileHandle | DirHandle>();
  let nextHandle = 1;
  const newHandle = (h: FileHandle | DirHandle): Buffer => {
    const id = nextHandle++;
    handles.set(id, h);
    const buf = Buffer.alloc(4);
    buf.writeUInt32BE(id);
    return buf;
  };
  const lookup = (buf: Buffer): FileHandle | DirHandle | undefined => (buf.length === 4 ? handles.get(buf.readUInt32BE(0)) : undefined);
  const mutation = (): void => {
    world.counters.ssh_mutations++;
  };

  sftp.on('OPEN', (reqId: number, filename: string, flags: number, attrs: Attributes) => {
    const path = fs.normalizePath(filename);
    const st = fs.stat(host, path);
    const writing = (flags & (OPEN_MODE.WRITE | OPEN_MODE.APPEND)) !== 0;
    if (st?.kind === 'dir') return sftp.status(reqId, STATUS_CODE.FAILURE, 'Is a directory');
    if (!writing) {
      if (!st) return sftp.status(reqId, STATUS_CODE.NO_SUCH_FILE, 'No such file');
      return sftp.handle(reqId, newHandle({ kind: 'file', path, flags, content: fs.readBytes(host, path) ?? Buffer.alloc(0) }));
    }
    if (st && flags & OPEN_MODE.EXCL) return sftp.status(reqId, STATUS_CODE.FAILURE, 'File exists');
    if (!st && !(flags & OPEN_MODE.CREAT)) return sftp.status(reqId, STATUS_CODE.NO_SUCH_FILE, 'No such file');
    const problem = fs.writeProblem(host, path);
    if (problem) return sftp.status(reqId, STATUS_CODE.NO_SUCH_FILE, problem);
    mutation();
    const existing = flags & OPEN_MODE.TRUNC ? '' : (fs.readFile(host, path) ?? '');
    // The mode given at open applies to a new file only, as with open(2).
    fs.writeFile(host, path, existing, st ? {} : { mode: modeFrom(attrs) ?? 0o644 });
    sftp.handle(reqId, newHandle({ kind: 'file', path, flags, content: Buffer.from(existing) }));
  });

  sftp.on('READ', (reqId: number, handle: Buffer, offset: number, length: number) => {
    const h = lookup(handle);
    if (!h || h.kind !== 'file') return sftp.status(reqId, STATUS_CODE.FAILURE, 'Bad handle');
    if (offset >= h.content.length) return sftp.status(reqId, STATUS_CODE.EOF);
    const chunk = h.content.subarray(offset, Math.min(h.content.length, offset + length));
    world.counters.bytes.ssh += chunk.length;
    sftp.data(reqId, chunk);
  });

  sftp.on('WRITE', (reqId: number, handle: Buffer, offset: number, data: Buffer) => {
    const h = lookup(handle);
    if (!h || h.kind !== 'file' || !(h.flags & (OPEN_MODE.WRITE | OPEN_MODE.APPEND))) return sftp.status(reqId, STATUS_CODE.FAILURE, 'Bad handle');
    const at = h.flags & OPEN_MODE.APPEND ? h.content.length : offset;
    const size = Math.max(h.content.length, at + data.length);
    const next = Buffer.alloc(size);
    h.content.copy(next);
    data.copy(next, at);
    h.content = next;
    world.counters.bytes.ssh += data.length;
    fs.writeFile(host, h.path, next.toString('utf8'));
    sftp.status(reqId, STATUS_CODE.OK);
  });

  sftp.on('FSTAT', (reqId: number, handle: Buffer) => {
    const h = lookup(handle);
    const st = h && fs.stat(host, h.path);
    if (!st) return sftp.status(reqId, STATUS_CODE.FAILURE, 'Bad handle');
    sftp.attrs(reqId, attrsOf(st));
  });

  sftp.on('FSETSTAT', (reqId: number, handle: Buffer, attrs: Attributes) => {
    const h = lookup(handle);
    if (!h) return sftp.status(reqId, STATUS_CODE.FAILURE, 'Bad handle');
    const mode = modeFrom(attrs);
    if (mode !== undefined) fs.chmod(host, h.path, mode);
    sftp.status(reqId, STATUS_CODE.OK);
  });

  sftp.on('CLOSE', (reqId: number, handle: Buffer) => {
    if (!lookup(handle)) return sftp.status(reqId, STATUS_CODE.FAILURE, 'Bad handle');
    handles.delete(handle.readUInt32BE(0));
    sftp.status(reqId, STATUS_CODE.OK);
  });

  sftp.on('OPENDIR', (reqId: number, path: string) => {
    const p = fs.normalizePath(path);
    if (!fs.isDir(host, p)) return sftp.status(reqId, STATUS_CODE.NO_SUCH_FILE, 'No such file');
    sftp.handle(reqId, newHandle({ kind: 'dir', path: p, done: false }));
  });

  sftp.on('READDIR', (reqId: number, handle: Buffer) => {
    const h = lookup(handle);
    if (!h || h.kind !== 'dir') return sftp.status(reqId, STATUS_CODE.FAILURE, 'Bad handle');
    if (h.done) return sftp.status(reqId, STATUS_CODE.EOF);
    h.done = true;
    const entries = ['.', '..', ...fs.listDir(host, h.path)].map((name) => {
      const st = name === '.' || name === '..' ? { kind: 'dir' as const, mode: 0o755, size: 4096 } : fs.stat(host, `${h.path}/${name}`)!;
      return { filename: name, longname: `${modeString(st.kind, st.mode)} 1 root root ${st.size} Jan  1 00:00 ${name}`, attrs: attrsOf(st) };
    });
    sftp.name(reqId, entries);
  });

  const statPath = (reqId: number, path: string): void => {
    const st = fs.stat(host, path);
    if (!st) return sftp.status(reqId, STATUS_CODE.NO_SUCH_FILE, 'No such file');
    sftp.attrs(reqId, attrsOf(st));
  };
  sftp.on('STAT', statPath);
  sftp.on('LSTAT', statPath);

  sftp.on('SETSTAT', (reqId: number, path: string, attrs: Attributes) => {
    if (!fs.stat(host, path)) return sftp.status(reqId, STATUS_CODE.NO_SUCH_FILE, 'No such file');
    const mode = modeFrom(attrs);
    if (mode !== undefined) {
      mutation();
      fs.chmod(host, path, mode);
    }
    sftp.status(reqId, STATUS_CODE.OK);
  });

  sftp.on('REMOVE', (reqId: number, path: string) => {
    mutation();
    if (fs.stat(host, path)?.kind === 'dir') return sftp.status(reqId, STATUS_CODE.FAILURE, 'Is a directory');
    sftp.status(reqId, fs.removeFile(host, path) ? STATUS_CODE.OK : STATUS_CODE.NO_SUCH_FILE);
  });

  sftp.on('MKDIR', (reqId: number, path: string) => {
    mutation();
    const err = fs.mkdir(host, path);
    sftp.status(reqId, err ? STATUS_CODE.FAILURE : STATUS_CODE.OK, err);
  });

  sftp.on('RMDIR', (reqId: number, path: string) => {
    mutation();
    const err = fs.rmdir(host, path);
    sftp.status(reqId, err ? STATUS_CODE.FAILURE : STATUS_CODE.OK, err);
  });

  sftp.on('RENAME', (reqId: number, from: string, to: string) => {
    mutation();
    if (fs.stat(host, to)) return sftp.status(reqId, STATUS_CODE.FAILURE, 'File exists');
    const err = fs.rename(host, from, to);
    sftp.status(reqId, err ? STATUS_CODE.FAILURE : STATUS_CODE.OK, err);
  });

  sftp.on('REALPATH', (reqId: number, path: string) => {
    const p = fs.normalizePath(path === '' || path === '.' ? '/root' : path);
    sftp.name(reqId, [{ filename: p, longname: p, attrs: {} as Attributes }]);
  });

  // The client's EOF ends the subsystem; ssh2 leaves closing the channel to us.
  sftp.on('end', () => sftp.end());
  sftp.on('EXTENDED', (reqId: number, name: string, data: Buffer | undefined) => {
    if (name === 'posix-rename@openssh.com') {
      const paths = readStrings(data, 2);
      if (!paths) return sftp.status(reqId, STATUS_CODE.BAD_MESSAGE);
      mutation();
      // POSIX rename replaces an existing target.
      if (fs.stat(host, paths[1]!)?.kind === 'file') fs.removeFile(host, paths[1]!);
      const err = fs.rename(host, paths[0]!, paths[1]!);
      return sftp.status(reqId, err ? STATUS_CODE.FAILURE : STATUS_CODE.OK, err);
    }
    if (name === 'fsync@openssh.com') return sftp.status(reqId, STATUS_CODE.OK);
    sftp.status(reqId, STATUS_CODE.OP_UNSUPPORTED);
  });
  sftp.on('READLINK', (reqId: number) => sftp.status(reqId, STATUS_CODE.OP_UNSUPPORTED));
  sftp.on('SYMLINK', (reqId: number) => sftp.status(reqId, STATUS_CODE.OP_UNSUPPORTED));
}
