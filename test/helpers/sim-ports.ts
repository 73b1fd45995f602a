import { stateText } from '../../src/supervisor/state-text.js';
import { createActor, type Actor, type AnyActorRef, type InspectionEvent, type StateValue } from 'xstate';
import { createMemoryNetwork, type MemoryNetwork } from '../../sim/memory-network.js';
import { createSeededRandom, deriveSeed, type SeededRandom } from '../../sim/seeded-random.js';
import { createSimulatedClock, type VirtualClock } from '../../sim/simulated-clock.js';
import { advance, runUntil, settle } from '../../sim/drive.js';
import { DEFAULT_CONNECTION_CONFIG, type ConnectionConfig } from '../../src/actors/transport/connection-config.js';
import {
  deliverSignalInPlace,
  connectionManagerMachine,
  type TransportNotice,
  type TransportPorts,
} from '../../src/actors/transport/connection-manager.machine.js';
import type { InboundMessage, PeerChannel } from '../../src/actors/transport/peer-channel.js';
import type { SignalEnvelope } from '../../src/actors/transport/signal-envelope.js';
import { createCryptoPort } from '../../src/crypto/crypto-port.js';
import type { PeerSockError } from '../../src/errors.js';
import { generateIdentity, type Identity } from '../../src/identity/identity.js';
import type { PeerId } from '../../src/identity/peer-id.js';
import type { CryptoPort } from '../../src/ports/crypto.js';
import { silentLogger } from '../../src/ports/logger.js';
import type { Link, LinkOptions, LinkTransport } from '../../src/ports/transport.js';
import { decodeFrame } from '../../src/wire/index.js';

export { settle };

/**
 * Short timeouts for connection tests on the memory network (virtual ms), so retries and
 * timeouts happen within a few seconds of virtual time.
 */
export const FAST_CONNECTION = {
  signalingTimeoutMs: 1_000,
  connectTimeoutMs: 1_500,
  authTimeoutMs: 800,
  closeTimeoutMs: 300,
  heartbeatIntervalMs: 500,
  heartbeatTimeoutMs: 1_500,
  maxDialAttempts: 3,
  retryBaseMs: 200,
} as const satisfies Partial<ConnectionConfig>;

/**
 * Connection managers on the memory network, all on one SimulatedClock: the production
 * actors with simulated ports (DESIGN §2 rule 1). Signaling is a relay with a fixed
 * latency on the same clock; every notice, relayed signal and connection-actor state
 * change is logged with its virtual time.
 */
export interface SimOptions {
  seed?: number;
  /** One-way link latency (default 10 ms). */
  latencyMs?: number | ((from: string, to: string) => number);
  /** One-way signaling relay latency (default 25 ms). */
  signalingLatencyMs?: number;
  config?: Partial<ConnectionConfig>;
  maxConnections?: number;
}

export interface SimNodeOptions {
  maxPendingInbound?: number;
  maxConnections?: number;
  config?: Partial<ConnectionConfig>;
  /** Position-puzzle difficulty this node checks its peers against (default none). */
  puzzleBits?: number;
  /** Use this identity instead of a seeded fresh one. */
  identity?: Identity;
  /** E.g. a filter that makes this node misbehave on the wire. */
  wrapTransport?(transport: LinkTransport): LinkTransport;
  /** TransportPorts.watched: which links this node watches closely (default: all). */
  watched?(peer: PeerId): boolean;
}

export interface NoticeRecord {
  at: number;
  node: string;
  notice: TransportNotice;
}

export interface SignalRecord {
  at: number;
  from: string;
  to: string;
  envelope: SignalEnvelope;
}

export interface StateRecord {
  at: number;
  node: string;
  /** Name of the remote node. */
  peer: string;
  /** Spawned child id and the actor's serial (`peer:<id>#<serial>`): tells attempts apart. */
  actor: string;
  /** Dotted state path, e.g. `attempt.authenticating.proving`. */
  state: string;
}

export interface SimNode {
  readonly name: string;
  readonly identity: Identity;
  readonly peerId: PeerId;
  readonly actor: Actor<typeof connectionManagerMachine>;
  readonly channels: Map<PeerId, PeerChannel>;
  readonly crypto: CryptoPort;
  readonly delivered: Array<InboundMessage & { at: number }>;
  readonly violations: Array<{ at: number; peer: PeerId; code: string }>;
  connect(peer: string): void;
  disconnect(peer: string): void;
  /** Dotted state of the connection actor to `peer`, or undefined when there is none. */
  peerState(peer: string): string | undefined;
}

/** Rewrites a relayed envelope: return the deliveries to make instead (empty: drop it). */
export type SignalRelay = (from: PeerId, to: PeerId, envelope: SignalEnvelope) => Array<{ from: PeerId; to: PeerId; data: unknown }> | undefined;

export interface Sim {
  readonly clock: VirtualClock;
  readonly network: MemoryNetwork;
  readonly notices: NoticeRecord[];
  readonly signals: SignalRecord[];
  readonly states: StateRecord[];
  readonly signalingLatencyMs: number;
  addNode(name: string, options?: SimNodeOptions): SimNode;
  node(name: string): SimNode;
  nameOf(peer: PeerId | string): string;
  /** A fresh identity that no node uses (a peer that does not exist). */
  strangerId(): PeerId;
  /** Signals to this node are dropped, as if it never registered at the relay. */
  unregister(name: string): void;
  register(name: string): void;
  /** Network crash plus the node's actors stopped and its signaling gone: a vanished node. */
  crash(name: string): void;
  setRelay(relay: SignalRelay | undefined): void;
  /** Delivers arbitrary data as a signal from `from` to `to`, after the signaling latency. */
  inject(from: PeerId, to: PeerId, data: unknown): void;
  noticesOf(node: string, type?: TransportNotice['type']): NoticeRecord[];
  statesOf(node: string, peer: string): StateRecord[];
  settle(): Promise<void>;
  advance(ms: number): Promise<void>;
  runUntil(done: () => boolean, maxMs: number): Promise<boolean>;
  stop(): Promise<void>;
}

export function createSim(options: SimOptions = {}): Sim {
  const seed = options.seed ?? 1;
  const clock = createSimulatedClock();
  const network = createMemoryNetwork({
    clock,
    random: createSeededRandom(deriveSeed(seed, 0)),
    ...(options.latencyMs !== undefined ? { latencyMs: options.latencyMs } : {}),
  });
  const signalingLatencyMs = options.signalingLatencyMs ?? 25;
  const nodes = new Map<string, SimNode>();
  const byPeerId = new Map<string, SimNode>();
  const unregistered = new Set<string>();
  const notices: NoticeRecord[] = [];
  const signals: SignalRecord[] = [];
  const states: StateRecord[] = [];
  const strangers = createSeededRandom(deriveSeed(seed, 0xffff));
  let relay: SignalRelay | undefined;
  let nodeCount = 0;

  // FIFO per (from, to): the relay preserves order, whatever SimulatedClock does with ties.
  const relayQueues = new Map<string, { at: number; from: PeerId; to: PeerId; data: unknown }[]>();
  const inject = (from: PeerId, to: PeerId, data: unknown) => {
    const key = `${from}>${to}`;
    let queue = relayQueues.get(key);
    if (!queue) {
      queue = [];
      relayQueues.set(key, queue);
    }
    // A relay serialises: the receiver never shares objects with the sender.
    queue.push({ at: clock.now() + signalingLatencyMs, from, to, data: JSON.parse(JSON.stringify(data)) as unknown });
    clock.setTimeout(() => {
      const now = clock.now();
      while (queue.length > 0 && queue[0]!.at <= now) {
        const next = queue.shift()!;
        const target = byPeerId.get(next.to);
        if (!target || unregistered.has(target.name)) continue;
        if (target.actor.getSnapshot().status !== 'active') continue;
        // As the node runtime does (receiveSignal): a signal for a connection's current attempt
        // goes straight to it, anything else is the manager's event.
        if (deliverSignalInPlace(target.actor.getSnapshot(), next.from, next.data)) continue;
        target.actor.send({ type: 'signal.in', from: next.from, data: next.data });
      }
    }, signalingLatencyMs);
  };

  const nameOf = (peer: PeerId | string) => byPeerId.get(peer)?.name ?? `?${peer.slice(0, 8)}`;

  const lastState = new Map<string, string>();
  const inspect = (name: string) => (event: InspectionEvent) => {
    if (event.type !== '@xstate.snapshot') return;
    const childId = (event.actorRef as AnyActorRef).id;
    if (!childId.startsWith('peer:')) return;
    // Every connection to one peer has the same child id; its serial tells them apart.
    const snapshot = event.snapshot as unknown as { value: StateValue; context: { serial?: number } };
    const id = `${childId}#${snapshot.context.serial ?? 0}`;
    const state = flatten(snapshot.value);
    const last = lastState.get(`${name}/${id}`);
    if (last === state) return;
    lastState.set(`${name}/${id}`, state);
    states.push({ at: clock.now(), node: name, peer: nameOf(childId.slice(5, 69)), actor: id, state });
  };

  function addNode(name: string, nodeOptions: SimNodeOptions = {}): SimNode {
    if (nodes.has(name)) throw new Error(`node ${name} exists`);
    nodeCount += 1;
    const random: SeededRandom = createSeededRandom(deriveSeed(seed, nodeCount));
    const identity = nodeOptions.identity ?? generateIdentity(random);
    const crypto = createCryptoPort({ identity });
    const baseTransport = network.transport(name);
    const transport = nodeOptions.wrapTransport ? nodeOptions.wrapTransport(baseTransport) : baseTransport;
    const channels = new Map<PeerId, PeerChannel>();
    const delivered: SimNode['delivered'] = [];
    const violations: SimNode['violations'] = [];
    const ports: TransportPorts = {
      transport,
      crypto,
      random,
      clock,
      logger: silentLogger,
      sendSignal: (to, envelope) => {
        signals.push({ at: clock.now(), from: name, to: nameOf(to), envelope });
        const deliveries = relay ? relay(identity.peerId, to, envelope) : undefined;
        for (const delivery of deliveries ?? [{ from: identity.peerId, to, data: envelope }]) inject(delivery.from, delivery.to, delivery.data);
        return Promise.resolve();
      },
      notify: (notice) => notices.push({ at: clock.now(), node: name, notice }),
      deliver: (message) => delivered.push({ ...message, at: clock.now() }),
      reportViolation: (peer: PeerId, error: PeerSockError) => violations.push({ at: clock.now(), peer, code: error.code }),
      ...(nodeOptions.watched ? { watched: nodeOptions.watched } : {}),
    };
    const actor = createActor(connectionManagerMachine, {
      input: {
        self: identity.peerId,
        maxConnections: nodeOptions.maxConnections ?? options.maxConnections ?? 16,
        maxPendingInbound: nodeOptions.maxPendingInbound ?? 8,
        ...(nodeOptions.puzzleBits ? { puzzleBits: nodeOptions.puzzleBits } : {}),
        config: { ...DEFAULT_CONNECTION_CONFIG, ...options.config, ...nodeOptions.config },
        ports,
        channels,
      },
      clock,
      inspect: inspect(name),
    });
    const resolve = (peer: string): PeerId => nodes.get(peer)?.peerId ?? (peer as PeerId);
    const node: SimNode = {
      name,
      identity,
      peerId: identity.peerId,
      actor,
      channels,
      crypto,
      delivered,
      violations,
      connect: (peer) => actor.send({ type: 'connect', peer: resolve(peer) }),
      disconnect: (peer) => actor.send({ type: 'disconnect', peer: resolve(peer) }),
      peerState: (peer) => {
        const snapshot = actor.getSnapshot();
        const entry = snapshot.context.peers.get(resolve(peer));
        const child = entry ? (snapshot.children[entry.childId] as AnyActorRef | undefined) : undefined;
        return child ? flatten(child.getSnapshot().value as StateValue) : undefined;
      },
    };
    nodes.set(name, node);
    byPeerId.set(identity.peerId, node);
    actor.start();
    return node;
  }

  const node = (name: string) => {
    const found = nodes.get(name);
    if (!found) throw new Error(`no node ${name}`);
    return found;
  };

  return {
    clock,
    network,
    notices,
    signals,
    states,
    signalingLatencyMs,
    addNode,
    node,
    nameOf,
    strangerId: () => generateIdentity(strangers).peerId,
    unregister: (name) => unregistered.add(name),
    register: (name) => unregistered.delete(name),
    crash(name) {
      network.crash(name);
      unregistered.add(name);
      node(name).actor.stop();
    },
    setRelay: (next) => {
      relay = next;
    },
    inject,
    noticesOf: (name, type) => notices.filter((record) => record.node === name && (type === undefined || record.notice.type === type)),
    statesOf: (name, peer) => states.filter((record) => record.node === name && record.peer === peer),
    settle: () => settle(),
    advance: (ms) => advance(clock, ms),
    runUntil: (done, maxMs) => runUntil(clock, done, maxMs),
    async stop() {
      for (const each of nodes.values()) {
        if (each.actor.getSnapshot().status === 'active') each.actor.stop();
        await network.transport(each.name).close();
        await each.crypto.close();
      }
    },
  };
}

/** `{ attempt: { open: 'alive' } }` → `attempt.open.alive` (the peer machine has no parallel states). */
export const flatten = (value: StateValue): string => stateText(value);

/** The second level of a peer-connection state: `attempt.open.alive` → `open`, `failed` → `failed`. */
export function phaseOf(state: string): string {
  const parts = state.split('.');
  return parts[0] === 'attempt' ? (parts[1] ?? 'attempt') : parts[0]!;
}

/** Protocol tag of a frame, or undefined when it does not decode. */
export function protocolOf(bytes: Uint8Array): string | undefined {
  try {
    return decodeFrame(bytes).protocol;
  } catch {
    return undefined;
  }
}

/** Wraps a transport so frames this node sends are dropped when `keep` says so. */
export function filterOutgoing(inner: LinkTransport, keep: (bytes: Uint8Array) => boolean): LinkTransport {
  return {
    createLink(options: LinkOptions): Link {
      const link = inner.createLink(options);
      return {
        applySignal: (signal) => link.applySignal(signal),
        send: (data) => {
          if (keep(data)) link.send(data);
        },
        bufferedAmount: () => link.bufferedAmount(),
        maxMessageSize: () => link.maxMessageSize(),
        localFingerprint: () => link.localFingerprint(),
        remoteFingerprint: () => link.remoteFingerprint(),
        close: () => link.close(),
      };
    },
    close: () => inner.close(),
  };
}
