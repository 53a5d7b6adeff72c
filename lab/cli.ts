// `cookbook lab up|down|status`: the lab as a detached background process (lab/daemon.ts) with its state
// directory. Also ensureLab() (start the lab unless it runs; used for `--cluster-name local`) and findLab().
// A lab is identified by its state directory; the default one is found by cluster name.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import yargs from 'yargs';
import { LabError, UsageError, exitCodeOf, messageOf } from '../lib/core/errors.js';
import { LIST_FAULTS, parseFaults } from './admin.js';
import { LabClient } from './client.js';
import type { DaemonOptions } from './daemon.js';
import { isLabDaemon, listRunningLabs, pidAlive } from './running.js';
import { stopLab } from './stop.js';
import { type LabInfo, STATE_FILES, ensureStateDir, labStateDir, readLabInfo } from './state.js';
import type { LabFaults } from './world.js';

export { findLabInventoryDir, isLabDaemon, listRunningLabs, pidAlive } from './running.js';
export { labPorts, stopLab } from './stop.js';

/** Where labMain writes (tests capture it). */
export interface LabIO {
  stdout(text: string): void;
  stderr(text: string): void;
}

const defaultIO: LabIO = { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) };

const START_LOCK = '.start.lock';

/** The running lab of this cluster (state dir), or undefined when none answers. */
export async function findLab(clusterName: string, stateDir?: string): Promise<LabInfo | undefined> {
  const info = readLabInfo(labStateDir(clusterName, stateDir));
  if (!info || !pidAlive(info.pid) || !isLabDaemon(info.pid)) return undefined;
  return (await new LabClient(info).healthy()) ? info : undefined;
}

/** Options of starting a lab from the CLI or ensureLab; `maxHeapMb` caps the daemon's V8 heap (a twin's is sized from its snapshot). */
export type StartOptions = DaemonOptions & { clusterName: string; stateDir?: string; timeoutMs?: number; maxHeapMb?: number };

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function logTail(dir: string, lines = 20): string {
  try {
    return readFileSync(join(dir, STATE_FILES.log), 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Takes the per-lab start lock (another `lab up` may be starting the same lab); false when someone else holds it. */
function tryStartLock(dir: string): boolean {
  const path = join(dir, START_LOCK);
  try {
    writeFileSync(path, String(process.pid), { flag: 'wx', mode: 0o600 });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const holder = Number(readFileSync(path, 'utf8').trim());
    if (Number.isInteger(holder) && holder > 0 && pidAlive(holder)) return false;
    // The holder died mid-start: take the lock over.
    rmSync(path, { force: true });
    return tryStartLock(dir);
  }
}

/**
 * Starts the lab daemon detached and waits until it is ready (lab.json of the new pid written, /healthz
 * answering). Resolves with `started: false` when a lab of this state directory was already running.
 */
export async function startLabProcess(o: StartOptions): Promise<{ info: LabInfo; started: boolean }> {
  const dir = labStateDir(o.clusterName, o.stateDir);
  const deadline = Date.now() + (o.timeoutMs ?? 180_000);
  for (;;) {
    const running = await findLab(o.clusterName, dir);
    if (running) return { info: running, started: false };
    ensureStateDir(dir);
    if (tryStartLock(dir)) break;
    if (Date.now() > deadline) throw new LabError(`lab ${o.clusterName}: another start did not finish in time`, { context: { stateDir: dir } });
    await sleep(100);
  }
  try {
    // A lab.json left by a crashed daemon would be mistaken for the new one's.
    rmSync(join(dir, STATE_FILES.labJson), { force: true });
    const { timeoutMs: _t, maxHeapMb, ...daemonOptions } = o;
    const options: DaemonOptions = { ...daemonOptions, stateDir: dir };
    const logFd = openSync(join(dir, STATE_FILES.log), 'a', 0o600);
    const daemonPath = fileURLToPath(new URL('./daemon.js', import.meta.url));
    let exited: number | null | undefined;
    let child;
    try {
      const heap = maxHeapMb ? [`--max-old-space-size=${Math.round(maxHeapMb)}`] : [];
      child = spawn(process.execPath, [...heap, daemonPath, '--options', JSON.stringify(options)], {
        detached: true,
        stdio: ['ignore', logFd, logFd],
        cwd: dir,
        env: process.env,
      });
    } finally {
      closeSync(logFd);
    }
    child.once('exit', (code) => (exited = code));
    child.unref();
    const pid = child.pid;
    if (pid === undefined) throw new LabError('lab: could not start the lab process', { context: { stateDir: dir } });
    // Kept until `lab down` has seen the process exit: lab.json goes away while the daemon is still stopping.
    writeFileSync(join(dir, STATE_FILES.pid), `${pid}\n`, { mode: 0o600 });
    for (;;) {
      const info = readLabInfo(dir);
      if (info?.pid === pid && (await new LabClient(info).healthy())) return { info, started: true };
      if (exited !== undefined || !pidAlive(pid)) {
        throw new LabError(`lab ${o.clusterName} failed to start (exit ${exited ?? '?'}):\n${logTail(dir)}`, {
          context: { stateDir: dir, log: join(dir, STATE_FILES.log) },
          hint: `see ${join(dir, STATE_FILES.log)}`,
        });
      }
      if (Date.now() > deadline) {
        process.kill(pid, 'SIGKILL');
        throw new LabError(`lab ${o.clusterName} did not become ready in time:\n${logTail(dir)}`, { context: { stateDir: dir, pid } });
      }
      await sleep(50);
    }
  } finally {
    rmSync(join(dir, START_LOCK), { force: true });
  }
}

/** The running lab of a cluster, started (with default sizes) when it is not running. */
export async function ensureLab(o: { clusterName: string; stateDir?: string; onStart?: (message: string) => void; options?: Partial<DaemonOptions> }): Promise<LabInfo> {
  const found = await findLab(o.clusterName, o.stateDir);
  if (found) return found;
  o.onStart?.(`starting the ${o.clusterName} lab (cookbook lab up)…`);
  // Without sizes, the lab `cookbook lab up` starts: with one load balancer (explicit sizes say their own).
  const { info } = await startLabProcess({ ...(o.options ?? { loadbalancer: 1 }), clusterName: o.clusterName, stateDir: o.stateDir });
  return info;
}

function describeLab(info: LabInfo): string {
  const dir = info.stateDir;
  const byRole = new Map<string, number>();
  for (const h of info.hosts) byRole.set(h.role, (byRole.get(h.role) ?? 0) + 1);
  return [
    `  kubernetes  ${info.endpoints.kubernetes}   (KUBECONFIG=${join(dir, STATE_FILES.kubeconfig)})`,
    `  openstack   ${info.endpoints.openstack}   (OS_CLIENT_CONFIG_FILE=${join(dir, STATE_FILES.clouds)} --os-cloud ${info.clusterName})`,
    `  ssh         port ${info.ssh.port} on 127.x addresses, user root   (-i ${join(dir, STATE_FILES.key)} -o UserKnownHostsFile=${join(dir, STATE_FILES.knownHosts)})`,
    `  admin       ${info.endpoints.admin}`,
    `  inventory   ${join(dir, STATE_FILES.inventory)}`,
    `  hosts       ${info.hosts.length} (${[...byRole].map(([r, n]) => `${n} ${r}`).join(', ')})`,
    `  log         ${join(dir, STATE_FILES.log)}`,
    ...(info.haproxy ? ['unavailable' in info.haproxy ? `  haproxy     no real HAProxy: ${info.haproxy.unavailable}` : `  haproxy     real HAProxy on each load balancer's address, port ${info.haproxy.port} (pids ${Object.values(info.haproxy.pids).flat().join(', ') || 'none'})`] : []),
    ...(info.etcd ? ['unavailable' in info.etcd ? `  etcd        no real etcd: ${info.etcd.unavailable}` : `  etcd        real etcd on each etcd host's address, client port ${info.etcd.clientPort}, peer port ${info.etcd.peerPort}`] : []),
  ].join('\n');
}

/** lab.json without its secret, for printing. */
function publicInfo(info: LabInfo): Omit<LabInfo, 'adminToken'> {
  const { adminToken: _secret, ...rest } = info;
  return rest;
}

/**
 * Parses `--fault KEY=VALUE` options. One option may carry several faults, comma-separated
 * (`k8sErrorRate=0.2,k8s429Rate=0.1`); a list fault takes the comma-separated items that follow it
 * (`hostsNeverReturn=a,b`).
 */
export function parseFaultArgs(values: string[]): LabFaults {
  const raw: Record<string, unknown> = {};
  for (const v of values) {
    let current: string | undefined;
    for (const part of v.split(',')) {
      const eq = part.indexOf('=');
      if (eq < 0) {
        if (current === undefined || !LIST_FAULTS.has(current)) throw new UsageError(`--fault expects KEY=VALUE, got "${v}"`, { hint: 'e.g. --fault k8sErrorRate=0.2,k8s429Rate=0.1 or --fault hostsNeverReturn=host-a,host-b' });
        if (part) (raw[current] as string[]).push(part);
        continue;
      }
      if (eq === 0) throw new UsageError(`--fault expects KEY=VALUE, got "${v}"`, { hint: 'e.g. --fault k8sErrorRate=0.2' });
      current = part.slice(0, eq);
      const value = part.slice(eq + 1);
      raw[current] = LIST_FAULTS.has(current) ? value.split(',').filter(Boolean) : value === '' ? Number.NaN : Number(value);
    }
  }
  try {
    return parseFaults(raw);
  } catch (err) {
    throw new UsageError(`--fault: ${messageOf(err)}`);
  }
}

/** `lab status` without a name: one line per running lab (or one JSON object listing them); 1 when none runs. */
function listLabs(labs: LabInfo[], json: boolean, io: LabIO): number {
  if (json) {
    io.stdout(JSON.stringify({ running: labs.length > 0, labs: labs.map(publicInfo) }) + '\n');
    return labs.length > 0 ? 0 : 1;
  }
  if (labs.length === 0) {
    io.stderr('no lab is running; start one with: cookbook lab up [--cluster-name NAME]\n');
    return 1;
  }
  const rows = labs.map((l) => `  ${l.clusterName.padEnd(20)}${String(l.pid).padEnd(9)}${String(l.speed).padEnd(7)}${String(l.hosts.length).padEnd(7)}${l.startedAt.padEnd(26)}${l.stateDir}`);
  io.stdout([`${labs.length} lab${labs.length === 1 ? '' : 's'} running (details: cookbook lab status --cluster-name NAME)`, '  NAME'.padEnd(22) + 'PID'.padEnd(9) + 'SPEED'.padEnd(7) + 'HOSTS'.padEnd(7) + 'SINCE'.padEnd(26) + 'STATE DIR', ...rows].join('\n') + '\n');
  return 0;
}

/** The parsed arguments labMain acts on. */
interface LabArgs {
  _: (string | number)[];
  clusterName?: string;
  stateDir?: string;
  json: boolean;
  control: number;
  workers: number;
  workersNfs: number;
  ingress: number;
  etcd: number;
  loadbalancers: number;
  speed: number;
  seed: number;
  k8sVersion: string;
  fault: string[];
  resetCounters: boolean;
  fromSnapshot?: string;
  out?: string;
  skipHosts?: boolean;
  inventory?: string[];
  help?: boolean;
}

/** `cookbook lab …`: returns the exit code (0 ok, 1 failure, 2 bad usage). */
export async function labMain(argv: string[], io: LabIO = defaultIO): Promise<number> {
  let helpText = '';
  let args: LabArgs;
  try {
    const y = yargs(argv)
      .option('cluster-name', { type: 'string', describe: 'Cluster the lab models (default local; inventory/local.yaml, other names get prefix NAME-k8s). `status` without it lists every running lab' })
      .option('state-dir', { type: 'string', describe: 'State directory (default: $XDG_STATE_HOME/cluster-cookbooks/labs/NAME)' })
      .option('json', { type: 'boolean', default: false, describe: 'Print one JSON object' })
      .scriptName('cookbook lab')
      .usage('$0 <up|down|status|snapshot> [options]')
      .exitProcess(false)
      .version(false)
      .locale('en')
      .parserConfiguration({ 'camel-case-expansion': true })
      .command('up', 'Start the lab in the background and print its endpoints', (c) =>
        c
          .option('control', { type: 'number', default: 3, describe: 'Control-plane nodes' })
          .option('workers', { type: 'number', default: 4, describe: 'Worker nodes' })
          .option('workers-nfs', { type: 'number', default: 2, describe: 'NFS worker nodes' })
          .option('ingress', { type: 'number', default: 1, describe: 'Ingress nodes' })
          .option('etcd', { type: 'number', default: 3, describe: 'External etcd members' })
          .option('loadbalancers', { type: 'number', default: 1, describe: "Load balancers running real HAProxy in front of the control nodes' API (needs Debian haproxy)" })
          .option('speed', { type: 'number', default: 1, describe: 'Divide every lab delay by this factor' })
          .option('seed', { type: 'number', default: 1, describe: "Seed of the lab's random choices" })
          .option('k8s-version', { type: 'string', default: '1.29.4', describe: 'Kubernetes version (1.27.x-1.33.x)' })
          .option('fault', { type: 'string', array: true, default: [], describe: 'Inject a fault KEY=VALUE (openstackErrorRate=0.1, hostsNeverReturn=h1,h2, …)' })
          .option('from-snapshot', { type: 'string', requiresArg: true, describe: 'Start a twin of a snapshotted cluster (cookbook lab snapshot): its names, roles, workloads, PDBs and timings; host counts are ignored' }),
      )
      .command('snapshot', "Capture a read-only snapshot of a cluster for lab up --from-snapshot (--state-dir: the runs' state dir, whose journals calibrate timings)", (c) =>
        c
          .option('out', { type: 'string', requiresArg: true, describe: 'File to write (mode 0600, gzip when large; default ./<cluster>-snapshot-<time>.json)' })
          .option('skip-hosts', { type: 'boolean', default: false, describe: 'Leave out the per-host SSH facts' }),
      )
      .command('down', 'Stop the lab and remove its state directory')
      .command('status', 'Show endpoints, hosts and counters', (c) => c.option('reset-counters', { type: 'boolean', default: false, describe: 'Start a new measurement after printing' }))
      // The runner's global options may come along; they mean nothing to the lab.
      .option('inventory', { type: 'string', array: true, hidden: true })
      .option('log-dir', { type: 'string', hidden: true })
      .option('reason', { type: 'string', hidden: true })
      .option('task-id', { type: 'string', hidden: true })
      .option('verbose', { alias: 'v', type: 'boolean', hidden: true })
      .option('yes', { alias: 'y', type: 'boolean', hidden: true })
      .option('dry-run', { alias: 'd', type: 'boolean', hidden: true })
      .option('resume', { type: 'boolean', hidden: true })
      .option('fresh', { type: 'boolean', hidden: true })
      .strict()
      .demandCommand(1, 'name a lab command: up, down or status')
      .help('help')
      .alias('help', 'h')
      .epilogue('Exit codes: 0 ok, 1 failure, 2 bad usage.')
      .wrap(Math.min(110, process.stdout.columns || 100))
      .fail((msg, err) => {
        throw err ?? new UsageError(msg || 'bad usage');
      });
    args = (await y.parseAsync(argv, {}, (_err, _argv, output) => {
      helpText = output;
    })) as unknown as LabArgs;
  } catch (err) {
    io.stderr(`cookbook lab: ${messageOf(err)}\nRun "cookbook lab --help" for usage.\n`);
    return 2;
  }
  if (args.help) {
    io.stdout(helpText + '\n');
    return 0;
  }
  const command = String(args._[0]);
  try {
    if (!['up', 'down', 'status', 'snapshot'].includes(command) || args._.length > 1) throw new UsageError(`unknown lab command: ${args._.join(' ')}`);
    if (command === 'status' && args.clusterName === undefined && args.stateDir === undefined) {
      const named = listRunningLabs();
      // Counters belong to one lab: resetting needs it named, unless only one runs.
      if (!args.resetCounters) return listLabs(named, args.json, io);
      if (named.length !== 1) throw new UsageError(`--reset-counters: name the lab with --cluster-name (${named.length} labs run${named.length ? `: ${named.map((l) => l.clusterName).join(', ')}` : ''})`);
      args.clusterName = named[0]!.clusterName;
    }
    if (command === 'snapshot') return await (await import('./twin/cli.js')).snapshotMain({ ...args, json: args.json }, io);
    // A twin is named after its cluster unless told otherwise.
    const twin = command === 'up' && args.fromSnapshot !== undefined ? (await import('../lib/twin/file.js')).readSnapshotFile(args.fromSnapshot) : undefined;
    args.clusterName ??= twin?.cluster.name ?? 'local';
    // The name becomes host names, a kubeconfig context and a directory: it must be a DNS label.
    if (!/^[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?$/.test(args.clusterName)) throw new UsageError(`--cluster-name ${JSON.stringify(args.clusterName)}: must be a DNS label (lowercase letters, digits and "-")`);
    const counts = { control: args.control, workers: args.workers, workersNfs: args.workersNfs, ingress: args.ingress, etcd: args.etcd };
    if (command === 'up') {
      for (const [k, v] of Object.entries({ ...counts, loadbalancers: args.loadbalancers })) if (!Number.isInteger(v) || v < 0) throw new UsageError(`--${k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())} must be a whole number >= 0`);
      if (!(args.speed > 0)) throw new UsageError('--speed must be a number > 0');
      if (!Number.isInteger(args.seed)) throw new UsageError('--seed must be an integer');
      const v = /^1\.(\d+)\.\d+$/.exec(args.k8sVersion);
      if (!v || Number(v[1]) < 27 || Number(v[1]) > 33) throw new UsageError(`--k8s-version ${args.k8sVersion}: expected 1.27.x to 1.33.x`);
      const faults = parseFaultArgs(args.fault);
      const { info, started } = await startLabProcess({
        clusterName: args.clusterName,
        stateDir: args.stateDir,
        ...counts,
        loadbalancer: args.loadbalancers,
        speed: args.speed,
        seed: args.seed,
        kubernetesVersion: twin ? twin.cluster.kubernetesVersion : args.k8sVersion,
        faults,
        // A twin starts its etcd members on first use: one without etcd hosts would fail /readyz otherwise.
        ...(args.fromSnapshot !== undefined ? { fromSnapshot: resolve(args.fromSnapshot), etcdStart: 'lazy' as const } : {}),
      });
      if (args.json) io.stdout(JSON.stringify({ started, ...publicInfo(info) }) + '\n');
      else {
        io.stdout(started ? `lab ${info.clusterName} is up (pid ${info.pid}, speed ${info.speed})\n` : `lab ${info.clusterName} is already running (pid ${info.pid}); nothing to do\n`);
        io.stdout(describeLab(info) + '\n');
      }
      return 0;
    }
    if (command === 'down') {
      const { wasRunning, pid } = await stopLab(args.clusterName, args.stateDir, io);
      if (args.json) io.stdout(JSON.stringify({ clusterName: args.clusterName, stopped: wasRunning, ...(pid ? { pid } : {}) }) + '\n');
      else io.stdout(wasRunning ? `lab ${args.clusterName} stopped (pid ${pid} exited); state removed\n` : `no lab ${args.clusterName} was running; nothing to stop\n`);
      return 0;
    }
    const clusterName = args.clusterName;
    const info = await findLab(clusterName, args.stateDir);
    if (!info) {
      const dir = labStateDir(args.clusterName, args.stateDir);
      if (args.json) io.stdout(JSON.stringify({ running: false, clusterName: args.clusterName, stateDir: dir }) + '\n');
      else io.stderr(`no lab ${args.clusterName} is running (state dir ${dir}); start one with: cookbook lab up${args.clusterName === 'local' ? '' : ` --cluster-name ${args.clusterName}`}\n`);
      return 1;
    }
    const client = new LabClient(info);
    const status = await client.status();
    if (args.resetCounters) await client.resetCounters();
    if (args.json) {
      io.stdout(JSON.stringify({ running: true, ...status, countersReset: args.resetCounters }) + '\n');
      return 0;
    }
    const c = status.counters;
    const lines = [
      `lab ${info.clusterName} is running (pid ${info.pid}, speed ${info.speed}, since ${info.startedAt})`,
      describeLab(info),
      '',
      '  HOST'.padEnd(30) + 'ROLE'.padEnd(12) + 'ADDRESS'.padEnd(18) + 'STATE'.padEnd(11) + 'KUBELET',
      ...status.hosts.map(
        (h) => `  ${h.name.padEnd(28)}${h.role.padEnd(12)}${h.address.padEnd(18)}${h.state.padEnd(11)}${h.kubelet.joined ? `joined${h.kubelet.controlPlane ? ' (control plane)' : ''} v${h.kubelet.version ?? '?'}` : '-'}${h.rebootRequired ? '  reboot required' : ''}`,
      ),
      '',
      `  counters: k8s_mutations ${c.k8s_mutations}, openstack_mutations ${c.openstack_mutations}, ssh_mutations ${c.ssh_mutations}, pdb_violations ${c.pdb_violations}, max_unavailable_nodes ${c.max_unavailable_nodes}`,
      `  requests: k8s ${c.requests.k8s}, openstack ${c.requests.openstack}, ssh ${c.requests.ssh}, admin ${c.requests.admin}; bytes: k8s ${c.bytes.k8s}, openstack ${c.bytes.openstack}, ssh ${c.bytes.ssh}`,
      `  faults: ${Object.keys(status.faults).length ? JSON.stringify(status.faults) : 'none'}`,
    ];
    if (args.resetCounters) lines.push('  counters reset: a new measurement starts now');
    io.stdout(lines.join('\n') + '\n');
    return 0;
  } catch (err) {
    io.stderr(`cookbook lab ${command}: ${messageOf(err)}\n`);
    const hint = (err as { hint?: string }).hint;
    if (hint) io.stderr(`hint: ${hint}\n`);
    return exitCodeOf(err) === 2 ? 2 : 1;
  }
}
