// `cookbook schedule install|list|remove` against a temporary unit directory: the files written, the quoting
// of every argument in ExecStart (read back with systemd's own splitting rules, and with systemd-analyze
// verify where it is installed), validation before anything is written, and removal of our units only.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MANAGED_MARKER, systemdCommandLine, systemdQuote } from '../../lib/runner/schedule.js';
import { cleanupTempDirs, runCli, tempDir } from '../helpers/cli.js';

/**
 * systemd's splitting of a command line (extract_first_word with UNQUOTE|CUNESCAPE, then specifier and
 * variable expansion for %% and $$), enough to read back what we write.
 */
function systemdSplit(line: string): string[] {
  const words: string[] = [];
  let i = 0;
  const unescape = (c: string): string => ({ n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'", ';': ';', ' ': ' ' })[c] ?? assert.fail(`unknown escape \\${c}`);
  while (i < line.length) {
    while (line[i] === ' ') i++;
    if (i >= line.length) break;
    let word = '';
    let quote: string | undefined;
    for (; i < line.length; i++) {
      const c = line[i]!;
      if (c === '\\') {
        word += unescape(line[++i]!);
      } else if (quote) {
        if (c === quote) quote = undefined;
        else word += c;
      } else if (c === '"' || c === "'") {
        quote = c;
      } else if (c === ' ') {
        break;
      } else {
        word += c;
      }
    }
    assert.equal(quote, undefined, `unbalanced quote in ${line}`);
    words.push(word.replace(/%%/g, '%').replace(/\$\$/g, '$'));
  }
  return words;
}

const hasAnalyze = existsSync('/usr/bin/systemd-analyze');

describe('cookbook schedule', function () {
  this.timeout(60_000);
  after(cleanupTempDirs);

  it('quotes every kind of argument so systemd reads back exactly what was given', () => {
    const nasty = ['plain', 'two words', 'it\'s "quoted"', 'back\\slash', '100%', '$HOME and ${USER}', 'tab\there', 'line\nbreak', ';', '', '--window=Mon 06:00-07:00'];
    for (const a of nasty) assert.deepEqual(systemdSplit(systemdQuote(a)), [a], `argument ${JSON.stringify(a)} as ${systemdQuote(a)}`);
    assert.deepEqual(systemdSplit(systemdCommandLine(nasty)), nasty);
    assert.equal(systemdQuote('--cluster-name'), '--cluster-name');
    assert.throws(() => systemdQuote('nul\0byte'), /NUL/);
  });

  it('install writes a service + timer pair with --yes added and every argument quoted; list shows it; remove deletes it', async () => {
    const dir = tempDir('cc-units-');
    const args = ['--cluster-name', 'tools', '--all', '--only-if-needed', '--window', 'Mon-Fri 06:00-16:00 Europe/Madrid', '--report', '/var/log/reboot 100%.html', '--block-on-alert', 'alertname=~"Node.*",severity!="info"'];
    const r = await runCli(['schedule', 'install', 'k8s.reboot', '--on-calendar', 'Mon *-*-* 06:00', '--unit-dir', dir, '--', ...args]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /systemctl daemon-reload && systemctl enable --now cookbook-k8s-reboot-tools\.timer/);
    assert.deepEqual(readdirSync(dir).sort(), ['cookbook-k8s-reboot-tools.service', 'cookbook-k8s-reboot-tools.timer']);
    const service = readFileSync(join(dir, 'cookbook-k8s-reboot-tools.service'), 'utf8');
    const timer = readFileSync(join(dir, 'cookbook-k8s-reboot-tools.timer'), 'utf8');
    assert.ok(service.startsWith(MANAGED_MARKER) && timer.startsWith(MANAGED_MARKER));
    assert.match(service, /^Type=oneshot$/m);
    assert.match(timer, /^OnCalendar=Mon \*-\*-\* 06:00$/m);
    assert.match(timer, /^Unit=cookbook-k8s-reboot-tools\.service$/m);
    assert.match(timer, /^WantedBy=timers\.target$/m);
    assert.match(service, /^Description=cookbook k8s\.reboot .*'Mon-Fri 06:00-16:00 Europe\/Madrid'.*100%%\.html/m);
    const exec = /^ExecStart=(.*)$/m.exec(service)![1]!;
    const argv = systemdSplit(exec);
    assert.equal(argv[0], process.execPath);
    assert.match(argv[1]!, /bin\/cookbook\.js$/);
    assert.ok(existsSync(argv[1]!), `${argv[1]} exists`);
    assert.deepEqual(argv.slice(2), ['k8s.reboot', ...args, '--yes']);
    if (hasAnalyze) {
      const v = spawnSync('/usr/bin/systemd-analyze', ['verify', '--man=no', join(dir, 'cookbook-k8s-reboot-tools.service'), join(dir, 'cookbook-k8s-reboot-tools.timer')], { encoding: 'utf8' });
      assert.equal(v.status, 0, v.stderr);
    }

    const list = await runCli(['schedule', 'list', '--unit-dir', dir, '--json']);
    assert.equal(list.code, 0, list.stderr);
    const items = JSON.parse(list.stdout) as { name: string; onCalendar: string; command: string }[];
    assert.deepEqual(items.map((i) => [i.name, i.onCalendar]), [['cookbook-k8s-reboot-tools', 'Mon *-*-* 06:00']]);
    assert.equal(items[0]!.command, exec);
    const human = await runCli(['schedule', 'list', '--unit-dir', dir]);
    assert.match(human.stdout, /^cookbook-k8s-reboot-tools\tMon \*-\*-\* 06:00\t/m);

    const again = await runCli(['schedule', 'install', 'k8s.reboot', '--on-calendar', 'Mon *-*-* 06:00', '--unit-dir', dir, '--', ...args]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /exists.*\n.*--force/);
    const forced = await runCli(['schedule', 'install', 'k8s.reboot', '--on-calendar', 'Tue *-*-* 07:30', '--unit-dir', dir, '--force', '--', ...args]);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(readFileSync(join(dir, 'cookbook-k8s-reboot-tools.timer'), 'utf8'), /^OnCalendar=Tue \*-\*-\* 07:30$/m);

    const rm = await runCli(['schedule', 'remove', 'cookbook-k8s-reboot-tools', '--unit-dir', dir]);
    assert.equal(rm.code, 0, rm.stderr);
    assert.deepEqual(readdirSync(dir), []);
    const rm2 = await runCli(['schedule', 'remove', 'cookbook-k8s-reboot-tools', '--unit-dir', dir]);
    assert.equal(rm2.code, 2);
    assert.match(rm2.stderr, /no schedule named cookbook-k8s-reboot-tools/);
  });

  it('validates the calendar and the cookbook arguments before writing anything', async () => {
    const dir = tempDir('cc-units-');
    const cases: [string[], number, RegExp][] = [
      [['install', 'k8s.reboot', '--on-calendar', 'Mon *-*-* 25:00', '--', '--cluster-name', 'tools', '--all'], 2, hasAnalyze ? /does not accept "Mon \*-\*-\* 25:00"/ : /./],
      [['install', 'k8s.reboot', '--on-calendar', 'daily', '--', '--cluster-name', 'tools', '--all', '--max-unavailable', 'lots'], 2, /--max-unavailable: expected a count/],
      [['install', 'k8s.reboot', '--on-calendar', 'daily', '--', '--cluster-name', 'tools'], 2, /select nodes with --all/],
      [['install', 'k8s.reboot', '--on-calendar', 'daily', '--', '--cluster-name', 'tools', '--all', '--bogus'], 2, /Unknown argument: bogus/],
      [['install', 'k8s.reboot', '--on-calendar', 'daily', '--', '--cluster-name', 'tools', '--all', '--dry-run'], 2, /--dry-run would change nothing/],
      [['install', 'k8s.rebot', '--on-calendar', 'daily', '--', '--cluster-name', 'tools'], 5, /no cookbook named "k8s\.rebot"/],
      [['install', 'k8s.reboot', '--', '--cluster-name', 'tools', '--all'], 2, /needs --on-calendar/],
      [['install', 'k8s.reboot', '--on-calendar', 'daily', '--name', 'bad name', '--', '--cluster-name', 'tools', '--all'], 2, /not a valid systemd unit name/],
      [['frobnicate'], 2, /unknown schedule action "frobnicate"/],
      // Checked as a run would before its lock: the cluster, and the cookbook's arguments against it.
      [['install', 'k8s.reboot', '--on-calendar', 'daily', '--', '--cluster-name', 'no-such-cluster', '--all'], 2, /no-such-cluster/],
      [['install', 'k8s.add-node', '--on-calendar', 'daily', '--', '--cluster-name', 'tools', '--role', 'wrker'], 2, /wrker/],
    ];
    for (const [args, code, message] of cases) {
      // --unit-dir belongs before the "--" that starts the cookbook's arguments.
      const full = args.includes('--') ? [...args.slice(0, args.indexOf('--')), '--unit-dir', dir, ...args.slice(args.indexOf('--'))] : [...args, '--unit-dir', dir];
      const res = await runCli(['schedule', ...full]);
      assert.equal(res.code, code, `${args.join(' ')}: ${res.stderr}`);
      assert.match(res.stderr, message, args.join(' '));
    }
    assert.deepEqual(readdirSync(dir), []);
  });

  it('names the pair with --name, carries COOKBOOK_INVENTORY, and never touches units it did not write', async () => {
    const dir = tempDir('cc-units-');
    writeFileSync(join(dir, 'foreign.service'), '[Service]\nExecStart=/bin/true\n');
    writeFileSync(join(dir, 'foreign.timer'), '[Timer]\nOnCalendar=daily\n');
    // The inventory directory must exist: install checks the cluster in it as the timer's run would.
    const inventory = tempDir('cc-inv-');
    const r = await runCli(['schedule', 'install', 'k8s.reboot', '--on-calendar', 'daily', '--unit-dir', dir, '--name', 'weekly-reboot', '--json', '--', '--cluster-name', 'toolsbeta', '--role', 'worker_nfs'], {
      env: { COOKBOOK_INVENTORY: inventory },
    });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { installed: string; command: string[] };
    assert.equal(out.installed, 'weekly-reboot');
    assert.deepEqual(out.command.slice(2), ['k8s.reboot', '--cluster-name', 'toolsbeta', '--role', 'worker_nfs', '--yes']);
    assert.ok(readFileSync(join(dir, 'weekly-reboot.service'), 'utf8').split('\n').includes(`Environment=COOKBOOK_INVENTORY=${inventory}`));
    const list = JSON.parse((await runCli(['schedule', 'list', '--unit-dir', dir, '--json'])).stdout) as { name: string }[];
    assert.deepEqual(list.map((s) => s.name), ['weekly-reboot']);
    const rm = await runCli(['schedule', 'remove', 'foreign', '--unit-dir', dir]);
    assert.equal(rm.code, 2);
    assert.match(rm.stderr, /not written by cookbook schedule/);
    assert.ok(existsSync(join(dir, 'foreign.service')) && existsSync(join(dir, 'foreign.timer')));
    const clash = await runCli(['schedule', 'install', 'k8s.reboot', '--on-calendar', 'daily', '--unit-dir', dir, '--name', 'foreign', '--force', '--', '--cluster-name', 'toolsbeta', '--all']);
    assert.equal(clash.code, 2);
    assert.match(clash.stderr, /was not written by cookbook schedule; not replacing it/);
    assert.equal(readFileSync(join(dir, 'foreign.service'), 'utf8'), '[Service]\nExecStart=/bin/true\n');
  });

  it('prints usage for help and without an action', async () => {
    const help = await runCli(['schedule', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /cookbook schedule install COOKBOOK --on-calendar SPEC/);
    const none = await runCli(['schedule']);
    assert.equal(none.code, 2);
  });
});
