// What do the etcd cookbooks' safety checks cost? One lab with three real etcd members and a ~100 MB keyspace;
// etcd.add-member (learner path) and etcd.backup run through the real CLI, against the floor: the same work done
// by hand in one script (ssh2 connections kept open, etcdctl commands, no checks beyond what etcd itself does):
//   add:    member add --learner; provision; write /etc/default/etcd; start; promote until etcd accepts;
//           rewrite every apiserver manifest; patch kubeadm-config.
//   backup: snapshot save against one endpoint; snapshot status; sha256sum; SFTP get; sha256 compared; rename.
// Both adds go to a VM created beforehand (vm.create, not timed), so VM build time is left out of both.
// The backups run after an untimed by-hand one (the first 100 MB snapshot through the lab process is slower), in
// BENCH_ROUNDS (5) alternating rounds; backup_s and backup_floor_s are the medians.
// Target: add_member_s and backup_s within 1.5x of their floors. Prints progress, then as its LAST line:
// {"bench":"etcd","keyspace_mb":..,"add_member_s":..,"add_member_floor_s":..,"backup_s":..,"backup_floor_s":..}
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import ssh2 from 'ssh2';
import { parse, stringify } from 'yaml';
import { $ } from 'zx';
import { compiledRoot } from '../lib/core/paths.js';
import { startLab } from '../lab/index.js';
import { median, report, round } from './common.js';

const KEYSPACE_MB = Number(process.env.BENCH_KEYSPACE_MB ?? 100);
const SPEED = Number(process.env.BENCH_SPEED ?? 50);
/** Backup rounds (each: one cookbook run and one by-hand run, alternating which goes first); medians reported. */
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 5));
const CLUSTER = 'benchetcd';
const BIN = join(compiledRoot(), 'bin', 'cookbook.js');

/** One kept-open SSH connection (the floor's "by hand" script). */
async function connect(address: string, port: number, key: string): Promise<ssh2.Client> {
  const c = new ssh2.Client();
  await new Promise<void>((resolve, reject) => {
    c.once('ready', () => resolve());
    c.once('error', reject);
    c.connect({ host: address, port, username: 'root', privateKey: key });
  });
  return c;
}

function exec(c: ssh2.Client, cmd: string, stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    c.exec(cmd, (err, ch) => {
      if (err) return reject(err);
      let stdout = '';
      let stderr = '';
      ch.on('data', (d: Buffer) => (stdout += d.toString()));
      ch.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      ch.on('close', (code: number) => resolve({ code, stdout, stderr }));
      if (stdin !== undefined) ch.end(stdin);
    });
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cc-bench-etcd-'));
  const lab = await startLab({ stateDir: join(dir, 'lab'), clusterName: CLUSTER, control: 2, workers: 0, workersNfs: 0, ingress: 0, etcd: 3, speed: SPEED, seedWorkload: false, etcdStart: 'eager' });
  try {
    if (!lab.etcd) throw new Error(lab.world.etcdUnavailable ?? 'no real etcd');
    const port = lab.etcd.options.clientPort;
    const url = (h: string): string => `http://${lab.world.hosts.get(h)!.address}:${port}`;
    const members = [1, 2, 3].map((n) => `${CLUSTER}-k8s-etcd-${n}`);
    // The lock in a file: the bench times the cookbooks, not a Lease round trip.
    const inv = join(dir, 'inventory');
    const doc = parse(readFileSync(join(lab.stateDir, 'inventory.yaml'), 'utf8')) as Record<string, unknown>;
    doc.lock = { backend: 'file' };
    $.sync`mkdir -p ${inv}`;
    writeFileSync(join(inv, 'inventory.yaml'), stringify(doc));
    const state = join(dir, 'state');
    const cli = async (args: string[]): Promise<number> => {
      const t = Date.now();
      const r = await $({ nothrow: true, quiet: true })`${process.execPath} ${BIN} ${args} --cluster-name ${CLUSTER} --inventory ${inv} --state-dir ${state} --yes`;
      if (r.exitCode !== 0) throw new Error(`cookbook ${args.join(' ')} failed (${r.exitCode}): ${r.stderr.slice(-2000)}`);
      // Where the time went, per step (progress on stderr).
      const name = args[0]!;
      const { readdirSync } = await import('node:fs');
      const jdir = join(state, 'journals', name);
      const last = readdirSync(jdir).filter((f) => f.endsWith('.json')).sort().at(-1)!;
      const steps = (JSON.parse(readFileSync(join(jdir, last), 'utf8')) as { steps: { name: string; durationMs?: number }[] }).steps;
      const total = Date.now() - t;
      const inSteps = steps.reduce((a, st) => a + (st.durationMs ?? 0), 0);
      process.stderr.write(steps.map((st) => `  ${st.name}: ${st.durationMs ?? '?'} ms`).join('\n') + `\n  (outside steps: start, inventory, lock, reads: ${total - inSteps} ms of ${total})\n`);
      return total / 1000;
    };

    process.stderr.write(`filling ${KEYSPACE_MB} MB of keys...\n`);
    const client = new Etcd3({ hosts: members.map(url) });
    const value = Buffer.alloc(1024 * 1024, 'x');
    for (let i = 0; i < KEYSPACE_MB; i += 10) await Promise.all(Array.from({ length: Math.min(10, KEYSPACE_MB - i) }, (_, j) => client.put(`bench/${i + j}`).value(value)));
    client.close();

    // The VMs both adds go to (not timed).
    const cookbookHost = `${CLUSTER}-k8s-etcd-4`;
    const floorHost = `${CLUSTER}-k8s-etcd-5`;
    await cli(['vm.create', '--role', 'etcd', '--hostname', cookbookHost]);
    await cli(['vm.create', '--role', 'etcd', '--hostname', floorHost]);

    process.stderr.write('etcd.add-member...\n');
    const addMember = await cli(['etcd.add-member', '--hostname', cookbookHost]);

    process.stderr.write('add by hand...\n');
    const key = readFileSync(join(lab.stateDir, 'id_ed25519'), 'utf8');
    const conns = new Map<string, ssh2.Client>();
    const ssh = async (h: string): Promise<ssh2.Client> => {
      if (!conns.has(h)) conns.set(h, await connect(lab.world.hosts.get(h)!.address, lab.info.ssh.port, key));
      return conns.get(h)!;
    };
    const t = Date.now();
    const voters = [...members, cookbookHost].map(url).join(',');
    const addr = lab.world.hosts.get(floorHost)!.address;
    const peer = `http://${addr}:${lab.etcd.options.peerPort}`;
    const client5 = `http://${addr}:${port}`;
    let added = await exec(await ssh(members[0]!), `etcdctl --endpoints=${voters} member add ${floorHost} --peer-urls=${peer} --learner`);
    // The same wait the cookbook has: etcd says "unhealthy cluster" for 5 s after a membership change.
    while (added.code !== 0 && /unhealthy cluster/.test(added.stderr)) {
      await new Promise((r) => setTimeout(r, 250));
      added = await exec(await ssh(members[0]!), `etcdctl --endpoints=${voters} member add ${floorHost} --peer-urls=${peer} --learner`);
    }
    if (added.code !== 0) throw new Error(added.stderr);
    const id = /Member\s+([0-9a-f]+)\s+added/.exec(added.stdout)?.[1] ?? (() => { throw new Error(`member add printed: ${added.stdout} ${added.stderr}`); })();
    const initial = /ETCD_INITIAL_CLUSTER="([^"]+)"/.exec(added.stdout)![1]!;
    const n5 = await ssh(floorHost);
    await exec(n5, 'apt-get install -y etcd-server');
    await exec(n5, 'mkdir -p /etc/default');
    const cfg = `ETCD_NAME=${floorHost}\nETCD_DATA_DIR=/var/lib/etcd/${floorHost}\nETCD_LISTEN_CLIENT_URLS=${client5}\nETCD_ADVERTISE_CLIENT_URLS=${client5}\nETCD_LISTEN_PEER_URLS=${peer}\nETCD_INITIAL_ADVERTISE_PEER_URLS=${peer}\nETCD_INITIAL_CLUSTER=${initial}\nETCD_INITIAL_CLUSTER_STATE=existing\n`;
    await exec(n5, 'cat > /etc/default/etcd', cfg);
    await exec(n5, 'systemctl stop etcd; rm -rf /var/lib/etcd/' + floorHost + '; systemctl start etcd');
    for (;;) {
      const p = await exec(await ssh(members[0]!), `etcdctl --endpoints=${voters} member promote ${id}`);
      if (p.code === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const c of [`${CLUSTER}-k8s-control-1`, `${CLUSTER}-k8s-control-2`]) {
      const conn = await ssh(c);
      const m = (await exec(conn, 'cat /etc/kubernetes/manifests/kube-apiserver.yaml')).stdout;
      await exec(conn, 'cat > /etc/kubernetes/manifests/kube-apiserver.yaml', m.replace(/(--etcd-servers=\S+)/, `$1,${client5}`));
    }
    const kc = ['--kubeconfig', join(lab.stateDir, 'kubeconfig'), '--cache-dir', join(dir, 'kc'), '-n', 'kube-system'];
    const cc = (await $({ quiet: true })`kubectl ${kc} get cm kubeadm-config -o jsonpath={.data.ClusterConfiguration}`).stdout;
    const edited = cc.replace(/(endpoints:(?:\n\s+- .*)+)/, `$1\n    - ${client5}`);
    await $({ quiet: true })`kubectl ${kc} patch cm kubeadm-config --type merge -p ${JSON.stringify({ data: { ClusterConfiguration: edited } })}`;
    const addFloor = (Date.now() - t) / 1000;

    /**
     * The floor's backup: one script run, so one SSH connection opened for it (timed, as the cookbook's are) and
     * every command by hand on it; returns its seconds.
     */
    const byHandBackup = async (file: string): Promise<number> => {
      const start = Date.now();
      const m2 = await connect(lab.world.hosts.get(members[1]!)!.address, lab.info.ssh.port, key);
      const path = '/var/backups/by-hand.db';
      await exec(m2, 'mkdir -p /var/backups');
      const saved = await exec(m2, `etcdctl --endpoints=${url(members[1]!)} snapshot save ${path}`);
      if (saved.code !== 0) throw new Error(saved.stderr);
      await exec(m2, `etcdctl -w json snapshot status ${path}`);
      const remoteSum = (await exec(m2, `sha256sum ${path}`)).stdout.split(' ')[0];
      const local = join(dir, file);
      await new Promise<void>((resolve, reject) => m2.sftp((err, sftp) => (err ? reject(err) : sftp.fastGet(path, `${local}.part`, (e) => (e ? reject(e) : resolve())))));
      const localSum = createHash('sha256').update(readFileSync(`${local}.part`)).digest('hex');
      if (localSum !== remoteSum) throw new Error('checksum mismatch in the floor');
      renameSync(`${local}.part`, local);
      await exec(m2, `rm -f ${path}`);
      m2.end();
      return (Date.now() - start) / 1000;
    };

    // The first 100 MB snapshot through this process (the lab's heap grows, files enter the page cache) costs
    // ~2.5 s more than the next, whichever side runs first: an untimed one first, so both timed ones run warm.
    process.stderr.write('backup warm-up (untimed)...\n');
    await byHandBackup('warm-up.db');
    rmSync(join(dir, 'warm-up.db'), { force: true });

    // Alternating rounds (cookbook, by hand, by hand, cookbook, ...: ABBA cancels a drift of the machine's
    // load), medians reported: on a shared machine one pair swings too much to compare (floors of 3.9-9.7 s).
    const ours: number[] = [];
    const floors: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const cookbookFirst = i % 2 === 0;
      for (const side of cookbookFirst ? ['cookbook', 'floor'] : ['floor', 'cookbook']) {
        if (side === 'cookbook') {
          process.stderr.write(`etcd.backup (round ${i + 1})...\n`);
          ours.push(await cli(['etcd.backup', '--to', join(dir, 'backups'), '--keep', '1']));
        } else {
          process.stderr.write(`backup by hand (round ${i + 1})...\n`);
          floors.push(await byHandBackup('by-hand.db'));
        }
      }
    }
    const backup = median(ours);
    const backupFloor = median(floors);
    process.stderr.write(`backup rounds: cookbook ${ours.map((x) => x.toFixed(2)).join(', ')} s; by hand ${floors.map((x) => x.toFixed(2)).join(', ')} s\n`);
    for (const c of conns.values()) c.end();

    report('etcd', {
      keyspace_mb: KEYSPACE_MB,
      add_member_s: round(addMember, 2),
      add_member_floor_s: round(addFloor, 2),
      backup_s: round(backup, 2),
      backup_floor_s: round(backupFloor, 2),
      add_ratio: round(addMember / addFloor, 2),
      backup_ratio: round(backup / backupFloor, 2),
      backup_rounds: ROUNDS,
      speed: SPEED,
    });
  } finally {
    await lab.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
