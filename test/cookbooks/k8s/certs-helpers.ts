// What the certificate cookbook tests look at, read with real clients and the lab's own state (never our
// lib/certs code): a node:tls handshake with a control node's endpoint, the PEM file on the lab host,
// HAProxy's own `show stat` over its real admin socket, and a client loop through HAProxy.
import { X509Certificate } from 'node:crypto';
import { request } from 'node:https';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { TestLab } from '../../helpers/lab.js';

/** Serial and NotAfter of what a control node's own endpoint serves (node:tls, no verification). */
export function servedByNode(lab: TestLab, node: string): Promise<{ serial: string; notAfter: string }> {
  const ep = lab.world.apiserverEndpoint(node);
  if (!ep) throw new Error(`${node} has no API endpoint in the lab`);
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: ep.address, port: ep.port, rejectUnauthorized: false }, () => {
      const c = new X509Certificate(s.getPeerCertificate(true).raw);
      s.destroy();
      resolve({ serial: c.serialNumber.replace(/^0+/, ''), notAfter: new Date(c.validTo).toISOString() });
    });
    s.once('error', reject);
  });
}

/** Serial and NotAfter of /etc/kubernetes/pki/apiserver.crt on the lab host. */
export function onDisk(lab: TestLab, node: string): { serial: string; notAfter: string } {
  const pem = lab.world.hosts.get(node)!.files.get('/etc/kubernetes/pki/apiserver.crt')!;
  const c = new X509Certificate(pem);
  return { serial: c.serialNumber.replace(/^0+/, ''), notAfter: new Date(c.validTo).toISOString() };
}

/** Files of a lab host under a directory (names only). */
export function filesUnder(lab: TestLab, node: string, dir: string): string[] {
  return [...lab.world.hosts.get(node)!.files.keys()].filter((f) => f.startsWith(`${dir}/`)).map((f) => f.slice(dir.length + 1)).sort();
}

async function adminSocket(lab: TestLab, command: string): Promise<string> {
  const lb = lab.loadBalancers.hosts[0]!;
  const path = lab.loadBalancers.haproxy!.socketPath(lb, '/run/haproxy/admin.sock');
  if (!path) throw new Error(`no admin socket for ${lb.name}`);
  return new Promise<string>((resolve, reject) => {
    let out = '';
    const s = netConnect(path, () => s.end(`${command}\n`));
    s.on('data', (d) => (out += d.toString()));
    s.once('end', () => resolve(out));
    s.once('error', reject);
  });
}

/** HAProxy's status of each server of backend k8s-api on the first LB (UP, DRAIN, DOWN, MAINT ...), by `show stat`. */
export async function lbStatus(lab: TestLab): Promise<Record<string, string>> {
  const rows = (await adminSocket(lab, 'show stat')).split('\n').filter((l) => l.startsWith('k8s-api,') && !/,(FRONTEND|BACKEND),/.test(l));
  return Object.fromEntries(rows.map((l) => l.split(',')).map((f) => [f[1]!, f[17]!]));
}

/** Whether the first LB has the server in drain (admin state, whatever its health): `show servers state`. */
export async function lbDrained(lab: TestLab, server: string): Promise<boolean> {
  const line = (await adminSocket(lab, 'show servers state k8s-api')).split('\n').find((l) => l.split(' ')[3] === server);
  if (!line) throw new Error(`k8s-api/${server} is not in show servers state`);
  // srv_admin_state: 0x08 forced drain, 0x10 drain inherited.
  return (Number(line.split(' ')[6]) & 0x18) !== 0;
}

/** Requests through the lab's kubeconfig server (the first LB) until stopped: failures and the worst latency. */
export function clientLoop(lab: TestLab, timeoutMs = 2000): { stop(): Promise<{ requests: number; failures: number; worstMs: number; errors: string[] }> } {
  const kc = parse(readFileSync(lab.kubeconfig, 'utf8')) as { clusters: { cluster: { server: string; 'certificate-authority-data': string } }[] };
  const server = kc.clusters[0]!.cluster.server;
  const ca = Buffer.from(kc.clusters[0]!.cluster['certificate-authority-data'], 'base64').toString('utf8');
  let stopping = false;
  const stats = { requests: 0, failures: 0, worstMs: 0, errors: [] as string[] };
  const once = (): Promise<void> =>
    new Promise((resolve) => {
      const t = Date.now();
      const done = (error?: string): void => {
        stats.requests++;
        stats.worstMs = Math.max(stats.worstMs, Date.now() - t);
        if (error) {
          stats.failures++;
          if (stats.errors.length < 20) stats.errors.push(error);
        }
        resolve();
      };
      // A new connection per request, as `kubectl get` run in a loop would open.
      const req = request(new URL('/api/v1/namespaces/kube-system/pods?limit=1', server), { agent: false, ca, timeout: timeoutMs, headers: { authorization: `Bearer ${lab.kube.token}` } }, (res) => {
        res.resume();
        res.once('end', () => done(res.statusCode === 200 ? undefined : `HTTP ${res.statusCode}`));
      });
      req.once('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
      req.once('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
      req.end();
    });
  const loop = (async () => {
    while (!stopping) {
      await once();
      // Pacing, not waiting for a state: about 50 requests a second.
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    async stop() {
      stopping = true;
      await loop;
      return stats;
    },
  };
}
