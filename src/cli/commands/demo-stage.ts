import type { Subscription } from 'rxjs';
import { PeerSockError } from '../../errors.js';
import { shortId, type PeerId } from '../../identity/peer-id.js';
import type { NodeEvent, PeerSockNode } from '../../node/start-node.js';
import type { SignalingServer } from '../../signaling/server.js';
import type { Io } from '../output.js';
import { withTimeout } from '../timeout.js';

/** Beyond this many link lines before the network is steady, links are only counted. */
const MAX_LINK_LINES = 40;

/**
 * The demo's shared state and its one voice: numbered nodes, one line per event, and the
 * per-phase wait (timeout, node failure or Ctrl-C, whichever comes first). The story
 * (demo-story.ts) tells what happens; this is where it is said and where it can stop.
 */
export interface DemoStage {
  readonly timeoutMs: number;
  /** Index i is node `n<i>`; a slot stays empty for a node that never finished starting. */
  readonly nodes: PeerSockNode[];
  /** Indices of the nodes that left (stopped) during the story. */
  readonly left: Set<number>;
  server: SignalingServer | undefined;
  serverClosed: boolean;
  /**
   * 'forming' until the ring is first correct (link changes are counted, not printed: the
   * ring and the DHT settle through dozens of them), 'story' for the other phases, 'steady'
   * under --keep-running, 'stopping' at the end.
   */
  phase: 'forming' | 'story' | 'steady' | 'stopping';
  /** Rejects when a node fails or a signal arrives: ends whichever wait is under way. */
  readonly aborted: Promise<never>;
  abort(error: Error): void;
  say(event: string, detail: string): void;
  /** `n3 1a2b3c4d`, padded so columns line up. */
  name(i: number): string;
  /** `name` for a node of the demo, else the short id. */
  nameOf(id: PeerId): string;
  /** Just `n3` for a node of the demo (else the short id): for lists of many nodes. */
  labelOf(id: PeerId): string;
  /** `text` with every 64-hex PeerId in it replaced by its label: engine messages name peers in full. */
  shorten(text: string): string;
  /** Indices of the started nodes that have not left, ascending. */
  alive(): number[];
  /** `promise`, or TIMEOUT naming `what` after the phase timeout, or the abort reason. */
  wait<T>(promise: Promise<T>, what: string): Promise<T>;
  /** Starts printing `node`'s connection events as n<i>. */
  watch(i: number, node: PeerSockNode): void;
  unwatchAll(): void;
  /**
   * Peers node i has an open link to or an attempt under way with. A pair chosen to show
   * routing or a fresh connect must be in neither: an attempt the ring or the DHT began a
   * moment earlier (perhaps signaled through the server) would open "by itself".
   */
  linkedOrConnecting(i: number): PeerId[];
  /** Links opened and closed so far, each counted once per pair. */
  linkChanges(): { opened: number; closed: number };
  elapsedMs(): number;
}

export function createDemoStage(nodeCount: number, timeoutMs: number, io: Io, signal: Promise<NodeJS.Signals>): DemoStage {
  const t0 = performance.now();
  const labelWidth = `n${nodeCount - 1}`.length;
  const indexOf = new Map<PeerId, number>();
  const subscriptions: Subscription[] = [];
  /** Pairs with an open link, so each link is told once although both ends report it. */
  const openPairs = new Set<string>();
  /** Per node: peers with a connection attempt under way (peer.connecting, not yet open or closed). */
  const connecting = new Map<number, Set<PeerId>>();
  let linkLines = 0;
  let linksNotShown = 0;
  let opened = 0;
  let closed = 0;

  let abort: (error: Error) => void = () => {};
  const aborted = new Promise<never>((_, reject) => {
    abort = reject;
  });
  aborted.catch(() => undefined);
  void signal.then((sig) => abort(new Interrupted(sig)));

  const stage: DemoStage = {
    timeoutMs,
    nodes: [],
    left: new Set(),
    server: undefined,
    serverClosed: false,
    phase: 'forming',
    aborted,
    abort: (error) => abort(error),
    elapsedMs: () => performance.now() - t0,
    say(event, detail) {
      io.out(`${stage.elapsedMs().toFixed(1).padStart(9)} ms  ${event.padEnd(14)} ${detail}`.trimEnd());
    },
    name: (i) => `${`n${i}`.padEnd(labelWidth)} ${shortId(stage.nodes[i]?.id ?? '?')}`,
    nameOf(id) {
      const i = indexOf.get(id);
      return i === undefined ? shortId(id) : stage.name(i);
    },
    labelOf(id) {
      const i = indexOf.get(id);
      return i === undefined ? shortId(id) : `n${i}`;
    },
    shorten: (text) => text.replace(/\b[0-9a-f]{64}\b/g, (id) => stage.labelOf(id as PeerId)),
    alive: () => [...stage.nodes.keys()].filter((i) => stage.nodes[i] !== undefined && !stage.left.has(i)),
    wait: (promise, what) => Promise.race([withTimeout(promise, timeoutMs, what), aborted]),
    watch(i, node) {
      indexOf.set(node.id, i);
      subscriptions.push(node.events$.subscribe((event) => onEvent(i, node.id, event)));
    },
    unwatchAll() {
      for (const subscription of subscriptions.splice(0)) subscription.unsubscribe();
      if (linksNotShown > 0) stage.say('links', `… ${linksNotShown} more link changes not shown`);
      linksNotShown = 0;
    },
    linkChanges: () => ({ opened, closed }),
    linkedOrConnecting: (i) => [...(stage.nodes[i]?.peers() ?? []), ...(connecting.get(i) ?? [])],
  };
  return stage;

  function linkLine(event: string, detail: string): void {
    if (stage.phase === 'forming') return;
    if (stage.phase === 'steady' || linkLines < MAX_LINK_LINES) {
      linkLines += 1;
      stage.say(event, detail);
    } else {
      linksNotShown += 1;
    }
  }

  function onEvent(i: number, self: PeerId, event: NodeEvent): void {
    if (stage.phase === 'stopping') return;
    const pair = (peer: PeerId) => (self < peer ? `${self}|${peer}` : `${peer}|${self}`);
    if (event.type === 'peer.connecting') {
      if (!connecting.has(i)) connecting.set(i, new Set());
      connecting.get(i)!.add(event.peer);
    } else if (event.type === 'peer.open' || event.type === 'peer.closed') {
      connecting.get(i)?.delete(event.peer);
    }
    switch (event.type) {
      case 'peer.open':
        if (openPairs.has(pair(event.peer))) return;
        openPairs.add(pair(event.peer));
        opened += 1;
        linkLine('linked', `${stage.name(i)} ⇄ ${stage.nameOf(event.peer)}`);
        return;
      case 'peer.closed': {
        const why = event.failure ? `  ${event.failure.code}: ${stage.shorten(event.failure.message)}` : '';
        if (event.wasOpen && openPairs.delete(pair(event.peer))) {
          closed += 1;
          linkLine('unlinked', `${stage.name(i)} ⇄ ${stage.nameOf(event.peer)}${why}`);
        } else if (!event.wasOpen && event.failure && !isExpectedRedial(event.peer)) {
          linkLine('link failed', `${stage.name(i)} → ${stage.nameOf(event.peer)}${why}`);
        }
        return;
      }
      case 'connect.refused':
        stage.say('refused', `${stage.name(i)} → ${stage.nameOf(event.peer)}  ${event.code}: ${stage.shorten(event.message)}`);
        return;
      case 'peer.violation':
        stage.say('violation', `${stage.name(i)} ← ${stage.nameOf(event.peer)}  ${event.code}: ${stage.shorten(event.message)}`);
        return;
      case 'node.failed':
        stage.say('node failed', `${stage.name(i)}  ${event.code}: ${stage.shorten(event.message)}`);
        abort(new PeerSockError(event.code, `node n${i} failed: ${event.message}`));
        return;
      default:
        return;
    }
  }

  /**
   * A departed node is still in others' memory for a moment; their attempts to reach it fail
   * by design (the server or the overlay no longer knows it). That is healing, not trouble.
   */
  function isExpectedRedial(peer: PeerId): boolean {
    const index = indexOf.get(peer);
    return index !== undefined && stage.left.has(index);
  }
}

/** Ctrl-C or SIGTERM before the story finished (the normal way out under --keep-running). */
export class Interrupted extends Error {
  constructor(signal: NodeJS.Signals) {
    super(`interrupted by ${signal} before the demo finished`);
  }
}
