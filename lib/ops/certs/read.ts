// Reading one control node's certificates: kubeadm's list (JSON where kubeadm has `-o`, else the table),
// apiserver.crt and ca.crt over SSH (a `cat` of the PEM: openssl need not be installed on the node), and the
// certificate the node's own API endpoint serves, verified against that ca.crt. Reads only; a part that cannot
// be read is recorded as an error of the node, so one bad node never hides the others.
import type { Context } from '../../core/context.js';
import { messageOf } from '../../core/errors.js';
import { type NodeEndpoint, endpointText } from '../../certs/endpoint.js';
import { nodeApiEndpoint } from './endpoint.js';
import { type ExpirationList, checkExpirationCommand, parseCheckExpiration, rejectedOutputFlag } from '../../certs/expiration.js';
import type { NodeCerts } from '../../certs/report.js';
import { type EndpointProbe, probeEndpoint, servedCertificate } from '../../certs/served.js';
import { type CertFacts, certFacts, parsePemCertificates } from '../../certs/x509.js';
import { KubeadmCertsOutputError } from '../../certs/errors.js';

/** kubeadm's PKI directory on a control node. */
export const PKI_DIR = '/etc/kubernetes/pki';
/** The API server's serving certificate on disk. */
export const APISERVER_CRT = `${PKI_DIR}/apiserver.crt`;
/** The cluster CA on disk. */
export const CA_CRT = `${PKI_DIR}/ca.crt`;

/** The PEM files of a node that a renewal compares with: apiserver.crt and the cluster CA. */
export interface DiskCerts {
  apiserver: CertFacts;
  caPem: string;
}

/** Reads apiserver.crt and ca.crt of a node over SSH. */
export async function readDiskCerts(ctx: Context, node: string): Promise<DiskCerts> {
  const remote = await ctx.remote();
  const sudo = ctx.cluster.ssh.sudo;
  const [crt, ca] = await Promise.all([remote.query(node, ['cat', APISERVER_CRT], { sudo }), remote.query(node, ['cat', CA_CRT], { sudo })]);
  const apiserver = parsePemCertificates(crt.stdout, `${node}:${APISERVER_CRT}`)[0];
  if (!apiserver) {
    throw new KubeadmCertsOutputError(`${node}:${APISERVER_CRT} holds no certificate`, { context: { host: node, path: APISERVER_CRT, command: crt.command }, hint: `restore it: kubeadm certs renew apiserver on ${node}` });
  }
  if (parsePemCertificates(ca.stdout, `${node}:${CA_CRT}`).length === 0) {
    throw new KubeadmCertsOutputError(`${node}:${CA_CRT} holds no certificate`, { context: { host: node, path: CA_CRT, command: ca.command }, hint: `copy the cluster CA back to ${CA_CRT} from another control node` });
  }
  return { apiserver: certFacts(apiserver), caPem: ca.stdout };
}

/** kubeadm's list on a node: `-o json` first (kubeadm >= 1.30); an older kubeadm refusing `-o` gets the table form. */
export async function readKubeadmList(ctx: Context, node: string): Promise<ExpirationList> {
  const remote = await ctx.remote();
  const sudo = ctx.cluster.ssh.sudo;
  const structured = await remote.query(node, checkExpirationCommand(true), { sudo, okExitCodes: 'any' });
  let r = structured;
  if (structured.exitCode !== 0 && rejectedOutputFlag(structured.stderr)) r = await remote.query(node, checkExpirationCommand(false), { sudo, okExitCodes: 'any' });
  if (r.exitCode !== 0) {
    throw new KubeadmCertsOutputError(`kubeadm certs check-expiration failed on ${node} (exit ${r.exitCode}): ${r.stderr.trim().split('\n')[0] ?? ''}`, {
      context: { host: node, command: r.command, exitStatus: r.exitCode, stderr: r.stderr.slice(0, 400) },
      hint: `run it by hand on ${node}; a control node needs /etc/kubernetes/admin.conf and the PKI under ${PKI_DIR}`,
    });
  }
  return parseCheckExpiration(r.stdout, ctx.clock.now());
}

/** Everything a check reads on one control node; failures become the node's errors. */
export async function readNodeCerts(ctx: Context, node: string, timeoutMs = 5000): Promise<NodeCerts> {
  const errors: string[] = [];
  const guard = async <T>(what: string, fn: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await fn();
    } catch (err) {
      errors.push(`${what}: ${messageOf(err)}`);
      return undefined;
    }
  };
  const [endpoint, kubeadm, disk] = await Promise.all([
    guard('API endpoint', () => nodeApiEndpoint(ctx, node)),
    guard('kubeadm certs check-expiration', () => readKubeadmList(ctx, node)),
    guard('certificate files', () => readDiskCerts(ctx, node)),
  ]);
  const served = endpoint && (await guard('served certificate', () => servedCertificate(endpoint.address, endpoint.port, { ca: disk?.caPem, altNames: [node], timeoutMs, signal: ctx.signal })));
  return { node, endpoint: endpoint ? endpointText(endpoint) : '?', ...(kubeadm ? { kubeadm } : {}), ...(disk ? { disk: disk.apiserver } : {}), ...(served ? { served } : {}), errors };
}

/** One /readyz probe of a node's own endpoint (its certificate verified against `caPem`). */
export function probeNode(endpoint: NodeEndpoint, caPem: string, signal?: AbortSignal): Promise<EndpointProbe> {
  return probeEndpoint(endpoint.address, endpoint.port, { ca: caPem, altNames: [endpoint.node], timeoutMs: 2000, signal });
}
