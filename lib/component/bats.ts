// Functional tests with Debian's bats: tests are selected by tag with bats' own semantics (repeated
// --filter-tags OR, commas AND, `!` negates), run with timing, and the results are read from bats' JUnit
// report (`--formatter junit`: file, time and failure text per test) or its TAP stream (`--formatter tap`),
// never by grepping for " 0 failures". bats 1.8 has no --filter-tags, so the selection is computed here from
// the `# bats file_tags=` / `# bats test_tags=` lines and passed as an exact --filter. (Its
// --report-formatter junit writes an empty report when --filter is given, so the JUnit report is the
// formatter's own output on stdout.)
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { BatsError } from './errors.js';
import { parseJunit } from './junit.js';
import type { TestResult } from './release.js';

/** One test case found in a .bats file. */
export interface BatsTest {
  file: string;
  name: string;
  /** The name as written between the quotes (bats' --filter matches this form: `\"` stays escaped). */
  source?: string;
  line: number;
  tags: string[];
}

/** Parses the tests of one .bats file with their tags (file_tags apply to every test, test_tags to the next). */
export function parseBatsFile(text: string, file: string): BatsTest[] {
  const out: BatsTest[] = [];
  let fileTags: string[] = [];
  let next: string[] = [];
  const split = (v: string): string[] => v.split(',').map((t) => t.trim()).filter(Boolean);
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    const ft = /^#\s*bats\s+file_tags=(.*)$/.exec(line);
    if (ft) fileTags = split(ft[1]!);
    const tt = /^#\s*bats\s+test_tags=(.*)$/.exec(line);
    if (tt) next = [...next, ...split(tt[1]!)];
    const t = /^@test\s+(?:"((?:[^"\\]|\\.)*)"|'([^']*)')\s*\{/.exec(line);
    if (t) {
      out.push({ file, name: t[1] !== undefined ? t[1].replace(/\\(.)/g, '$1') : t[2]!, source: t[1] ?? t[2]!, line: i + 1, tags: [...new Set([...fileTags, ...next])] });
      next = [];
    }
  });
  return out;
}

/** Whether a test's tags match bats filters: any filter matches (OR); within one, every comma term (AND); `!t` excludes. */
export function matchesTagFilters(tags: readonly string[], filters: readonly string[]): boolean {
  if (filters.length === 0) return true;
  return filters.some((f) => {
    const terms = f.split(',').map((t) => t.trim()).filter(Boolean);
    if (terms.length === 0) return tags.length === 0;
    return terms.every((t) => (t.startsWith('!') ? !tags.includes(t.slice(1)) : tags.includes(t)));
  });
}

/** Every .bats file under a directory, recursively, sorted. */
export function findBatsFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...findBatsFiles(p));
    else if (e.name.endsWith('.bats')) out.push(p);
  }
  return out;
}

/** The tests of a repository's functional-tests/ that the filters select, in run order. */
export function selectTests(root: string, filters: readonly string[]): BatsTest[] {
  return findBatsFiles(join(root, 'functional-tests')).flatMap((f) => parseBatsFile(readFileSync(f, 'utf8'), relative(root, f)).filter((t) => matchesTagFilters(t.tags, filters)));
}

/** One line of the TAP stream, read. */
export interface TapResult {
  number: number;
  name: string;
  ok: boolean;
  skipped: boolean;
  durationMs?: number;
  /** The diagnostic lines after a failed test. */
  diagnostics: string[];
}

/** Parses bats' TAP output (with --timing: "in 12ms", or "# in 12 ms" through bats' TAP formatter): plan, ok / not ok lines, skips, diagnostics. */
export function parseTap(text: string): { planned: number | undefined; results: TapResult[] } {
  let planned: number | undefined;
  const results: TapResult[] = [];
  for (const line of text.split('\n')) {
    const plan = /^1\.\.(\d+)/.exec(line);
    if (plan) {
      planned = Number(plan[1]);
      continue;
    }
    const m = /^(not ok|ok) (\d+) (.*?)(?: in (\d+)ms| # in (\d+) ms)?(?: # timeout after \d+ s)?(?: # (skip|SKIP)\b.*)?$/.exec(line);
    if (m) {
      const ms = m[4] ?? m[5];
      results.push({ number: Number(m[2]), name: m[3]!, ok: m[1] === 'ok', skipped: m[6] !== undefined, durationMs: ms === undefined ? undefined : Number(ms), diagnostics: [] });
      continue;
    }
    if (line.startsWith('# ') && results.length) results.at(-1)!.diagnostics.push(line.slice(2));
  }
  return { planned, results };
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The outcome of a bats run. */
export interface BatsRun {
  passed: boolean;
  results: TestResult[];
  failed: string[];
  /** Diagnostics of failed tests, by name. */
  diagnostics: Record<string, string[]>;
}

/** How bats reports: its JUnit report (default) or its TAP stream. */
export type BatsFormat = 'junit' | 'tap';

/** Runs the selected tests with bats (timing) against a kubeconfig; the results come from its JUnit report or TAP stream. */
export async function runBats(root: string, tests: readonly BatsTest[], options: { kubeconfig: string; env?: Record<string, string>; timeoutMs?: number; signal?: AbortSignal; format?: BatsFormat }): Promise<BatsRun> {
  if (tests.length === 0) return { passed: true, results: [], failed: [], diagnostics: {} };
  const format = options.format ?? 'junit';
  const files = [...new Set(tests.map((t) => t.file))];
  const filter = `^(${[...new Set(tests.map((t) => escapeRegex(t.source ?? t.name)))].join('|')})$`;
  const args = ['--formatter', format, '--timing', '--filter', filter, ...files];
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn('bats', args, {
      cwd: root,
      env: { ...process.env, ...options.env, KUBECONFIG: options.kubeconfig },
      stdio: ['ignore', 'pipe', 'pipe'],
      signal: options.signal,
      timeout: options.timeoutMs ?? 600_000,
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', (e) => reject(e));
    child.on('close', (c) => resolve({ code: c, stdout: out, stderr: err }));
  }).catch((err: unknown) => {
    throw new BatsError(`cannot run bats: ${(err as Error).message}`, {
      context: { command: `bats ${args.slice(0, 4).join(' ')} ...`, cwd: root },
      cause: err,
      hint: (err as { code?: string }).code === 'ENOENT' ? 'install Debian\'s bats: apt-get install bats' : 'check that bats runs on this host',
    });
  });
  const read = readResults(format, stdout);
  if (!read.complete) {
    throw new BatsError(`bats ended (exit ${code}) without a complete ${format === 'junit' ? 'JUnit report' : 'TAP stream'} (${read.results.length} results${read.planned !== undefined ? ` of ${read.planned}` : ''})`, {
      context: { command: `bats --formatter ${format}`, cwd: root, stderr: stderr.slice(-500) },
      hint: `run the tests by hand with: bats --formatter ${format} functional-tests`,
    });
  }
  const byName = new Map(tests.map((t) => [t.name, t]));
  const results: TestResult[] = read.results.map((r) => ({ name: r.name, file: byName.get(r.name)?.file ?? r.file, ok: r.ok, skipped: r.skipped || undefined, durationMs: r.durationMs }));
  const failed = results.filter((r) => !r.ok).map((r) => r.name);
  const diagnostics = Object.fromEntries(read.results.filter((r) => !r.ok).map((r) => [r.name, r.diagnostics]));
  if (failed.length === 0 && code !== 0) {
    throw new BatsError(`bats exited ${code} although every test passed`, { context: { cwd: root, stderr: stderr.slice(-500) }, hint: 'a setup_file/teardown failed; run the tests by hand' });
  }
  return { passed: failed.length === 0, results, failed, diagnostics };
}

/** The results of either format, and whether they account for the whole run. */
function readResults(format: BatsFormat, stdout: string): { complete: boolean; planned?: number; results: (TapResult & { file?: string })[] } {
  if (format === 'junit') return parseJunit(stdout);
  const tap = parseTap(stdout);
  return { complete: tap.planned !== undefined && tap.results.length === tap.planned, planned: tap.planned, results: tap.results };
}

/** The results as the operator reads them: one line per test with pass/fail and time. */
export function formatTests(run: Pick<BatsRun, 'results'>): string {
  return run.results.map((t) => `${t.ok ? (t.skipped ? 'skip  ' : 'ok    ') : 'FAILED'} ${t.name}${t.durationMs !== undefined ? ` (${t.durationMs} ms)` : ''}${t.file ? `  [${t.file}]` : ''}`).join('\n');
}
