// known_hosts parsing and host key verification, as OpenSSH does it: plain host patterns (with `*`, `?` and
// `!` negation, comma lists), hashed `|1|salt|hash` entries (HMAC-SHA1 of the name with the salt),
// `[host]:port` names for ports other than 22, several keys per host, and `@revoked` lines. A host whose
// names have no entry is unknown; one whose entries all hold other keys has a changed key. Both are refused.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { knownHostsName } from './address.js';

/** One parsed known_hosts line. */
export interface KnownHostEntry {
  /** `revoked` and `cert-authority` lines; undefined for ordinary ones. */
  marker?: 'revoked' | 'cert-authority';
  /** Plain host patterns (comma list split), or undefined for a hashed entry. */
  patterns?: string[];
  /** Salt and hash of a hashed entry. */
  hashed?: { salt: Buffer; hash: Buffer };
  keyType: string;
  /** The key blob in base64, exactly as in the file (and as ssh2's hostVerifier blob encodes). */
  keyBase64: string;
  /** 1-based line number in its file. */
  line: number;
  file?: string;
}

/** What verification concluded about an offered key. */
export type HostKeyVerdict =
  | { status: 'ok'; entry: KnownHostEntry }
  | { status: 'unknown' }
  | { status: 'mismatch'; known: KnownHostEntry[] }
  | { status: 'revoked'; entry: KnownHostEntry };

/** Parses the text of a known_hosts file; malformed lines are skipped (OpenSSH ignores them too). */
export function parseKnownHosts(text: string, file?: string): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (fields[0]!.startsWith('@')) {
      const m = fields.shift()!;
      if (m === '@revoked') marker = 'revoked';
      else if (m === '@cert-authority') marker = 'cert-authority';
      else return;
    }
    if (fields.length < 3) return;
    const [hosts, keyType, keyBase64] = fields as [string, string, string];
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(keyBase64)) return;
    const entry: KnownHostEntry = { keyType, keyBase64, line: i + 1 };
    if (marker) entry.marker = marker;
    if (file) entry.file = file;
    if (hosts.startsWith('|1|')) {
      const parts = hosts.split('|');
      if (parts.length !== 4) return;
      const salt = Buffer.from(parts[2]!, 'base64');
      const hash = Buffer.from(parts[3]!, 'base64');
      if (salt.length === 0 || hash.length !== 20) return;
      entry.hashed = { salt, hash };
    } else {
      entry.patterns = hosts.split(',').filter((p) => p !== '');
    }
    out.push(entry);
  });
  return out;
}

const compiled = new Map<string, RegExp>();

// Compiled once per pattern: a fan-out checks every host against every line of a large known_hosts.
function globToRegExp(pattern: string): RegExp {
  let re = compiled.get(pattern);
  if (!re) {
    re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
    compiled.set(pattern, re);
  }
  return re;
}

function globMatch(pattern: string, name: string): boolean {
  if (!pattern.includes('*') && !pattern.includes('?')) return pattern.length === name.length && pattern.toLowerCase() === name.toLowerCase();
  return globToRegExp(pattern).test(name);
}

/** True when a comma list of patterns matches `name` (a negated match vetoes, as in OpenSSH). */
export function patternsMatch(patterns: readonly string[], name: string): boolean {
  let matched = false;
  for (const p of patterns) {
    if (p.startsWith('!')) {
      if (globMatch(p.slice(1), name)) return false;
    } else if (globMatch(p, name)) {
      matched = true;
    }
  }
  return matched;
}

/** HMAC-SHA1 of `name` with `salt`: the hash of a `|1|salt|hash` entry. */
export function hashHostName(name: string, salt: Buffer): Buffer {
  return createHmac('sha1', salt).update(name).digest();
}

/** A hashed host field `|1|salt|hash` for `name` (a fresh random salt unless given). */
export function hashedHostField(name: string, salt: Buffer = randomBytes(20)): string {
  return `|1|${salt.toString('base64')}|${hashHostName(name, salt).toString('base64')}`;
}

/** True when an entry is for `lookupName` (already in `[host]:port` form where needed). */
export function entryMatches(entry: KnownHostEntry, lookupName: string): boolean {
  if (entry.hashed) {
    const h = hashHostName(lookupName, entry.hashed.salt);
    return timingSafeEqual(h, entry.hashed.hash);
  }
  return patternsMatch(entry.patterns ?? [], lookupName);
}

/** The key type named inside an SSH public key blob (its first string). */
export function keyTypeOfBlob(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const len = blob.readUInt32BE(0);
  if (len > 64 || blob.length < 4 + len) return 'unknown';
  return blob.subarray(4, 4 + len).toString('latin1');
}

/** The OpenSSH SHA256 fingerprint of a key blob: `SHA256:` + unpadded base64. */
export function fingerprintSha256(blob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

/** The legacy MD5 fingerprint of a key blob: `MD5:aa:bb:...` (old cloud-init versions print these). */
export function fingerprintMd5(blob: Buffer): string {
  const hex = createHash('md5').update(blob).digest('hex');
  return 'MD5:' + hex.match(/../g)!.join(':');
}

/** Verifies an offered key blob for a host known under any of `names` on `port`. */
export function verifyHostKey(entries: readonly KnownHostEntry[], names: readonly string[], port: number, blob: Buffer): HostKeyVerdict {
  const lookups = [...new Set(names.map((n) => knownHostsName(n, port)))];
  const offered = blob.toString('base64');
  const forHost = entries.filter((e) => e.marker !== 'cert-authority' && lookups.some((l) => entryMatches(e, l)));
  const revoked = entries.find((e) => e.marker === 'revoked' && e.keyBase64 === offered);
  if (revoked) return { status: 'revoked', entry: revoked };
  const known = forHost.filter((e) => e.marker === undefined);
  const same = known.find((e) => e.keyBase64 === offered);
  if (same) return { status: 'ok', entry: same };
  if (known.length === 0) return { status: 'unknown' };
  return { status: 'mismatch', known };
}

// SSH host key algorithm names for a key type, for ordering what the client offers.
const ALGORITHMS_OF: Record<string, string[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
};

/** Every host key algorithm ssh2 supports, best first (ssh-dss left out: OpenSSH dropped it). */
export const HOST_KEY_ALGORITHMS = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];

/**
 * Host key algorithms to offer, with those of already known keys first, so a host with several keys presents
 * the one we know (as OpenSSH orders HostKeyAlgorithms from known_hosts) instead of looking "changed".
 */
export function preferredHostKeyAlgorithms(knownTypes: readonly string[]): string[] {
  const first = knownTypes.flatMap((t) => ALGORITHMS_OF[t] ?? []);
  return [...new Set([...first, ...HOST_KEY_ALGORITHMS])];
}

/**
 * The known_hosts files of a client: read lazily, re-read when a file changed on disk, appended to (first
 * file only) when a new key is trusted from a console log.
 */
export class KnownHosts {
  private cache = new Map<string, { mtimeMs: number; size: number; entries: KnownHostEntry[] }>();

  /** `paths[0]` is the user's file (written on trust); later ones (the global file) are only read. */
  constructor(readonly paths: readonly string[]) {}

  /** The writable file. */
  get path(): string {
    return this.paths[0]!;
  }

  /** All entries of all files, from disk when a file changed. */
  entries(): KnownHostEntry[] {
    return this.paths.flatMap((p) => this.load(p));
  }

  private load(path: string): KnownHostEntry[] {
    if (!existsSync(path)) return [];
    const st = statSync(path);
    const cached = this.cache.get(path);
    if (cached && cached.mtimeMs === st.mtimeMs && cached.size === st.size) return cached.entries;
    const entries = parseKnownHosts(readFileSync(path, 'utf8'), path);
    this.cache.set(path, { mtimeMs: st.mtimeMs, size: st.size, entries });
    return entries;
  }

  /** Verifies a key offered by a host known under `names` on `port`. */
  verify(names: readonly string[], port: number, blob: Buffer): HostKeyVerdict {
    return verifyHostKey(this.entries(), names, port, blob);
  }

  /** Key types recorded for the host (to order the algorithms we offer). */
  knownKeyTypes(names: readonly string[], port: number): string[] {
    const lookups = names.map((n) => knownHostsName(n, port));
    return [...new Set(this.entries().filter((e) => e.marker === undefined && lookups.some((l) => entryMatches(e, l))).map((e) => e.keyType))];
  }

  /**
   * Records `blob` as the key of the host known as `names` on `port`, replacing what the writable file had for
   * those names (a rebuilt VM reusing a name). Hashed lines are written when the file already uses them.
   */
  trust(names: readonly string[], port: number, blob: Buffer): void {
    const path = this.path;
    const lookups = [...new Set(names.map((n) => knownHostsName(n, port)))];
    const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
    const existing = parseKnownHosts(text, path);
    const hashedFile = existing.some((e) => e.hashed);
    const drop = new Map<number, KnownHostEntry>();
    for (const e of existing) if (e.marker === undefined && lookups.some((l) => entryMatches(e, l))) drop.set(e.line, e);
    const type = keyTypeOfBlob(blob);
    const b64 = blob.toString('base64');
    const added = hashedFile ? lookups.map((l) => `${hashedHostField(l)} ${type} ${b64}`) : [`${lookups.join(',')} ${type} ${b64}`];
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    if (drop.size === 0) {
      const sep = text === '' || text.endsWith('\n') ? '' : '\n';
      appendFileSync(path, sep + added.join('\n') + '\n', { mode: 0o600 });
    } else {
      const kept = text.split(/\r?\n/).flatMap((line, i) => {
        const e = drop.get(i + 1);
        if (!e) return [line];
        // A plain line listing other names too keeps them; only our names leave it.
        const rest = (e.patterns ?? []).filter((p) => !lookups.some((l) => patternsMatch([p], l)));
        return rest.length > 0 ? [line.replace(/^(\s*)\S+/, `$1${rest.join(',')}`)] : [];
      });
      while (kept.length > 0 && kept[kept.length - 1] === '') kept.pop();
      writeFileSync(path, [...kept, ...added].join('\n') + '\n', { mode: 0o600 });
    }
    this.cache.delete(path);
  }
}
