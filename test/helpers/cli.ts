// Black-box helpers: run the real `cookbook` executable (compiled) as a child process with zx.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { $, type ProcessPromise } from 'zx';
import { compiledRoot, packageRoot } from '../../lib/core/paths.js';

/** The package root (sources, inventory, fixtures' YAML). */
export const ROOT = packageRoot();
/** The compiled executable of this build. */
export const BIN = join(compiledRoot(), 'bin', 'cookbook.js');
/** Compiled fixture cookbooks (reached through COOKBOOK_PATH). */
export const FIXTURE_COOKBOOKS = join(compiledRoot(), 'test', 'fixtures', 'cookbooks');
/** Fixture inventory (YAML sources). */
export const FIXTURE_INVENTORY = join(ROOT, 'test', 'fixtures', 'inventory');

const made: string[] = [];

/** A fresh temporary directory, removed by cleanupTempDirs(). */
export function tempDir(prefix = 'cc-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** Removes every directory tempDir() made. */
export function cleanupTempDirs(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** Result of a finished CLI run. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options for a CLI run. */
export interface CliOptions {
  env?: Record<string, string | undefined>;
  input?: string;
  timeoutMs?: number;
}

/** Starts `cookbook ARGS` (no TTY); the returned process can be signalled. */
export function startCli(args: string[], options: CliOptions = {}): ProcessPromise {
  const env = { ...process.env, CI: 'true', NO_COLOR: '1', COOKBOOK_PATH: FIXTURE_COOKBOOKS, ...options.env } as Record<string, string>;
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  const p = $({ env, nothrow: true, quiet: true, input: options.input ?? '', timeout: options.timeoutMs ?? 60_000 })`${process.execPath} ${BIN} ${args}`;
  return p;
}

/** Runs `cookbook ARGS` to completion. */
export async function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const out = await startCli(args, options);
  // Like a shell: a process killed by signal N exits 128 + N (SIGKILL: 137).
  const bySignal = out.signal ? 128 + (constants.signals[out.signal as keyof typeof constants.signals] ?? 0) : -1;
  return { code: out.exitCode ?? bySignal, stdout: out.stdout, stderr: out.stderr };
}

/** Resolves once `text` appears in the process's stderr (or rejects after the timeout). */
export function waitForOutput(p: ProcessPromise, text: string | RegExp, timeoutMs = 20_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${String(text)}; saw:\n${seen}`)), timeoutMs);
    const check = (chunk: Buffer | string): void => {
      seen += chunk.toString();
      if (typeof text === 'string' ? seen.includes(text) : text.test(seen)) {
        clearTimeout(timer);
        resolve();
      }
    };
    p.stderr.on('data', check);
    p.stdout.on('data', check);
  });
}

/** The journals of one cookbook under a state dir, oldest first (none when it never ran there). */
export function journalsOf(state: string, cookbook: string): Record<string, any>[] {
  const dir = join(state, 'journals', cookbook);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Record<string, any>)
    .sort((a, b) => String(a.startedAt).localeCompare(String(b.startedAt)));
}
