// The etcd cookbooks against the lab's real etcd, while a writer puts keys through npm etcd3 and counts the
// acknowledgements and a poller runs `etcdctl endpoint health` throughout: add a member (killed between
// `member add` and `member promote`, then the same command), remove the leader (killed between the apiserver
// edits, then the same command), refuse a removal while a member is down, replace that member. At the end
// every acknowledged key is still there and no health poll found the cluster without quorum.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { runCaptured } from '../../../lab/ssh/interpreter.js';
import { cleanupTempDirs } from '../../helpers/cli.js';
import { type TestLab, startTestLab } from '../../helpers/lab.js';
import { kubectlJson, labRunner, serverNames } from '../../helpers/lab-cli.js';
import { runKilled } from '../k8s/node-helpers.js';

const MANIFEST = '/etc/kubernetes/manifests/kube-apiserver.yaml';

/** Puts w/<n> keys in a loop; a key counts once etcd acknowledged it. */
class Writer {
  acked: string[] = [];
  failed = 0;
  private client: Etcd3;
  private stopped = false;
  private loop: Promise<void>;
  constructor(hosts: string[]) {
    this.client = new Etcd3({ hosts, dialTimeout: 1000 });
    this.loop = this.run();
  }
  setHosts(hosts: string[]): void {
    const old = this.client;
    this.client = new Etcd3({ hosts, dialTimeout: 1000 });
    old.close();
  }
  private async run(): Promise<void> {
    for (let i = 0; !this.stopped; i++) {
      const key = `w/${String(i).padStart(6, '0')}`;
      const put = this.client.put(key).value(`v${i}`);
      const ok = await Promise.race([put.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 2000))]).catch(() => false);
      if (ok) this.acked.push(key);
      else this.failed++;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    this.client.close();
  }
}

function etcdctl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('/usr/bin/etcdctl', args, { env: { ETCDCTL_API: '3', PATH: '/usr/bin:/bin' }, timeout: 10_000 }, (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr }));
  });
}

describe('etcd membership cookbooks on real etcd (writer loop, health polled throughout)', function () {
  this.timeout(300_000);
  let lab: TestLab;
  let cb: ReturnType<typeof labRunner>;
  let writer: Writer;
  const polls = { total: 0, noQuorum: [] as string[] };
  let polling = true;
  let poller: Promise<void>;
  const urlOf = (host: string): string => `http://${lab.world.hosts.get(host)!.address}:${lab.etcd!.options.clientPort}`;
  const etcdHosts = (): string[] => serverNames(lab).filter((n) => /-etcd-\d+$/.test(n));

  /** Members as the real etcdctl lists them (from the test host, against every etcd host). */
  const members = async (): Promise<{ name: string; id: string; isLearner: boolean; clientURLs: string[] }[]> => {
    const r = await etcdctl([`--endpoints=${etcdHosts().map(urlOf).join(',')}`, '-w', 'json', 'member', 'list']);
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout.replace(/(\d{16,})/g, '"$1"')) as { members: { name: string; ID: string; isLearner?: boolean; clientURLs?: string[] }[] }).members.map((m) => ({ name: m.name, id: m.ID, isLearner: !!m.isLearner, clientURLs: m.clientURLs ?? [] }));
  };
  /** What every apiserver and kubeadm-config point at. */
  const pointedAt = async (): Promise<{ apiservers: string[][]; kubeadm: string }> => {
    const controls = serverNames(lab).filter((n) => /-control-\d+$/.test(n));
    const apiservers = controls.map((c) => /--etcd-servers=(\S+)/.exec(lab.world.hosts.get(c)!.files.get(MANIFEST) ?? '')![1]!.split(',').sort());
    const cm = await kubectlJson(lab, ['get', 'configmap', '-n', 'kube-system', 'kubeadm-config']);
    return { apiservers, kubeadm: cm.data.ClusterConfiguration as string };
  };
  /** Every apiserver and kubeadm-config list exactly the started members. */
  const assertPointersMatch = async (what: string): Promise<void> => {
    const urls = (await members()).flatMap((m) => m.clientURLs).sort();
    const p = await pointedAt();
    for (const list of p.apiservers) assert.deepEqual(list, urls, `${what}: every apiserver lists exactly the members`);
    for (const u of urls) assert.ok(p.kubeadm.includes(`- ${u}`), `${what}: kubeadm-config lists ${u}`);
    assert.equal((p.kubeadm.match(/^\s*- http/gm) ?? []).length, urls.length, `${what}: kubeadm-config lists nothing else`);
  };
  const leaderName = async (): Promise<string> => {
    const list = await members();
    const r = await etcdctl([`--endpoints=${list.flatMap((m) => m.clientURLs).join(',')}`, '-w', 'json', 'endpoint', 'status']);
    const st = JSON.parse(r.stdout.replace(/(\d{16,})/g, '"$1"')) as { Status: { header: { member_id: string }; leader: string } }[];
    const leaderId = st[0]!.Status.leader;
    return list.find((m) => m.id === leaderId)!.name;
  };

  before(async () => {
    lab = await startTestLab({ clusterName: 'em', control: 2, workers: 0, workersNfs: 0, ingress: 0, etcd: 3, speed: 60, seedWorkload: false, etcdStart: 'eager' });
    cb = labRunner(lab);
    writer = new Writer(etcdHosts().map(urlOf));
    // A health poll passes when any endpoint answers `endpoint health` (a quorum read): none means no quorum.
    poller = (async () => {
      while (polling) {
        const urls = etcdHosts().map(urlOf);
        const r = await etcdctl([`--endpoints=${urls.join(',')}`, '--command-timeout=2s', '-w', 'json', 'endpoint', 'health']);
        polls.total++;
        const healthy = r.stdout.trim() ? (JSON.parse(r.stdout) as { health: boolean }[]).filter((h) => h.health).length : 0;
        if (healthy === 0) polls.noQuorum.push(`${new Date().toISOString()} ${r.stderr.trim().split('\n').at(-1)}`);
        await new Promise((res) => setTimeout(res, 200));
      }
    })();
  });
  after(async () => {
    polling = false;
    await writer?.stop().catch(() => undefined);
    await poller;
    await lab?.stop();
    cleanupTempDirs();
  });

  it('add-member killed between member add and promote: the same command finishes one promoted member', async () => {
    await runKilled(cb, 'etcd.add-member', [], 'kill-after:member add em-k8s-etcd-4 as learner');
    const pending = (await members()).find((m) => m.isLearner);
    assert.ok(pending, 'the killed run left a learner (not a voter) behind');
    const ssh = lab.counters().ssh_mutations;
    const second = await cb.json('etcd.add-member', ['--hostname', 'em-k8s-etcd-7']);
    assert.equal(second.code, 2, second.stderr);
    assert.match(second.stderr, /refusing to add em-k8s-etcd-7: learner .* is still pending, and etcd allows one learner at a time/);
    assert.equal(lab.counters().ssh_mutations, ssh, 'a second learner is refused before anything is written');
    const again = await cb.json('etcd.add-member');
    assert.equal(again.code, 0, again.stderr.slice(-1500));
    assert.equal(again.out.result.hostname, 'em-k8s-etcd-4');
    const steps = Object.fromEntries((again.out.steps as { name: string; status: string }[]).map((s) => [s.name, s.status]));
    assert.equal(steps['member add em-k8s-etcd-4 as learner'], 'skipped', 'no second member add');
    assert.equal(steps['promote em-k8s-etcd-4'], 'done');
    // A learner refuses `endpoint health` only after the whole command timeout: no read may ask it (the run
    // log has every SSH command, in order).
    const logs = join(cb.stateDir, 'logs');
    const log = readdirSync(logs).filter((f) => f.endsWith('-etcd.add-member.jsonl')).sort().at(-1)!;
    const messages = readFileSync(join(logs, log), 'utf8').trim().split('\n').map((l) => String((JSON.parse(l) as { message?: string }).message ?? ''));
    const promote = messages.findIndex((m) => m.includes('etcdctl member promote'));
    assert.ok(promote > 0, 'the run log shows the promotion');
    const asked = messages.slice(0, promote).filter((m) => m.includes('endpoint health') && m.includes(urlOf('em-k8s-etcd-4')));
    assert.deepEqual(asked, [], 'no endpoint health read went to the learner');
    const list = await members();
    assert.equal(list.length, 4, 'no orphan member');
    assert.deepEqual(list.filter((m) => m.isLearner), [], 'promoted: no learner left');
    writer.setHosts(etcdHosts().map(urlOf));
    await assertPointersMatch('after add');
  });

  it('remove-member of the leader killed between the apiserver edits: the same command converges, leadership moved first', async () => {
    const leader = await leaderName();
    const url = urlOf(leader);
    await runKilled(cb, 'etcd.remove-member', ['--hostname', leader, '--yes'], `kill-after:remove ${leader} in the apiserver of em-k8s-control-1`);
    const mid = await pointedAt();
    assert.ok(!mid.apiservers[0]!.includes(url) && mid.apiservers[1]!.includes(url), 'killed between the two control nodes');
    const again = await cb.json('etcd.remove-member', ['--hostname', leader, '--yes']);
    assert.equal(again.code, 0, again.stderr.slice(-1500));
    assert.equal(again.out.result.movedLeader, true, 'leadership moved away before the removal');
    const steps = (again.out.steps as { name: string }[]).map((s) => s.name);
    assert.ok(steps.indexOf(`move leadership off ${leader}`) < steps.indexOf(`member remove ${leader}`));
    assert.ok(!(await members()).some((m) => m.name === leader), 'removed');
    assert.ok(!serverNames(lab).includes(leader), 'its VM is gone');
    writer.setHosts(etcdHosts().map(urlOf));
    await assertPointersMatch('after removing the leader');
  });

  it('with one member stopped, removing another is refused (exit 2, nothing written); replacing the stopped one succeeds', async () => {
    const leader = await leaderName();
    const [stopped, other] = etcdHosts().filter((h) => h !== leader);
    assert.ok(stopped && other);
    await runCaptured(lab.world.hosts.get(stopped)!, lab.world, 'systemctl stop etcd');
    const status = await cb.json('etcd.status');
    assert.equal(status.code, 1, 'etcd.status exits non-zero while a member is down');
    assert.match(status.stderr, new RegExp(`${stopped}`));

    const c = { ...lab.counters() };
    const before = await members();
    const refused = await cb.json('etcd.remove-member', ['--hostname', other, '--yes']);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /survives 0 more failure\(s\) today and would survive -1 after it .*quorum would be at risk/);
    assert.equal(lab.counters().ssh_mutations, c.ssh_mutations, 'no command changed a host');
    assert.equal(lab.counters().openstack_mutations, c.openstack_mutations, 'no VM touched');
    assert.ok(lab.counters().k8s_mutations - c.k8s_mutations <= 2, 'only the lock Lease');
    assert.deepEqual(await members(), before, 'membership unchanged');
    const add = await cb.json('etcd.add-member');
    assert.equal(add.code, 2, add.stderr);
    assert.match(add.stderr, new RegExp(`refusing to add em-k8s-etcd-\\d+: ${stopped} is unhealthy`));
    const unknown = await cb.json('etcd.remove-member', ['--hostname', 'em-k8s-etcd-9', '--yes']);
    assert.equal(unknown.code, 2, unknown.stderr);
    assert.match(unknown.stderr, /em-k8s-etcd-9 is not an etcd member of cluster em/);
    assert.equal(lab.counters().ssh_mutations + lab.counters().openstack_mutations, c.ssh_mutations + c.openstack_mutations, 'refusals write nothing');

    const replaced = await cb.json('etcd.replace-member', ['--hostname', stopped, '--yes']);
    assert.equal(replaced.code, 0, replaced.stderr.slice(-1500));
    assert.equal(replaced.out.result.order, 'remove-first', 'an unhealthy member is removed before its replacement is added');
    const list = await members();
    assert.ok(!list.some((m) => m.name === stopped));
    assert.equal(list.length, 3);
    writer.setHosts(etcdHosts().map(urlOf));
    const healthy = await cb.json('etcd.status');
    assert.equal(healthy.code, 0, healthy.stderr);
    assert.equal(healthy.out.result.healthyVoters, 3);
    await assertPointersMatch('after the replacement');
  });

  it('every acknowledged key is still there and no health poll found the cluster without quorum', async () => {
    await writer.stop();
    polling = false;
    await poller;
    assert.ok(writer.acked.length > 50, `the writer wrote throughout (${writer.acked.length} acknowledged, ${writer.failed} not)`);
    const client = new Etcd3({ hosts: etcdHosts().map(urlOf) });
    try {
      const keys = new Set(await client.getAll().prefix('w/').keys());
      const lost = writer.acked.filter((k) => !keys.has(k));
      assert.deepEqual(lost, [], 'no acknowledged key lost');
    } finally {
      client.close();
    }
    assert.ok(polls.total > 20, `health was polled throughout (${polls.total} polls)`);
    assert.deepEqual(polls.noQuorum, [], 'quorum was never lost');
  });
});
