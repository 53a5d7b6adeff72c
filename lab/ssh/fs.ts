// The in-memory file system of a lab host: `files` (path -> text) plus modes and explicit directories. Shared
// by the command interpreter (cat, test, touch, rm, redirections) and the SFTP server, so a file uploaded over
// SFTP is what `kubeadm join --config FILE` reads. Paths are normalised; /run and /var/run are one place.
import type { LabHost } from '../world.js';

/** Directories every lab host has. */
const BASE_DIRS = ['/', '/root', '/etc', '/etc/kubernetes', '/tmp', '/var', '/var/run', '/var/lib', '/boot', '/usr', '/usr/bin', '/proc', '/home'];

/** Stat result of an in-memory path. */
export interface HostStat {
  kind: 'file' | 'dir';
  mode: number;
  size: number;
}

/** Normalises a path: absolute (relative to /root, root's home), no `.`/`..`/double slashes, /run -> /var/run. */
export function normalizePath(path: string, cwd = '/root'): string {
  const abs = path.startsWith('/') ? path : `${cwd}/${path}`;
  const parts: string[] = [];
  for (const part of abs.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  let out = '/' + parts.join('/');
  // /run is where /var/run points on Debian; the world model keys the sentinel as /var/run/reboot-required.
  if (out === '/run' || out.startsWith('/run/')) out = '/var' + out;
  return out;
}

function dirsOf(host: LabHost): Set<string> {
  if (!host.dirs) host.dirs = new Set();
  return host.dirs;
}

function modesOf(host: LabHost): Map<string, number> {
  if (!host.fileModes) host.fileModes = new Map();
  return host.fileModes;
}

/** True when `path` is a directory: a base dir, an explicit one, or a parent of an existing file. */
export function isDir(host: LabHost, path: string): boolean {
  const p = normalizePath(path);
  if (BASE_DIRS.includes(p) || dirsOf(host).has(p)) return true;
  const prefix = p === '/' ? '/' : p + '/';
  for (const f of host.files.keys()) if (f.startsWith(prefix)) return true;
  for (const d of dirsOf(host)) if (d.startsWith(prefix)) return true;
  return false;
}

/** Stat of a file or directory, or undefined. */
export function stat(host: LabHost, path: string): HostStat | undefined {
  const p = normalizePath(path);
  const content = host.files.get(p);
  if (content !== undefined) return { kind: 'file', mode: modesOf(host).get(p) ?? 0o644, size: host.binaryFiles?.has(p) ? content.length : Buffer.byteLength(content) };
  if (isDir(host, p)) return { kind: 'dir', mode: 0o755, size: 4096 };
  // Kernel images are not in `files`: they follow from host.kernel.installed.
  if (p.startsWith('/boot/') && host.kernel.installed.some((k) => bootFiles(k).includes(p.slice(6)))) {
    return { kind: 'file', mode: 0o644, size: 8_000_000 };
  }
  return undefined;
}

/** File content, or undefined when there is no such file. */
export function readFile(host: LabHost, path: string): string | undefined {
  return host.files.get(normalizePath(path));
}

/** File content as bytes (binary files are kept one char per byte), or undefined when there is no such file. */
export function readBytes(host: LabHost, path: string): Buffer | undefined {
  const p = normalizePath(path);
  const content = host.files.get(p);
  return content === undefined ? undefined : Buffer.from(content, host.binaryFiles?.has(p) ? 'latin1' : 'utf8');
}

/** Writes a binary file (an etcd snapshot): kept byte for byte, whatever its encoding. */
export function writeBytes(host: LabHost, path: string, content: Buffer, options: { mode?: number } = {}): void {
  writeFile(host, path, content.toString('latin1'), options);
  (host.binaryFiles ??= new Set()).add(normalizePath(path));
}

/** Why a write cannot happen (missing parent, a directory in the way), or undefined when it can. */
export function writeProblem(host: LabHost, path: string): string | undefined {
  const p = normalizePath(path);
  if (isDir(host, p)) return 'Is a directory';
  const parent = p.slice(0, p.lastIndexOf('/')) || '/';
  if (!isDir(host, parent)) return 'No such file or directory';
  return undefined;
}

/** Writes (or appends to) a file; `mode` applies to new files and, when given, to existing ones. */
export function writeFile(host: LabHost, path: string, content: string, options: { mode?: number; append?: boolean } = {}): void {
  const p = normalizePath(path);
  const before = host.files.get(p);
  host.binaryFiles?.delete(p);
  host.files.set(p, options.append && before !== undefined ? before + content : content);
  if (options.mode !== undefined) modesOf(host).set(p, options.mode & 0o7777);
  else if (before === undefined) modesOf(host).set(p, 0o644);
}

/** Changes a file's mode; false when the path does not exist. */
export function chmod(host: LabHost, path: string, mode: number): boolean {
  const p = normalizePath(path);
  if (host.files.has(p)) {
    modesOf(host).set(p, mode & 0o7777);
    return true;
  }
  return isDir(host, p);
}

/** Removes a file; false when there was none. */
export function removeFile(host: LabHost, path: string): boolean {
  const p = normalizePath(path);
  modesOf(host).delete(p);
  host.binaryFiles?.delete(p);
  return host.files.delete(p);
}

/** Creates a directory (and, with `parents`, its parents); an error text when it cannot. */
export function mkdir(host: LabHost, path: string, parents = false): string | undefined {
  const p = normalizePath(path);
  if (host.files.has(p)) return 'File exists';
  if (isDir(host, p)) return parents ? undefined : 'File exists';
  const parent = p.slice(0, p.lastIndexOf('/')) || '/';
  if (!isDir(host, parent)) {
    if (!parents) return 'No such file or directory';
    const err = mkdir(host, parent, true);
    if (err) return err;
  }
  dirsOf(host).add(p);
  return undefined;
}

/** Removes an empty directory; an error text when it cannot. */
export function rmdir(host: LabHost, path: string): string | undefined {
  const p = normalizePath(path);
  if (!isDir(host, p)) return 'No such file or directory';
  if (listDir(host, p).length > 0) return 'Directory not empty';
  if (!dirsOf(host).delete(p)) return 'Permission denied';
  return undefined;
}

/** Names directly inside a directory (files and directories), sorted. */
export function listDir(host: LabHost, path: string): string[] {
  const p = normalizePath(path);
  const prefix = p === '/' ? '/' : p + '/';
  const names = new Set<string>();
  const add = (full: string): void => {
    if (!full.startsWith(prefix) || full === p) return;
    const rest = full.slice(prefix.length);
    const name = rest.split('/')[0];
    if (name) names.add(name);
  };
  for (const f of host.files.keys()) add(f);
  for (const d of dirsOf(host)) add(d);
  for (const d of BASE_DIRS) add(d);
  if (p === '/boot') for (const k of host.kernel.installed) for (const n of bootFiles(k)) names.add(n);
  return [...names].sort();
}

/** The files Debian's kernel packages put into /boot for one kernel version. */
export function bootFiles(version: string): string[] {
  return [`System.map-${version}`, `config-${version}`, `initrd.img-${version}`, `vmlinuz-${version}`];
}

/** Renames a file; an error text when it cannot. */
export function rename(host: LabHost, from: string, to: string): string | undefined {
  const a = normalizePath(from);
  const b = normalizePath(to);
  const content = host.files.get(a);
  if (content === undefined) return 'No such file or directory';
  const problem = writeProblem(host, b);
  if (problem) return problem;
  const mode = modesOf(host).get(a);
  const binary = host.binaryFiles?.has(a) ?? false;
  removeFile(host, a);
  writeFile(host, b, content, mode === undefined ? {} : { mode });
  if (binary) host.binaryFiles!.add(b);
  return undefined;
}
