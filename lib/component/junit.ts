// bats' JUnit report (`bats --formatter junit`), read: one <testcase> per test with its file (classname), time
// and a <failure> or <skipped> element. bats writes it in a fixed shape, so a small reader suffices; what it
// cannot account for (a report without its closing tag, counts that disagree with the test cases) is
// reported as incomplete rather than guessed.
import type { TapResult } from './bats.js';

/** One test case of the report, in the shape of a TAP result (plus its file). */
export interface JunitResult extends TapResult {
  file: string;
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** Decodes XML character references and the five predefined entities. */
export function xmlUnescape(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|lt|gt|amp|quot|apos);/g, (_m, e: string) =>
    e.startsWith('#x') ? String.fromCodePoint(parseInt(e.slice(2), 16)) : e.startsWith('#') ? String.fromCodePoint(Number(e.slice(1))) : ENTITIES[e]!,
  );
}

function attrs(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of tag.matchAll(/([\w:-]+)="([^"]*)"/g)) out[m[1]!] = xmlUnescape(m[2]!);
  return out;
}

/**
 * Parses a bats JUnit report. `complete` is false when the report ends early (no </testsuites>) or a suite's
 * tests= count differs from its test cases: the results are then not the whole run.
 */
export function parseJunit(xml: string): { complete: boolean; results: JunitResult[] } {
  const results: JunitResult[] = [];
  let complete = /<\/testsuites>\s*$/.test(xml);
  for (const suite of xml.matchAll(/<testsuite\b([^>]*)>([\s\S]*?)<\/testsuite>/g)) {
    const declared = Number(attrs(suite[1]!).tests ?? NaN);
    let seen = 0;
    // A test case is either self-closing or has a body (failure, skipped, system-out).
    for (const tc of suite[2]!.matchAll(/<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g)) {
      seen++;
      const a = attrs(tc[1]!);
      const body = tc[3] ?? '';
      const failure = /<(failure|error)\b[^>]*>([\s\S]*?)<\/\1>|<(failure|error)\b[^>]*\/>/.exec(body);
      const skipped = /<skipped\b/.test(body);
      const seconds = Number(a.time);
      results.push({
        number: results.length + 1,
        name: a.name ?? '',
        file: a.classname ?? '',
        ok: !failure,
        skipped,
        durationMs: Number.isFinite(seconds) ? Math.round(seconds * 1000) : undefined,
        diagnostics: failure?.[2] ? xmlUnescape(failure[2]).split('\n') : [],
      });
    }
    if (seen !== declared) complete = false;
  }
  return { complete, results };
}
