// The lab's PKI: the cluster CA (also the etcd and front-proxy CAs kubeadm lists), the serving certificate of
// the 127.0.0.1 API listener, the kubeadm-style CA public key hash, and the per-control-node certificates
// kubeadm keeps under /etc/kubernetes (apiserver serving cert with the node's SANs, client certs, kubeconfigs).
// Everything is issued synchronously by ./x509.ts (a few hundred microseconds per certificate).
import { createHash, createPublicKey } from 'node:crypto';
import { type Issued, issueCertificate } from './x509.js';

/** The certificates and keys of one lab API server. */
export interface LabPki {
  caPem: string;
  /** The cluster CA's private key (PEM): stays in the lab process and on the control hosts' /etc/kubernetes/pki/ca.key. */
  caKeyPem: string;
  certPem: string;
  keyPem: string;
  /** `sha256:<hex>` of the CA's SubjectPublicKeyInfo (DER), as kubeadm prints it. */
  caCertHash: string;
  caNotAfter: Date;
  certNotAfter: Date;
  /** The CAs as issuers (cluster CA, etcd CA, front-proxy CA). */
  cas: { ca: Issued; 'etcd-ca': Issued; 'front-proxy-ca': Issued };
}

/** Days a kubeadm leaf certificate is valid (kubeadm's default). */
export const CERT_VALIDITY_DAYS = 365;
const DAY = 86400_000;

/** The in-cluster DNS names and service IP every kube-apiserver serving certificate carries. */
export const CLUSTER_SANS = ['kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local', '10.96.0.1'];

/** Generates the CAs and the 127.0.0.1 serving certificate (SAN IP 127.0.0.1, DNS localhost and the in-cluster names). */
export async function generatePki(clusterName = 'kubernetes'): Promise<LabPki> {
  const now = Date.now();
  const notBefore = new Date(now - 60_000);
  const caNotAfter = new Date(now + 10 * 365 * DAY);
  const certNotAfter = new Date(now + CERT_VALIDITY_DAYS * DAY);
  const ca = issueCertificate({ commonName: 'kubernetes', ca: true, notBefore, notAfter: caNotAfter });
  const etcdCa = issueCertificate({ commonName: 'etcd-ca', ca: true, notBefore, notAfter: caNotAfter });
  const frontProxyCa = issueCertificate({ commonName: 'front-proxy-ca', ca: true, notBefore, notAfter: caNotAfter });
  const cert = issueCertificate(
    { commonName: 'kube-apiserver', notBefore, notAfter: certNotAfter, usages: ['server'], sans: ['127.0.0.1', 'localhost', ...CLUSTER_SANS, `${clusterName}-api`] },
    ca,
  );
  const spki = createPublicKey(ca.certPem).export({ type: 'spki', format: 'der' });
  return {
    caPem: ca.certPem,
    caKeyPem: ca.keyPem,
    certPem: cert.certPem,
    keyPem: cert.keyPem,
    caCertHash: `sha256:${createHash('sha256').update(spki).digest('hex')}`,
    caNotAfter,
    certNotAfter,
    cas: { ca, 'etcd-ca': etcdCa, 'front-proxy-ca': frontProxyCa },
  };
}

/** A certificate kubeadm manages on a control node (the rows of `kubeadm certs check-expiration`). */
export interface KubeadmCert {
  name: string;
  /** The CA that signs it. */
  ca: 'ca' | 'etcd-ca' | 'front-proxy-ca';
  /** Certificate file (PKI certs) or kubeconfig file (embedded client certificate). */
  file: string;
  commonName: string;
  organization?: string[];
  usages: ('server' | 'client')[];
  /** What `kubeadm certs renew NAME` prints. */
  renewed: string;
}

const PKI = '/etc/kubernetes/pki';

/** kubeadm's certificates on a control node with external etcd, in check-expiration's order. */
export const KUBEADM_CERTS: readonly KubeadmCert[] = Object.freeze([
  { name: 'admin.conf', ca: 'ca', file: '/etc/kubernetes/admin.conf', commonName: 'kubernetes-admin', organization: ['kubeadm:cluster-admins'], usages: ['client'], renewed: 'certificate embedded in the kubeconfig file for the admin to use and for kubeadm itself renewed' },
  { name: 'apiserver', ca: 'ca', file: `${PKI}/apiserver.crt`, commonName: 'kube-apiserver', usages: ['server'], renewed: 'certificate for serving the Kubernetes API renewed' },
  { name: 'apiserver-etcd-client', ca: 'etcd-ca', file: `${PKI}/apiserver-etcd-client.crt`, commonName: 'kube-apiserver-etcd-client', usages: ['client'], renewed: 'certificate the apiserver uses to access etcd renewed' },
  { name: 'apiserver-kubelet-client', ca: 'ca', file: `${PKI}/apiserver-kubelet-client.crt`, commonName: 'kube-apiserver-kubelet-client', organization: ['kubeadm:cluster-admins'], usages: ['client'], renewed: 'certificate for the API server to connect to kubelet renewed' },
  { name: 'controller-manager.conf', ca: 'ca', file: '/etc/kubernetes/controller-manager.conf', commonName: 'system:kube-controller-manager', usages: ['client'], renewed: 'certificate embedded in the kubeconfig file for the controller manager to use renewed' },
  { name: 'front-proxy-client', ca: 'front-proxy-ca', file: `${PKI}/front-proxy-client.crt`, commonName: 'front-proxy-client', usages: ['client'], renewed: 'certificate for the front proxy client renewed' },
  { name: 'scheduler.conf', ca: 'ca', file: '/etc/kubernetes/scheduler.conf', commonName: 'system:kube-scheduler', usages: ['client'], renewed: 'certificate embedded in the kubeconfig file for the scheduler manager to use renewed' },
  { name: 'super-admin.conf', ca: 'ca', file: '/etc/kubernetes/super-admin.conf', commonName: 'kubernetes-super-admin', organization: ['system:masters'], usages: ['client'], renewed: 'certificate embedded in the kubeconfig file for the super-admin renewed' },
]);

/** The CA files kubeadm keeps (certificate, key) per CA name. */
export const CA_FILES: Record<KubeadmCert['ca'], { crt: string; key: string }> = {
  ca: { crt: `${PKI}/ca.crt`, key: `${PKI}/ca.key` },
  'etcd-ca': { crt: `${PKI}/etcd/ca.crt`, key: `${PKI}/etcd/ca.key` },
  'front-proxy-ca': { crt: `${PKI}/front-proxy-ca.crt`, key: `${PKI}/front-proxy-ca.key` },
};

/** Where a kubeconfig's user is named and which server it points at. */
const KUBECONFIG_USERS: Record<string, string> = {
  'admin.conf': 'kubernetes-admin',
  'super-admin.conf': 'kubernetes-super-admin',
  'controller-manager.conf': 'system:kube-controller-manager',
  'scheduler.conf': 'system:kube-scheduler',
};

/** A kubeadm kubeconfig with an embedded client certificate. */
export function clientKubeconfig(file: string, server: string, caPem: string, certPem: string, keyPem: string, clusterName: string): string {
  const user = KUBECONFIG_USERS[file.split('/').pop()!] ?? 'kubernetes-admin';
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  return [
    'apiVersion: v1',
    'clusters:',
    '- cluster:',
    `    certificate-authority-data: ${b64(caPem)}`,
    `    server: ${server}`,
    `  name: ${clusterName}`,
    'contexts:',
    '- context:',
    `    cluster: ${clusterName}`,
    `    user: ${user}`,
    `  name: ${user}@${clusterName}`,
    `current-context: ${user}@${clusterName}`,
    'kind: Config',
    'preferences: {}',
    'users:',
    `- name: ${user}`,
    '  user:',
    `    client-certificate-data: ${b64(certPem)}`,
    `    client-key-data: ${b64(keyPem)}`,
    '',
  ].join('\n');
}

/** The client certificate (PEM) embedded in a kubeconfig, if any. */
export function kubeconfigClientCert(text: string): string | undefined {
  const m = /client-certificate-data:\s*(\S+)/.exec(text);
  return m ? Buffer.from(m[1]!, 'base64').toString('utf8') : undefined;
}

/** Issues one kubeadm certificate of a node: the files to write (path -> content). */
export function issueKubeadmCert(
  pki: LabPki,
  cert: KubeadmCert,
  o: { address: string; hostname: string; sans: string[]; server: string; clusterName: string; notBefore: Date; notAfter: Date },
): Map<string, string> {
  const issuer = pki.cas[cert.ca];
  const sans = cert.name === 'apiserver' ? [...new Set([o.hostname, ...CLUSTER_SANS, o.address, '127.0.0.1', 'localhost', ...o.sans])] : undefined;
  const issued = issueCertificate({ commonName: cert.commonName, organization: cert.organization, notBefore: o.notBefore, notAfter: o.notAfter, usages: cert.usages, sans }, issuer);
  if (cert.file.endsWith('.conf')) return new Map([[cert.file, clientKubeconfig(cert.file, o.server, pki.caPem, issued.certPem, issued.keyPem, o.clusterName)]]);
  return new Map([
    [cert.file, issued.certPem],
    [cert.file.replace(/\.crt$/, '.key'), issued.keyPem],
  ]);
}
