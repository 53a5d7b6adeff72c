// The certificate an API server actually serves, read by a TLS handshake (nothing is sent after it). It is
// reported even when it does not verify: an expired or foreign certificate is exactly what a check must show.
import { X509Certificate } from 'node:crypto';
import { request } from 'node:https';
import { checkServerIdentity, connect, type PeerCertificate } from 'node:tls';
import { type CertFacts, certFacts } from './x509.js';
import { ServedCertError } from './errors.js';

/** A served certificate and whether it verifies against the CA given (chain, validity dates and address). */
export interface ServedCert extends CertFacts {
  endpoint: string;
  /** True when it verifies against `ca` for the address dialled. */
  trusted: boolean;
  /** Why it does not verify (Node's code, e.g. CERT_HAS_EXPIRED, ERR_TLS_CERT_ALTNAME_INVALID). */
  verifyError?: string;
}

/** Options of a handshake. */
export interface HandshakeOptions {
  /** PEM of the CA to verify against (the cluster's ca.crt). Without it, `trusted` is false. */
  ca?: string;
  /** Name to send as SNI (never an IP address). */
  servername?: string;
  /** Names the certificate may be issued for besides the address dialled (the node's name). */
  altNames?: readonly string[];
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Handshakes with address:port and returns the leaf certificate it presented; throws ServedCertError when none. */
export function servedCertificate(address: string, port: number, opts: HandshakeOptions = {}): Promise<ServedCert> {
  const endpoint = `${address.includes(':') ? `[${address}]` : address}:${port}`;
  const timeoutMs = opts.timeoutMs ?? 5000;
  return new Promise<ServedCert>((resolve, reject) => {
    const fail = (why: string, cause?: unknown): void => {
      socket.destroy();
      reject(
        new ServedCertError(`no certificate from the API endpoint ${endpoint}: ${why}`, {
          cause,
          context: { endpoint, address, port },
          hint: 'check that the node is up and its kube-apiserver static pod runs (crictl ps on the node), and that the API port is right (inventory kubernetes.apiserverPort or the apiServer URL)',
        }),
      );
    };
    const socket = connect({
      host: address,
      port,
      ...(opts.ca ? { ca: opts.ca } : {}),
      // An IP address may not be sent as SNI; verification still checks it against the IP SANs.
      ...(opts.servername ? { servername: opts.servername } : {}),
      checkServerIdentity: identityCheck(address, opts.altNames),
      rejectUnauthorized: false,
      timeout: timeoutMs,
      ALPNProtocols: ['http/1.1'],
    });
    opts.signal?.addEventListener('abort', () => fail('interrupted'), { once: true });
    socket.once('secureConnect', () => {
      const peer = socket.getPeerCertificate(true) as PeerCertificate & { raw?: Buffer };
      if (!peer?.raw) return fail('the server presented no certificate');
      let facts: CertFacts;
      try {
        facts = certFacts(new X509Certificate(peer.raw));
      } catch (err) {
        return fail(`unreadable certificate: ${(err as Error).message}`, err);
      }
      const trusted = Boolean(opts.ca) && socket.authorized;
      const verifyError = trusted ? undefined : opts.ca ? String(socket.authorizationError ?? 'not verified') : 'no CA given';
      socket.end();
      socket.destroy();
      resolve({ ...facts, endpoint, trusted, ...(verifyError ? { verifyError } : {}) });
    });
    socket.once('timeout', () => fail(`no TLS handshake within ${timeoutMs} ms`));
    socket.once('error', (err: NodeJS.ErrnoException) => fail(err.code ?? err.message, err));
  });
}

/** Accepts a certificate issued for the address dialled or for one of `altNames` (a node's name). */
function identityCheck(address: string, altNames: readonly string[] = []): (host: string, cert: PeerCertificate) => Error | undefined {
  return (_host, cert) => {
    const first = checkServerIdentity(address, cert);
    if (!first) return undefined;
    return altNames.some((n) => !checkServerIdentity(n, cert)) ? undefined : first;
  };
}

/** What one look at a node's endpoint found: its certificate (when the handshake worked) and /readyz. */
export interface EndpointProbe {
  served?: ServedCert;
  /** HTTP status of GET /readyz; undefined when no answer came. */
  readyz?: number;
  /** Why there was no answer (ECONNREFUSED, a timeout, ...). */
  error?: string;
}

/** GET /readyz on address:port (anonymous, as a load balancer's health check) and the certificate it served. */
export function probeEndpoint(address: string, port: number, opts: HandshakeOptions = {}): Promise<EndpointProbe> {
  const endpoint = `${address.includes(':') ? `[${address}]` : address}:${port}`;
  const timeoutMs = opts.timeoutMs ?? 3000;
  return new Promise<EndpointProbe>((resolve) => {
    let served: ServedCert | undefined;
    let settled = false;
    const done = (p: EndpointProbe): void => {
      if (settled) return;
      settled = true;
      req.destroy();
      resolve(p);
    };
    const req = request({
      host: address,
      port,
      path: '/readyz',
      method: 'GET',
      agent: false,
      ...(opts.ca ? { ca: opts.ca } : {}),
      ...(opts.servername ? { servername: opts.servername } : {}),
      checkServerIdentity: identityCheck(address, opts.altNames),
      rejectUnauthorized: false,
      timeout: timeoutMs,
      signal: opts.signal,
    });
    req.once('socket', (socket) => {
      socket.once('secureConnect', () => {
        const tls = socket as import('node:tls').TLSSocket;
        const peer = tls.getPeerCertificate(true) as PeerCertificate & { raw?: Buffer };
        if (!peer?.raw) return;
        try {
          const trusted = Boolean(opts.ca) && tls.authorized;
          const verifyError = trusted ? undefined : opts.ca ? String(tls.authorizationError ?? 'not verified') : 'no CA given';
          served = { ...certFacts(new X509Certificate(peer.raw)), endpoint, trusted, ...(verifyError ? { verifyError } : {}) };
        } catch {
          // An unreadable certificate: reported as none served.
        }
      });
    });
    req.once('response', (res) => {
      res.resume();
      done({ served, readyz: res.statusCode });
    });
    req.once('timeout', () => done({ served, error: `no answer within ${timeoutMs} ms` }));
    req.once('error', (err: NodeJS.ErrnoException) => done({ served, error: err.code ?? err.message }));
    req.end();
  });
}
