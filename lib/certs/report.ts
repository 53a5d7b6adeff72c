// What k8s.certs.check concludes from what it read (pure): one row per certificate per control node, the
// findings (expired, expiring within the warning window, missing, served certificate not the one on disk,
// unreadable node), which of them fail the check, and the text an operator reads.
import type { ExpirationList } from './expiration.js';
import type { ServedCert } from './served.js';
import { type CertFacts, daysLeft, sameCertificate } from './x509.js';

/** Everything read on one control node (a part that could not be read is absent and named in `errors`). */
export interface NodeCerts {
  node: string;
  endpoint: string;
  kubeadm?: ExpirationList;
  /** /etc/kubernetes/pki/apiserver.crt as read over SSH. */
  disk?: CertFacts;
  /** The certificate the node's own endpoint served. */
  served?: ServedCert;
  errors: string[];
}

/** One thing the check found. `fails`: it makes the check exit 1. */
export interface Finding {
  node: string;
  certificate: string;
  kind: 'expired' | 'expiring' | 'missing' | 'served-differs' | 'untrusted' | 'unreadable';
  notAfter?: string;
  daysLeft?: number;
  fails: boolean;
  message: string;
}

/** The name the served certificate goes by in rows and findings. */
export const SERVED = 'apiserver (served)';

/** The findings of one check, every node in order. */
export function findingsOf(nodes: readonly NodeCerts[], now: number, warnDays: number): Finding[] {
  const out: Finding[] = [];
  for (const n of nodes) {
    for (const e of n.errors) out.push({ node: n.node, certificate: '-', kind: 'unreadable', fails: true, message: `${n.node}: ${e}` });
    // `what`: how a message names it.
    const dated: { name: string; notAfter: string | null; missing?: boolean; what: string }[] = [];
    if (n.served) dated.push({ name: SERVED, notAfter: n.served.notAfter, what: `the apiserver certificate served on ${n.endpoint}` });
    for (const c of n.kubeadm?.certificates ?? []) dated.push({ name: c.name, notAfter: c.notAfter, missing: c.missing, what: `${c.name} (on disk)` });
    for (const c of n.kubeadm?.authorities ?? []) dated.push({ name: `${c.name} (CA)`, notAfter: c.notAfter, missing: c.missing, what: `the certificate authority ${c.name}` });
    for (const d of dated) {
      if (d.missing || !d.notAfter) {
        out.push({ node: n.node, certificate: d.name, kind: 'missing', fails: true, message: `${n.node}: ${d.name} is missing (kubeadm lists it, its file is not there)` });
        continue;
      }
      const left = daysLeft(d.notAfter, now);
      const expired = Date.parse(d.notAfter) <= now;
      if (expired || left < warnDays) {
        out.push({
          node: n.node,
          certificate: d.name,
          kind: expired ? 'expired' : 'expiring',
          notAfter: d.notAfter,
          daysLeft: left,
          fails: true,
          message: expired ? `${n.node}: ${d.what} expired on ${d.notAfter}` : `${n.node}: ${d.what} expires in ${left} days, on ${d.notAfter} (warning window ${warnDays} days)`,
        });
      }
    }
    if (n.served && n.disk && !sameCertificate(n.served, n.disk)) {
      out.push({
        node: n.node,
        certificate: SERVED,
        kind: 'served-differs',
        notAfter: n.served.notAfter,
        daysLeft: daysLeft(n.served.notAfter, now),
        fails: false,
        message: `${n.node}: the API server serves serial ${n.served.serial} (until ${n.served.notAfter}), not apiserver.crt on disk (serial ${n.disk.serial}, until ${n.disk.notAfter}): its static pod has not restarted since the renewal`,
      });
    }
    if (n.served && !n.served.trusted && Date.parse(n.served.notAfter) > now) {
      out.push({ node: n.node, certificate: SERVED, kind: 'untrusted', fails: false, message: `${n.node}: the served certificate does not verify against the cluster CA (${n.served.verifyError ?? 'not verified'})` });
    }
  }
  return out;
}

/** A date as `2026-12-10 12:13 UTC`. */
export function shortDate(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

function pad(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 2))).join('').trimEnd());
}

/** The human report: per node, every certificate with its expiry and days left; then the findings. */
export function renderCheck(nodes: readonly NodeCerts[], findings: readonly Finding[], now: number, warnDays: number): string {
  const lines: string[] = [];
  const flagged = new Set(findings.filter((f) => f.kind !== 'untrusted').map((f) => `${f.node}\0${f.certificate}`));
  for (const n of nodes) {
    lines.push(`${n.node} (${n.endpoint})${n.kubeadm ? ` kubeadm ${n.kubeadm.format}` : ''}`);
    const rows: string[][] = [['', 'CERTIFICATE', 'EXPIRES', 'DAYS', 'NOTE']];
    const mark = (name: string): string => (flagged.has(`${n.node}\0${name}`) ? '!' : '');
    if (n.served) {
      const same = n.disk ? (sameCertificate(n.served, n.disk) ? 'same as apiserver.crt' : `DIFFERS from apiserver.crt (serial ${n.disk.serial})`) : 'apiserver.crt unread';
      rows.push([mark(SERVED), SERVED, shortDate(n.served.notAfter), String(daysLeft(n.served.notAfter, now)), `serial ${n.served.serial}, ${same}${n.served.trusted ? '' : `, not verified: ${n.served.verifyError ?? '?'}`}`]);
    }
    for (const c of [...(n.kubeadm?.certificates ?? []), ...(n.kubeadm?.authorities ?? [])]) {
      const name = c.authority ? `${c.name} (CA)` : c.name;
      if (c.missing || !c.notAfter) rows.push([mark(name), name, 'MISSING', '-', '']);
      else rows.push([mark(name), name, shortDate(c.notAfter), String(daysLeft(c.notAfter, now)), c.externallyManaged ? 'externally managed' : '']);
    }
    lines.push(...pad(rows).map((l) => `  ${l}`));
    for (const e of n.errors) lines.push(`  ! ${e}`);
    lines.push('');
  }
  const failing = findings.filter((f) => f.fails);
  const warnings = findings.filter((f) => !f.fails);
  if (failing.length === 0) lines.push(`OK: no certificate expires within ${warnDays} days.`);
  else lines.push(`${failing.length} problem(s) (warning window ${warnDays} days):`, ...failing.map((f) => `  - ${f.message}`));
  if (warnings.length) lines.push('Warnings:', ...warnings.map((f) => `  - ${f.message}`));
  return lines.join('\n');
}
