// A small synchronous X.509 issuer for the lab's PKI: ECDSA P-256 keys from node:crypto, certificates encoded
// in DER by hand (the handful of fields and extensions kubeadm's certificates carry) and signed with
// node:crypto's sign(). Synchronous on purpose: hosts are provisioned and kubeadm commands run synchronously,
// and a certificate costs well under a millisecond this way.
import { type KeyObject, X509Certificate, createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { isIPv4 } from 'node:net';

/** A key pair and the certificate issued for it. */
export interface Issued {
  certPem: string;
  keyPem: string;
  key: KeyObject;
  /** DER of the subject Name (an issuer of certificates signed by this one must carry exactly these bytes). */
  subjectDer: Buffer;
  /** SHA-1 of the public key, the certificate's subject key identifier. */
  keyId: Buffer;
  serial: string;
  notBefore: Date;
  notAfter: Date;
}

/** What to put into a certificate. */
export interface CertSpec {
  commonName: string;
  organization?: string[];
  notBefore: Date;
  notAfter: Date;
  /** A CA certificate (keyCertSign, cRLSign) instead of a leaf. */
  ca?: boolean;
  usages?: ('server' | 'client')[];
  /** DNS names and IPv4 addresses. */
  sans?: string[];
}

const OID = {
  cn: '2.5.4.3',
  o: '2.5.4.10',
  ecdsaSha256: '1.2.840.10045.4.3.2',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  san: '2.5.29.17',
  ski: '2.5.29.14',
  aki: '2.5.29.35',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
};

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let x = n; x > 0; x = Math.floor(x / 256)) bytes.unshift(x & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
}

const seq = (...parts: Buffer[]): Buffer => tlv(0x30, ...parts);

function oid(text: string): Buffer {
  const a = text.split('.').map(Number);
  const out = [40 * a[0]! + a[1]!];
  for (const v of a.slice(2)) {
    const b = [v & 0x7f];
    for (let x = Math.floor(v / 128); x > 0; x = Math.floor(x / 128)) b.unshift(0x80 | (x & 0x7f));
    out.push(...b);
  }
  return tlv(0x06, Buffer.from(out));
}

/** A positive INTEGER in minimal DER form. */
function integer(bytes: Buffer): Buffer {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0 && !(bytes[i + 1]! & 0x80)) i++;
  let b = bytes.subarray(i);
  if (b[0]! & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
  return tlv(0x02, b);
}

/** UTCTime until 2049, GeneralizedTime after, as RFC 5280 requires. */
function time(d: Date): Buffer {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  const y = d.getUTCFullYear();
  const rest = `${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  return y >= 1950 && y < 2050 ? tlv(0x17, Buffer.from(p(y % 100) + rest)) : tlv(0x18, Buffer.from(p(y, 4) + rest));
}

function name(cn: string, orgs: string[] = []): Buffer {
  const rdn = (type: string, value: string): Buffer => tlv(0x31, seq(oid(type), tlv(0x0c, Buffer.from(value, 'utf8'))));
  return seq(...orgs.map((o) => rdn(OID.o, o)), rdn(OID.cn, cn));
}

/** keyUsage as a DER named-bit list (trailing zero bits dropped). Bits: 0 digitalSignature, 2 keyEncipherment, 5 keyCertSign, 6 cRLSign. */
function keyUsage(bits: number[]): Buffer {
  let byte = 0;
  for (const b of bits) byte |= 0x80 >> b;
  let unused = 0;
  while (unused < 7 && !(byte & (1 << unused))) unused++;
  return tlv(0x03, Buffer.from([unused, byte]));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return seq(oid(id), ...(critical ? [tlv(0x01, Buffer.from([0xff]))] : []), tlv(0x04, value));
}

function generalName(san: string): Buffer {
  return isIPv4(san) ? tlv(0x87, Buffer.from(san.split('.').map(Number))) : tlv(0x82, Buffer.from(san, 'ascii'));
}

function pem(label: string, der: Buffer): string {
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

function serialNumber(): Buffer {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x01; // positive, 16 significant bytes
  return b;
}

/**
 * Issues a certificate for a new P-256 key: self-signed when `issuer` is absent (a root CA), else signed by
 * `issuer` (whose subject becomes this certificate's issuer Name, byte for byte).
 */
export function issueCertificate(spec: CertSpec, issuer?: Pick<Issued, 'key' | 'subjectDer' | 'keyId'>): Issued {
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = pair.publicKey.export({ type: 'spki', format: 'der' });
  // The subject key identifier: SHA-1 of the subjectPublicKey bits (the 65-byte uncompressed P-256 point).
  const keyId = createHash('sha1').update(spki.subarray(spki.length - 65)).digest();
  const subject = name(spec.commonName, spec.organization);
  const serial = serialNumber();
  const exts: Buffer[] = [
    extension(OID.keyUsage, true, keyUsage(spec.ca ? [0, 2, 5] : [0, 2])),
    ...(spec.usages?.length ? [extension(OID.extKeyUsage, false, seq(...spec.usages.map((u) => oid(u === 'server' ? OID.serverAuth : OID.clientAuth))))] : []),
    extension(OID.basicConstraints, true, spec.ca ? seq(tlv(0x01, Buffer.from([0xff]))) : seq()),
    ...(spec.ca ? [extension(OID.ski, false, tlv(0x04, keyId))] : []),
    ...(issuer ? [extension(OID.aki, false, seq(tlv(0x80, issuer.keyId)))] : []),
    ...(spec.sans?.length ? [extension(OID.san, false, seq(...spec.sans.map(generalName)))] : []),
  ];
  const algorithm = seq(oid(OID.ecdsaSha256));
  const tbs = seq(
    tlv(0xa0, integer(Buffer.from([2]))),
    integer(serial),
    algorithm,
    issuer?.subjectDer ?? subject,
    seq(time(spec.notBefore), time(spec.notAfter)),
    subject,
    spki,
    tlv(0xa3, seq(...exts)),
  );
  const signature = sign('sha256', tbs, issuer?.key ?? pair.privateKey);
  const der = seq(tbs, algorithm, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
  return {
    certPem: pem('CERTIFICATE', der),
    keyPem: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    key: pair.privateKey,
    subjectDer: subject,
    keyId,
    serial: serial.toString('hex').toUpperCase(),
    notBefore: spec.notBefore,
    notAfter: spec.notAfter,
  };
}

/** NotAfter, NotBefore, serial (upper-case hex, no leading zeros as OpenSSL prints it) of a PEM certificate; undefined when it is not one. */
export function certificateInfo(certPem: string): { notAfter: Date; notBefore: Date; serial: string; subject: string; sans: string[] } | undefined {
  try {
    const c = new X509Certificate(certPem);
    return {
      notAfter: new Date(c.validTo),
      notBefore: new Date(c.validFrom),
      serial: c.serialNumber.toUpperCase(),
      subject: c.subject,
      sans: (c.subjectAltName ?? '').split(', ').filter(Boolean).map((s) => s.replace(/^(DNS|IP Address):/, '')),
    };
  } catch {
    return undefined;
  }
}
