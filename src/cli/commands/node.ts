import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Subscription } from 'rxjs';
import { isPeerSockError } from '../../errors.js';
import { identityFilePath, loadIdentity, loadOrCreateIdentity } from '../../identity/key-store.js';
import { parsePeerId, shortId, type PeerId } from '../../identity/peer-id.js';
import { startNode, type NodeEvent, type PeerSockNode } from '../../node/start-node.js';
import { createConsoleLogger } from '../../ports/logger.js';
import { integerOption, logLevelOption, parseCommandArgs, signalingUrlOption } from '../args.js';
import type { Command } from '../command.js';
import { CHAT_PROTOCOL, DEFAULT_DATA_DIR } from '../defaults.js';
import { describePayload, eventLine, formatMs, printable, type Io } from '../output.js';
import { failureLines, reportFailure } from '../report.js';
import { shutdownSignal } from '../shutdown.js';
import { withTimeout } from '../timeout.js';
import { UsageError } from '../usage-error.js';
import { NODE_INPUT_HELP, parseNodeInput, resolveTarget } from './node-input.js';

const STOP_TIMEOUT_MS = 15_000;

export const nodeCommand: Command = {
  name: 'node',
  summary: 'Run a node with a persistent identity and chat with its peers from stdin',
  help: `Usage: peersock node --signal URL [--signal URL ...] [options]

Starts a node with the identity stored in DIR/identity.json (created on first run),
prints its PeerId, connects to the given peers and prints connection events and the
messages it receives. Lines typed on stdin control it:

${NODE_INPUT_HELP.map((line) => `  ${line}`).join('\n')}

Ctrl-C (SIGINT) or SIGTERM stops it gracefully: peers are told the connection is closing.

Options:
  --signal URL        Signaling server (ws://host:port); repeat for fallbacks. Required.
  --connect PEERID    Connect to this peer once started; repeat for more peers
  --bootstrap N       Also connect to up to N peers sampled from the signaling server
  --data-dir DIR      Directory holding identity.json (default ${DEFAULT_DATA_DIR})
  --bind ADDRESS      Local address for WebRTC (ICE) candidates, e.g. 127.0.0.1
  --log-level LEVEL   debug, info, warn, error or silent (default warn); logs go to stderr
  -h, --help          Show this help

Examples:
  peersock node --signal ws://127.0.0.1:7700
  peersock node --signal ws://127.0.0.1:7700 --data-dir ./bob --connect 1a2b…(64 hex)
  peersock node --signal ws://127.0.0.1:7700 --bootstrap 3 --bind 127.0.0.1`,

  async run(argv, io) {
    const { values } = parseCommandArgs('node', argv, {
      signal: { type: 'string', multiple: true },
      connect: { type: 'string', multiple: true },
      bootstrap: { type: 'string' },
      'data-dir': { type: 'string' },
      bind: { type: 'string' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      io.out(this.help);
      return 0;
    }
    const signaling = (values.signal ?? []).map((url) => signalingUrlOption('node', url));
    if (signaling.length === 0) throw new UsageError('--signal <url> is required (start a server with: peersock signal)', 'node');
    const connectTo = (values.connect ?? []).map((text) => {
      try {
        return parsePeerId(text);
      } catch {
        throw new UsageError(`--connect needs a PeerId (64 hex characters), got ${JSON.stringify(text)}`, 'node');
      }
    });
    const bootstrap = integerOption('node', 'bootstrap', values.bootstrap, 1, 32) ?? 0;
    const level = logLevelOption('node', values['log-level'], 'warn');
    const dataDir = path.resolve(values['data-dir'] ?? DEFAULT_DATA_DIR);

    const shutdown = shutdownSignal();
    try {
      const existing = await loadIdentity(dataDir);
      const identity = existing ?? (await loadOrCreateIdentity(dataDir));
      if (existing === undefined) io.err(`created a new identity in ${identityFilePath(dataDir)}`);
      const node = await startNode({
        identity,
        signaling,
        logger: createConsoleLogger(level),
        ...(values.bind !== undefined ? { bindAddress: values.bind } : {}),
      });
      io.out(`peer id     ${node.id}`);
      io.out(`identity    ${identityFilePath(dataDir)}${existing === undefined ? ' (new)' : ''}`);
      io.out(`signaling   ${signaling.join(', ')}`);
      io.out('type "help" for commands, Ctrl-C to stop');
      return await runSession(node, io, { connectTo, bootstrap, signal: shutdown.signal });
    } finally {
      shutdown.dispose();
    }
  },
};

interface SessionOptions {
  connectTo: readonly PeerId[];
  bootstrap: number;
  signal: Promise<NodeJS.Signals>;
}

/** Runs a started node until a signal, `quit` or a fatal node failure; always stops it. */
async function runSession(node: PeerSockNode, io: Io, options: SessionOptions): Promise<number> {
  const say = (label: string, rest: string) => io.out(eventLine(label, rest));
  let finish: (outcome: { reason: string; code: number }) => void = () => {};
  const finished = new Promise<{ reason: string; code: number }>((resolve) => {
    finish = resolve;
  });
  void options.signal.then((name) => finish({ reason: name, code: 0 }));

  const dialing = new Set<PeerId>();
  const started = new Map<PeerId, { at: number; role: string }>();
  const subscriptions: Subscription[] = [
    node.events$.subscribe((event) => printEvent(event)),
    node.messages$.subscribe((message) =>
      say('message', `${shortId(message.from)}  ${message.protocol}  ${describePayload(message.data)}`),
    ),
  ];

  function printEvent(event: NodeEvent): void {
    switch (event.type) {
      case 'peer.connecting':
        started.set(event.peer, { at: performance.now(), role: event.role });
        say('connecting', `${shortId(event.peer)}  (${event.role})`);
        return;
      case 'peer.open': {
        const start = started.get(event.peer);
        const detail = start ? `${start.role}, ${formatMs(performance.now() - start.at)}` : 'open';
        say('connected', `${shortId(event.peer)}  (${detail})`);
        return;
      }
      case 'peer.closed':
        started.delete(event.peer);
        if (event.wasOpen) {
          say('disconnected', `${shortId(event.peer)}${event.failure ? `  ${event.failure.code}: ${event.failure.message}` : ''}`);
        } else if (!dialing.has(event.peer)) {
          // A dial of ours reports its own failure when connect() rejects.
          say('failed', `${shortId(event.peer)}  ${event.failure ? `${event.failure.code}: ${event.failure.message}` : 'closed before it opened'}`);
        }
        return;
      case 'connect.refused':
        if (!dialing.has(event.peer)) say('refused', `${shortId(event.peer)}  ${event.code}: ${event.message}`);
        return;
      case 'signal.dropped':
        say('dropped', `a signal from ${shortId(event.from)}: ${printable(event.reason)}`);
        return;
      case 'peer.violation':
        say('violation', `${shortId(event.peer)}  ${event.code}: ${printable(event.message)}`);
        return;
      case 'node.failed':
        say('node failed', `${event.code}: ${event.message}`);
        finish({ reason: `node failed (${event.code})`, code: 1 });
        return;
    }
  }

  async function dial(peer: PeerId): Promise<void> {
    dialing.add(peer);
    try {
      await node.connect(peer);
    } catch (error) {
      say('connect failed', `${shortId(peer)}  ${failureLines(error).join('; ').replace(/^error: /, '')}`);
    } finally {
      dialing.delete(peer);
    }
  }

  async function send(target: string, text: string): Promise<void> {
    const resolved = resolveTarget(target, node.peers());
    if (!resolved.ok) {
      say('not sent', resolved.message);
      return;
    }
    const data = Buffer.from(text, 'utf8');
    await Promise.all(
      resolved.peers.map(async (peer) => {
        try {
          await node.send(peer, CHAT_PROTOCOL, data);
          say('sent', `${shortId(peer)}  ${CHAT_PROTOCOL}  ${describePayload(data)}`);
        } catch (error) {
          say('send failed', `${shortId(peer)}  ${isPeerSockError(error) ? `${error.code}: ${error.message}` : String(error)}`);
        }
      }),
    );
  }

  async function handleLine(line: string): Promise<void> {
    const input = parseNodeInput(line);
    switch (input.kind) {
      case 'empty':
        return;
      case 'invalid':
        io.out(input.message);
        return;
      case 'help':
        for (const helpLine of NODE_INPUT_HELP) io.out(helpLine);
        return;
      case 'peers': {
        const peers = node.peers();
        io.out(peers.length === 0 ? 'no open peers' : `${peers.length} open ${peers.length === 1 ? 'peer' : 'peers'}:`);
        for (const peer of peers) io.out(`  ${shortId(peer)}  ${peer}`);
        return;
      }
      case 'quit':
        finish({ reason: 'quit', code: 0 });
        return;
      case 'send':
        await send(input.target, input.text);
        return;
      case 'connect': {
        let peer: PeerId;
        try {
          peer = parsePeerId(input.peer);
        } catch {
          io.out('usage: connect <peerId> (64 hex characters)');
          return;
        }
        void dial(peer);
        return;
      }
      case 'disconnect': {
        const resolved = resolveTarget(input.target, node.peers());
        if (!resolved.ok) io.out(resolved.message);
        else await Promise.all(resolved.peers.map((peer) => node.disconnect(peer)));
        return;
      }
    }
  }

  const interactive = process.stdin.isTTY === true;
  const rl = createInterface({ input: process.stdin, terminal: interactive });
  // Lines run one after another so "send ..." then "quit" sends before stopping.
  let queue = Promise.resolve();
  rl.on('line', (line) => {
    queue = queue.then(() => handleLine(line)).catch((error: unknown) => reportFailure(io, error));
  });
  rl.on('SIGINT', () => finish({ reason: 'SIGINT', code: 0 }));
  // Ctrl-D at a terminal means "done"; a closed pipe (e.g. </dev/null) just means no input.
  rl.on('close', () => {
    if (interactive) finish({ reason: 'end of input', code: 0 });
  });

  for (const peer of options.connectTo) void dial(peer);
  if (options.bootstrap > 0) {
    void node
      .samplePeers(options.bootstrap)
      .then((peers) => {
        say('bootstrap', peers.length === 0 ? 'no other peers at the signaling server' : `sampled ${peers.length}: ${peers.map(shortId).join(' ')}`);
        for (const peer of peers) if (!options.connectTo.includes(peer)) void dial(peer);
      })
      .catch((error: unknown) => say('bootstrap', `failed: ${failureLines(error).join('; ').replace(/^error: /, '')}`));
  }

  const outcome = await finished;
  await queue;
  say('stopping', `(${outcome.reason})`);
  rl.close();
  process.stdin.pause();
  try {
    await withTimeout(node.stop(), STOP_TIMEOUT_MS, 'stopping the node');
  } catch (error) {
    reportFailure(io, error);
    return 1;
  } finally {
    for (const subscription of subscriptions) subscription.unsubscribe();
  }
  say('stopped', '');
  return outcome.code;
}
