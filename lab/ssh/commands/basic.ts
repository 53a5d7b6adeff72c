// Everyday commands of a Debian host, over the in-memory host: identity (hostname, uname, id), files (cat,
// test, ls, touch, rm, mkdir, chmod, mv, tee), text (echo, printf, grep, head, tail, wc) and shell plumbing
// (true, false, sleep, set, export, cd, pwd, command -v, sudo, env, timeout, bash -c).
import type { CommandIO, CommandSpec, Shell } from '../interpreter.js';
import { Shell as ShellClass, readable } from '../interpreter.js';
import * as fs from '../fs.js';

type Spec = CommandSpec;

const DEBIAN_KERNEL_BUILD = '#1 SMP PREEMPT_DYNAMIC Debian 6.1.106-3 (2024-08-26)';

/** Splits `-abc` style short options from operands; `--` ends options. Unknown letters are returned too. */
export function shortOptions(args: string[], withValue = ''): { opts: Map<string, string | true>; operands: string[] } {
  const opts = new Map<string, string | true>();
  const operands: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      operands.push(...args.slice(i + 1));
      break;
    }
    if (a.startsWith('-') && a.length > 1 && !a.startsWith('--')) {
      for (let j = 1; j < a.length; j++) {
        const letter = a[j]!;
        if (withValue.includes(letter)) {
          const rest = a.slice(j + 1);
          opts.set(letter, rest || args[++i] || '');
          break;
        }
        opts.set(letter, true);
      }
      continue;
    }
    operands.push(a);
  }
  return { opts, operands };
}

const hostname: Spec = {
  run(args, io, sh) {
    const domain = 'lab.internal';
    const a = args[0];
    if (a === '-f' || a === '--fqdn' || a === '--long') io.out(`${sh.host.name}.${domain}\n`);
    else if (a === '-d' || a === '--domain') io.out(`${domain}\n`);
    else if (a === '-I' || a === '--all-ip-addresses') io.out(`${sh.host.address} \n`);
    else if (a === '-i' || a === '--ip-address') io.out(`${sh.host.address}\n`);
    else if (a === undefined || a === '-s' || a === '--short') io.out(`${sh.host.name}\n`);
    else {
      // Setting the host name is not something the lab lets a cookbook do.
      io.err(`hostname: you must be root to change the host name\n`);
      return 1;
    }
    return 0;
  },
};

const uname: Spec = {
  run(args, io, sh) {
    const { opts, operands } = shortOptions(args);
    if (operands.length > 0) {
      io.err(`uname: extra operand '${operands[0]}'\nTry 'uname --help' for more information.\n`);
      return 1;
    }
    const k = sh.host.kernel.running;
    const all = opts.has('a') || args.includes('--all');
    const fields: string[] = [];
    if (all || opts.has('s') || args.includes('--kernel-name')) fields.push('Linux');
    if (all || opts.has('n') || args.includes('--nodename')) fields.push(sh.host.name);
    if (all || opts.has('r') || args.includes('--kernel-release')) fields.push(k);
    if (all || opts.has('v') || args.includes('--kernel-version')) fields.push(DEBIAN_KERNEL_BUILD);
    if (all || opts.has('m') || args.includes('--machine')) fields.push('x86_64');
    if (all || opts.has('o') || args.includes('--operating-system')) fields.push('GNU/Linux');
    if (fields.length === 0) fields.push('Linux');
    io.out(fields.join(' ') + '\n');
    return 0;
  },
};

const cat: Spec = {
  async run(args, io, sh) {
    const { operands } = shortOptions(args);
    if (operands.length === 0) {
      io.out(await io.stdin());
      return 0;
    }
    let status = 0;
    for (const name of operands) {
      if (name === '-') {
        io.out(await io.stdin());
        continue;
      }
      const path = sh.path(name);
      const content = readable(sh, path);
      if (content !== undefined) {
        io.out(content);
      } else if (fs.isDir(sh.host, path)) {
        io.err(`cat: ${name}: Is a directory\n`);
        status = 1;
      } else {
        io.err(`cat: ${name}: No such file or directory\n`);
        status = 1;
      }
    }
    return status;
  },
};

/** `test` / `[`: the file and string tests scripts use. */
function evalTest(args: string[], sh: Shell): number {
  if (args.length === 0) return 1;
  if (args[0] === '!') return evalTest(args.slice(1), sh) === 0 ? 1 : 0;
  if (args.length === 1) return args[0] !== '' ? 0 : 1;
  if (args.length === 2) {
    const [op, operand] = args as [string, string];
    // Virtual files (/proc/…) exist without being in the host's file map.
    const st = (): fs.HostStat | undefined =>
      fs.stat(sh.host, sh.path(operand)) ?? (readable(sh, sh.path(operand)) !== undefined ? { kind: 'file', mode: 0o444, size: 1 } : undefined);
    switch (op) {
      case '-e':
      case '-a':
        return st() ? 0 : 1;
      case '-f':
        return st()?.kind === 'file' ? 0 : 1;
      case '-d':
        return st()?.kind === 'dir' ? 0 : 1;
      case '-s': {
        const s = st();
        return s && s.size > 0 ? 0 : 1;
      }
      case '-r':
      case '-w':
        return st() ? 0 : 1;
      case '-x':
        return st()?.kind === 'dir' || ((st()?.mode ?? 0) & 0o111) !== 0 ? 0 : 1;
      case '-n':
        return operand !== '' ? 0 : 1;
      case '-z':
        return operand === '' ? 0 : 1;
      default:
        return 2;
    }
  }
  if (args.length === 3) {
    const [a, op, b] = args as [string, string, string];
    switch (op) {
      case '=':
      case '==':
        return a === b ? 0 : 1;
      case '!=':
        return a !== b ? 0 : 1;
      case '-eq':
        return Number(a) === Number(b) ? 0 : 1;
      case '-ne':
        return Number(a) !== Number(b) ? 0 : 1;
      case '-lt':
        return Number(a) < Number(b) ? 0 : 1;
      case '-le':
        return Number(a) <= Number(b) ? 0 : 1;
      case '-gt':
        return Number(a) > Number(b) ? 0 : 1;
      case '-ge':
        return Number(a) >= Number(b) ? 0 : 1;
      default:
        return 2;
    }
  }
  return 2;
}

const test: Spec = {
  run(args, io, sh) {
    const status = evalTest(args, sh);
    if (status === 2) io.err(`bash: test: ${args.join(' ')}: unary operator expected\n`);
    return status;
  },
};

const bracket: Spec = {
  run(args, io, sh) {
    if (args.at(-1) !== ']') {
      io.err("bash: [: missing `]'\n");
      return 2;
    }
    return test.run(args.slice(0, -1), io, sh);
  },
};

const ls: Spec = {
  run(args, io, sh) {
    const { opts, operands } = shortOptions(args);
    const targets = operands.length > 0 ? operands : [sh.cwd];
    let status = 0;
    for (const t of targets) {
      const path = sh.path(t);
      const st = fs.stat(sh.host, path);
      if (!st) {
        io.err(`ls: cannot access '${t}': No such file or directory\n`);
        status = 2;
        continue;
      }
      if (targets.length > 1) io.out(`${t}:\n`);
      const names = st.kind === 'dir' ? fs.listDir(sh.host, path) : [t];
      const shown = opts.has('a') ? ['.', '..', ...names] : names.filter((n) => !n.startsWith('.'));
      if (opts.has('l')) {
        for (const n of shown) {
          const s = st.kind === 'dir' ? fs.stat(sh.host, `${path}/${n}`) : st;
          io.out(`${modeString(s?.kind ?? 'file', s?.mode ?? 0o644)} 1 root root ${s?.size ?? 0} Jan  1 00:00 ${n}\n`);
        }
      } else {
        for (const n of shown) io.out(`${n}\n`);
      }
    }
    return status;
  },
};

/** `-rw-r--r--` style mode text. */
export function modeString(kind: 'file' | 'dir', mode: number): string {
  const bits = 'rwxrwxrwx';
  let out = kind === 'dir' ? 'd' : '-';
  for (let i = 0; i < 9; i++) out += mode & (1 << (8 - i)) ? bits[i] : '-';
  return out;
}

const touch: Spec = {
  run(args, io, sh) {
    const { operands } = shortOptions(args);
    if (operands.length === 0) {
      io.err("touch: missing file operand\nTry 'touch --help' for more information.\n");
      return 1;
    }
    sh.mutation();
    let status = 0;
    for (const name of operands) {
      const path = sh.path(name);
      if (fs.stat(sh.host, path)) continue;
      const problem = fs.writeProblem(sh.host, path);
      if (problem) {
        io.err(`touch: cannot touch '${name}': ${problem}\n`);
        status = 1;
        continue;
      }
      fs.writeFile(sh.host, path, '', sh.newFileMode(path));
    }
    return status;
  },
};

const rm: Spec = {
  run(args, io, sh) {
    const { opts, operands } = shortOptions(args);
    const force = opts.has('f');
    if (operands.length === 0) {
      if (force) return 0;
      io.err("rm: missing operand\nTry 'rm --help' for more information.\n");
      return 1;
    }
    sh.mutation();
    let status = 0;
    for (const name of operands) {
      const path = sh.path(name);
      const st = fs.stat(sh.host, path);
      if (!st) {
        if (!force) {
          io.err(`rm: cannot remove '${name}': No such file or directory\n`);
          status = 1;
        }
        continue;
      }
      if (st.kind === 'dir') {
        if (!opts.has('r') && !opts.has('R')) {
          io.err(`rm: cannot remove '${name}': Is a directory\n`);
          status = 1;
          continue;
        }
        const prefix = path + '/';
        for (const f of [...sh.host.files.keys()]) if (f.startsWith(prefix)) fs.removeFile(sh.host, f);
        for (const d of [...(sh.host.dirs ?? [])]) if (d === path || d.startsWith(prefix)) sh.host.dirs!.delete(d);
        continue;
      }
      fs.removeFile(sh.host, path);
    }
    return status;
  },
};

const mkdir: Spec = {
  run(args, io, sh) {
    const { opts, operands } = shortOptions(args, 'm');
    if (operands.length === 0) {
      io.err("mkdir: missing operand\nTry 'mkdir --help' for more information.\n");
      return 1;
    }
    sh.mutation();
    let status = 0;
    for (const name of operands) {
      const err = fs.mkdir(sh.host, sh.path(name), opts.has('p'));
      if (err) {
        io.err(`mkdir: cannot create directory '${name}': ${err}\n`);
        status = 1;
      }
    }
    return status;
  },
};

const chmod: Spec = {
  run(args, io, sh) {
    const [mode, ...files] = args.filter((a) => a !== '-R');
    if (!mode || files.length === 0) {
      io.err("chmod: missing operand\nTry 'chmod --help' for more information.\n");
      return 1;
    }
    if (!/^[0-7]{3,4}$/.test(mode)) {
      io.err(`chmod: the lab supports octal modes only: '${mode}'\n`);
      return 1;
    }
    sh.mutation();
    let status = 0;
    for (const f of files) {
      if (!fs.chmod(sh.host, sh.path(f), parseInt(mode, 8))) {
        io.err(`chmod: cannot access '${f}': No such file or directory\n`);
        status = 1;
      }
    }
    return status;
  },
};

const mv: Spec = {
  run(args, io, sh) {
    const { operands } = shortOptions(args);
    if (operands.length !== 2) {
      io.err("mv: missing file operand\nTry 'mv --help' for more information.\n");
      return 1;
    }
    sh.mutation();
    const [from, to] = operands as [string, string];
    let dest = sh.path(to);
    if (fs.isDir(sh.host, dest)) dest = `${dest}/${from.split('/').pop()}`;
    const err = fs.rename(sh.host, sh.path(from), dest);
    if (err) {
      io.err(`mv: cannot stat '${from}': ${err}\n`);
      return 1;
    }
    return 0;
  },
};

const tee: Spec = {
  async run(args, io, sh) {
    const { opts, operands } = shortOptions(args);
    const text = await io.stdin();
    io.out(text);
    if (operands.length > 0) sh.mutation();
    let status = 0;
    for (const name of operands) {
      const path = sh.path(name);
      const problem = fs.writeProblem(sh.host, path);
      if (problem) {
        io.err(`tee: ${name}: ${problem}\n`);
        status = 1;
        continue;
      }
      fs.writeFile(sh.host, path, text, { append: opts.has('a'), ...sh.newFileMode(path) });
    }
    return status;
  },
};

function backslashEscapes(s: string): string {
  return s.replace(/\\(n|t|r|\\|a|b|e|f|v|0[0-7]{0,3})/g, (_m, e: string) => {
    if (e.startsWith('0')) return String.fromCharCode(parseInt(e.slice(1) || '0', 8));
    return ({ n: '\n', t: '\t', r: '\r', '\\': '\\', a: '\x07', b: '\b', e: '\x1b', f: '\f', v: '\v' } as Record<string, string>)[e]!;
  });
}

const echo: Spec = {
  run(args, io) {
    let newline = true;
    let escapes = false;
    let i = 0;
    while (i < args.length && /^-[neE]+$/.test(args[i]!)) {
      for (const f of args[i]!.slice(1)) {
        if (f === 'n') newline = false;
        if (f === 'e') escapes = true;
        if (f === 'E') escapes = false;
      }
      i++;
    }
    const text = args.slice(i).join(' ');
    io.out((escapes ? backslashEscapes(text) : text) + (newline ? '\n' : ''));
    return 0;
  },
};

const printf: Spec = {
  run(args, io) {
    const [format, ...rest] = args;
    if (format === undefined) {
      io.err('printf: usage: printf [-v var] format [arguments]\n');
      return 2;
    }
    // The format is reused until the arguments run out, as printf(1) does.
    let k = 0;
    let out = '';
    do {
      out += backslashEscapes(format).replace(/%(%|s|d|i|q)/g, (_m, c: string) => {
        if (c === '%') return '%';
        const v = rest[k++] ?? '';
        if (c === 'd' || c === 'i') return String(Number.parseInt(v || '0', 10) || 0);
        return v;
      });
    } while (k < rest.length && /%[sdiq]/.test(format));
    io.out(out);
    return 0;
  },
};

const grep: Spec = {
  async run(args, io, sh) {
    const { opts, operands } = shortOptions(args, 'e');
    const pattern = typeof opts.get('e') === 'string' ? (opts.get('e') as string) : operands.shift();
    if (pattern === undefined) {
      io.err('Usage: grep [OPTION]... PATTERNS [FILE]...\n');
      return 2;
    }
    let re: RegExp;
    try {
      const source = opts.has('F') ? pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') : opts.has('E') ? pattern : pattern.replace(/\\([|+?(){}])/g, '$1');
      re = new RegExp(opts.has('x') ? `^(?:${source})$` : source, opts.has('i') ? 'i' : '');
    } catch {
      io.err('grep: Invalid regular expression\n');
      return 2;
    }
    const inputs: [string, string | undefined][] = [];
    if (operands.length === 0) inputs.push(['(standard input)', await io.stdin()]);
    for (const f of operands) inputs.push([f, readable(sh, sh.path(f))]);
    let matched = 0;
    let status = 1;
    for (const [name, text] of inputs) {
      if (text === undefined) {
        if (!opts.has('s')) io.err(`grep: ${name}: No such file or directory\n`);
        status = 2;
        continue;
      }
      const lines = text.split('\n');
      if (lines.at(-1) === '') lines.pop();
      for (const line of lines) {
        if (re.test(line) !== opts.has('v')) {
          matched++;
          if (!opts.has('q') && !opts.has('c')) io.out((inputs.length > 1 ? `${name}:` : '') + line + '\n');
        }
      }
    }
    if (opts.has('c')) io.out(`${matched}\n`);
    if (matched > 0) return 0;
    return status === 2 ? 2 : 1;
  },
};

function lineFilter(pick: (lines: string[], n: number) => string[]): Spec {
  return {
    async run(args, io, sh) {
      const { opts, operands } = shortOptions(args, 'n');
      let n = 10;
      const flag = opts.get('n');
      if (typeof flag === 'string') n = Number(flag);
      else {
        const numeric = args.find((a) => /^-\d+$/.test(a));
        if (numeric) n = Number(numeric.slice(1));
      }
      const text = operands.filter((o) => !/^-\d+$/.test(o)).length > 0 ? readable(sh, sh.path(operands[0]!)) : await io.stdin();
      if (text === undefined) {
        io.err(`cannot open '${operands[0]}' for reading: No such file or directory\n`);
        return 1;
      }
      const lines = text.split('\n');
      if (lines.at(-1) === '') lines.pop();
      const picked = pick(lines, n);
      io.out(picked.length ? picked.join('\n') + '\n' : '');
      return 0;
    },
  };
}

const wc: Spec = {
  async run(args, io, sh) {
    const { opts, operands } = shortOptions(args);
    const text = operands.length > 0 ? readable(sh, sh.path(operands[0]!)) : await io.stdin();
    if (text === undefined) {
      io.err(`wc: ${operands[0]}: No such file or directory\n`);
      return 1;
    }
    const lines = (text.match(/\n/g) ?? []).length;
    const words = text.split(/\s+/).filter(Boolean).length;
    const bytes = Buffer.byteLength(text);
    const suffix = operands[0] ? ` ${operands[0]}` : '';
    if (opts.has('l')) io.out(`${lines}${suffix}\n`);
    else if (opts.has('w')) io.out(`${words}${suffix}\n`);
    else if (opts.has('c')) io.out(`${bytes}${suffix}\n`);
    else io.out(`${lines} ${words} ${bytes}${suffix}\n`);
    return 0;
  },
};

const sleep: Spec = {
  async run(args, io, sh) {
    const m = /^(\d+(?:\.\d+)?)([smh]?)$/.exec(args[0] ?? '');
    if (!m) {
      io.err(`sleep: invalid time interval '${args[0] ?? ''}'\n`);
      return 1;
    }
    const seconds = Number(m[1]) * ({ '': 1, s: 1, m: 60, h: 3600 } as Record<string, number>)[m[2]!]!;
    // Lab time runs at the lab's speed.
    await new Promise((r) => setTimeout(r, sh.world.scaled(seconds * 1000)));
    return 0;
  },
};

const setBuiltin: Spec = {
  run(args, _io, sh) {
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      if (/^[-+][a-zA-Z]+$/.test(a)) {
        if (a.slice(1).includes('e')) sh.errexit = a.startsWith('-');
        if (a.slice(1).endsWith('o')) i++;
      }
    }
    return 0;
  },
};

const umask: Spec = {
  run(args, io, sh) {
    const value = args.find((a) => !a.startsWith('-'));
    if (value === undefined) {
      io.out(sh.umask.toString(8).padStart(4, '0') + '\n');
      return 0;
    }
    if (!/^[0-7]{1,4}$/.test(value)) {
      io.err(`bash: umask: ${value}: octal number out of range\n`);
      return 1;
    }
    sh.umask = parseInt(value, 8) & 0o777;
    return 0;
  },
};

const exportBuiltin: Spec = {
  run(args, _io, sh) {
    for (const a of args) {
      const eq = a.indexOf('=');
      if (eq > 0) sh.env.set(a.slice(0, eq), a.slice(eq + 1));
    }
    return 0;
  },
};

const cd: Spec = {
  run(args, io, sh) {
    const target = sh.path(args[0] ?? '/root');
    if (!fs.isDir(sh.host, target)) {
      io.err(`bash: cd: ${args[0]}: No such file or directory\n`);
      return 1;
    }
    sh.cwd = target;
    return 0;
  },
};

const commandBuiltin: Spec = {
  async run(args, io, sh) {
    if (args[0] === '-v' || args[0] === '-V') {
      const name = args[1];
      if (!name || !sh.available(name)) return 1;
      io.out(BUILTINS.has(name) ? `${name}\n` : `/usr/bin/${name}\n`);
      return 0;
    }
    return await sh.runArgv(args, io);
  },
};

const which: Spec = {
  run(args, io, sh) {
    let status = 0;
    for (const name of args.filter((a) => !a.startsWith('-'))) {
      if (sh.available(name) && !BUILTINS.has(name)) io.out(`/usr/bin/${name}\n`);
      else status = 1;
    }
    return status;
  },
};

const sudo: Spec = {
  async run(args, io, sh) {
    let i = 0;
    while (i < args.length && args[i]!.startsWith('-')) {
      const a = args[i]!;
      if (a === '--') {
        i++;
        break;
      }
      if (a === '-u' || a === '-g') {
        i += 2;
        continue;
      }
      if (/^-[nEHSiks]+$/.test(a) || /^--(non-interactive|preserve-env(=.*)?|set-home|login)$/.test(a) || a.startsWith('-u') || a.startsWith('--user=')) {
        i++;
        continue;
      }
      io.err(`sudo: unrecognized option '${a}'\n`);
      return 1;
    }
    const rest = args.slice(i);
    // sudo accepts VAR=value before the command.
    const env = new Map<string, string>();
    while (rest.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(rest[0]!)) {
      const a = rest.shift()!;
      env.set(a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1));
    }
    if (rest.length === 0) {
      io.err('usage: sudo -h | -K | -k | -V\nusage: sudo [-AbEHknPS] [-u user] command [arg ...]\n');
      return 1;
    }
    if (!sh.available(rest[0]!.split('/').pop()!) || BUILTINS.has(rest[0]!)) {
      io.err(`sudo: ${rest[0]}: command not found\n`);
      return 1;
    }
    return await sh.runArgv(rest, io, env);
  },
};

const env: Spec = {
  async run(args, io, sh) {
    const extra = new Map<string, string>();
    let i = 0;
    for (; i < args.length; i++) {
      const a = args[i]!;
      if (a === '-i' || a === '--ignore-environment') continue;
      if (a === '-u') {
        i++;
        continue;
      }
      const eq = a.indexOf('=');
      if (eq > 0 && /^[A-Za-z_][A-Za-z0-9_]*$/.test(a.slice(0, eq))) extra.set(a.slice(0, eq), a.slice(eq + 1));
      else break;
    }
    if (i >= args.length) {
      for (const [k, v] of new Map([...sh.env, ...extra])) io.out(`${k}=${v}\n`);
      return 0;
    }
    return await sh.runArgv(args.slice(i), io, extra);
  },
};

const timeout: Spec = {
  async run(args, io, sh) {
    let i = 0;
    while (i < args.length && args[i]!.startsWith('-')) i += args[i] === '-s' || args[i] === '-k' ? 2 : 1;
    const rest = args.slice(i + 1);
    if (rest.length === 0) {
      io.err("timeout: missing operand\nTry 'timeout --help' for more information.\n");
      return 125;
    }
    // Lab commands finish at once; the limit never bites.
    return await sh.runArgv(rest, io);
  },
};

const bash: Spec = {
  async run(args, io, sh) {
    let i = 0;
    let errexit = false;
    while (i < args.length && /^-[a-zA-Z]+$/.test(args[i]!) && !args[i]!.includes('c')) {
      if (args[i]!.includes('e')) errexit = true;
      i++;
    }
    const flag = args[i];
    if (flag === undefined || !/^-[a-zA-Z]*c[a-zA-Z]*$/.test(flag)) {
      const source = await io.stdin();
      if (flag === undefined || flag === '-s') return await subshell(source, io, sh, errexit);
      io.err(`bash: ${flag}: No such file or directory\n`);
      return 127;
    }
    if (flag.includes('e')) errexit = true;
    const script = args[i + 1];
    if (script === undefined) {
      io.err('bash: -c: option requires an argument\n');
      return 2;
    }
    return await subshell(script, io, sh, errexit);
  },
};

/** Runs `script` in a child shell of `sh` (same host, copied variables). */
async function subshell(script: string, io: CommandIO, sh: Shell, errexit: boolean): Promise<number> {
  const child = new ShellClass(sh.host, sh.world);
  for (const [k, v] of sh.env) child.env.set(k, v);
  child.cwd = sh.cwd;
  child.umask = sh.umask;
  child.errexit = errexit;
  const code = await child.runScript(script, io);
  if (child.rebootRequested) sh.requestReboot();
  sh.mutations += child.mutations;
  return code;
}

const dateCmd: Spec = {
  run(args, io) {
    const now = new Date();
    if (args[0] === '+%s') io.out(`${Math.floor(now.getTime() / 1000)}\n`);
    else if (args.includes('-Iseconds') || args.includes('--iso-8601=seconds')) io.out(now.toISOString().replace(/\.\d+Z$/, '+00:00') + '\n');
    else io.out(now.toUTCString().replace('GMT', 'UTC') + '\n');
    return 0;
  },
};

/** Shell builtins (no /usr/bin path). */
export const BUILTINS = new Set(['cd', 'set', 'umask', 'export', 'exit', 'true', 'false', ':', 'echo', 'printf', 'test', '[', 'command', 'pwd']);

/** The basic command table. */
export const basicCommands: Record<string, Spec> = {
  hostname,
  uname,
  cat,
  test,
  '[': bracket,
  ls,
  touch,
  rm,
  mkdir,
  chmod,
  mv,
  tee,
  echo,
  printf,
  grep,
  head: lineFilter((lines, n) => lines.slice(0, n)),
  tail: lineFilter((lines, n) => (n === 0 ? [] : lines.slice(-n))),
  wc,
  true: { run: () => 0 },
  ':': { run: () => 0 },
  false: { run: () => 1 },
  sleep,
  set: setBuiltin,
  umask,
  export: exportBuiltin,
  cd,
  pwd: { run: (_a, io, sh) => (io.out(sh.cwd + '\n'), 0) },
  command: commandBuiltin,
  which,
  sudo,
  env,
  timeout,
  bash,
  sh: bash,
  id: {
    run(args, io) {
      const name = args.includes('-un') || args.includes('-nu') || (args.includes('-u') && args.includes('-n'));
      io.out(name ? 'root\n' : args.includes('-u') ? '0\n' : 'uid=0(root) gid=0(root) groups=0(root)\n');
      return 0;
    },
  },
  whoami: { run: (_a, io) => (io.out('root\n'), 0) },
  date: dateCmd,
};
