// kubeadm's certificates on the lab's hosts: the PKI files a join writes (the CA everywhere; on control nodes
// the CAs, every certificate `kubeadm certs check-expiration` lists, the kubeconfigs with their client
// certificates), `check-expiration` read from those files (kubeadm's table, or `-o json|yaml` in the
// output.kubeadm.k8s.io/v1alpha3 CertificateExpirationInfo shape), `renew` (new files only: the running
// apiserver keeps serving the old certificate until its static pod restarts), and test hooks that re-issue
// certificates with a given validity as if they had been issued that way.
import { stringify } from 'yaml';
import type { LabHost, World } from '../world.js';
import * as fs from '../ssh/fs.js';
import { CA_FILES, CERT_VALIDITY_DAYS, KUBEADM_CERTS, type KubeadmCert, type LabPki, issueKubeadmCert, kubeconfigClientCert } from './certs.js';
import type { NodeEndpoints } from './endpoints.js';
import { certificateInfo } from './x509.js';

const DAY = 86400_000;
/** The role whose hosts are the cluster's load balancers: their addresses are SANs of every apiserver certificate. */
const LOAD_BALANCER_ROLE = 'loadbalancer';

/** k8s.io/apimachinery's duration.ShortHumanDuration, as check-expiration prints the residual time. */
export function shortHumanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.trunc(minutes / 60);
  if (hours < 24) return `${hours}h`;
  if (hours < 24 * 365) return `${Math.trunc(hours / 24)}d`;
  return `${Math.trunc(hours / 24 / 365)}y`;
}

/** kubeadm's EXPIRES column: `Jan 02, 2006 15:04 UTC`. */
export function kubeadmDate(d: Date): string {
  const mon = d.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' });
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${mon} ${p(d.getUTCDate())}, ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())} UTC`;
}

/** One row of check-expiration. */
interface Row {
  name: string;
  notAfter?: Date;
  caName?: string;
  externallyManaged: boolean;
}

/** The kubeadm PKI of every lab host, issued by the lab's CAs. */
export class KubeadmPki {
  constructor(
    private readonly world: World,
    private readonly pki: LabPki,
    /** The API server address written into the kubeconfigs (kubeadm's controlPlaneEndpoint). */
    private readonly server: string,
    private readonly endpoints?: NodeEndpoints,
  ) {
    world.on('host-added', this.onHostAdded);
  }

  /** Stops following new load balancers. */
  stop(): void {
    this.world.off('host-added', this.onHostAdded);
  }

  private loadBalancerAddresses(): string[] {
    return [...this.world.hosts.values()].filter((h) => h.role === LOAD_BALANCER_ROLE).map((h) => h.address);
  }

  /** A new load balancer: every apiserver certificate gains its address (same validity), and is served at once. */
  private readonly onHostAdded = (host: LabHost): void => {
    if (host.role !== LOAD_BALANCER_ROLE) return;
    for (const h of this.world.hosts.values()) {
      const current = certificateInfo(h.files.get(CERT_FILE.apiserver) ?? '');
      if (!current || current.sans.includes(host.address)) continue;
      this.issue(h, ['apiserver'], current.notBefore, current.notAfter);
      this.endpoints?.reloadCertificate(h.name);
    }
  };

  private issue(host: LabHost, names: readonly string[], notBefore: Date, notAfter: Date): void {
    for (const cert of KUBEADM_CERTS.filter((c) => names.includes(c.name))) {
      const files = issueKubeadmCert(this.pki, cert, { address: host.address, hostname: host.name, sans: this.loadBalancerAddresses(), server: this.server, clusterName: this.world.clusterName, notBefore, notAfter });
      for (const [path, content] of files) fs.writeFile(host, path, content, { mode: path.endsWith('.crt') ? 0o644 : 0o600 });
    }
  }

  /** What `kubeadm join` leaves under /etc/kubernetes/pki: the CA on every node, the whole PKI on control nodes. */
  writePki(host: LabHost, controlPlane: boolean): void {
    fs.writeFile(host, CA_FILES.ca.crt, this.pki.caPem, { mode: 0o644 });
    if (!controlPlane) return;
    for (const [name, files] of Object.entries(CA_FILES)) {
      const ca = this.pki.cas[name as KubeadmCert['ca']];
      fs.writeFile(host, files.crt, ca.certPem, { mode: 0o644 });
      // With external etcd kubeadm has the etcd CA's certificate only (hence "externally managed").
      if (name !== 'etcd-ca') fs.writeFile(host, files.key, ca.keyPem, { mode: 0o600 });
    }
    const now = Date.now();
    this.issue(host, KUBEADM_CERTS.map((c) => c.name), new Date(now - 60_000), new Date(now + CERT_VALIDITY_DAYS * DAY));
  }

  /** `kubeadm certs renew all|NAME`: new certificate files valid for a year from now; what kubeadm prints. */
  renew(host: LabHost, what: string): string {
    const names = what === 'all' ? KUBEADM_CERTS.map((c) => c.name) : [what];
    const now = Date.now();
    this.issue(host, names, new Date(now - 60_000), new Date(now + CERT_VALIDITY_DAYS * DAY));
    const out = ['[renew] Reading configuration from the cluster...', "[renew] FYI: You can look at this config file with 'kubectl -n kube-system get cm kubeadm-config -o yaml'", ''];
    for (const n of names) out.push(KUBEADM_CERTS.find((c) => c.name === n)!.renewed);
    if (what === 'all') out.push('', 'Done renewing certificates. You must restart the kube-apiserver, kube-controller-manager, kube-scheduler and etcd, so that they can use the new certificates.');
    return out.join('\n') + '\n';
  }

  /** Test hook: re-issues `name` (or `all`) to expire `expiresInDays` from now; the running apiserver serves it at once. */
  setExpiry(host: LabHost, name: string, expiresInDays: number): { name: string; notAfter: string; serial: string }[] {
    const names = name === 'all' ? KUBEADM_CERTS.map((c) => c.name) : [name];
    const notAfter = new Date(Date.now() + expiresInDays * DAY);
    this.issue(host, names, new Date(notAfter.getTime() - CERT_VALIDITY_DAYS * DAY), notAfter);
    if (names.includes('apiserver')) this.endpoints?.reloadCertificate(host.name);
    return names.map((n) => {
      const info = certificateInfo(readCert(host, KUBEADM_CERTS.find((c) => c.name === n)!) ?? '')!;
      return { name: n, notAfter: info.notAfter.toISOString(), serial: info.serial };
    });
  }

  /** Test hook: every certificate of a control node as if issued `daysAgo` days ago, served at once. */
  setAge(host: LabHost, daysAgo: number): void {
    const notBefore = new Date(Date.now() - daysAgo * DAY);
    this.issue(host, KUBEADM_CERTS.map((c) => c.name), notBefore, new Date(notBefore.getTime() + CERT_VALIDITY_DAYS * DAY));
    this.endpoints?.reloadCertificate(host.name);
  }

  /** `kubeadm certs check-expiration [-o json|yaml]`, read from the host's files. */
  checkExpiration(host: LabHost, output?: string): string {
    const rows: Row[] = KUBEADM_CERTS.map((c) => ({ name: c.name, notAfter: certificateInfo(readCert(host, c) ?? '')?.notAfter, caName: c.ca, externallyManaged: false }));
    const cas: Row[] = (Object.keys(CA_FILES) as KubeadmCert['ca'][]).map((n) => ({
      name: n,
      notAfter: certificateInfo(fs.readFile(host, CA_FILES[n].crt) ?? '')?.notAfter,
      externallyManaged: fs.readFile(host, CA_FILES[n].key) === undefined,
    }));
    const now = Date.now();
    if (output === 'json' || output === 'yaml') {
      const entry = (r: Row): Record<string, unknown> => ({
        name: r.name,
        expirationDate: r.notAfter ? r.notAfter.toISOString().replace(/\.\d{3}Z$/, 'Z') : null,
        residualTime: r.notAfter ? Math.trunc((r.notAfter.getTime() - now) / 1000) : 0,
        externallyManaged: r.externallyManaged,
        ...(r.caName ? { caName: r.caName } : {}),
        missing: !r.notAfter,
      });
      const doc = { kind: 'CertificateExpirationInfo', apiVersion: 'output.kubeadm.k8s.io/v1alpha3', certificates: rows.map(entry), certificateAuthorities: cas.map(entry) };
      return output === 'json' ? JSON.stringify(doc, null, 4) + '\n' : stringify(doc);
    }
    const cells = (r: Row, withCa: boolean): string[] => {
      const name = r.notAfter ? r.name : `!MISSING! ${r.name}`;
      const when = r.notAfter ? [kubeadmDate(r.notAfter), shortHumanDuration(r.notAfter.getTime() - now)] : ['', ''];
      return [name, ...when, ...(withCa ? [r.caName ?? ''] : []), r.externallyManaged ? 'yes' : 'no'];
    };
    return [
      '[check-expiration] Reading configuration from the cluster...',
      "[check-expiration] FYI: You can look at this config file with 'kubectl -n kube-system get cm kubeadm-config -o yaml'",
      '',
      table(['CERTIFICATE', 'EXPIRES', 'RESIDUAL TIME', 'CERTIFICATE AUTHORITY', 'EXTERNALLY MANAGED'], rows.map((r) => cells(r, true))),
      '',
      table(['CERTIFICATE AUTHORITY', 'EXPIRES', 'RESIDUAL TIME', 'EXTERNALLY MANAGED'], cas.map((r) => cells(r, false))),
      '',
    ].join('\n');
  }
}

const CERT_FILE = { apiserver: KUBEADM_CERTS.find((c) => c.name === 'apiserver')!.file };

/** The certificate (PEM) of a kubeadm cert on a host: the .crt file, or the client certificate in the kubeconfig. */
function readCert(host: LabHost, cert: KubeadmCert): string | undefined {
  const text = fs.readFile(host, cert.file);
  if (text === undefined) return undefined;
  return cert.file.endsWith('.conf') ? kubeconfigClientCert(text) : text;
}

/** A tabwriter table as kubeadm prints it (three spaces of padding, trailing cells padded too). */
function table(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)) + 3);
  return [head, ...rows].map((r) => r.map((c, i) => c.padEnd(w[i]!)).join('').trimEnd()).join('\n');
}
