#!/usr/bin/env node
// The `cookbook` executable: hands argv to the runner and exits with its code once output is flushed.
import { main } from '../lib/runner/cli.js';

const code = await main(process.argv.slice(2));
// Open SSH connections or timers of a finished run must not keep the process alive.
process.stdout.write('', () => process.exit(code));
