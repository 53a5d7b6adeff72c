// Fan-out benchmark: one command (`hostname`) on 50 real OpenSSH sshd hosts on loopback, run by our SSH layer,
// by parallel-ssh (pssh) and by `ansible -m raw`, side by side in one run. Each tool runs as its own process
// and is timed as a whole (start-up included), interleaved, several rounds after one warm-up; medians are
// reported. Every run must get the right hostname back from all 50 hosts or the bench fails.
//
// Usage: node <build>/bench/fanout.js [--runs N] [--hosts N]
// Last line: {"bench":"fanout","hosts":50,"ours_s":..,"pssh_s":..,"ansible_s":..,"ours_rss_mb":..,...}
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { systemClock } from '../lib/core/clock.js';
import { Gate } from '../lib/core/gate.js';
import { nullLog } from '../lib/core/log.js';
import type { ClusterConfig } from '../lib/inventory/schema.js';
import { create } from '../lib/remote/index.js';
import { type SshdHosts, startSshdHosts } from '../scripts/servers/sshd.js';

const thisFile = fileURLToPath(import.meta.url);

interface HostsState {
  knownHostsPath: string;
  identityFile: string;
  hosts: { name: string; address: string; port: number }[];
}

/** Child mode: our fan-out as a separate process, like the other tools. Prints one JSON line. */
async function ours(stateFile: string): Promise<void> {
  const state = JSON.parse(readFileSync(stateFile, 'utf8')) as HostsState;
  const byName = new Map(state.hosts.map((h) => [h.name, h]));
  const cluster = {
    name: 'bench',
    source: stateFile,
    ssh: { user: 'root', port: state.hosts[0]!.port, sudo: false, addresses: 'dns', knownHosts: state.knownHostsPath, identityFile: state.identityFile },
  } as unknown as ClusterConfig;
  const ctx = { cluster, gate: new Gate({ dryRun: false }), log: nullLog, signal: new AbortController().signal, clock: systemClock, stateDir: '/tmp' };
  const remote = await create(ctx, {
    resolveHost: async (name) => {
      const h = byName.get(name)!;
      return { address: h.address, port: h.port };
    },
    options: { agentSocket: null, keepaliveIntervalMs: 0 },
  });
  const res = await remote.runOnHosts(
    state.hosts.map((h) => h.name),
    ['hostname'],
    { readOnly: true, concurrency: state.hosts.length },
  );
  await remote.close();
  const wrong = res.results.filter((r) => r.stdout.trim() !== r.host).map((r) => r.host);
  process.stdout.write(JSON.stringify({ ok: res.ok.length, wrong, maxRssMb: process.resourceUsage().maxRSS / 1024 }) + '\n');
}

interface Timed {
  seconds: number;
  stdout: string;
  stderr: string;
  code: number | null;
}

function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ seconds: Number(process.hrtime.bigint() - t0) / 1e9, stdout, stderr, code }));
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function need(path: string, install: string): void {
  if (!existsSync(path)) throw new Error(`${path} is missing; install it with: ${install}`);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (flag: string, dflt: number): number => {
    const i = args.indexOf(flag);
    return i >= 0 ? Number(args[i + 1]) : dflt;
  };
  const runs = opt('--runs', 5);
  const count = opt('--hosts', 50);
  need('/usr/bin/parallel-ssh', 'apt-get install -y --no-install-recommends pssh');
  need('/usr/bin/ansible', 'apt-get install -y --no-install-recommends ansible-core');

  let set: SshdHosts | undefined;
  try {
    set = await startSshdHosts({ count });
    const port = set.hosts[0]!.port;
    const stateFile = join(set.dir, 'bench-state.json');
    writeFileSync(stateFile, JSON.stringify({ knownHostsPath: set.knownHostsPath, identityFile: set.identityFile, hosts: set.hosts.map((h) => ({ name: h.name, address: h.address, port: h.port })) }));
    const hostsFile = join(set.dir, 'pssh-hosts');
    writeFileSync(hostsFile, set.hosts.map((h) => `${h.address}\n`).join(''));
    const inventory = join(set.dir, 'ansible-inventory.ini');
    writeFileSync(inventory, ['[all]', ...set.hosts.map((h) => `${h.name} ansible_host=${h.address} ansible_port=${h.port}`), ''].join('\n'));
    const name = new Map(set.hosts.map((h) => [h.address, h.name]));
    const sshOpts = `-o UserKnownHostsFile=${set.knownHostsPath} -o StrictHostKeyChecking=yes -o BatchMode=yes -o IdentitiesOnly=yes -i ${set.identityFile} -p ${port}`;

    const tools: Record<string, () => Promise<{ seconds: number; rssMb?: number }>> = {
      ours: async () => {
        const r = await timed(process.execPath, [thisFile, '--ours', stateFile]);
        const line = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as { ok?: number; wrong?: string[]; maxRssMb?: number };
        if (r.code !== 0 || line.ok !== count || (line.wrong?.length ?? 1) > 0) throw new Error(`ours failed: ${r.stdout} ${r.stderr}`);
        return { seconds: r.seconds, rssMb: line.maxRssMb };
      },
      pssh: async () => {
        const r = await timed('/usr/bin/parallel-ssh', ['-p', String(count), '-t', '120', '-h', hostsFile, '-l', 'root', '-i', '-x', sshOpts, 'hostname']);
        // With -i each host's output follows its [SUCCESS] line: check every host answered with its own name.
        const answers = [...r.stdout.matchAll(/\[SUCCESS\] (\S+)\n(\S+)/g)].filter((m) => name.get(m[1]!) === m[2]);
        if (r.code !== 0 || answers.length !== count) throw new Error(`pssh failed (${answers.length}/${count}): ${r.stdout.slice(-500)} ${r.stderr}`);
        return { seconds: r.seconds };
      },
      ansible: async () => {
        const env = {
          ...process.env,
          ANSIBLE_SSH_ARGS: `-o ControlMaster=no ${sshOpts.replace(/ -p \d+$/, '')}`,
          ANSIBLE_HOST_KEY_CHECKING: 'True',
          ANSIBLE_NOCOLOR: '1',
          ANSIBLE_REMOTE_USER: 'root',
          ANSIBLE_PRIVATE_KEY_FILE: set!.identityFile,
          ANSIBLE_PYTHON_INTERPRETER: 'auto_silent',
        };
        const r = await timed('/usr/bin/ansible', ['all', '-i', inventory, '-m', 'raw', '-a', 'hostname', '-f', String(count)], env);
        const answers = [...r.stdout.matchAll(/^(\S+) \| CHANGED \| rc=0 >>\n(\S+)/gm)].filter((m) => m[1] === m[2]);
        if (r.code !== 0 || answers.length !== count) throw new Error(`ansible failed (${answers.length}/${count}): ${r.stdout.slice(-800)} ${r.stderr.slice(-800)}`);
        return { seconds: r.seconds };
      },
    };

    const times: Record<string, number[]> = { ours: [], pssh: [], ansible: [] };
    const rss: number[] = [];
    const order = Object.keys(tools);
    process.stdout.write(`fanout: ${count} sshd hosts on ${set.hosts[0]!.address.replace(/\.\d+$/, '.0/24')} port ${port}; 1 warm-up + ${runs} interleaved rounds\n`);
    for (let round = 0; round <= runs; round++) {
      // Rotate who goes first so no tool always runs on a machine just loaded by another.
      const rotated = order.map((_, i) => order[(i + round) % order.length]!);
      const line: string[] = [];
      for (const tool of rotated) {
        const r = await tools[tool]!();
        if (round > 0) {
          times[tool]!.push(r.seconds);
          if (r.rssMb !== undefined) rss.push(r.rssMb);
        }
        line.push(`${tool} ${r.seconds.toFixed(2)}s`);
      }
      process.stdout.write(`  ${round === 0 ? 'warm-up' : `round ${round}`}: ${line.join(', ')}\n`);
    }
    const oursS = median(times.ours!);
    const psshS = median(times.pssh!);
    const ansibleS = median(times.ansible!);
    const r2 = (x: number): number => Math.round(x * 100) / 100;
    process.stdout.write(`medians: ours ${oursS.toFixed(2)} s, pssh ${psshS.toFixed(2)} s (${(psshS / oursS).toFixed(1)}x), ansible ${ansibleS.toFixed(2)} s (${(ansibleS / oursS).toFixed(1)}x); ours max RSS ${median(rss).toFixed(0)} MB\n`);
    process.stdout.write(
      JSON.stringify({
        bench: 'fanout',
        hosts: count,
        runs,
        ours_s: r2(oursS),
        pssh_s: r2(psshS),
        ansible_s: r2(ansibleS),
        ours_rss_mb: Math.round(median(rss)),
        pssh_over_ours: r2(psshS / oursS),
        ansible_over_ours: r2(ansibleS / oursS),
      }) + '\n',
    );
  } finally {
    await set?.stop();
  }
}

if (process.argv[2] === '--ours') {
  ours(process.argv[3]!).catch((err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
} else {
  main().catch((err: unknown) => {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  });
}
