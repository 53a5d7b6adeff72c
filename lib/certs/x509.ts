// X.509 facts through node:crypto (no openssl binary needed, on the operator host or on the node): a PEM
// file's certificates, and the few fields a check compares (serial, NotAfter, SHA-256 fingerprint, SANs).
import { X509Certificate } from 'node:crypto';
import { KubeadmCertsOutputError } from './errors.js';

/** What a check reports about one certificate. */
export interface CertFacts {
  subject: string;
  issuer: string;
  /** Upper-case hex without leading zeros (openssl's `-serial` and Node differ on padding). */
  serial: string;
  notBefore: string;
  notAfter: string;
  /** SHA-256 of the DER, colon-separated upper-case hex (what `openssl x509 -fingerprint -sha256` prints). */
  fingerprint256: string;
  /** Subject alternative names as `DNS:name` / `IP Address:a.b.c.d`. */
  sans: string[];
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** Every certificate of a PEM text, in order (other blocks, comments and keys are skipped). */
export function parsePemCertificates(text: string, what = 'PEM text'): X509Certificate[] {
  const blocks = text.match(PEM_BLOCK) ?? [];
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (err) {
      throw new KubeadmCertsOutputError(`${what}: certificate ${i + 1} is not a valid X.509 certificate: ${(err as Error).message}`, {
        cause: err,
        context: { what, index: i },
        hint: 'the file is damaged: renew it (kubeadm certs renew) or restore it from a backup',
      });
    }
  });
}

/** A serial in one canonical form (upper-case, no leading zeros). */
export function normalizeSerial(serial: string): string {
  const hex = serial.replace(/[^0-9a-fA-F]/g, '').toUpperCase().replace(/^0+(?=.)/, '');
  return hex || '0';
}

/** The facts of one certificate. */
export function certFacts(cert: X509Certificate): CertFacts {
  return {
    subject: cert.subject.replace(/\n/g, ', '),
    issuer: cert.issuer.replace(/\n/g, ', '),
    serial: normalizeSerial(cert.serialNumber),
    notBefore: new Date(cert.validFrom).toISOString(),
    notAfter: new Date(cert.validTo).toISOString(),
    fingerprint256: cert.fingerprint256,
    sans: (cert.subjectAltName ?? '').split(/,\s*/).filter(Boolean),
  };
}

/** Whole days left until `notAfter` (negative once expired; floor, so 9.9 days left is 9). */
export function daysLeft(notAfter: string | Date, now: number): number {
  return Math.floor((new Date(notAfter).getTime() - now) / 86_400_000);
}

/** True when two certificates are the same one (same DER bytes, so the same fingerprint). */
export function sameCertificate(a: Pick<CertFacts, 'fingerprint256'>, b: Pick<CertFacts, 'fingerprint256'>): boolean {
  return a.fingerprint256 === b.fingerprint256;
}
