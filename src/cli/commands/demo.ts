import { filter, firstValueFrom, type Subscription } from 'rxjs';
import { PeerSockError, isPeerSockError } from '../../errors.js';
import { shortId, type PeerId } from '../../identity/peer-id.js';
import { startNode, type NodeEvent, type PeerSockNode } from '../../node/start-node.js';
import { startSignalingServer, type SignalingServer } from '../../signaling/server.js';
import { integerOption, parseCommandArgs } from '../args.js';
import type { Command } from '../command.js';
import { CHAT_PROTOCOL } from '../defaults.js';
import { describePayload, formatMs, type Io } from '../output.js';
import { reportFailure } from '../report.js';
import { shutdownSignal } from '../shutdown.js';
import { withTimeout } from '../timeout.js';
import { greetingKey, greetings, ringDialPlan, type DialPair } from './demo-plan.js';

const DEFAULT_NODES = 5;
const MAX_NODES = 32;
const DEFAULT_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 15_000;
/** Beyond this many message lines the demo only counts. */
const MAX_MESSAGE_LINES = 40;

export const demoCommand: Command = {
  name: 'demo',
  summary: 'Start a signaling server and N local nodes; connect them in a ring and exchange greetings',
  help: `Usage: peersock demo [--nodes N] [--messages M] [--keep-running] [--timeout MS]

Runs a whole network in this process, on loopback: a signaling server on a free port and
N nodes with fresh in-memory identities. Node i dials nodes i+1 and i+2 around the ring
(each pair once), waits until every connection is authenticated on both sides, then
every node greets each of its peers and the demo waits until every greeting arrived.
It then stops everything gracefully and exits 0 (1 if anything failed or timed out).

Options:
  --nodes N        Number of nodes, 2-${MAX_NODES} (default ${DEFAULT_NODES})
  --messages M     Greetings each node sends to each peer, 1-1000 (default 1)
  --keep-running   Stay up after the greetings, printing events, until Ctrl-C
  --timeout MS     Longest wait for each phase (default ${DEFAULT_TIMEOUT_MS})
  -h, --help       Show this help

Examples:
  peersock demo
  peersock demo --nodes 8 --messages 10
  peersock demo --nodes 3 --keep-running`,

  async run(argv, io) {
    const { values } = parseCommandArgs('demo', argv, {
      nodes: { type: 'string' },
      messages: { type: 'string' },
      'keep-running': { type: 'boolean' },
      timeout: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      io.out(this.help);
      return 0;
    }
    const options: DemoOptions = {
      nodes: integerOption('demo', 'nodes', values.nodes, 2, MAX_NODES) ?? DEFAULT_NODES,
      messages: integerOption('demo', 'messages', values.messages, 1, 1000) ?? 1,
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
  messages: number;
  keepRunning: boolean;
  timeoutMs: number;
}

async function runDemo(options: DemoOptions, io: Io, signal: Promise<NodeJS.Signals>): Promise<number> {
  const t0 = performance.now();
  const elapsed = () => performance.now() - t0;
  const labelWidth = `n${options.nodes - 1}`.length;
  const say = (event: string, detail: string) =>
    io.out(`${elapsed().toFixed(1).padStart(9)} ms  ${event.padEnd(14)} ${detail}`.trimEnd());

  let server: SignalingServer | undefined;
  const nodes: PeerSockNode[] = [];
  const indexOf = new Map<PeerId, number>();
  const name = (i: number) => `${`n${i}`.padEnd(labelWidth)} ${shortId(nodes[i]?.id ?? '?')}`;
  const subscriptions: Subscription[] = [];
  let phase: 'running' | 'steady' | 'stopping' = 'running';
  let stopping = false;

  // A node failure or a signal ends whichever phase is waiting.
  let abort: (error: Error) => void = () => {};
  const aborted = new Promise<never>((_, reject) => {
    abort = reject;
  });
  aborted.catch(() => undefined);
  void signal.then((sig) => abort(new Interrupted(sig)));
  const phaseWait = <T>(promise: Promise<T>, what: string) => Promise.race([withTimeout(promise, options.timeoutMs, what), aborted]);

  const pairs = ringDialPlan(options.nodes);
  const expected = greetings(pairs, options.messages);
  const pending = new Set(expected.map((g) => greetingKey(g.from, g.to, g.text)));
  let delivered = 0;
  let unexpected = 0;
  let shown = 0;
  let allDelivered: () => void = () => {};
  const deliveredAll = new Promise<void>((resolve) => {
    allDelivered = resolve;
  });
  if (pending.size === 0) allDelivered();

  io.out(`peersock demo: ${options.nodes} nodes on loopback, each dialing the next two around the ring`);
  io.out('');
  io.out(`${'time'.padStart(12)}  ${'event'.padEnd(14)} detail`);

  let exitCode = 0;
  let summary: string | undefined;
  let starting: Promise<void>[] = [];
  try {
    server = await phaseWait(startSignalingServer({ port: 0, host: '127.0.0.1' }), 'starting the signaling server');
    say('server', `listening on ${server.url}`);

    const url = server.url;
    starting = Array.from({ length: options.nodes }, async (_, i) => {
      const begun = performance.now();
      const node = await startNode({ signaling: [url], bindAddress: '127.0.0.1', verifyThreads: 1 });
      // A node that finished starting after a failure must still be stopped, or the process cannot exit.
      if (stopping) {
        await node.stop();
        return;
      }
      nodes[i] = node;
      indexOf.set(node.id, i);
      say('node started', `${name(i)}  (${formatMs(performance.now() - begun)})`);
    });
    await phaseWait(Promise.all(starting), `starting ${options.nodes} nodes`);

    for (const [i, node] of nodes.entries()) {
      subscriptions.push(node.events$.subscribe((event) => onEvent(i, event)));
      subscriptions.push(
        node.messages$.subscribe((message) => onMessage(i, message.from, message.protocol, message.data)),
      );
    }

    const connectStart = performance.now();
    const authenticated = new Set<DialPair>();
    await phaseWait(
      Promise.all(
        pairs.map(async (pair) => {
          const dialer = nodes[pair.dialer]!;
          const listener = nodes[pair.listener]!;
          say('connecting', `${name(pair.dialer)} → ${name(pair.listener)}`);
          const begun = performance.now();
          try {
            // connect() resolves when the dialer is open; the listener opens a moment later.
            await Promise.all([dialer.connect(listener.id, { timeoutMs: options.timeoutMs }), hasPeer(listener, dialer.id)]);
          } catch (error) {
            if (!isPeerSockError(error)) throw error;
            throw new PeerSockError(error.code, `n${pair.dialer} → n${pair.listener}: ${error.message}`);
          }
          authenticated.add(pair);
          say('authenticated', `${name(pair.dialer)} ⇄ ${name(pair.listener)}  ${formatMs(performance.now() - begun).padStart(8)}`);
        }),
      ),
      `authenticating ${pairs.length} connections`,
    ).catch((error: unknown) => {
      const missing = pairs.filter((pair) => !authenticated.has(pair)).map((p) => `n${p.dialer}⇄n${p.listener}`);
      if (isPeerSockError(error, 'TIMEOUT') && missing.length > 0) {
        throw new PeerSockError('TIMEOUT', `${error.message}; not authenticated: ${missing.join(', ')}`);
      }
      throw error;
    });
    const connected = pairs.filter(
      ({ dialer, listener }) => nodes[dialer]!.peers().includes(nodes[listener]!.id) && nodes[listener]!.peers().includes(nodes[dialer]!.id),
    ).length;
    say('all connected', `${connected} of ${pairs.length} connections authenticated on both sides in ${formatMs(performance.now() - connectStart)}`);

    const sendStart = performance.now();
    await phaseWait(
      Promise.all(expected.map((g) => nodes[g.from]!.send(nodes[g.to]!.id, CHAT_PROTOCOL, Buffer.from(g.text, 'utf8')))),
      `sending ${expected.length} greetings`,
    );
    await phaseWait(deliveredAll, `delivering ${expected.length} greetings`).catch((error: unknown) => {
      if (isPeerSockError(error, 'TIMEOUT')) {
        throw new PeerSockError('TIMEOUT', `${error.message}; ${pending.size} of ${expected.length} did not arrive`);
      }
      throw error;
    });
    if (shown < delivered) say('message', `… ${delivered - shown} more not shown`);
    say('all delivered', `${delivered} of ${expected.length} greetings in ${formatMs(performance.now() - sendStart)}`);
    if (unexpected > 0) throw new PeerSockError('PROTOCOL_VIOLATIONS', `${unexpected} unexpected or duplicate messages arrived`);

    summary = `summary: ${plural(nodes.length, 'node')}, ${plural(connected, 'authenticated connection')}, ${plural(delivered, 'message')} delivered`;
    if (options.keepRunning) {
      io.out('');
      io.out(`${summary}, ready after ${Math.round(elapsed())} ms`);
      io.out('');
      phase = 'steady';
      say('running', 'the network stays up; press Ctrl-C to stop');
      await Promise.race([signal, aborted]);
    }
  } catch (error) {
    // A signal during --keep-running is the normal way out.
    if (!(phase === 'steady' && error instanceof Interrupted)) {
      reportFailure(io, error);
      exitCode = 1;
    }
  } finally {
    phase = 'stopping';
    stopping = true;
    const stopStart = performance.now();
    const stillStarting = options.nodes - nodes.filter(Boolean).length;
    say(
      'stopping',
      `${nodes.filter(Boolean).length} nodes${stillStarting > 0 && starting.length > 0 ? ` (and ${stillStarting} still starting)` : ''} and the signaling server`,
    );
    try {
      await withTimeout(
        (async () => {
          // One at a time: a node closing gracefully waits for its peers' acknowledgement,
          // which peers that are stopping at the same moment never send (they would each
          // wait out the close timeout instead).
          for (const node of nodes.filter(Boolean)) await node.stop();
          // Nodes still starting when a phase failed stop themselves as soon as they are up.
          await Promise.allSettled(starting);
          await server?.close();
        })(),
        STOP_TIMEOUT_MS,
        'stopping the demo network',
      );
      say('stopped', `in ${formatMs(performance.now() - stopStart)}`);
    } catch (error) {
      reportFailure(io, error);
      exitCode = 1;
    }
    for (const subscription of subscriptions) subscription.unsubscribe();
  }
  if (exitCode === 0 && summary !== undefined && !options.keepRunning) {
    io.out('');
    io.out(`${summary}, ${Math.round(elapsed())} ms elapsed`);
  }
  return exitCode;

  function onMessage(to: number, fromId: PeerId, protocol: string, data: Uint8Array): void {
    const from = indexOf.get(fromId);
    const text = Buffer.from(data).toString('utf8');
    const key = from === undefined ? undefined : greetingKey(from, to, text);
    const known = protocol === CHAT_PROTOCOL && key !== undefined && pending.delete(key);
    if (known) delivered += 1;
    else if (phase !== 'steady') unexpected += 1;
    const show = phase === 'steady' || !known || shown < MAX_MESSAGE_LINES;
    if (show) {
      if (known) shown += 1;
      const source = from === undefined ? `?${' '.repeat(labelWidth - 1)} ${shortId(fromId)}` : name(from);
      say(known || phase === 'steady' ? 'message' : 'unexpected', `${source} → ${name(to)}  ${protocol}  ${describePayload(data)}`);
    }
    if (known && pending.size === 0) allDelivered();
  }

  function onEvent(i: number, event: NodeEvent): void {
    if (phase === 'stopping') return;
    const peerName = (peer: PeerId) => {
      const index = indexOf.get(peer);
      return index === undefined ? shortId(peer) : name(index);
    };
    switch (event.type) {
      case 'peer.open':
        if (phase === 'steady') say('connected', `${name(i)} ⇄ ${peerName(event.peer)}`);
        return;
      case 'peer.closed':
        if (event.failure || phase === 'steady') {
          const why = event.failure ? `  ${event.failure.code}: ${event.failure.message}` : '';
          say(event.wasOpen ? 'disconnected' : 'failed', `${name(i)} ⇄ ${peerName(event.peer)}${why}`);
        }
        return;
      case 'connect.refused':
        say('refused', `${name(i)} → ${peerName(event.peer)}  ${event.code}: ${event.message}`);
        return;
      case 'peer.violation':
        say('violation', `${name(i)} ← ${peerName(event.peer)}  ${event.code}: ${event.message}`);
        return;
      case 'node.failed':
        say('node failed', `${name(i)}  ${event.code}: ${event.message}`);
        abort(new PeerSockError(event.code, `node n${i} failed: ${event.message}`));
        return;
      default:
        return;
    }
  }
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

class Interrupted extends Error {
  constructor(signal: NodeJS.Signals) {
    super(`interrupted by ${signal} before the demo finished`);
  }
}

/** Resolves once `node` has an open, authenticated connection to `peer` (peers$ replays the current list). */
function hasPeer(node: PeerSockNode, peer: PeerId): Promise<unknown> {
  return firstValueFrom(node.peers$.pipe(filter((peers) => peers.includes(peer))));
}
