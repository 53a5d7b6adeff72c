// Join tokens and secrets of k8s.add-node: a token must not outlive an interrupted run (SIGINT: the run deletes
// it itself; SIGKILL: the re-run deletes it), and neither the token nor a control node's certificate key may
// appear in the log file, the journal, the --json result or any process's command line.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cleanupTempDirs } from '../../helpers/cli.js';
import { type TestLab, startTestLab } from '../../helpers/lab.js';
import { labRunner, nodeNames } from '../../helpers/lab-cli.js';
import { bootstrapTokens, seededChoices } from './node-helpers.js';

/** The lab's kubeadm backend, whose calls the tests hook into (the moment a token exists, a join runs). */
interface Backend {
  tokenCreate(ttl: number, description?: string): { token: string; joinCommand: string };
  uploadCerts(): string;
  join(host: unknown, args: unknown): void;
}

describe('join tokens and secrets of k8s.add-node', function () {
  this.timeout(300_000);
  const seeded = seededChoices('join tokens');
  let lab: TestLab;
  let backend: Backend;
  let original: Pick<Backend, 'tokenCreate' | 'uploadCerts' | 'join'>;
  before(async () => {
    lab = await startTestLab({ clusterName: 'tok', workers: 1, workersNfs: 0, control: 1, ingress: 0, etcd: 0, speed: 60, namespaces: 1 });
    backend = lab.world.kubeadm as unknown as Backend;
    original = { tokenCreate: backend.tokenCreate.bind(backend), uploadCerts: backend.uploadCerts.bind(backend), join: backend.join.bind(backend) };
  });
  afterEach(() => {
    Object.assign(backend, original);
  });
  after(async () => {
    await lab?.stop();
    cleanupTempDirs();
  });

  /** Starts add-node and calls `at` when the lab creates its token or runs its join (in the lab, synchronously). */
  const addNodeInterruptedAt = async (moment: 'token create' | 'join', signal: 'SIGINT' | 'SIGKILL', cb = labRunner(lab)) => {
    let created: string | undefined;
    const p = cb.start('k8s.add-node', ['--role', 'worker', '--json'], { timeoutMs: 120_000 });
    backend.tokenCreate = (ttl, description) => {
      const r = original.tokenCreate(ttl, description);
      created = r.token;
      if (moment === 'token create') {
        p.child!.kill(signal);
        // Hold the lab's answer until the run has surely stopped waiting for it: the run never learns the id.
        const until = Date.now() + 300;
        while (Date.now() < until);
      }
      return r;
    };
    backend.join = (host, args) => {
      if (moment === 'join') p.child!.kill(signal);
      original.join(host, args);
    };
    const out = await p;
    assert.ok(created, `the run created a token before it was interrupted (${out.stderr.slice(-300)})`);
    return { out, cb, created };
  };

  for (const moment of ['token create', 'join'] as const) {
    it(`SIGINT at the ${moment}: the interrupted run deletes its token itself (exit 130)`, async () => {
      const { out } = await addNodeInterruptedAt(moment, 'SIGINT');
      assert.equal(out.exitCode, 130, `interrupted: ${out.stderr.slice(-500)}`);
      const commands = (JSON.parse(out.stdout).changes as { detail?: { command?: string } }[]).map((c) => c.detail?.command ?? '');
      // Interrupted at the create, the run never got its answer (no create recorded as done) and found its token
      // by description; interrupted at the join, it knew the id. Either way it deleted the token.
      assert.equal(commands.some((c) => c.includes('kubeadm token create')), moment === 'join', commands.join('\n'));
      assert.ok(commands.some((c) => c.includes('kubeadm token delete')), commands.join('\n'));
      assert.deepEqual(await bootstrapTokens(lab), [], `no token left after the interrupted run: ${out.stderr.slice(-1500)}`);
    });
  }

  it('SIGKILL at a seeded moment (token create answer or join): the re-run deletes the token the killed run left', async () => {
    const [moment] = seeded.pick(['token create', 'join'] as const, 1);
    const { out, cb } = await addNodeInterruptedAt(moment!, 'SIGKILL');
    assert.equal(out.signal, 'SIGKILL');
    const left = await bootstrapTokens(lab);
    assert.equal(left.length, 1, `the killed run left its token (${moment})`);
    assert.match(left[0]!.description, /^cluster-cookbooks:k8s\.add-node:tok-k8s-worker-\d+$/, 'the token names this tool and the node');
    const again = await cb.json('k8s.add-node', ['--role', 'worker']);
    assert.equal(again.code, 0, again.stderr.slice(-500));
    assert.deepEqual(await bootstrapTokens(lab), [], 'the re-run deleted the leftover token and its own');
    assert.ok((await nodeNames(lab)).includes(again.out.result.hostname));
  });

  it('a control-node add-node shows neither the join token nor the certificate key in its log, journal, result or any command line', async () => {
    let token: string | undefined;
    let certificateKey: string | undefined;
    let processes: string | undefined;
    backend.tokenCreate = (ttl, description) => {
      const r = original.tokenCreate(ttl, description);
      token = r.token;
      return r;
    };
    backend.uploadCerts = () => (certificateKey = original.uploadCerts());
    backend.join = (host, args) => {
      // The remote kubeadm join is running now: every command line on this machine, while it runs.
      processes = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
      original.join(host, args);
    };
    const cb = labRunner(lab);
    const r = await cb.json('k8s.add-node', ['--role', 'control']);
    assert.equal(r.code, 0, r.stderr.slice(-500));
    assert.ok(token && certificateKey, 'the run made a token and a certificate key');
    assert.ok(processes?.split('\n').some((l) => l.includes('k8s.add-node') && l.includes('--role control')), 'the process list was taken while the cookbook ran');
    const secrets = { token, 'token secret': token.split('.')[1]!, 'certificate key': certificateKey };
    const places = {
      '--json result': r.stdout,
      stderr: r.stderr,
      'log file': readFileSync(r.out.log as string, 'utf8'),
      journal: readFileSync(r.out.journal as string, 'utf8'),
      'command lines': processes ?? '',
    };
    for (const [where, text] of Object.entries(places)) {
      assert.ok(text.length > 0, `${where} is not empty`);
      for (const [what, secret] of Object.entries(secrets)) assert.ok(!text.includes(secret), `the ${what} appears in the ${where}`);
    }
    assert.deepEqual(await bootstrapTokens(lab), []);
  });
});
