#!/usr/bin/env node
import { runCli } from './run.js';
import { processIo } from './output.js';
import { relaunchingHost } from './sim-relaunch.js';

const code = await runCli(process.argv.slice(2), processIo, relaunchingHost);
process.exitCode = code;

// Everything has been stopped, so the process should now exit on its own. If a stray handle
// keeps it alive, say so (it is a bug) rather than hang the user's terminal.
setTimeout(() => {
  process.stderr.write('warning: the process did not exit after shutdown (a handle was left open); exiting\n');
  process.exit(code);
}, 5_000).unref();
