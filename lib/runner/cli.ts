// The `cookbook` command line (yargs): built-in commands (list, completion, lab, schedule) and cookbook runs.
// Global options are accepted before or after the cookbook name. Only what a command needs is imported, so
// `list` and `--help` load no client module.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import yargs, { type Argv, type Options } from 'yargs';
import { ttyPrompter } from '../core/confirm.js';
import type { CookbookDefinition, RawArgs } from '../core/cookbook.js';
import { ExitCode, UnknownCookbookError, UsageError, messageOf } from '../core/errors.js';
import { defaultStateDir, packageRoot } from '../core/paths.js';
import { OLD_NAMES, checkGivenValues, checkNumbers, hasDottedHost, joinDashValues, translateOldName } from './cli-argv.js';
import { suggest } from '../inventory/suggest.js';
import { type LoadedCookbook, discover, loadCookbook } from './discovery.js';

export { suggest } from '../inventory/suggest.js';
import { type GlobalOptions, type RunIO, reportEarlyError } from './report.js';

/** Global options, valid with every cookbook. */
export const globalOptions: Record<string, Options> = {
  'dry-run': { alias: 'd', type: 'boolean', default: false, describe: 'Plan only: read everything, change nothing, list the planned changes' },
  yes: { alias: 'y', type: 'boolean', default: false, describe: 'Answer yes to every confirmation (needed without a TTY)' },
  json: { type: 'boolean', default: false, describe: 'Print one JSON result object on stdout (logs stay on stderr)' },
  inventory: { type: 'string', array: true, requiresArg: true, describe: "Inventory directory (repeatable); default: the package's inventory/ plus COOKBOOK_INVENTORY" },
  'log-dir': { type: 'string', requiresArg: true, describe: 'Directory for the JSON-lines run logs (default: <state dir>/logs)' },
  'state-dir': { type: 'string', requiresArg: true, describe: 'Directory for journals and locks (default: $XDG_STATE_HOME/cluster-cookbooks)' },
  reason: { type: 'string', requiresArg: true, describe: 'Why this run happens (announced and logged)' },
  'task-id': { type: 'string', requiresArg: true, describe: 'Ticket / task id (announced and logged)' },
  verbose: { alias: 'v', type: 'boolean', default: false, describe: 'Show debug lines on the console' },
  resume: { type: 'boolean', default: false, describe: 'Resume an unfinished run with the same arguments without asking' },
  fresh: { type: 'boolean', default: false, describe: 'Ignore an unfinished run with the same arguments and start over' },
  simulate: { type: 'boolean', default: false, describe: 'Run against a twin of the cluster (snapshot, reads only) and predict the real run: duration, waits, batches' },
  'simulate-speed': { type: 'number', requiresArg: true, describe: "With --simulate: how many times faster than the cluster the twin runs (default: a lab's own speed, else 30)" },
};

const VALUE_OPTIONS = new Set(['inventory', 'log-dir', 'state-dir', 'reason', 'task-id', 'simulate-speed']);
const BUILTINS = ['list', 'completion', 'lab', 'schedule', 'help'] as const;

/** The built-in commands `cookbook list` shows beside the cookbooks. */
export const COMMANDS: readonly { name: string; summary: string }[] = Object.freeze([
  { name: 'lab', summary: 'The local lab: up, down, status (fake Kubernetes, OpenStack and SSH hosts)' },
  { name: 'schedule', summary: 'Scheduled runs as systemd timers: install, list, remove' },
  { name: 'completion', summary: 'Print a bash/zsh completion script' },
]);

/** Finds the command word: the first positional argument that is not a global option's value. */
export function findCommand(argv: readonly string[]): { command: string | undefined; index: number } {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') return { command: argv[i + 1], index: i + 1 };
    if (a.startsWith('--')) {
      const key = a.slice(2);
      if (!key.includes('=') && VALUE_OPTIONS.has(key)) i++;
      continue;
    }
    if (a.startsWith('-') && a.length > 1) continue;
    return { command: a, index: i };
  }
  return { command: undefined, index: -1 };
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function toGlobals(argv: Record<string, unknown>, env: NodeJS.ProcessEnv): GlobalOptions {
  const stateDir = (argv['state-dir'] as string | undefined) ?? defaultStateDir();
  const inv = argv.inventory as string[] | undefined;
  const inventory = inv?.length
    ? inv
    : [join(packageRoot(), 'inventory'), ...(env.COOKBOOK_INVENTORY ?? '').split(':').filter((d) => d.trim())];
  const speed = argv['simulate-speed'] as number | undefined;
  if (speed !== undefined && !argv.simulate) throw new UsageError('--simulate-speed is only meaningful with --simulate', { context: { option: 'simulate-speed' }, hint: 'add --simulate, or leave --simulate-speed out' });
  if (speed !== undefined && !(Number.isFinite(speed) && speed >= 1 && speed <= 1000)) {
    throw new UsageError(`--simulate-speed: expected a number from 1 to 1000, got ${String(speed)}`, { context: { option: 'simulate-speed', value: speed }, hint: 'e.g. --simulate-speed 30' });
  }
  if (argv.resume && argv.fresh) {
    throw new UsageError('--resume and --fresh exclude each other', { context: { option: 'resume' }, hint: 'give --resume to continue the unfinished run, or --fresh to start over' });
  }
  return {
    dryRun: Boolean(argv['dry-run']),
    yes: Boolean(argv.yes),
    json: Boolean(argv.json),
    inventory,
    logDir: (argv['log-dir'] as string | undefined) ?? join(stateDir, 'logs'),
    stateDir,
    reason: argv.reason as string | undefined,
    taskId: argv['task-id'] as string | undefined,
    verbose: Boolean(argv.verbose),
    resume: Boolean(argv.resume),
    fresh: Boolean(argv.fresh),
    simulate: Boolean(argv.simulate),
    ...(speed !== undefined ? { simulateSpeed: speed } : {}),
  };
}

/** yargs lists an unknown `--foo-bar` twice (foo-bar, fooBar): keep the spelling the operator typed. */
export function tidyYargsMessage(msg: string): string {
  const m = /^Unknown arguments?: (.*)$/.exec(msg);
  if (!m) return msg;
  const names = m[1]!.split(', ');
  const kebab = new Set(names.filter((n) => n.includes('-')).map((n) => n.replace(/-([a-z])/g, (_x, c: string) => c.toUpperCase())));
  const kept = names.filter((n) => !kebab.has(n));
  return `Unknown argument${kept.length > 1 ? 's' : ''}: ${kept.join(', ')}`;
}

function baseParser(args: string[]): Argv {
  return yargs(args)
    .scriptName('cookbook')
    .exitProcess(false)
    .version(false)
    .help(false)
    .locale('en')
    .wrap(Math.min(120, process.stdout.columns || 100))
    .parserConfiguration({ 'camel-case-expansion': true, 'duplicate-arguments-array': true })
    .fail((msg, err) => {
      throw err ?? new UsageError(tidyYargsMessage(msg || 'bad usage'));
    })
    .options(globalOptions)
    .option('help', { alias: 'h', type: 'boolean', describe: 'Show help' })
    .epilogue('Exit codes: 0 success, 1 failed, 2 bad usage/input, 3 lock held, 4 aborted, 5 no such cookbook, 130 interrupted.');
}

function completionParser(args: string[]): Argv {
  return baseParser(args).completion('completion', 'Print a bash/zsh completion script', (_current: string, argv: { _: unknown[] }) => {
    if (argv._.length <= 2) return [...BUILTINS, ...discover().map((e) => e.name)];
    return Object.keys(globalOptions).map((o) => `--${o}`);
  });
}

async function loadAll(): Promise<LoadedCookbook[]> {
  return Promise.all(discover().map(loadCookbook));
}

async function listCommand(args: string[], io: RunIO): Promise<number> {
  const argv = await baseParser(args).strict().parseAsync();
  if (argv.help) {
    io.stdout('Usage: cookbook list [--json]\n\nLists every cookbook and built-in command with its one-line summary.\n');
    return 0;
  }
  const all = await loadAll();
  // A cookbook of the same name (e.g. a `history` cookbook) is listed once, as the cookbook.
  const commands = COMMANDS.filter((c) => !all.some((k) => k.name === c.name));
  if (argv.json) {
    const cookbooks = all.map((c) => (c.definition ? { name: c.name, summary: c.definition.summary } : { name: c.name, summary: null, error: c.error!.message }));
    io.stdout(JSON.stringify([...cookbooks, ...commands.map((c) => ({ ...c, command: true }))]) + '\n');
  } else {
    const width = Math.max(10, ...all.map((c) => c.name.length)) + 2;
    const lines = all.map((c) => `${c.name.padEnd(width)}${c.definition ? c.definition.summary : `FAILED TO LOAD: ${c.error!.message}`}`);
    lines.push(...commands.map((c) => `${c.name.padEnd(width)}${c.summary}`));
    io.stdout(lines.join('\n') + '\n');
  }
  for (const c of all) if (c.error) io.stderr(`cookbook: ${c.error.message}\n`);
  return 0;
}

function globalHelpLines(): string[] {
  const names = Object.entries(globalOptions).map(([k, o]) => [`--${k}${o.alias ? `, -${String(o.alias)}` : ''}${o.type === 'boolean' ? '' : ' <value>'}`, String(o.describe)] as const);
  const width = Math.max(...names.map(([n]) => n.length)) + 2;
  return names.map(([n, d]) => `  ${n.padEnd(width)}${d}`);
}

function topHelp(all: LoadedCookbook[]): string {
  const width = Math.max(10, ...all.map((c) => c.name.length)) + 2;
  return [
    'Usage: cookbook <cookbook> [options]      run a cookbook',
    '       cookbook <cookbook> --help         its arguments and examples',
    '       cookbook list [--json]             every cookbook',
    '       cookbook lab up|down|status        the local lab',
    '       cookbook schedule install|list|remove   systemd timers for scheduled runs',
    '       cookbook completion                shell completion script',
    '',
    'Cookbooks:',
    ...all.map((c) => `  ${c.name.padEnd(width)}${c.definition?.summary ?? 'FAILED TO LOAD'}`),
    '',
    'Global options (valid with every cookbook, before or after its name):',
    ...globalHelpLines(),
    '',
    `Old names (${Object.keys(OLD_NAMES)[0]}, ...) still work: they run the new cookbook and print its command line.`,
    '',
    'Exit codes: 0 success, 1 failed, 2 bad usage/input, 3 lock held, 4 aborted, 5 no such cookbook, 130 interrupted.',
  ].join('\n');
}

/** A simulation writes its timeline with --report FILE.html: accepted with --simulate by every cookbook. */
const SIMULATE_REPORT: Options = { type: 'string', requiresArg: true, describe: 'With --simulate: write the simulated timeline as an HTML report' };

/** The cookbook's options, plus --report when --simulate is given and the cookbook has no --report of its own. */
function withSimulateReport(options: Record<string, Options>, args: readonly string[]): Record<string, Options> {
  return !options.report && args.includes('--simulate') ? { ...options, report: SIMULATE_REPORT } : options;
}

/** The parser of one cookbook's command line; its --help lists the cookbook's options and points to the global ones. */
function cookbookParser(name: string, def: CookbookDefinition<object>, args: string[]): Argv {
  const parser = baseParser(args)
    .usage(`Usage: cookbook ${name} [options]\n\n${def.summary}${def.description ? `\n\n${def.description}` : ''}`)
    .options(withSimulateReport(def.options, args))
    .group(Object.keys(def.options), 'Cookbook options:')
    .strict()
    // Global options are listed once, under `cookbook --help`; here one line points there.
    .epilogue(`Global options (${Object.keys(globalOptions).map((k) => `--${k}`).join(', ')}): see cookbook --help`);
  for (const key of [...Object.keys(globalOptions), 'help']) parser.hide(key);
  for (const [cmd, text] of def.examples) parser.example(cmd, text);
  return parser;
}

/**
 * Parses a cookbook's command line (without the cookbook name) exactly as a run does: yargs, then repeated
 * single values and empty values refused, and FQDN hosts shortened with the cluster's domain. Throws
 * UsageError/InputError (exit 2); `schedule install` uses it to validate what a timer will run.
 */
export async function parseCookbookArgs(name: string, def: CookbookDefinition<object>, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<{ argv: RawArgs; globals: GlobalOptions }> {
  const allOptions = { ...globalOptions, ...withSimulateReport(def.options, args) };
  let argv: RawArgs;
  try {
    const joined = joinDashValues(args, allOptions);
    argv = (await cookbookParser(name, def, joined).parseAsync()) as RawArgs;
    const positionals = (argv._ as unknown[]).filter((p) => p !== name);
    if (positionals.length) throw new UsageError(`unexpected argument${positionals.length > 1 ? 's' : ''}: ${positionals.join(' ')}`);
    checkGivenValues(argv, allOptions, name);
    checkNumbers(argv, allOptions, joined, name);
  } catch (err) {
    const usage = err instanceof UsageError ? err : new UsageError(messageOf(err), { cause: err });
    if (!usage.hint) (usage as { hint?: string }).hint = `see: cookbook ${name} --help`;
    throw usage;
  }
  const globals = toGlobals(argv, env);
  // A host given as an FQDN (as alerts show it) becomes its short name once the cluster's domain is known.
  // (The inventory modules load only then: zod is too heavy for every start-up.)
  const clusterName = argv['cluster-name'];
  if (typeof clusterName === 'string' && hasDottedHost(argv, Object.keys(def.options))) {
    const { findCluster, shortenHostArgs } = await import('../inventory/resolve.js');
    shortenHostArgs(argv, Object.keys(def.options), () => findCluster(clusterName, globals.inventory));
  }
  return { argv, globals };
}

async function cookbookCommand(name: string, args: string[], io: RunIO, env: NodeJS.ProcessEnv): Promise<number> {
  const entries = discover();
  const wantsJson = args.includes('--json');
  if (!entries.some((e) => e.name === name)) {
    let renamed: ReturnType<typeof translateOldName>;
    try {
      renamed = translateOldName(name, args, entries.map((e) => e.name));
    } catch (err) {
      return reportEarlyError(err, { json: wantsJson }, io, { cookbook: name });
    }
    if (renamed) {
      io.stderr(renamed.note);
      name = renamed.command;
      args = renamed.args;
    }
  }
  const entry = entries.find((e) => e.name === name);
  if (!entry) {
    const close = suggest(name, entries.map((e) => e.name));
    const err = new UnknownCookbookError(`no cookbook named "${name}"${close.length ? `; did you mean ${close.join(', ')}?` : ''}`, {
      context: { cookbook: name, suggestions: close },
      hint: 'cookbook list shows every cookbook',
    });
    return reportEarlyError(err, { json: wantsJson }, io, { cookbook: name });
  }
  const loaded = await loadCookbook(entry);
  if (!loaded.definition) return reportEarlyError(loaded.error, { json: wantsJson }, io, { cookbook: name });
  const def = loaded.definition;
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout((await cookbookParser(name, def, joinDashValues(args, { ...globalOptions, ...def.options })).getHelp()) + '\n');
    return 0;
  }
  let parsed: { argv: RawArgs; globals: GlobalOptions };
  try {
    parsed = await parseCookbookArgs(name, def, args, env);
  } catch (err) {
    return reportEarlyError(err, { json: wantsJson }, io, { cookbook: name });
  }
  const { argv, globals } = parsed;
  const { runCookbook } = await import('./run.js');
  return runCookbook(name, def, argv, globals, io);
}

/** Runs the CLI with the given arguments (without `node` and the script) and returns the exit code. */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env, io?: Partial<RunIO>): Promise<number> {
  const fullIo: RunIO = {
    prompter: io?.prompter ?? ttyPrompter(),
    stdout: io?.stdout ?? ((t) => process.stdout.write(t)),
    stderr: io?.stderr ?? ((t) => process.stderr.write(t)),
    clock: io?.clock,
    signals: io?.signals,
    ...(io?.onEvents ? { onEvents: io.onEvents } : {}),
  };
  const { command, index } = findCommand(argv);
  const rest = index >= 0 ? [...argv.slice(0, index), ...argv.slice(index + 1)] : [...argv];
  try {
    if (argv.includes('--get-yargs-completions')) {
      await completionParser(argv).parseAsync();
      return 0;
    }
    if (command === undefined || command === 'help') {
      if (argv.includes('--version')) {
        fullIo.stdout(packageVersion() + '\n');
        return 0;
      }
      fullIo.stdout(topHelp(await loadAll()) + '\n');
      return command === undefined && !argv.includes('--help') && !argv.includes('-h') ? ExitCode.usage : 0;
    }
    switch (command) {
      case 'list':
        return await listCommand(rest, fullIo);
      case 'completion':
        await completionParser(['completion']).parseAsync();
        return 0;
      case 'lab': {
        const lab = await import('../../lab/api.js');
        return await lab.labMain(rest);
      }
      case 'schedule': {
        const schedule = (await import(new URL('./schedule.js', import.meta.url).href)) as { scheduleMain(a: string[], io: RunIO): Promise<number> };
        return await schedule.scheduleMain(rest, fullIo);
      }
      default:
        return await cookbookCommand(command, argv.filter((_, i) => i !== index), fullIo, env);
    }
  } catch (err) {
    return reportEarlyError(err, { json: argv.includes('--json') }, fullIo, { cookbook: command });
  }
}
