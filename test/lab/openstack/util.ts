// Small helpers for the lab OpenStack tests.

/** Polls `cond` every 20 ms until it is true or `timeoutMs` passes. */
export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 10000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The lines of the last fingerprint and key blocks of a console log, with syslog prefixes removed. */
export function parseConsoleHostKeysForTest(output: string): { fingerprints: string[]; keys: string[] } {
  const lines = output.split('\n').map((l) => l.replace(/^<\d+>\w{3} [ \d]\d \d\d:\d\d:\d\d ec2: /, ''));
  const block = (begin: string, end: string): string[] => {
    const i = lines.lastIndexOf(begin);
    const j = lines.indexOf(end, i);
    return i < 0 || j < 0 ? [] : lines.slice(i + 1, j);
  };
  return {
    fingerprints: block('-----BEGIN SSH HOST KEY FINGERPRINTS-----', '-----END SSH HOST KEY FINGERPRINTS-----'),
    keys: block('-----BEGIN SSH HOST KEY KEYS-----', '-----END SSH HOST KEY KEYS-----'),
  };
}
