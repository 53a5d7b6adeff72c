// The detached lab process `cookbook lab up` starts: `node daemon.js --options '<json>'`. It runs startLab(),
// logs to its stdout/stderr (the parent points both at <state dir>/lab.log), and on SIGTERM/SIGINT or the
// admin endpoint's POST /shutdown closes every server and exits 0. It removes lab.json on the way out, so a
// lab.json always belongs to a live process (or to one that crashed, which findLab detects by its pid).
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { messageOf } from '../lib/core/errors.js';
import { type LabHandle, type LabOptions, startLab } from './index.js';
import { STATE_FILES } from './state.js';

/** Options the CLI passes to the daemon (JSON on the command line: nothing secret in there). */
export type DaemonOptions = Omit<LabOptions, 'log' | 'onShutdown' | 'cluster'>;

function log(message: string): void {
  process.stderr.write(`${new Date().toISOString()} ${message}\n`);
}

/** Parses the daemon's argv (`--options JSON`). */
export function parseDaemonArgs(argv: string[]): DaemonOptions {
  const i = argv.indexOf('--options');
  if (i < 0 || argv[i + 1] === undefined) throw new Error('usage: daemon.js --options <json>');
  return JSON.parse(argv[i + 1]!) as DaemonOptions;
}

async function main(): Promise<void> {
  const options = parseDaemonArgs(process.argv.slice(2));
  let lab: LabHandle | undefined;
  let exiting = false;
  const shutdown = (why: string): void => {
    if (exiting) return;
    exiting = true;
    log(`stopping (${why})`);
    const done = (code: number): void => {
      if (lab) rmSync(join(lab.stateDir, STATE_FILES.labJson), { force: true });
      log('stopped');
      process.exit(code);
    };
    // A hard deadline: a stuck close must not keep the process (and its ports) alive.
    setTimeout(() => done(0), 5000).unref();
    (lab ? lab.stop() : Promise.resolve()).then(
      () => done(0),
      (err: unknown) => {
        log(`stop failed: ${messageOf(err)}`);
        done(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGHUP', () => {
    /* the terminal that started `lab up` went away: keep running */
  });
  process.on('uncaughtException', (err) => log(`uncaught: ${err.stack ?? String(err)}`));
  process.on('unhandledRejection', (err) => log(`unhandled rejection: ${(err as Error)?.stack ?? String(err)}`));

  const started = Date.now();
  log(`starting lab ${options.clusterName ?? 'local'} (pid ${process.pid}, speed ${options.speed ?? 1})`);
  lab = await startLab({ etcdStart: 'eager', ...options, log, onShutdown: () => shutdown('admin /shutdown') });
  // Host lifecycle in the log: what happened to which VM, for whoever debugs a cookbook run.
  for (const event of ['host-added', 'host-up', 'host-down', 'host-removed'] as const) {
    lab.world.on(event, (h) => log(`${event} ${h.name} ${h.address} (${h.state})`));
  }
  log(`ready in ${Date.now() - started} ms: kubernetes ${lab.info.endpoints.kubernetes}, openstack ${lab.info.endpoints.openstack}, admin ${lab.info.endpoints.admin}, ssh port ${lab.info.ssh.port}, ${lab.world.hosts.size} hosts`);
  if (exiting) await lab.stop();
}

main().catch((err: unknown) => {
  log(`lab failed to start: ${(err as Error)?.stack ?? String(err)}`);
  process.exit(1);
});
