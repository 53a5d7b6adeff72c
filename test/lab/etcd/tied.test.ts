// Lab daemons die with the lab: a process started through lab/process (etcd here, HAProxy too) is killed by the
// kernel when the lab process dies, even by SIGKILL (no handler of ours runs then), and keeps its own PID.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { compiledRoot } from '../../../lib/core/paths.js';
import { canTie } from '../../../lab/process/tied.js';
import { pidAlive, readDaemonPid } from '../../../lab/running.js';
import { cleanupTempDirs, runCli, tempDir } from '../../helpers/cli.js';

async function until(what: string, probe: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** PIDs whose command line mentions `text`. */
function pidsWith(text: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(text);
      } catch {
        return false;
      }
    })
    .map(Number)
    .filter(pidAlive);
}

describe('lab/process: daemons die with the lab', function () {
  this.timeout(60_000);
  after(cleanupTempDirs);

  it('setpriv is here (util-linux), so children can be tied', () => {
    assert.equal(canTie(), true, 'install util-linux (setpriv): apt-get install -y util-linux');
  });

  it('spawnTied: the child keeps its own PID and cmdline, and a SIGKILLed parent takes it along', async () => {
    // sleep adds its arguments: a unique, tiny second one marks our child in /proc.
    const marker = `0.0${process.pid}${Date.now()}`;
    const tied = join(compiledRoot(), 'lab', 'process', 'tied.js');
    // The parent is a separate node process (we SIGKILL it); it spawns `sleep` tied and prints the child's PID.
    const script = `import(${JSON.stringify(tied)}).then((m) => { const c = m.spawnTied('/bin/sh', ['-c', 'exec sleep 300 ${marker}'], { stdio: 'ignore' }); process.stdout.write(c.pid + '\\n'); setInterval(() => {}, 1000); });`;
    const parent = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    parent.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    try {
      await until('the child PID', () => /\d+\n/.test(out));
      const child = Number(out.trim());
      await until('the child to exec sleep', () => readFileSync(`/proc/${child}/cmdline`, 'utf8').startsWith('sleep\0'));
      assert.deepEqual(pidsWith(marker).filter((p) => p !== parent.pid), [child], 'one process, the command itself (setpriv exec-ed it)');
      parent.kill('SIGKILL');
      await until('the tied child to die with its parent', () => !pidAlive(child));
      assert.deepEqual(pidsWith(marker).filter((p) => p !== parent.pid), []);
    } finally {
      parent.kill('SIGKILL');
    }
  });

  it('a SIGKILLed lab daemon leaves no etcd process behind', async () => {
    const dir = join(tempDir('cc-etcd-kill-'), 'lab');
    const env = { XDG_STATE_HOME: tempDir('cc-xdg-') };
    const up = await runCli(['lab', 'up', '--cluster-name', 'ekill', '--state-dir', dir, '--speed', '60', '--workers', '1', '--workers-nfs', '0', '--ingress', '0', '--control', '1'], { env });
    assert.equal(up.code, 0, up.stderr);
    const members = pidsWith(join(dir, 'etcd'));
    assert.equal(members.length, 3, 'three etcd processes of this lab');
    const daemon = readDaemonPid(dir);
    assert.ok(daemon && pidAlive(daemon), 'the lab daemon runs');
    process.kill(daemon, 'SIGKILL');
    await until('every etcd of the killed lab to exit', () => members.every((p) => !pidAlive(p)));
    assert.deepEqual(pidsWith(join(dir, 'etcd')), [], 'no etcd of the lab survives');
    const down = await runCli(['lab', 'down', '--cluster-name', 'ekill', '--state-dir', dir], { env });
    assert.equal(down.code, 0, down.stderr);
  });
});
