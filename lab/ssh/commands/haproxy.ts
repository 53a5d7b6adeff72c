// HAProxy's tools on a lab load balancer: `socat` pipes stdin to the real admin socket of the host's running
// haproxy (as `echo "show stat" | socat stdio /run/haproxy/admin.sock` does on a real host), and `haproxy -c -f`
// checks a configuration file of the host with the real haproxy. Without real HAProxy they say what to install.
import { connect } from 'node:net';
import { haproxyOf, haproxyUnavailable } from '../../haproxy/registry.js';
import type { CommandSpec } from '../interpreter.js';

/** socat options that take a value. */
const SOCAT_VALUED = new Set(['-t', '-T', '-b', '-lf', '-lp', '-L', '-W']);
/** Admin socket commands that only read. */
const READ_ONLY = new Set(['show', 'help', 'prompt', 'quit', 'get']);

/** The path of a socat address naming a unix socket, or undefined (stdio and friends give ''). */
function socketAddress(addr: string): string | undefined {
  const base = addr.split(',')[0]!;
  if (['-', 'stdio', 'stdin', 'stdout'].includes(base.toLowerCase())) return '';
  const m = /^(?:unix-connect|unix-client|unix|gopen|open):(.+)$/i.exec(base);
  if (m) return m[1];
  return base.startsWith('/') || base.startsWith('.') ? base : undefined;
}

const socat: CommandSpec = {
  package: 'socat',
  async run(args, io, sh) {
    const addresses: string[] = [];
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      if (SOCAT_VALUED.has(a)) i++;
      else if (!a.startsWith('-') || a === '-') addresses.push(a);
    }
    const kinds = addresses.map(socketAddress);
    if (addresses.length !== 2 || !kinds.includes('') || kinds.every((k) => k === '')) {
      io.err(`socat[${process.pid}] E lab: only "socat stdio UNIX-CONNECT:<socket>" (or a socket path) is supported, got: ${addresses.join(' ')}\n`);
      return 1;
    }
    const path = sh.path(kinds.find((k) => k)!);
    const real = haproxyOf(sh.world)?.socketPath(sh.host, path);
    if (!real) {
      const why = haproxyUnavailable(sh.world);
      io.err(`socat[${process.pid}] E connect(5, AF=1 "${path}", ${path.length + 2}): ${why ? `Connection refused (lab: ${why})` : 'No such file or directory'}\n`);
      return 1;
    }
    const input = await io.stdin();
    const verbs = input.split(/[;\n]/).map((c) => c.trim().split(/\s+/)[0] ?? '').filter(Boolean);
    if (verbs.some((v) => !READ_ONLY.has(v))) sh.mutation();
    return await new Promise<number>((resolve) => {
      const sock = connect(real);
      sock.setTimeout(30_000, () => sock.destroy(new Error('timed out')));
      sock.on('data', (d: Buffer) => io.out(d.toString('utf8')));
      sock.once('connect', () => sock.end(input));
      sock.once('close', () => resolve(0));
      sock.once('error', (err) => {
        io.err(`socat[${process.pid}] E ${path}: ${err.message}\n`);
        resolve(1);
      });
    });
  },
};

const haproxy: CommandSpec = {
  package: 'haproxy',
  async run(args, io, sh) {
    if (args.some((a) => a === '-v' || a === '-vv' || a === '-V')) {
      io.out('HAProxy version 2.6.12-1+deb12u1 2023/12/16 - https://haproxy.org/\n');
      return 0;
    }
    const f = args.indexOf('-f');
    if (!args.includes('-c') || f < 0 || !args[f + 1]) {
      io.err('lab: haproxy on a lab host supports "haproxy -c -f FILE" (checks); the service runs through systemctl\n');
      return 1;
    }
    const lb = haproxyOf(sh.world);
    if (!lb) {
      io.err(`lab: ${haproxyUnavailable(sh.world) ?? 'this lab runs no real HAProxy'}\n`);
      return 1;
    }
    const r = await lb.check(sh.host, sh.path(args[f + 1]!), args.includes('-q'));
    io.out(r.stdout);
    io.err(r.stderr);
    return r.code;
  },
};

/** The HAProxy command table. */
export const haproxyCommands: Record<string, CommandSpec> = { socat, haproxy };
