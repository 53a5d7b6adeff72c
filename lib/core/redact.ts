// Secrets redaction. Two layers: exact values registered at run time (a kubeadm token we just created, a
// certificate key, a password read from clouds.yaml) and patterns for secrets we never saw (bearer tokens,
// private keys, kubeadm token and certificate-key shapes, values of keys named like password/token/secret).
// Console, log file, journal, JSON result and announcements all pass through here.

/** What replaces a secret. */
export const REDACTED = '[REDACTED]';

const registered = new Set<string>();
// Bumped whenever the registered set changes, so callers that cache redacted text (the journal) know when
// text redacted earlier may now hold a newly registered secret and must be redacted again.
let generation = 0;

/** Registers a secret value so that it is masked wherever it appears later (values shorter than 4 are ignored). */
export function registerSecret(value: string | undefined | null): void {
  if (typeof value === 'string' && value.length >= 4 && !registered.has(value)) {
    registered.add(value);
    generation++;
  }
}

/** Forgets registered secrets (tests). */
export function clearSecrets(): void {
  registered.clear();
  generation++;
}

/** A number that changes whenever the set of registered secrets changes (for caches of redacted text). */
export function secretsGeneration(): number {
  return generation;
}

const patterns: [RegExp, string | ((m: string, ...g: string[]) => string)][] = [
  // PEM private keys (RSA, EC, OPENSSH, PKCS#8, encrypted).
  [/-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?(-----END \1PRIVATE KEY-----|$)/g, REDACTED],
  // HTTP authorisation headers and bearer tokens.
  // The credential must contain a digit, a capital or a symbol, so prose ("Basic authentication") survives.
  [/\b([Bb]earer|[Bb]asic|BEARER|BASIC)\s+(?=[A-Za-z0-9._~+/=-]*[0-9A-Z._~+/=])[A-Za-z0-9._~+/=-]{8,}/g, (_m, kind: string) => `${kind} ${REDACTED}`],
  // kubeadm bootstrap tokens: [a-z0-9]{6}.[a-z0-9]{16}.
  [/\b[a-z0-9]{6}\.[a-z0-9]{16}\b/g, REDACTED],
  // kubeadm certificate keys (64 hex chars) after the flag or in a key=value.
  [/(certificate[-_]?key["']?\s*[=:]?\s*["']?)[0-9a-f]{64}/gi, (_m, p: string) => `${p}${REDACTED}`],
  // OpenStack tokens in headers.
  [/(X-(?:Auth|Subject)-Token["']?\s*[:=]\s*["']?)[A-Za-z0-9_-]{16,}/gi, (_m, p: string) => `${p}${REDACTED}`],
  // key=value and "key": "value" where the key names a secret. The key is a whole word (not the end of a path
  // such as /etc/passwd), and a quote after it only counts when the same quote opens it: in
  // `invalid hostname "../../etc/passwd": must be ...` the quote closes a value, and "must" is no secret.
  [
    /(?<![\w./-])((["']?)[A-Za-z0-9_-]*(?:password|passwd|secret|token|api[-_]?key|private[-_]?key|credential)[A-Za-z_-]*\2\s*[=:]\s*["']?)([^\s"',}&]+)/gi,
    (_m, p: string) => `${p}${REDACTED}`,
  ],
  // URLs with user:password@.
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:)[^@\s/]+@/gi, (_m, p: string) => `${p}${REDACTED}@`],
];

// What every pattern above needs somewhere in the text (a superset: a match here only means "run them").
const MIGHT_HOLD_SECRET = /private[-_ ]?key|bearer|basic|[a-z0-9]{6}\.[a-z0-9]{16}|certificate|x-(?:auth|subject)-token|password|passwd|secret|token|api[-_]?key|credential|:\/\//i;

/** Masks every registered secret and every secret-shaped substring of `text`. */
export function redactText(text: string): string {
  let out = text;
  for (const secret of registered) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  // One test first: most strings a run records (names, times, messages) contain no word any pattern needs,
  // and running every pattern over each of them was most of the CPU of a big rolling reboot's journal.
  if (!MIGHT_HOLD_SECRET.test(out)) return out;
  for (const [re, replacement] of patterns) {
    out = out.replace(re, replacement as string);
  }
  return out;
}

const SECRET_KEY = /(password|passwd|secret|token|api[-_]?key|private[-_]?key|privatekey|certificate[-_]?key|certificatekey|credential|authorization)/i;

/** True when an object key names a secret (its value is masked whatever it is). */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/** A deep copy of `value` with secret-named keys masked and every string redacted. */
export function redactValue<T>(value: T, seen = new WeakSet<object>()): T {
  if (typeof value === 'string') return redactText(value) as T;
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value as object)) return '[Circular]' as T;
  seen.add(value as object);
  if (Array.isArray(value)) return value.map((v) => redactValue(v, seen)) as T;
  if (value instanceof Error) return { class: value.name, message: redactText(value.message) } as T;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = redactEntry(k, v, seen);
  return out as T;
}

/** The redacted value of one object entry: masked whole when its key names a secret. */
export function redactEntry(key: string, value: unknown, seen = new WeakSet<object>()): unknown {
  return isSecretKey(key) && value !== undefined && value !== null && value !== '' && typeof value !== 'boolean' ? REDACTED : redactValue(value, seen);
}
