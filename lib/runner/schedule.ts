// `cookbook schedule install|list|remove`: scheduled runs as a systemd service + timer pair. install checks
// the cookbook and its arguments the way a run would (a typo fails now, exit 2, not at 06:00 on Monday) and
// the calendar spec (with systemd-analyze when it is there), then writes NAME.service (oneshot, ExecStart with
// every argument quoted for systemd, --yes added: a timer has no TTY) and NAME.timer. Units we write carry a
// marker line; list shows only those and remove deletes only those.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import yargs from 'yargs';
import { ExitCode, InputError, UnknownCookbookError, UsageError, messageOf } from '../core/errors.js';
import { compiledRoot } from '../core/paths.js';
import { discover, loadCookbook } from './discovery.js';
import { type RunIO, reportEarlyError } from './report.js';

/** The first line of every unit file we write: how list and remove recognise them. */
export const MANAGED_MARKER = '# Managed by cluster-cookbooks (cookbook schedule install).';

/** Where systemd looks for system units an administrator installs. */
export const SYSTEM_UNIT_DIR = '/etc/systemd/system';

/** Environment variables that shape a run and are copied into the service when set at install time. */
const CARRIED_ENV = ['COOKBOOK_INVENTORY', 'COOKBOOK_PATH', 'XDG_STATE_HOME', 'KUBECONFIG', 'OS_CLIENT_CONFIG_FILE'];

/** Quotes one argument for a systemd command line (ExecStart): specifiers (%) and variables ($) are escaped too. */
export function systemdQuote(arg: string): string {
  if (arg.includes('\0')) throw new InputError('a command-line argument cannot contain a NUL byte');
  // A lone ";" separated commands in old systemd versions: pass it escaped.
  if (arg === ';') return '\\;';
  const specials = arg.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  if (/^[A-Za-z0-9_@+=:,./-]+$/.test(arg)) return specials;
  const escaped = arg
    .replace(/\\/g, '\\\\')
    .replace(/"/g, '\\"')
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r')
    .replace(/\t/g, '\\t')
    .replace(/%/g, '%%')
    .replace(/\$/g, '$$$$');
  return `"${escaped}"`;
}

/** A whole systemd command line. */
export function systemdCommandLine(argv: readonly string[]): string {
  return argv.map(systemdQuote).join(' ');
}

/** Text for Description= and comments: one line, specifiers escaped. */
function unitText(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').replace(/%/g, '%%');
}

/** The command as an operator would type it (for descriptions only; ExecStart uses systemdQuote). */
function readable(argv: readonly string[]): string {
  return argv.map((a) => (/^[A-Za-z0-9_@+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** A valid unit name stem: letters, digits and :_.-, not starting with "-". */
export function validateUnitName(name: string): string {
  const stem = name.replace(/\.(service|timer)$/, '');
  if (!/^[A-Za-z0-9:_.][A-Za-z0-9:_.-]{0,200}$/.test(stem)) {
    throw new UsageError(`--name: "${name}" is not a valid systemd unit name (letters, digits, ":", "_", ".", "-")`, { context: { option: 'name' } });
  }
  return stem;
}

/** The default name: cookbook-<cookbook>[-<cluster>]. */
export function defaultUnitName(cookbook: string, cookbookArgs: readonly string[]): string {
  const i = cookbookArgs.findIndex((a) => a === '--cluster-name' || a.startsWith('--cluster-name='));
  const cluster = i < 0 ? undefined : cookbookArgs[i]!.includes('=') ? cookbookArgs[i]!.split('=')[1] : cookbookArgs[i + 1];
  return validateUnitName(`cookbook-${cookbook.replace(/[^A-Za-z0-9]+/g, '-')}${cluster ? `-${cluster.replace(/[^A-Za-z0-9-]+/g, '-')}` : ''}`);
}

/** What a schedule consists of. */
export interface ScheduleSpec {
  name: string;
  cookbook: string;
  cookbookArgs: string[];
  onCalendar: string;
  description?: string;
  persistent?: boolean;
  randomizedDelaySec?: number;
  /** The command that runs the CLI (default: this Node and this package's bin/cookbook.js). */
  command?: string[];
  env?: Record<string, string>;
}

/** The ExecStart argv of a schedule: the CLI, the cookbook, its arguments, and --yes. */
export function execArgv(spec: ScheduleSpec): string[] {
  const command = spec.command ?? [process.execPath, join(compiledRoot(), 'bin', 'cookbook.js')];
  const args = [...spec.cookbookArgs];
  if (!args.includes('--yes') && !args.includes('-y')) args.push('--yes');
  return [...command, spec.cookbook, ...args];
}

/** The .service unit. */
export function renderService(spec: ScheduleSpec): string {
  const argv = execArgv(spec);
  const env = Object.entries(spec.env ?? {}).map(([k, v]) => `Environment=${systemdQuote(`${k}=${v}`)}`);
  return [
    MANAGED_MARKER,
    `# Remove with: cookbook schedule remove ${spec.name}`,
    '[Unit]',
    `Description=${unitText(spec.description ?? `cookbook ${readable([spec.cookbook, ...spec.cookbookArgs])}`)}`,
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Service]',
    'Type=oneshot',
    // Exit 0 includes a run that stopped at the end of its window; anything else is a failure systemd records.
    `ExecStart=${systemdCommandLine(argv)}`,
    ...env,
    'Environment=NO_COLOR=1',
    // A rollout may take hours; SIGTERM makes the run stop at its next safe point (journaled, resumable).
    'TimeoutStartSec=infinity',
    'TimeoutStopSec=15min',
    '',
  ].join('\n');
}

/** The .timer unit. */
export function renderTimer(spec: ScheduleSpec): string {
  return [
    MANAGED_MARKER,
    `# Remove with: cookbook schedule remove ${spec.name}`,
    '[Unit]',
    `Description=${unitText(`Timer for ${spec.name} (cookbook ${spec.cookbook})`)}`,
    '',
    '[Timer]',
    `OnCalendar=${spec.onCalendar}`,
    `Unit=${spec.name}.service`,
    `Persistent=${spec.persistent ? 'true' : 'false'}`,
    ...(spec.randomizedDelaySec ? [`RandomizedDelaySec=${spec.randomizedDelaySec}`] : []),
    'AccuracySec=1min',
    '',
    '[Install]',
    'WantedBy=timers.target',
    '',
  ].join('\n');
}

/** Checks an OnCalendar= expression: with systemd-analyze when available, else for obvious garbage. */
export function validateCalendar(spec: string): void {
  if (!spec.trim() || /[\r\n\0]/.test(spec)) throw new UsageError('--on-calendar: expected a systemd calendar expression such as "Mon *-*-* 06:00"');
  const analyze = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => existsSync(p));
  if (!analyze) return;
  const r = spawnSync(analyze, ['calendar', spec], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) {
    throw new UsageError(`--on-calendar: systemd does not accept "${spec}": ${(r.stderr || r.stdout).trim().split('\n')[0]}`, {
      context: { option: 'on-calendar' },
      hint: 'see man systemd.time, e.g. "Mon *-*-* 06:00" or "Mon..Fri *-*-* 06:00 Europe/Madrid"',
    });
  }
}

/**
 * Validates a cookbook's arguments exactly as a run would parse them, then what a run checks before its lock:
 * the cluster exists in the inventory the timer will use, and the cookbook accepts the arguments for it (roles,
 * hosts). Exit 2 on a mistake; no lab is started.
 */
export async function validateCookbookArgs(cookbook: string, args: readonly string[]): Promise<void> {
  const entry = discover().find((e) => e.name === cookbook);
  if (!entry) throw new UnknownCookbookError(`no cookbook named "${cookbook}"`, { hint: 'cookbook list shows every cookbook' });
  const loaded = await loadCookbook(entry);
  if (!loaded.definition) throw loaded.error;
  const def = loaded.definition;
  const { parseCookbookArgs } = await import('./cli.js');
  const { argv, globals } = await parseCookbookArgs(cookbook, def, args);
  if (globals.dryRun) throw new UsageError('a scheduled run with --dry-run would change nothing, ever; drop --dry-run');
  const parsed = def.parse(argv);
  const clusterName = def.cluster ? def.cluster(parsed) : (parsed as { clusterName?: string }).clusterName;
  if (clusterName !== undefined) {
    const { findCluster } = await import('../inventory/resolve.js');
    const cluster = findCluster(clusterName, globals.inventory);
    def.validate?.(cluster, parsed);
  }
}

/** One installed schedule, as list shows it. */
export interface InstalledSchedule {
  name: string;
  onCalendar: string;
  command: string;
  timer: string;
  service: string;
}

function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o644 });
  renameSync(tmp, path);
}

function isManaged(path: string): boolean {
  try {
    return readFileSync(path, 'utf8').startsWith(MANAGED_MARKER);
  } catch {
    return false;
  }
}

/** Writes the pair; refuses to replace a unit we did not write, and ours only with `force`. */
export function installSchedule(unitDir: string, spec: ScheduleSpec, options: { force?: boolean } = {}): { service: string; timer: string } {
  mkdirSync(unitDir, { recursive: true });
  const service = join(unitDir, `${spec.name}.service`);
  const timer = join(unitDir, `${spec.name}.timer`);
  for (const f of [service, timer]) {
    if (!existsSync(f)) continue;
    if (!isManaged(f)) throw new InputError(`${f} exists and was not written by cookbook schedule; not replacing it`, { hint: 'pick another --name' });
    if (!options.force) throw new InputError(`schedule ${spec.name} exists in ${unitDir}`, { hint: 'pass --force to replace it, or remove it first: cookbook schedule remove' });
  }
  writeAtomic(service, renderService(spec));
  writeAtomic(timer, renderTimer(spec));
  return { service, timer };
}

/** The schedules (ours only) in a unit directory. */
export function listSchedules(unitDir: string): InstalledSchedule[] {
  let files: string[];
  try {
    files = readdirSync(unitDir);
  } catch {
    return [];
  }
  const out: InstalledSchedule[] = [];
  for (const f of files.filter((x) => x.endsWith('.timer')).sort()) {
    const timer = join(unitDir, f);
    if (!isManaged(timer)) continue;
    const name = f.slice(0, -'.timer'.length);
    const service = join(unitDir, `${name}.service`);
    const timerText = readFileSync(timer, 'utf8');
    const serviceText = existsSync(service) ? readFileSync(service, 'utf8') : '';
    out.push({
      name,
      onCalendar: /^OnCalendar=(.*)$/m.exec(timerText)?.[1] ?? '?',
      command: /^ExecStart=(.*)$/m.exec(serviceText)?.[1] ?? '(service file missing)',
      timer,
      service,
    });
  }
  return out;
}

/** Removes a schedule's two files (ours only). */
export function removeSchedule(unitDir: string, name: string): string[] {
  const stem = validateUnitName(name);
  const files = [join(unitDir, `${stem}.timer`), join(unitDir, `${stem}.service`)].filter((f) => existsSync(f));
  if (files.length === 0) throw new InputError(`no schedule named ${stem} in ${unitDir}`, { hint: `cookbook schedule list --unit-dir ${unitDir}` });
  const foreign = files.filter((f) => !isManaged(f));
  if (foreign.length) throw new InputError(`not removing ${foreign.join(', ')}: not written by cookbook schedule`);
  for (const f of files) rmSync(f);
  return files;
}

const USAGE = `Usage: cookbook schedule install COOKBOOK --on-calendar SPEC [--unit-dir DIR] [--name NAME] [--persistent] [--force] -- COOKBOOK ARGS...
       cookbook schedule list [--unit-dir DIR] [--json]
       cookbook schedule remove NAME [--unit-dir DIR]

Scheduled runs as systemd service + timer pairs (default unit dir ${SYSTEM_UNIT_DIR}). The service runs the
cookbook with --yes; after install run: systemctl daemon-reload && systemctl enable --now NAME.timer

Example:
  cookbook schedule install k8s.reboot --on-calendar "Mon *-*-* 06:00" -- \\
      --cluster-name tools --all --only-if-needed --window "Mon 06:00-16:00 Europe/Madrid"
`;

/** Entry of `cookbook schedule ...` (the CLI dispatches here); returns the exit code. */
export async function scheduleMain(args: string[], io: RunIO): Promise<number> {
  const sep = args.indexOf('--');
  const own = sep < 0 ? args : args.slice(0, sep);
  const cookbookArgs = sep < 0 ? [] : args.slice(sep + 1);
  const json = own.includes('--json');
  try {
    const argv = (await yargs(own)
      .exitProcess(false)
      .version(false)
      .help(false)
      .fail((msg, err) => {
        throw new UsageError(msg || messageOf(err), { cause: err });
      })
      .options({
        'on-calendar': { type: 'string', requiresArg: true },
        'unit-dir': { type: 'string', requiresArg: true },
        name: { type: 'string', requiresArg: true },
        description: { type: 'string', requiresArg: true },
        persistent: { type: 'boolean', default: false },
        'randomized-delay': { type: 'number' },
        force: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        help: { alias: 'h', type: 'boolean' },
      })
      .strictOptions()
      .parseAsync()) as Record<string, unknown> & { _: (string | number)[] };
    const [action, target, ...extra] = argv._.map(String);
    if (argv.help || action === undefined || action === 'help') {
      io.stdout(USAGE);
      return argv.help || action === 'help' ? ExitCode.success : ExitCode.usage;
    }
    const unitDir = resolve((argv['unit-dir'] as string | undefined) ?? SYSTEM_UNIT_DIR);
    if (extra.length) throw new UsageError(`unexpected argument${extra.length > 1 ? 's' : ''}: ${extra.join(' ')}`, { hint: 'cookbook arguments go after --' });
    switch (action) {
      case 'install': {
        if (!target) throw new UsageError('schedule install needs a cookbook name', { hint: USAGE.split('\n')[0] });
        const onCalendar = argv['on-calendar'] as string | undefined;
        if (!onCalendar) throw new UsageError('schedule install needs --on-calendar, e.g. "Mon *-*-* 06:00"');
        validateCalendar(onCalendar);
        await validateCookbookArgs(target, cookbookArgs);
        const name = argv.name ? validateUnitName(argv.name as string) : defaultUnitName(target, cookbookArgs);
        const env: Record<string, string> = {};
        for (const k of CARRIED_ENV) if (process.env[k]) env[k] = process.env[k]!;
        const spec: ScheduleSpec = {
          name,
          cookbook: target,
          cookbookArgs,
          onCalendar,
          description: argv.description as string | undefined,
          persistent: Boolean(argv.persistent),
          randomizedDelaySec: argv['randomized-delay'] as number | undefined,
          env,
        };
        const files = installSchedule(unitDir, spec, { force: Boolean(argv.force) });
        if (json) io.stdout(JSON.stringify({ installed: name, ...files, onCalendar, command: execArgv(spec) }) + '\n');
        else io.stdout(`wrote ${files.service}\nwrote ${files.timer}\nnext: systemctl daemon-reload && systemctl enable --now ${name}.timer\n`);
        return ExitCode.success;
      }
      case 'list': {
        const list = listSchedules(unitDir);
        if (json) io.stdout(JSON.stringify(list) + '\n');
        else if (list.length === 0) io.stdout(`no schedules in ${unitDir}\n`);
        else io.stdout(list.map((s) => `${s.name}\t${s.onCalendar}\t${s.command}`).join('\n') + '\n');
        return ExitCode.success;
      }
      case 'remove': {
        if (!target) throw new UsageError('schedule remove needs a schedule name', { hint: 'cookbook schedule list shows them' });
        const removed = removeSchedule(unitDir, target);
        if (json) io.stdout(JSON.stringify({ removed }) + '\n');
        else io.stdout(removed.map((f) => `removed ${f}`).join('\n') + `\nnext: systemctl disable --now ${validateUnitName(target)}.timer; systemctl daemon-reload\n`);
        return ExitCode.success;
      }
      default:
        throw new UsageError(`unknown schedule action "${action}" (install, list, remove)`);
    }
  } catch (err) {
    return reportEarlyError(err, { json }, io, { command: 'schedule' });
  }
}
