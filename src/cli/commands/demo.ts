import { isPeerSockError, PeerSockError } from '../../errors.js';
import { DEMO_PUZZLE_BITS } from '../../identity/position-puzzle.js';
import { integerOption, parseCommandArgs } from '../args.js';
import type { Command } from '../command.js';
import { formatMs, type Io } from '../output.js';
import { reportFailure } from '../report.js';
import { shutdownSignal } from '../shutdown.js';
import { withTimeout } from '../timeout.js';
import { createDemoStage, Interrupted, type DemoStage } from './demo-stage.js';
import {
  formRing,
  lookup,
  overlayConnect,
  routedMessage,
  serversGoneAndLeave,
  startNodes,
  startServer,
  type StoryFacts,
} from './demo-story.js';

const DEFAULT_NODES = 8;
const MIN_NODES = 3;
const MAX_NODES = 32;
const DEFAULT_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 20_000;

export const demoCommand: Command = {
  name: 'demo',
  summary: 'Run a whole network on loopback: ring, DHT lookup, routed messages, healing and signaling without servers',
  help: `Usage: peersock demo [--nodes N] [--keep-running] [--timeout MS]

Runs a whole network in this process, on loopback, and checks each step against the truth:
  1. a signaling server on a free port and N nodes with fresh identities, each ground to
     solve the ${DEMO_PUZZLE_BITS}-bit position puzzle; the nodes join the ring by themselves
  2. waits until every node has the right predecessor and successors; prints the ring
  3. a DHT lookup of the 3 peers closest to a random point, compared with the real closest
  4. a message between two nodes without a direct link, routed hop by hop and acknowledged
  5. the signaling server stops and one node leaves; the rest heal the ring on their own,
     then two unlinked nodes connect with offer, answer and candidates sent through the
     overlay, and a routed message is sent again
  6. stops everything gracefully and prints a summary
Each node links to its ring neighbours (two successors each way) and a few DHT contacts;
below about 8 nodes every pair is linked, so steps 4 and 5 have no pair to route between
or connect, and say so. Exit 0 when every step worked, 1 if anything failed or timed out.

Options:
  --nodes N        Number of nodes, ${MIN_NODES}-${MAX_NODES} (default ${DEFAULT_NODES})
  --keep-running   Stay up after the story, printing events, until Ctrl-C
  --timeout MS     Longest wait for each phase (default ${DEFAULT_TIMEOUT_MS})
  -h, --help       Show this help

Examples:
  peersock demo
  peersock demo --nodes 16
  peersock demo --nodes 5 --keep-running`,

  async run(argv, io) {
    const { values } = parseCommandArgs('demo', argv, {
      nodes: { type: 'string' },
      'keep-running': { type: 'boolean' },
      timeout: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      io.out(this.help);
      return 0;
    }
    const options: DemoOptions = {
      nodes: integerOption('demo', 'nodes', values.nodes, MIN_NODES, MAX_NODES) ?? DEFAULT_NODES,
      keepRunning: values['keep-running'] === true,
      timeoutMs: integerOption('demo', 'timeout', values.timeout, 100, 600_000) ?? DEFAULT_TIMEOUT_MS,
    };
    const shutdown = shutdownSignal();
    try {
      return await runDemo(options, io, shutdown.signal);
    } finally {
      shutdown.dispose();
    }
  },
};

interface DemoOptions {
  nodes: number;
  keepRunning: boolean;
  timeoutMs: number;
}

async function runDemo(options: DemoOptions, io: Io, signal: Promise<NodeJS.Signals>): Promise<number> {
  const stage = createDemoStage(options.nodes, options.timeoutMs, io, signal);
  const facts: StoryFacts = { failures: [] };
  const starting: Promise<void>[] = [];

  io.out(`peersock demo: ${options.nodes} nodes on loopback form a ring by themselves, then lose their signaling server`);
  io.out('');
  io.out(`${'time'.padStart(12)}  ${'event'.padEnd(14)} detail`);

  let exitCode = 0;
  let summary: string | undefined;
  try {
    const url = await startServer(stage);
    await startNodes(stage, options.nodes, url, starting);
    const formedMs = await formRing(stage);
    await lookup(stage, facts);
    const routed = [await routedMessage(stage, facts, 'with the server up')];
    const healedMs = await serversGoneAndLeave(stage);
    const connected = await overlayConnect(stage, facts);
    routed.push(await routedMessage(stage, facts, 'after the heal'));
    if (facts.failures.length > 0) throw new PeerSockError('DEMO_CHECK_FAILED', facts.failures.join('; '));

    const acked = routed.filter(Boolean).length;
    summary = [
      `summary: ${options.nodes} nodes`,
      `ring formed in ${formatMs(formedMs)}`,
      'lookup exact',
      acked > 0 ? `${acked} routed ${acked === 1 ? 'message' : 'messages'} acked` : 'no unlinked pair to route between',
      `healed in ${formatMs(healedMs)} without servers`,
      connected ? 'overlay-signaled connection opened' : 'no unlinked pair left to connect',
    ].join(', ');
    if (options.keepRunning) {
      io.out('');
      io.out(`${summary}; ready after ${Math.round(stage.elapsedMs())} ms`);
      io.out('');
      stage.phase = 'steady';
      stage.say('running', 'the network stays up; press Ctrl-C to stop');
      await stage.aborted;
    }
  } catch (error) {
    // A signal during --keep-running is the normal way out.
    if (!(stage.phase === 'steady' && error instanceof Interrupted)) {
      reportFailure(io, isPeerSockError(error) ? new PeerSockError(error.code, stage.shorten(error.message), { cause: error }) : error);
      exitCode = 1;
    }
  } finally {
    stage.phase = 'stopping';
    if (!(await stopEverything(stage, starting, io))) exitCode = 1;
  }
  if (exitCode === 0 && summary !== undefined && !options.keepRunning) {
    io.out('');
    io.out(`${summary}; ${Math.round(stage.elapsedMs())} ms elapsed`);
  }
  return exitCode;
}

/** Stops the nodes still running and the server if it is still up; false (and reported) if that failed. */
async function stopEverything(stage: DemoStage, starting: readonly Promise<void>[], io: Io): Promise<boolean> {
  const begun = performance.now();
  const running = stage.alive();
  const server = stage.serverClosed ? '' : ' and the signaling server';
  stage.say('stopping', `${running.length} nodes${server}`);
  try {
    await withTimeout(
      (async () => {
        // One at a time: a node leaving gracefully waits for its neighbours' acknowledgement,
        // which neighbours that are stopping at the same moment never send.
        for (const i of running) await stage.nodes[i]!.stop();
        // Nodes still starting when a phase failed stop themselves as soon as they are up.
        await Promise.allSettled(starting);
        if (!stage.serverClosed) await stage.server?.close();
      })(),
      STOP_TIMEOUT_MS,
      'stopping the demo network',
    );
    stage.unwatchAll();
    stage.say('stopped', `in ${formatMs(performance.now() - begun)}`);
    return true;
  } catch (error) {
    stage.unwatchAll();
    reportFailure(io, error);
    return false;
  }
}
