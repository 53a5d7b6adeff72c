// Runs shell text against a lab host's in-memory state. Nothing here touches the real machine: every command
// is a function over the host (files, packages, services, kernel, kubelet) and the world (kubeadm backend,
// reboots, counters). Commands that change state count as ssh_mutations.
import type { LabHost, World } from '../world.js';
import { commands } from './commands/index.js';
import * as fs from './fs.js';
import { type Command, type List, type Pipeline, type Redirect, type SimpleCommand, type Word, ShellSyntaxError, literalOf, parse } from './shell.js';

/** Where a command reads and writes. */
export interface CommandIO {
  /** The whole standard input (waits for EOF; empty when nothing is piped in or it was consumed). */
  stdin(): Promise<string>;
  out(text: string): void;
  err(text: string): void;
}

/** A command implementation: arguments without the command name; returns the exit status. */
export type CommandFn = (args: string[], io: CommandIO, sh: Shell) => number | Promise<number>;

/** A command known to the lab shell; `package` makes it exist only once that Debian package is installed. */
export interface CommandSpec {
  run: CommandFn;
  package?: string;
}

/** Options of one script run. */
export interface RunOptions {
  /** Reads the session's stdin to EOF (the SSH channel); absent means empty stdin. */
  stdin?: () => Promise<string>;
  out?: (text: string) => void;
  err?: (text: string) => void;
  /** Environment the client set (SSH `env` requests). */
  env?: Record<string, string>;
}

/** What a script run ended with. */
export interface RunResult {
  code: number;
  /** A command asked for a reboot: the caller reboots the host after the session's exit status is sent. */
  reboot: boolean;
  /** Number of state-changing commands run. */
  mutations: number;
}

/** Thrown by `exit` and by errexit (`set -e`) to end the whole script. */
class ExitSignal {
  constructor(readonly code: number) {}
}

const BIN_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** One shell session on a host: variables, cwd, options and the last status. */
export class Shell {
  readonly env = new Map<string, string>([
    ['HOME', '/root'],
    ['USER', 'root'],
    ['LOGNAME', 'root'],
    ['SHELL', '/bin/bash'],
    ['PATH', '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
  ]);
  cwd = '/root';
  lastStatus = 0;
  errexit = false;
  /** File creation mask (new files get 0666 & ~umask). */
  umask = 0o022;
  rebootRequested = false;
  mutations = 0;

  constructor(
    readonly host: LabHost,
    readonly world: World,
  ) {
    this.env.set('HOSTNAME', host.name);
  }

  /** Marks the running command as state-changing (one count per command). */
  mutation(): void {
    this.mutations++;
    this.world.counters.ssh_mutations++;
  }

  /** Asks for a reboot once the session's exit status has been sent. */
  requestReboot(): void {
    this.rebootRequested = true;
  }

  /** Mode options for writing `path`: the umask applies to files that do not exist yet. */
  newFileMode(path: string): { mode?: number } {
    return fs.readFile(this.host, path) === undefined ? { mode: 0o666 & ~this.umask } : {};
  }

  /** Resolves a path relative to the shell's cwd. */
  path(p: string): string {
    return fs.normalizePath(p, this.cwd);
  }

  /** Parses and runs shell text; syntax errors exit 2 as bash does. */
  async runScript(src: string, io: CommandIO): Promise<number> {
    let list: List;
    try {
      list = parse(src);
    } catch (err) {
      if (err instanceof ShellSyntaxError) {
        io.err(`bash: -c: line 1: ${err.message}\n`);
        this.lastStatus = 2;
        return 2;
      }
      throw err;
    }
    try {
      return await this.runList(list, io);
    } catch (err) {
      if (err instanceof ExitSignal) {
        this.lastStatus = err.code;
        return err.code;
      }
      throw err;
    }
  }

  /** Runs an argument vector (sudo, env, timeout and `bash -c` hand their command here). */
  async runArgv(argv: string[], io: CommandIO, extraEnv?: Map<string, string>): Promise<number> {
    const [name, ...args] = argv;
    if (name === undefined) return 0;
    const saved = new Map<string, string | undefined>();
    if (extraEnv) {
      for (const [k, v] of extraEnv) {
        saved.set(k, this.env.get(k));
        this.env.set(k, v);
      }
    }
    try {
      return await this.dispatch(name, args, io);
    } finally {
      for (const [k, v] of saved) {
        if (v === undefined) this.env.delete(k);
        else this.env.set(k, v);
      }
    }
  }

  private async dispatch(name: string, args: string[], io: CommandIO): Promise<number> {
    if (name === 'exit') throw new ExitSignal(args[0] === undefined ? this.lastStatus : Number(args[0]) & 255);
    let lookup = name;
    if (name.includes('/')) {
      const dir = name.slice(0, name.lastIndexOf('/'));
      const base = name.slice(name.lastIndexOf('/') + 1);
      if (!BIN_DIRS.includes(dir) || !this.available(base)) {
        io.err(`bash: ${name}: No such file or directory\n`);
        return 127;
      }
      lookup = base;
    }
    const spec = commands[lookup];
    if (!spec || !this.available(lookup)) {
      io.err(`bash: ${name}: command not found\n`);
      return 127;
    }
    return await spec.run(args, io, this);
  }

  /** True when the command exists on this host now (its package, if any, is installed). */
  available(name: string): boolean {
    const spec = Object.hasOwn(commands, name) ? commands[name] : undefined;
    if (!spec) return false;
    return !spec.package || this.host.packages.has(spec.package);
  }

  private async runList(list: List, io: CommandIO, inCondition = false): Promise<number> {
    let status = 0;
    for (const item of list.items) {
      status = await this.runPipeline(item.first, io, inCondition || item.rest.length > 0);
      // errexit only fires for the last command of an && / || list (bash: "except the command following the
      // final && or ||"), and never inside a condition or a negated pipeline.
      let lastRanIsFinal = item.rest.length === 0;
      let lastNegated = item.first.negate;
      for (let i = 0; i < item.rest.length; i++) {
        const { op, pipeline } = item.rest[i]!;
        if ((op === '&&' && status !== 0) || (op === '||' && status === 0)) continue;
        const final = i === item.rest.length - 1;
        status = await this.runPipeline(pipeline, io, inCondition || !final);
        lastRanIsFinal = final;
        lastNegated = pipeline.negate;
      }
      this.lastStatus = status;
      if (this.errexit && !inCondition && status !== 0 && lastRanIsFinal && !lastNegated) throw new ExitSignal(status);
    }
    return status;
  }

  private async runPipeline(pipeline: Pipeline, io: CommandIO, inCondition: boolean): Promise<number> {
    let status = 0;
    if (pipeline.commands.length === 1) {
      status = await this.runCommand(pipeline.commands[0]!, io, inCondition || pipeline.negate);
    } else {
      // Commands are instant here, so a pipeline runs stage by stage, each stage's stdout feeding the next.
      let input: (() => Promise<string>) | undefined = io.stdin;
      for (let i = 0; i < pipeline.commands.length; i++) {
        const last = i === pipeline.commands.length - 1;
        let captured = '';
        const stageIO: CommandIO = {
          stdin: input ?? (async () => ''),
          out: last ? io.out : (t) => (captured += t),
          err: io.err,
        };
        status = await this.runCommand(pipeline.commands[i]!, stageIO, inCondition || pipeline.negate);
        const text = captured;
        input = async () => text;
      }
    }
    if (pipeline.negate) status = status === 0 ? 1 : 0;
    this.lastStatus = status;
    return status;
  }

  private async runCommand(cmd: Command, io: CommandIO, inCondition: boolean): Promise<number> {
    if (cmd.type === 'if') {
      return await this.withRedirects(cmd.redirects, io, async (rio) => {
        for (const branch of cmd.branches) {
          if ((await this.runList(branch.condition, rio, true)) === 0) return await this.runList(branch.body, rio, inCondition);
        }
        return cmd.otherwise ? await this.runList(cmd.otherwise, rio, inCondition) : 0;
      });
    }
    return await this.runSimple(cmd, io);
  }

  private async runSimple(cmd: SimpleCommand, io: CommandIO): Promise<number> {
    const argv: string[] = [];
    for (const w of cmd.words) argv.push(...(await this.expand(w)));
    const assigned = new Map<string, string>();
    for (const a of cmd.assignments) assigned.set(a.name, await this.expandJoined(a.value));
    if (argv.length === 0) {
      // Bare assignments set shell variables.
      for (const [k, v] of assigned) this.env.set(k, v);
      return await this.withRedirects(cmd.redirects, io, async () => 0);
    }
    const status = await this.withRedirects(cmd.redirects, io, (rio) => this.runArgv(argv, rio, assigned));
    this.lastStatus = status;
    return status;
  }

  /** Applies redirections around `fn`: output to files (written when the command ends), input from files. */
  private async withRedirects(redirects: Redirect[], io: CommandIO, fn: (io: CommandIO) => Promise<number>): Promise<number> {
    if (redirects.length === 0) return await fn(io);
    let out = io.out;
    let err = io.err;
    let stdin = io.stdin;
    const sinks: { path: string; append: boolean; text: string }[] = [];
    for (const r of redirects) {
      const target = await this.expandJoined(r.target);
      if (r.op === '>&') {
        if (target !== '1' && target !== '2') {
          io.err(`bash: ${target}: ambiguous redirect\n`);
          return 1;
        }
        const to = target === '1' ? out : err;
        if (r.fd === 2) err = to;
        else out = to;
        continue;
      }
      if (r.op === '<') {
        const path = this.path(target);
        const content = readable(this, path);
        if (content === undefined) {
          io.err(`bash: ${target}: No such file or directory\n`);
          return 1;
        }
        stdin = async () => content;
        continue;
      }
      if (target === '/dev/null') {
        if (r.fd === 2) err = () => {};
        else out = () => {};
        if (r.both) err = () => {};
        continue;
      }
      if (target === '/dev/stderr') {
        if (r.fd === 1) out = io.err;
        continue;
      }
      if (target === '/dev/stdout') {
        if (r.fd === 2) err = io.out;
        continue;
      }
      const path = this.path(target);
      const problem = fs.writeProblem(this.host, path);
      if (problem) {
        io.err(`bash: ${target}: ${problem}\n`);
        return 1;
      }
      const sink = { path, append: r.op === '>>', text: '' };
      sinks.push(sink);
      // The file exists (truncated) as soon as the redirection is set up, as in a real shell.
      if (!sink.append || fs.readFile(this.host, path) === undefined) fs.writeFile(this.host, path, '', { append: sink.append, ...this.newFileMode(path) });
      this.mutation();
      const write = (t: string): void => {
        sink.text += t;
      };
      if (r.fd === 2) err = write;
      else out = write;
      if (r.both) err = write;
    }
    try {
      return await fn({ stdin, out, err });
    } finally {
      for (const s of sinks) fs.writeFile(this.host, s.path, s.text, { append: true });
    }
  }

  /** Expands a word into fields: variables and command substitutions, field splitting of unquoted results, ~. */
  async expand(word: Word): Promise<string[]> {
    const fields: string[] = [];
    let current = '';
    let started = false;
    for (let i = 0; i < word.parts.length; i++) {
      const part = word.parts[i]!;
      if (part.kind === 'lit') {
        let text = part.text;
        if (i === 0 && !part.quoted && (text === '~' || text.startsWith('~/'))) text = (this.env.get('HOME') ?? '/root') + text.slice(1);
        current += text;
        started = true;
        continue;
      }
      const value = part.kind === 'var' ? this.variable(part.name) : await this.substitute(part.source);
      if (part.quoted) {
        current += value;
        started = true;
        continue;
      }
      const pieces = value.split(/[ \t\n]+/);
      for (let j = 0; j < pieces.length; j++) {
        const piece = pieces[j]!;
        if (j > 0 && started) {
          fields.push(current);
          current = '';
          started = false;
        }
        if (piece !== '') {
          current += piece;
          started = true;
        }
      }
    }
    if (started) fields.push(current);
    return fields;
  }

  /** Expands a word without field splitting (assignments, redirection targets). */
  async expandJoined(word: Word): Promise<string> {
    let out = '';
    for (const part of word.parts) {
      if (part.kind === 'lit') out += part.text;
      else if (part.kind === 'var') out += this.variable(part.name);
      else out += await this.substitute(part.source);
    }
    return out;
  }

  private variable(name: string): string {
    if (name === '?') return String(this.lastStatus);
    if (name === '$') return '4242';
    if (name === '#') return '0';
    return this.env.get(name) ?? '';
  }

  /** `$(…)`: runs the text in this shell, captures stdout, drops trailing newlines. */
  private async substitute(source: string): Promise<string> {
    let captured = '';
    await this.runScript(source, { stdin: async () => '', out: (t) => (captured += t), err: () => {} });
    return captured.replace(/\n+$/, '');
  }
}

/** Content of a readable path, including the kernel's virtual files. */
export function readable(sh: Shell, path: string): string | undefined {
  const host = sh.host;
  switch (path) {
    case '/proc/sys/kernel/random/boot_id':
      return host.bootId + '\n';
    case '/proc/uptime': {
      const up = Math.max(0, (Date.now() - host.bootedAt) / 1000);
      return `${up.toFixed(2)} ${(up * 1.9).toFixed(2)}\n`;
    }
    case '/proc/loadavg':
      return '0.08 0.03 0.01 1/123 4242\n';
    case '/etc/hostname':
      return host.name + '\n';
    case '/proc/version':
      return `Linux version ${host.kernel.running} (debian-kernel@lists.debian.org) #1 SMP PREEMPT_DYNAMIC Debian\n`;
    default:
      return fs.readFile(host, path);
  }
}

/** Runs one exec request's command text on a host; the SSH server and the tests call this. */
export async function runCommand(host: LabHost, world: World, script: string, options: RunOptions = {}): Promise<RunResult> {
  const sh = new Shell(host, world);
  for (const [k, v] of Object.entries(options.env ?? {})) sh.env.set(k, v);
  let stdinUsed = false;
  const io: CommandIO = {
    // Real stdin is a stream: the first reader consumes it, later readers see EOF.
    stdin: async () => {
      if (stdinUsed || !options.stdin) return '';
      stdinUsed = true;
      return await options.stdin();
    },
    out: options.out ?? (() => {}),
    err: options.err ?? (() => {}),
  };
  const code = await sh.runScript(script, io);
  return { code, reboot: sh.rebootRequested, mutations: sh.mutations };
}

/** Runs a script and collects its output (tests and the admin endpoint). */
export async function runCaptured(
  host: LabHost,
  world: World,
  script: string,
  stdin?: string,
): Promise<RunResult & { stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const result = await runCommand(host, world, script, {
    stdin: stdin === undefined ? undefined : async () => stdin,
    out: (t) => (stdout += t),
    err: (t) => (stderr += t),
  });
  return { ...result, stdout, stderr };
}

export { literalOf };
