#!/usr/bin/env node
// The `cookbook` executable: hands argv to the runner and exits with its code once output is flushed.
import { main } from '../lib/runner/cli.js';

// `cookbook list | head` closes our stdout early: the reader has what it wanted, so a closed pipe is not a
// failure of the run (without this, the EPIPE 'error' event is unhandled and turns success into exit 1).
let stdoutClosed = false;
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') {
    stdoutClosed = true;
    return;
  }
  process.stderr.write(`cookbook: cannot write to stdout: ${err.message}\n`);
  process.exitCode = 1;
});

// The same for stderr (`cookbook ... 2>&1 | head`): there is nowhere left to report anything.
process.stderr.on('error', () => {});

const code = await main(process.argv.slice(2));
// Open SSH connections or timers of a finished run must not keep the process alive.
if (stdoutClosed || process.stdout.destroyed) process.exit(code);
else process.stdout.write('', () => process.exit(code));
