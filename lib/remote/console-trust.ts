// Trust anchors for a VM this run just created, read from its console log (fetched over the authenticated
// OpenStack API). cloud-init prints the host key fingerprints, and often the public keys, between marker lines:
//
//   -----BEGIN SSH HOST KEY FINGERPRINTS-----
//   256 SHA256:Xr9...  root@tb-k8s-worker-7 (ED25519)
//   -----END SSH HOST KEY FINGERPRINTS-----
//   -----BEGIN SSH HOST KEY KEYS-----
//   ssh-ed25519 AAAAC3Nza... root@tb-k8s-worker-7
//   -----END SSH HOST KEY KEYS-----
//
// Consoles prefix lines (`ec2: `, `[  12.3] cloud-init[812]: `, `ci-info: `) and may use CRLF; a VM that booted
// twice prints the blocks twice. We use the last complete block: that is the key set the VM has now.
import { fingerprintMd5, fingerprintSha256 } from './known-hosts.js';

/** One fingerprint line of the console block. */
export interface ConsoleFingerprint {
  bits: number;
  /** `SHA256:...` or `MD5:aa:bb:...` exactly as OpenSSH formats it. */
  fingerprint: string;
  /** The key type in parentheses, upper case: ED25519, ECDSA, RSA, DSA. */
  type: string;
  comment: string;
}

/** One public key line of the console KEYS block. */
export interface ConsoleKey {
  keyType: string;
  keyBase64: string;
}

/** What a console log says about the VM's host keys. */
export interface ConsoleHostKeys {
  fingerprints: ConsoleFingerprint[];
  keys: ConsoleKey[];
}

const FP_BEGIN = '-----BEGIN SSH HOST KEY FINGERPRINTS-----';
const FP_END = '-----END SSH HOST KEY FINGERPRINTS-----';
const KEYS_BEGIN = '-----BEGIN SSH HOST KEY KEYS-----';
const KEYS_END = '-----END SSH HOST KEY KEYS-----';

/** The lines of the last complete BEGIN..END block, with the console's per-line prefix removed. */
function lastBlock(lines: string[], begin: string, end: string): string[] | undefined {
  let found: string[] | undefined;
  for (let i = 0; i < lines.length; i++) {
    const at = lines[i]!.indexOf(begin);
    if (at < 0) continue;
    const prefix = lines[i]!.slice(0, at);
    const body: string[] = [];
    let complete = false;
    for (let j = i + 1; j < lines.length; j++) {
      if (lines[j]!.includes(end)) {
        complete = true;
        i = j;
        break;
      }
      if (lines[j]!.includes(begin)) break;
      let l = lines[j]!;
      // The prefix may carry a changing timestamp: strip it exactly, else strip up to the same tag.
      if (prefix && l.startsWith(prefix)) l = l.slice(prefix.length);
      else if (prefix.trim()) l = l.replace(/^.*?(?=(\d+ (SHA256|MD5):|\d+ [0-9a-f]{2}:|(ssh|ecdsa|sk-)[-a-z0-9@.]+ AAAA))/, '');
      body.push(l.trim());
    }
    if (complete) found = body;
  }
  return found;
}

/** Parses the host key blocks of a console log (empty lists when there are none). */
export function parseConsoleHostKeys(consoleOutput: string): ConsoleHostKeys {
  // Some consoles escape control characters or mix CR: normalise line ends first.
  const lines = consoleOutput.split(/\r\n|\r|\n/);
  const fingerprints: ConsoleFingerprint[] = [];
  for (const l of lastBlock(lines, FP_BEGIN, FP_END) ?? []) {
    const m = /^(\d+)\s+((?:SHA256:[A-Za-z0-9+/]+=*)|(?:MD5:)?(?:[0-9a-f]{2}:){15}[0-9a-f]{2})\s+(.*?)\s*\(([A-Z0-9-]+)\)\s*$/.exec(l);
    if (!m) continue;
    let fp = m[2]!;
    if (fp.startsWith('SHA256:')) fp = fp.replace(/=+$/, '');
    else if (!fp.startsWith('MD5:')) fp = `MD5:${fp}`;
    fingerprints.push({ bits: Number(m[1]), fingerprint: fp, comment: m[3]!, type: m[4]! });
  }
  const keys: ConsoleKey[] = [];
  for (const l of lastBlock(lines, KEYS_BEGIN, KEYS_END) ?? []) {
    const m = /^((?:ssh|ecdsa|sk-)[-a-z0-9@.]+)\s+([A-Za-z0-9+/]+={0,2})(\s|$)/.exec(l);
    if (m) keys.push({ keyType: m[1]!, keyBase64: m[2]! });
  }
  return { fingerprints, keys };
}

/** True when the console log lists at least one usable anchor. */
export function hasAnchors(keys: ConsoleHostKeys): boolean {
  return keys.fingerprints.length > 0 || keys.keys.length > 0;
}

/**
 * True when the offered key blob is one the console log vouches for: its SHA256 (or legacy MD5) fingerprint
 * is listed; only when there is no fingerprint block, the blob itself must be in the KEYS block. (cloud-init's
 * KEYS block may leave out key types its blacklist names, so the fingerprint block is the authority.)
 */
export function consoleVouchesFor(keys: ConsoleHostKeys, blob: Buffer): boolean {
  const sha = fingerprintSha256(blob);
  const md5 = fingerprintMd5(blob);
  const b64 = blob.toString('base64');
  const byFingerprint = keys.fingerprints.some((f) => f.fingerprint === sha || f.fingerprint === md5);
  const byKey = keys.keys.some((k) => k.keyBase64 === b64);
  return keys.fingerprints.length > 0 ? byFingerprint : byKey;
}
