// `kubeadm certs check-expiration`: structured output (`-o json|yaml`, kind CertificateExpirationInfo of
// output.kubeadm.k8s.io/v1alpha3) exists from kubeadm 1.30 (kubernetes PR 123372); older kubeadm prints only
// the table, and rejects `-o` ("unknown shorthand flag: 'o'"). Both are read into one shape here.
import { parse as parseYaml } from 'yaml';
import { KubeadmCertsOutputError } from './errors.js';

/** One row of kubeadm's list: a certificate, or a certificate authority (`authority: true`). */
export interface KubeadmCert {
  name: string;
  /** ISO time; null when the file is missing. The table form has minute precision. */
  notAfter: string | null;
  /** Seconds left as kubeadm computed them (the table's "360d" is read from notAfter instead: it is coarser). */
  residualSeconds: number | null;
  /** The CA that signed it (certificates only; "" when kubeadm shows none). */
  caName: string;
  externallyManaged: boolean;
  missing: boolean;
  authority: boolean;
}

/** kubeadm's whole list and the form it came in. */
export interface ExpirationList {
  format: 'json' | 'yaml' | 'text';
  certificates: KubeadmCert[];
  authorities: KubeadmCert[];
}

/** The first kubeadm minor with `check-expiration -o json|yaml`. */
export const STRUCTURED_OUTPUT_SINCE = { major: 1, minor: 30 } as const;

/** Whether a kubeadm version (v1.30.2, 1.29.4) has structured check-expiration output; unknown: try it. */
export function hasStructuredOutput(version: string | undefined): boolean {
  const m = /^v?(\d+)\.(\d+)/.exec(version ?? '');
  if (!m) return true;
  const [maj, min] = [Number(m[1]), Number(m[2])];
  return maj > STRUCTURED_OUTPUT_SINCE.major || (maj === STRUCTURED_OUTPUT_SINCE.major && min >= STRUCTURED_OUTPUT_SINCE.minor);
}

/** The command that lists the certificates (JSON where kubeadm has it). */
export function checkExpirationCommand(structured: boolean): string[] {
  return structured ? ['kubeadm', 'certs', 'check-expiration', '-o', 'json'] : ['kubeadm', 'certs', 'check-expiration'];
}

/** True when kubeadm refused `-o` (an older kubeadm): run the table form instead. */
export function rejectedOutputFlag(stderr: string): boolean {
  return /unknown (shorthand )?flag:? .*(?:'o'|-o\b|--output|--experimental-output)/.test(stderr);
}

/** Reads check-expiration's stdout in whichever form it came. `now` turns table dates into residual seconds. */
export function parseCheckExpiration(stdout: string, now: number = Date.now()): ExpirationList {
  // kubeadm may print "[check-expiration] ..." progress lines before the document.
  const body = stdout
    .split('\n')
    .filter((l) => !/^\[[a-z-]+\]/.test(l))
    .join('\n')
    .trim();
  if (body.startsWith('{')) return fromStructured(parseJson(body), 'json');
  if (/^(kind|apiVersion|certificates|certificateAuthorities):/m.test(body) && !/^CERTIFICATE\s/m.test(body)) {
    let doc: unknown;
    try {
      doc = parseYaml(body);
    } catch (err) {
      throw outputError(`YAML: ${(err as Error).message}`, stdout, err);
    }
    return fromStructured(doc, 'yaml');
  }
  return parseTable(stdout, now);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw outputError(`JSON: ${(err as Error).message}`, text, err);
  }
}

function outputError(problem: string, stdout: string, cause?: unknown): KubeadmCertsOutputError {
  return new KubeadmCertsOutputError(`cannot read the output of kubeadm certs check-expiration (${problem})`, {
    cause,
    context: { command: 'kubeadm certs check-expiration', output: stdout.slice(0, 400) },
    hint: 'run `kubeadm certs check-expiration` on the node by hand; a kubeadm this tool does not know may print another format',
  });
}

interface RawCert {
  name?: unknown;
  expirationDate?: unknown;
  residualTime?: unknown;
  externallyManaged?: unknown;
  caName?: unknown;
  missing?: unknown;
}

function fromStructured(doc: unknown, format: 'json' | 'yaml'): ExpirationList {
  const d = doc as { kind?: unknown; certificates?: unknown; certificateAuthorities?: unknown } | null;
  if (!d || typeof d !== 'object' || !Array.isArray(d.certificates)) throw outputError(`no "certificates" list in the ${format}`, JSON.stringify(doc ?? null));
  const one = (c: RawCert, authority: boolean): KubeadmCert => {
    if (typeof c.name !== 'string' || !c.name) throw outputError(`an entry without a name in the ${format}`, JSON.stringify(c));
    const missing = c.missing === true;
    const date = typeof c.expirationDate === 'string' && !missing ? new Date(c.expirationDate) : undefined;
    if (date && Number.isNaN(date.getTime())) throw outputError(`expirationDate ${JSON.stringify(c.expirationDate)} of ${c.name}`, JSON.stringify(c));
    return {
      name: c.name,
      notAfter: date ? date.toISOString() : null,
      residualSeconds: typeof c.residualTime === 'number' && !missing ? c.residualTime : null,
      caName: typeof c.caName === 'string' ? c.caName : '',
      externallyManaged: c.externallyManaged === true,
      missing,
      authority,
    };
  };
  const cas = Array.isArray(d.certificateAuthorities) ? d.certificateAuthorities : [];
  return { format, certificates: (d.certificates as RawCert[]).map((c) => one(c, false)), authorities: (cas as RawCert[]).map((c) => one(c, true)) };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** kubeadm's table date ("Jan 02, 2006 15:04 MST", always UTC in practice) as ISO; null when unreadable. */
export function parseTableDate(text: string): string | null {
  const m = /^([A-Z][a-z]{2}) (\d{1,2}), (\d{4}) (\d{2}):(\d{2}) (UTC|GMT)$/.exec(text.trim());
  if (m) {
    const month = MONTHS.indexOf(m[1]!);
    if (month < 0) return null;
    return new Date(Date.UTC(Number(m[3]), month, Number(m[2]), Number(m[4]), Number(m[5]))).toISOString();
  }
  const t = Date.parse(text);
  return Number.isNaN(t) ? null : new Date(t).toISOString();
}

/** Column start offsets of a tabwriter header: each title's position in the header line. */
function columns(header: string, titles: readonly string[]): number[] {
  let from = 0;
  return titles.map((t) => {
    const at = header.indexOf(t, from);
    from = at + t.length;
    return at;
  });
}

function parseTable(stdout: string, now: number): ExpirationList {
  const lines = stdout.split('\n');
  const certHead = lines.findIndex((l) => /^CERTIFICATE\s+EXPIRES\s+RESIDUAL TIME\s+CERTIFICATE AUTHORITY/.test(l));
  if (certHead < 0) throw outputError('no CERTIFICATE table', stdout);
  const caHead = lines.findIndex((l) => /^CERTIFICATE AUTHORITY\s+EXPIRES\s+RESIDUAL TIME/.test(l));
  const section = (head: number, titles: readonly string[], authority: boolean): KubeadmCert[] => {
    const cols = columns(lines[head]!, titles);
    if (cols.some((c) => c < 0)) throw outputError(`unexpected table header ${JSON.stringify(lines[head])}`, stdout);
    const out: KubeadmCert[] = [];
    for (let i = head + 1; i < lines.length && lines[i]!.trim() !== ''; i++) {
      const line = lines[i]!;
      if (/^CERTIFICATE/.test(line)) break;
      const missing = /^!MISSING!\s+(\S+)/.exec(line);
      if (missing) {
        out.push({ name: missing[1]!, notAfter: null, residualSeconds: null, caName: '', externallyManaged: false, missing: true, authority });
        continue;
      }
      const cell = (k: number): string => line.slice(cols[k]!, k + 1 < cols.length ? cols[k + 1] : undefined).trim();
      const name = cell(0);
      const notAfter = parseTableDate(cell(1));
      if (!name || !notAfter) throw outputError(`unreadable row ${JSON.stringify(line)}`, stdout);
      const caName = authority ? '' : cell(3);
      const managed = cell(authority ? 3 : 4);
      out.push({ name, notAfter, residualSeconds: Math.round((Date.parse(notAfter) - now) / 1000), caName, externallyManaged: managed === 'yes', missing: false, authority });
    }
    return out;
  };
  const certificates = section(certHead, ['CERTIFICATE', 'EXPIRES', 'RESIDUAL TIME', 'CERTIFICATE AUTHORITY', 'EXTERNALLY MANAGED'], false);
  const authorities = caHead >= 0 ? section(caHead, ['CERTIFICATE AUTHORITY', 'EXPIRES', 'RESIDUAL TIME', 'EXTERNALLY MANAGED'], true) : [];
  return { format: 'text', certificates, authorities };
}
