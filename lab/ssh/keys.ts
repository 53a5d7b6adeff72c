// SSH key material for the lab: host keys (one per lab host, fresh for every new VM), the operator key that
// root accepts on every host, and the text forms clients check them against (known_hosts lines, the SHA256
// fingerprints cloud-init prints on the console).
import { createHash } from 'node:crypto';
import ssh2 from 'ssh2';

const { utils } = ssh2;

/** An ed25519 key pair in OpenSSH text forms. */
export interface SshKeyPair {
  /** OpenSSH private key (PEM-like "OPENSSH PRIVATE KEY" text). */
  privateKey: string;
  /** `ssh-ed25519 BASE64 comment` as in a .pub file. */
  publicLine: string;
  /** The public key blob in base64 (the second field of a .pub file, the third of a known_hosts line). */
  publicBase64: string;
  /** `SHA256:...` as ssh-keygen -l prints it. */
  fingerprintSha256: string;
}

/** Generates an ed25519 key pair; `comment` ends up in the .pub line (e.g. root@host). */
export function generateEd25519(comment = ''): SshKeyPair {
  let pair = utils.generateKeyPairSync('ed25519', comment ? { comment } : undefined);
  // ssh2 strips leading zero bytes of the public key (1 key in 256): such a key is malformed for OpenSSH
  // (the blob must be 4+11+4+32 = 51 bytes). Draw again until it is whole.
  while (Buffer.from(pair.public.split(/\s+/)[1]!, 'base64').length !== 51) {
    pair = utils.generateKeyPairSync('ed25519', comment ? { comment } : undefined);
  }
  const publicBase64 = pair.public.split(/\s+/)[1]!;
  return {
    privateKey: pair.private,
    publicLine: `ssh-ed25519 ${publicBase64}${comment ? ` ${comment}` : ''}`,
    publicBase64,
    fingerprintSha256: fingerprintOf(publicBase64),
  };
}

/** The OpenSSH SHA256 fingerprint of a public key blob given in base64: unpadded base64 of its SHA-256. */
export function fingerprintOf(publicBase64: string): string {
  const digest = createHash('sha256').update(Buffer.from(publicBase64, 'base64')).digest('base64');
  return `SHA256:${digest.replace(/=+$/, '')}`;
}

/** A known_hosts line; a port other than 22 needs the `[addr]:port` form, as OpenSSH writes it. */
export function knownHostsLine(address: string, port: number, publicBase64: string): string {
  const host = port === 22 ? address : `[${address}]:${port}`;
  return `${host} ssh-ed25519 ${publicBase64}`;
}

/** The base64 public blob of an OpenSSH private or public key text; throws when ssh2 cannot parse it. */
export function publicBase64Of(keyText: string): string {
  const parsed = utils.parseKey(keyText);
  if (parsed instanceof Error) throw parsed;
  const key = Array.isArray(parsed) ? parsed[0]! : parsed;
  return key.getPublicSSH().toString('base64');
}
