// The two views of a rollout besides the log: the live table on a TTY (per-node phase, done/total, ETA; other
// lines scroll above it) and the HTML report (valid, self-contained, one bar per node, failures and plans
// drawn). Plus the real thing: k8s.reboot under a pseudo-terminal draws the table instead of plain lines.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { StampedEvent } from '../../../lib/core/events.js';
import { renderReport, type ReportInput } from '../../../lib/ops/reboot/report.js';
import type { RebootRecord as NodeRecord } from '../../../lib/ops/reboot/node.js';
import { simulateRollout } from '../../../lib/ops/rollout/simulate.js';
import { LiveProgress } from '../../../lib/runner/progress.js';
import { BIN, cleanupTempDirs, tempDir } from '../../helpers/cli.js';
import type { TestLab } from '../../helpers/lab.js';
import { checkReportHtml, createWorkload, inventoryFor, rebootArgs, startRebootLab } from './reboot-helpers.js';

/** A fake TTY that also plays the terminal: cursor-up-and-erase sequences remove lines from its screen. */
function fakeTty(columns = 100): { stream: { isTTY: boolean; columns: number; write(c: string | Uint8Array): boolean }; screen(): string[]; raw(): string } {
  let raw = '';
  const stream = {
    isTTY: true,
    columns,
    write(c: string | Uint8Array): boolean {
      raw += c.toString();
      return true;
    },
  };
  return { stream, raw: () => raw, screen: () => playTerminal(raw) };
}

/** Applies text with `ESC[nF ESC[J` (up n lines, erase below) to a screen of lines. */
function playTerminal(raw: string): string[] {
  const lines: string[] = [''];
  for (const token of raw.split(/(\x1b\[\d+F\x1b\[J|\n)/)) {
    if (token === '\n') lines.push('');
    else if (token.startsWith('\x1b[')) {
      const n = Number(/\x1b\[(\d+)F/.exec(token)![1]);
      lines.splice(lines.length - 1 - n, n + 1, '');
    } else lines[lines.length - 1] += token;
  }
  return lines.filter((l, i) => i < lines.length - 1 || l !== '');
}

const ev = (target: string, phase: string, extra: Partial<Extract<StampedEvent, { type: 'progress' }>> = {}): Extract<StampedEvent, { type: 'progress' }> => ({
  type: 'progress',
  scope: 'reboot',
  target,
  phase,
  at: new Date().toISOString(),
  ...extra,
});

describe('k8s.reboot progress and report views', function () {
  this.timeout(60_000);
  after(cleanupTempDirs);

  describe('live progress table', () => {
    it('shows done/total, a bar, the ETA and one row per node in flight or waiting, at the bottom of the screen', () => {
      let now = 1_000_000;
      const tty = fakeTty();
      const live = new LiveProgress(tty.stream, { now: () => now, tickMs: 0 });
      assert.equal(live.handles(ev('n', 'drain')), true);
      assert.equal(live.handles({ ...ev('n', 'evicting'), scope: 'drain' }), false);
      live.update(ev('w-1', 'cordon', { done: 0, total: 4 }));
      now += 1500;
      live.update(ev('w-1', 'drain', { done: 0, total: 4 }));
      live.update(ev('w-2', 'waiting', { done: 0, total: 4, message: 'PDB ns/web allows 0 disruptions' }));
      now += 2500;
      tty.stream.write('12:00:01 info  a log line\n');
      live.update(ev('w-3', 'reboot', { done: 1, total: 4, etaMs: 83_000 }));
      live.update(ev('w-4', 'done', { done: 1, total: 4, etaMs: 83_000 }));
      const screen = tty.screen();
      assert.deepEqual(screen.slice(0, 1), ['12:00:01 info  a log line'], 'other lines stay above the table, once');
      assert.equal(screen.filter((l) => l.startsWith('reboot [')).length, 1, 'one table on screen');
      assert.equal(screen[1], 'reboot [#####...............] 1/4 done · 2 in flight · 1 waiting · ETA 1m23s');
      assert.match(screen[2]!, /^\s+NODE\s+PHASE\s+FOR$/);
      assert.match(screen[3]!, /^ {2}w-1\s+drain\s+2\.5s$/);
      assert.match(screen[4]!, /^ {2}w-3\s+reboot\s+0ms$/);
      assert.match(screen[5]!, /^ {2}w-2\s+waiting\s+2\.5s {2}PDB ns\/web allows 0 disruptions$/);
      assert.equal(screen.length, 6, 'finished nodes leave the table');
      live.stop();
      assert.equal(Object.prototype.hasOwnProperty.call(tty.stream, 'write'), true, 'an own write() is put back');
      tty.stream.write('after\n');
      assert.equal(tty.screen().at(-1), 'after', 'after stop() lines no longer move the table');
      assert.equal(tty.screen().filter((l) => l.startsWith('reboot [')).length, 1, 'the last table stays');
    });

    it('keeps to the terminal width and counts rows beyond its limit', () => {
      const tty = fakeTty(60);
      const live = new LiveProgress(tty.stream, { tickMs: 0, maxRows: 3 });
      for (let i = 1; i <= 6; i++) live.update(ev(`node-${i}`, 'waiting', { done: 0, total: 6, message: 'max-unavailable 3/3 reached because the limit counts nodes already down' }));
      const screen = tty.screen();
      assert.ok(screen.every((l) => l.length <= 59), 'no line wraps');
      assert.equal(screen.at(-1), '  … 3 more');
      live.stop();
    });
  });

  describe('HTML report', () => {
    const t0 = Date.parse('2026-11-23T06:00:00Z');
    const span = (phase: NodeRecord['phases'][number]['phase'], a: number, b?: number): NodeRecord['phases'][number] => ({ phase, start: t0 + a, end: b === undefined ? undefined : t0 + b });
    const done = (offset: number): NodeRecord => ({
      phase: 'done',
      runId: 'r1',
      startedAt: t0 + offset,
      finishedAt: t0 + offset + 9000,
      bootIdBefore: '11111111-aaaa-bbbb-cccc-000000000000',
      bootIdAfter: '22222222-aaaa-bbbb-cccc-000000000000',
      phases: [span('preflight', offset, offset + 100), span('silence', offset + 100, offset + 200), span('cordon', offset + 200, offset + 400), span('drain', offset + 400, offset + 3000), span('reboot', offset + 3000, offset + 5000), span('wait-ready', offset + 5000, offset + 7000), span('uncordon', offset + 7000, offset + 7200), span('recover', offset + 7200, offset + 9000)],
    });
    const input = (): ReportInput => ({
      generatedAt: t0 + 30_000,
      rollout: { id: 'r1', startedAt: t0, selectionKey: 'k', targets: ['w-1', 'w-2', 'w-3', 'w-4'], marks: {}, cordonedBefore: ['w-2'], notReadyBefore: [], skipped: [{ node: 'w-9', reason: 'no reboot pending' }], runs: ['r1'] },
      nodes: {
        'w-1': done(0),
        'w-2': done(9000),
        'w-3': { phase: 'failed', failedPhase: 'wait-ready', leftCordoned: true, error: 'w-3 has been unreachable <since> 2s & more', runId: 'r1', startedAt: t0 + 18_000, finishedAt: t0 + 25_000, phases: [span('cordon', 18_000, 18_200), span('drain', 18_200, 19_000), span('reboot', 19_000, 19_500), span('wait-ready', 19_500, 25_000)] },
        'w-4': { phase: 'pending', phases: [], runId: 'r1' },
      },
      result: {
        cluster: 'tools',
        dryRun: false,
        rollout: { id: 'r1', startedAt: new Date(t0).toISOString(), continued: false, complete: false },
        targets: ['w-1', 'w-2', 'w-3', 'w-4'],
        done: ['w-1', 'w-2'],
        rebootedThisRun: ['w-1', 'w-2'],
        started: ['w-1', 'w-2', 'w-3'],
        remaining: ['w-4'],
        skipped: [{ node: 'w-9', reason: 'no reboot pending' }],
        failed: [{ node: 'w-3', phase: 'wait-ready', error: 'w-3 has been unreachable <since> 2s & more', leftCordoned: true }],
        leftCordoned: ['w-3'],
        silencesLeft: [],
        stoppedBy: 'failures',
        cycleMs: { median: 7000, perNode: { 'w-1': 7000, 'w-2': 7000 } },
        limits: { maxUnavailable: 1, roleLimits: {} },
      },
    });

    it('is valid and self-contained, with one bar per node coloured by phase, failures marked and text escaped', () => {
      const html = renderReport(input());
      const els = checkReportHtml(html);
      const bars = els.filter((e) => e.tag === 'g' && e.attrs.class?.startsWith('bar'));
      assert.deepEqual(bars.map((b) => [b.attrs['data-node'], b.attrs['data-status']]), [
        ['w-1', 'rebooted'],
        ['w-2', 'rebooted'],
        ['w-3', 'failed in wait-ready'],
        ['w-4', 'not started'],
      ]);
      const segs = els.filter((e) => e.tag === 'rect' && e.attrs['data-phase']).map((e) => e.attrs['data-phase']);
      // preflight and silence merge into one segment; every other phase is its own.
      assert.deepEqual(segs.slice(0, 7), ['preflight', 'cordon', 'drain', 'reboot', 'wait-ready', 'uncordon', 'recover']);
      assert.equal(segs.length, 7 + 7 + 4);
      assert.match(html, /Stopped: failure/);
      assert.match(html, /w-3 has been unreachable &lt;since&gt; 2s &amp; more/);
      assert.match(html, /cordoned before the rollout: stays cordoned/);
      assert.match(html, /<li><span class="node">w-9<\/span>: no reboot pending<\/li>/);
      assert.match(html, /Median cycle \(cordon → uncordon\)<\/div><div class="v">7\.0s/);
    });

    it('draws the planned schedule of a dry-run', () => {
      const base = input();
      const nodes = ['w-1', 'w-2', 'w-3', 'w-4'].map((name) => ({ name, role: 'worker', control: false, ready: true, cordoned: false, pods: [], allocatable: { cpu: 8, memory: 8e9 }, requested: { cpu: 0, memory: 0 }, tainted: false }));
      const sim = simulateRollout({ nodes, pending: base.rollout.targets, inFlight: [], pdbs: [], limits: { maxUnavailable: 2, roleLimits: {} }, defaultExpectedMs: 60_000 });
      const html = renderReport({
        ...base,
        simulation: sim,
        nodes: {},
        result: { ...base.result, dryRun: true, failed: [], done: [], plan: { order: sim.order, batches: sim.batches.map((b) => b.nodes), predictedMs: sim.totalMs, stuck: [] } },
      });
      const els = checkReportHtml(html);
      const planned = els.filter((e) => e.tag === 'rect' && e.attrs['data-phase'] === 'planned');
      assert.equal(planned.length, 4);
      assert.match(html, /Plan \(dry-run\)/);
      assert.match(html, /Predicted duration<\/div><div class="v">2m00s/);
    });
  });

  describe('on a terminal', () => {
    let lab: TestLab;
    before(async () => {
      assert.ok(existsSync('/usr/bin/script'), 'this test needs script(1) for a pseudo-terminal: apt-get install -y bsdutils');
      lab = await startRebootLab(3);
      await createWorkload(lab, 'tool-tty', [{ name: 'web', replicas: 3, pdb: { maxUnavailable: 1 } }]);
    });
    after(async () => {
      await lab?.stop();
    });

    it('k8s.reboot draws the live table instead of one line per progress event', async () => {
      const args = rebootArgs(inventoryFor(lab, { fileLock: true }), tempDir('cc-state-'), ['--all-workers']);
      const quoted = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
      const child = spawn('/usr/bin/script', ['-qfec', quoted, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
      let raw = '';
      child.stdout.on('data', (d: Buffer) => (raw += d.toString()));
      child.stderr.on('data', (d: Buffer) => (raw += d.toString()));
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      assert.equal(code, 0, raw.slice(-2000));
      const screen = playTerminal(raw.replace(/\r\n/g, '\n'));
      assert.ok(raw.includes('\x1b[') && /\x1b\[\d+F\x1b\[J/.test(raw), 'the table redraws itself');
      assert.ok(!screen.some((l) => /info\s+reboot \[\d+\/\d+\] /.test(l)), 'no plain progress lines on a TTY');
      assert.ok(screen.some((l) => /^reboot \[#{20}\] 3\/3 done · 0 in flight/.test(l)), 'the final table shows 3/3 done');
      assert.ok(screen.some((l) => /^PASS k8s\.reboot on labtest/.test(l)));
    });
  });
});
