// Test helpers for the per-control-node API endpoints: one HTTPS request to a node's own address (a new TLS
// connection every time, so the certificate is the one served now), and polling until a condition holds.
import { request } from 'node:https';

/** What one request to a node's endpoint saw: the status (or the connection error) and the served certificate. */
export interface NodeAnswer {
  status: number | 'refused' | 'error';
  body: string;
  serial?: string;
  notAfter?: Date;
  /** The certificate's subjectAltName as Node prints it (`DNS:x, IP Address:y`). */
  sans?: string;
  error?: string;
}

/** GET `path` on address:port, verifying the server against `caPem` (hostname check on the IP SAN included). */
export function getNode(ep: { address: string; port: number }, path: string, caPem: string, token?: string): Promise<NodeAnswer> {
  return new Promise((resolve) => {
    const req = request(
      { host: ep.address, port: ep.port, path, ca: caPem, agent: false, timeout: 5000, headers: token ? { authorization: `Bearer ${token}` } : {} },
      (res) => {
        const cert = (res.socket as import('node:tls').TLSSocket).getPeerCertificate();
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, serial: cert.serialNumber?.toUpperCase(), notAfter: new Date(cert.valid_to), sans: cert.subjectaltname }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ status: err.code === 'ECONNREFUSED' ? 'refused' : 'error', body: '', error: `${err.code ?? ''} ${err.message}` }));
    req.end();
  });
}

/** Polls `probe` every 20 ms until `done` accepts its value; returns it, or throws naming `what` and the last value. */
export async function until<T>(what: string, probe: () => Promise<T> | T, done: (v: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await probe();
    if (done(last)) return last;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
