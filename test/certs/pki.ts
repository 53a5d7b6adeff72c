// Test PKI made by the real openssl binary: a CA and leaf certificates for 127.0.0.1 with a chosen lifetime.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A CA and a way to issue leaves from it. */
export interface TestPki {
  caPem: string;
  /** A serving certificate for `ip` valid `days` days, and its key. */
  leaf(ip: string, days: number): { certPem: string; keyPem: string };
  dispose(): void;
}

function openssl(dir: string, args: string[]): void {
  try {
    execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  } catch (err) {
    throw new Error(`openssl ${args.join(' ')} failed (install it: apt-get install openssl): ${(err as Error).message}`);
  }
}

/** Makes a CA in a temp dir. */
export function makePki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'cc-certs-pki-'));
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl(dir, ['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '30', '-subj', '/CN=test-ca']);
  let n = 0;
  return {
    caPem: readFileSync(join(dir, 'ca.crt'), 'utf8'),
    leaf(ip, days) {
      const base = `leaf${++n}`;
      writeFileSync(join(dir, `${base}.ext`), `subjectAltName=IP:${ip},DNS:localhost\nextendedKeyUsage=serverAuth\n`);
      openssl(dir, ['req', ...ec, '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', '/CN=kube-apiserver']);
      openssl(dir, ['x509', '-req', '-in', `${base}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${base}.crt`, '-days', String(days), '-extfile', `${base}.ext`]);
      return { certPem: readFileSync(join(dir, `${base}.crt`), 'utf8'), keyPem: readFileSync(join(dir, `${base}.key`), 'utf8') };
    },
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}
