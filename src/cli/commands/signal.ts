import { createConsoleLogger } from '../../ports/logger.js';
import { startSignalingServer } from '../../signaling/server.js';
import { integerOption, logLevelOption, parseCommandArgs } from '../args.js';
import type { Command } from '../command.js';
import { DEFAULT_SIGNAL_HOST, DEFAULT_SIGNAL_PORT } from '../defaults.js';
import { shutdownSignal } from '../shutdown.js';

export const signalCommand: Command = {
  name: 'signal',
  summary: 'Run a signaling server that introduces peers to each other',
  help: `Usage: peersock signal [--port N] [--host H] [--log-level LEVEL]

Runs a signaling server: peers register their PeerId with it, exchange connection offers
through it and ask it for a sample of other peers. It stores nothing. Stops gracefully on
Ctrl-C (SIGINT) or SIGTERM.

Options:
  --port N            TCP port to listen on (default ${DEFAULT_SIGNAL_PORT}; 0 picks a free port)
  --host H            Address to listen on (default ${DEFAULT_SIGNAL_HOST}; 0.0.0.0 for every interface)
  --log-level LEVEL   debug, info, warn, error or silent (default warn); logs go to stderr
  -h, --help          Show this help

Examples:
  peersock signal
  peersock signal --port 9000 --host 0.0.0.0`,

  async run(argv, io) {
    const { values } = parseCommandArgs('signal', argv, {
      port: { type: 'string' },
      host: { type: 'string' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      io.out(this.help);
      return 0;
    }
    const port = integerOption('signal', 'port', values.port, 0, 65_535) ?? DEFAULT_SIGNAL_PORT;
    const host = values.host ?? DEFAULT_SIGNAL_HOST;
    const level = logLevelOption('signal', values['log-level'], 'warn');

    const shutdown = shutdownSignal();
    try {
      const server = await startSignalingServer({ port, host, logger: createConsoleLogger(level) });
      io.out(`signaling server listening on ${server.url}`);
      const name = await shutdown.signal;
      const stats = server.stats();
      io.out(`${name}: closing (${stats.registered} peers registered, ${stats.relayed} signals relayed)`);
      await server.close();
      io.out('signaling server closed');
      return 0;
    } finally {
      shutdown.dispose();
    }
  },
};
