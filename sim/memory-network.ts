import type { Clock, TimerHandle } from '../src/ports/clock.js';
import type { Random } from '../src/ports/random.js';
import type { Link, LinkHandlers, LinkOptions, LinkSignal, LinkTransport } from '../src/ports/transport.js';

/**
 * The simulator's LinkTransport: the same contract as the WebRTC one (DESIGN §2 rules 1
 * and 6), over a virtual network driven by the injected Clock and Random.
 *
 * Links pair up only through the signals they exchange, as in WebRTC. A description
 * (`memsdp:v1:<linkId>:<fingerprint>`) names the link that made it (the part ICE
 * credentials play in real SDP) and its certificate fingerprint; a candidate
 * (`memcand:v1:<linkId>`) stands for an address. Two links connect once each has applied
 * the other's description and at least one has applied a candidate of the other; one
 * round trip later the "DTLS handshake" checks each side's certificate against the
 * fingerprint the other applied (a swapped fingerprint fails the link, exactly like
 * DTLS), and both sides get onOpen. So a man in the middle must terminate two links of
 * its own, and the two ends then see different fingerprint pairs.
 *
 * Messages arrive in order, one-way latency after they were sent; bytes count in the
 * sender's bufferedAmount until they arrive. A partition holds traffic between two nodes
 * (bytes stay buffered, like SCTP retransmitting) until healed; a crash silences every
 * link of a node for good, in both directions, without close callbacks: bytes sent
 * toward it stay buffered until the sender closes its link (nothing acknowledges them).
 *
 * Loss: a DataChannel is reliable and ordered (SCTP retransmits), so a lost packet is never
 * seen as a missing message but as a late one, and everything sent behind it on the same
 * link waits too (head-of-line blocking). The model: with probability `loss` a message is
 * delayed by one retransmission timeout (`retransmitMs`, default 200 ms, about SCTP's
 * minimum RTO), and since a link delivers in order, the messages behind it are held until
 * it arrives. Repeated loss of the same packet (probability loss²) is ignored.
 */
export interface MemoryNetworkOptions {
  clock: Clock;
  random: Random;
  /** One-way delay from node to node in ms (default 10). */
  latencyMs?: number | ((from: string, to: string) => number);
  /**
   * The same delay as a function per pair, asked once when two links pair; each call must give
   * what `latencyMs(from, to)` would give at that moment (same numbers, same random draws). It
   * spares every message the lookup of both nodes' places (latency-model.ts `between`).
   */
  pairLatencyMs?: (from: string, to: string) => () => number;
  /** Largest message a link carries (default: the WebRTC transport's default). */
  maxMessageSize?: number;
  /**
   * A LinkHandlers callback threw. Default: rethrow on a microtask, so the bug surfaces
   * without aborting the delivery loop or the virtual clock.
   */
  onHandlerError?(error: unknown, where: string): void;
  /** Probability in [0, 1] that a message needs a retransmission (default 0). See above. */
  loss?: number;
  /** Extra delay of a retransmitted message (default 200 ms). */
  retransmitMs?: number;
}

export interface MemoryNetworkStats {
  linksCreated: number;
  /** Links open right now (each connected pair counts twice). */
  linksOpen: number;
  /** Connected pairs so far. */
  connections: number;
  /** Connections that failed the simulated DTLS check (a fingerprint was swapped). */
  fingerprintMismatches: number;
  messagesSent: number;
  bytesSent: number;
  messagesDelivered: number;
  bytesDelivered: number;
  /** Messages that reached a closed, crashed or vanished link, or were lost in a crash. */
  messagesDropped: number;
  /** Messages sent and not yet delivered or dropped (partition-held ones included). */
  messagesInFlight: number;
  /** Candidates naming a link other than the one described. */
  candidatesIgnored: number;
  /** Messages delayed by a simulated retransmission (see `loss`). */
  messagesRetransmitted: number;
  partitionedPairs: number;
  crashedNodes: number;
}

export interface MemoryNetwork {
  /** The transport of one simulated node (the same object on every call until closed). */
  transport(nodeName: string): LinkTransport;
  /** Holds all traffic between the two nodes, both ways, until heal(). */
  partition(nodeA: string, nodeB: string): void;
  heal(nodeA: string, nodeB: string): void;
  healAll(): void;
  /**
   * Splits the named nodes into groups that cannot reach each other (in addition to any
   * pairwise partition), replacing a previous split. A node in no group reaches everyone.
   * healAll() ends it.
   */
  partitionGroups(groups: readonly (readonly string[])[]): void;
  /** Puts one node into a group of the current split (e.g. a node that joined during it). */
  setGroup(nodeName: string, group: number): void;
  isPartitioned(nodeA: string, nodeB: string): boolean;
  /** Changes the loss probability for messages sent from now on. */
  setLoss(probability: number): void;
  /** The node vanishes: its links go silent both ways, nobody gets a close callback. */
  crash(nodeName: string): void;
  isCrashed(nodeName: string): boolean;
  stats(): MemoryNetworkStats;
  /**
   * Messages and bytes sent so far: stats() without its scan of every link (at 10,000 nodes
   * ~30 ms per call, 1% of a scale run that samples every 5 virtual s).
   */
  traffic(): { messagesSent: number; bytesSent: number };
}

/** Same default as the WebRTC transport: 1 MiB of payload plus frame header room. */
export const MEMORY_MAX_MESSAGE_SIZE = 1024 * 1024 + 2048;
const DEFAULT_LATENCY_MS = 10;
const DEFAULT_RETRANSMIT_MS = 200;
const MAX_HELD_CANDIDATES = 64;
const SDP_PATTERN = /^memsdp:v1:(m[0-9]{1,15}):(sha-256 (?:[0-9A-F]{2}:){31}[0-9A-F]{2})$/;
const CANDIDATE_PATTERN = /^memcand:v1:(m[0-9]{1,15})$/;
/** Each byte as two upper-case hex digits, as SDP writes a certificate fingerprint. */
const HEX_BYTE: readonly string[] = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0').toUpperCase());

type Phase = 'new' | 'connecting' | 'open' | 'closed';

interface Flight {
  deliverAt: number;
  data: Uint8Array | undefined;
  /** Set on the last flight of a link closed while open. */
  close: boolean;
}

interface NodeState {
  name: string;
  transport: MemoryTransport | undefined;
  links: Set<MemoryLink>;
  /** Read on every delivery: a flag on the node its links already hold, not a lookup by name. */
  crashed: boolean;
}

function checkedLatency(ms: number, from: string, to: string): number {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`latency from ${from} to ${to} must be a finite number >= 0, got ${ms}`);
  return ms;
}

export function createMemoryNetwork(options: MemoryNetworkOptions): MemoryNetwork {
  return new Network(options);
}

class Network implements MemoryNetwork {
  readonly clock: Clock;
  readonly random: Random;
  readonly maxMessageSize: number;
  private readonly latency: (from: string, to: string) => number;
  private readonly pairLatencyMs: MemoryNetworkOptions['pairLatencyMs'];
  private readonly nodes = new Map<string, NodeState>();
  /** Live links by id (closed links leave, so memory stays bounded under churn). */
  readonly links = new Map<string, MemoryLink>();
  /** Links that applied a description naming the key link: told if it closes before opening. */
  private readonly watchers = new Map<string, Set<MemoryLink>>();
  private readonly partitions = new Set<string>();
  /** Group of each node while the network is split (partitionGroups). */
  private readonly groups = new Map<string, number>();
  loss = 0;
  readonly retransmitMs: number;
  private crashedCount = 0;
  /** Connections whose handshake fell into a partition, resumed on heal. */
  private readonly heldConnects = new Set<MemoryLink>();
  private linkCounter = 0;
  readonly counters = {
    linksCreated: 0,
    connections: 0,
    fingerprintMismatches: 0,
    messagesSent: 0,
    bytesSent: 0,
    messagesDelivered: 0,
    bytesDelivered: 0,
    messagesDropped: 0,
    candidatesIgnored: 0,
    messagesRetransmitted: 0,
  };
  private readonly onHandlerError: (error: unknown, where: string) => void;

  constructor(options: MemoryNetworkOptions) {
    this.clock = options.clock;
    this.random = options.random;
    this.maxMessageSize = options.maxMessageSize ?? MEMORY_MAX_MESSAGE_SIZE;
    this.setLoss(options.loss ?? 0);
    this.retransmitMs = options.retransmitMs ?? DEFAULT_RETRANSMIT_MS;
    if (!Number.isFinite(this.retransmitMs) || this.retransmitMs < 0) throw new RangeError(`retransmitMs must be a finite number >= 0, got ${this.retransmitMs}`);
    const latency = options.latencyMs ?? DEFAULT_LATENCY_MS;
    this.latency = (from, to) => checkedLatency(typeof latency === 'number' ? latency : latency(from, to), from, to);
    this.pairLatencyMs = options.pairLatencyMs;
    this.onHandlerError =
      options.onHandlerError ??
      ((error) =>
        queueMicrotask(() => {
          throw error;
        }));
  }

  transport(nodeName: string): LinkTransport {
    const node = this.node(nodeName);
    if (!node.transport || node.transport.closed) node.transport = new MemoryTransport(this, node);
    return node.transport;
  }

  partition(nodeA: string, nodeB: string): void {
    this.partitions.add(pairKey(nodeA, nodeB));
  }

  heal(nodeA: string, nodeB: string): void {
    if (!this.partitions.delete(pairKey(nodeA, nodeB))) return;
    this.resume((link) => link.remoteNode() !== undefined && pairKey(link.node.name, link.remoteNode()!) === pairKey(nodeA, nodeB));
  }

  healAll(): void {
    if (this.partitions.size === 0 && this.groups.size === 0) return;
    this.partitions.clear();
    this.groups.clear();
    this.resume(() => true);
  }

  partitionGroups(groups: readonly (readonly string[])[]): void {
    const before = new Map(this.groups);
    this.groups.clear();
    groups.forEach((members, group) => {
      for (const name of members) this.groups.set(name, group);
    });
    // Pairs the new split joins again resume; pairs it cuts hold from now on by themselves.
    if (before.size > 0) {
      this.resume((link) => {
        const remote = link.remoteNode();
        if (remote === undefined) return false;
        const a = before.get(link.node.name);
        const b = before.get(remote);
        return a !== undefined && b !== undefined && a !== b;
      });
    }
  }

  setGroup(nodeName: string, group: number): void {
    if (this.groups.size === 0) return;
    this.groups.set(nodeName, group);
  }

  isPartitioned(nodeA: string, nodeB: string): boolean {
    if (this.groups.size > 0) {
      const a = this.groups.get(nodeA);
      const b = this.groups.get(nodeB);
      if (a !== undefined && b !== undefined && a !== b) return true;
    }
    return this.partitions.size > 0 && this.partitions.has(pairKey(nodeA, nodeB));
  }

  setLoss(probability: number): void {
    if (!Number.isFinite(probability) || probability < 0 || probability > 1) {
      throw new RangeError(`loss must be a probability in [0, 1], got ${probability}`);
    }
    this.loss = probability;
  }

  /** Extra delay of one message: a retransmission timeout with probability `loss`. */
  retransmitDelay(): number {
    // No draw when there is no loss, so lossless runs use the random stream as before.
    if (this.loss === 0 || this.random.float() >= this.loss) return 0;
    this.counters.messagesRetransmitted += 1;
    return this.retransmitMs;
  }

  crash(nodeName: string): void {
    const node = this.node(nodeName);
    if (node.crashed) return;
    node.crashed = true;
    this.crashedCount += 1;
    for (const link of node.links) link.silence();
  }

  isCrashed(nodeName: string): boolean {
    return this.nodes.get(nodeName)?.crashed ?? false;
  }

  stats(): MemoryNetworkStats {
    let linksOpen = 0;
    let inFlight = 0;
    for (const link of this.links.values()) if (link.phase === 'open') linksOpen += 1;
    for (const node of this.nodes.values()) for (const link of node.links) inFlight += link.inFlight();
    return {
      ...this.counters,
      linksOpen,
      messagesInFlight: inFlight,
      partitionedPairs: this.partitions.size,
      crashedNodes: this.crashedCount,
    };
  }

  traffic(): { messagesSent: number; bytesSent: number } {
    return { messagesSent: this.counters.messagesSent, bytesSent: this.counters.bytesSent };
  }

  latencyBetween(from: string, to: string): number {
    return this.latency(from, to);
  }

  /** The delay from `from` to `to` as a function (see MemoryNetworkOptions.pairLatencyMs). */
  pairLatency(from: string, to: string): () => number {
    const pair = this.pairLatencyMs;
    if (pair === undefined) return () => this.latency(from, to);
    const delay = pair(from, to);
    return () => checkedLatency(delay(), from, to);
  }

  newLinkId(): string {
    this.linkCounter += 1;
    return `m${this.linkCounter}`;
  }

  newFingerprint(): string {
    const bytes = this.random.bytes(32);
    // By table and concatenation (0.5 µs): mapping each byte through toString/padStart/toUpperCase
    // and joining (4.1 µs) was ~1% of a 1,000-node churn run's CPU profile; the table with a join, 2.0 µs.
    let text = `sha-256 ${HEX_BYTE[bytes[0]!]}`;
    for (let i = 1; i < bytes.length; i += 1) text += `:${HEX_BYTE[bytes[i]!]}`;
    return text;
  }

  register(link: MemoryLink): void {
    this.counters.linksCreated += 1;
    this.links.set(link.id, link);
  }

  forget(link: MemoryLink): void {
    this.links.delete(link.id);
    this.watchers.delete(link.id);
    if (link.remoteLinkId !== undefined) this.watchers.get(link.remoteLinkId)?.delete(link);
    this.heldConnects.delete(link);
  }

  watch(remoteLinkId: string, link: MemoryLink): void {
    let set = this.watchers.get(remoteLinkId);
    if (!set) {
      set = new Set();
      this.watchers.set(remoteLinkId, set);
    }
    set.add(link);
  }

  watchersOf(link: MemoryLink): MemoryLink[] {
    return [...(this.watchers.get(link.id) ?? [])].filter((watcher) => watcher.remoteLinkId === link.id);
  }

  /** Both links named each other and one learnt an address: start the handshake. */
  tryConnect(link: MemoryLink): void {
    if (link.phase !== 'new' || link.remoteLinkId === undefined) return;
    const other = this.links.get(link.remoteLinkId);
    if (!other || other.phase !== 'new' || other.remoteLinkId !== link.id) return;
    if (!link.hasRemoteCandidate && !other.hasRemoteCandidate) return;
    const [first, second] = link.initiator ? [link, other] : [other, link];
    first.phase = 'connecting';
    second.phase = 'connecting';
    first.pairWith(second);
    second.pairWith(first);
    this.scheduleConnect(first);
  }

  private scheduleConnect(initiator: MemoryLink): void {
    const answerer = initiator.peer!;
    const rtt = this.latency(initiator.node.name, answerer.node.name) + this.latency(answerer.node.name, initiator.node.name);
    initiator.connectTimer = this.clock.setTimeout(() => {
      initiator.connectTimer = undefined;
      this.completeConnect(initiator);
    }, rtt);
  }

  private completeConnect(initiator: MemoryLink): void {
    const answerer = initiator.peer!;
    if (initiator.phase !== 'connecting' || answerer.phase !== 'connecting') return;
    // A vanished node never finishes the handshake; the other side's own timeout decides.
    if (initiator.node.crashed || answerer.node.crashed) return;
    if (this.isPartitioned(initiator.node.name, answerer.node.name)) {
      this.heldConnects.add(initiator);
      return;
    }
    if (initiator.remoteFingerprintValue !== answerer.fingerprint || answerer.remoteFingerprintValue !== initiator.fingerprint) {
      this.counters.fingerprintMismatches += 1;
      const reason = 'DTLS handshake failed: the certificate does not match the fingerprint in the remote description';
      initiator.fail(reason);
      answerer.fail(reason);
      return;
    }
    initiator.phase = 'open';
    answerer.phase = 'open';
    this.counters.connections += 1;
    initiator.handler('onOpen', (handlers) => handlers.onOpen());
    answerer.handler('onOpen', (handlers) => handlers.onOpen());
  }

  private resume(affected: (link: MemoryLink) => boolean): void {
    for (const initiator of [...this.heldConnects]) {
      if (!affected(initiator) || this.isPartitioned(initiator.node.name, initiator.remoteNode()!)) continue;
      this.heldConnects.delete(initiator);
      this.scheduleConnect(initiator);
    }
    for (const node of this.nodes.values()) {
      for (const link of node.links) if (affected(link)) link.resumeOutbox();
    }
  }

  guard(where: string, fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.onHandlerError(error, where);
    }
  }

  private node(name: string): NodeState {
    if (typeof name !== 'string' || name.length === 0) throw new TypeError('a simulated node needs a non-empty name');
    let node = this.nodes.get(name);
    if (!node) {
      node = { name, transport: undefined, links: new Set(), crashed: false };
      this.nodes.set(name, node);
    }
    return node;
  }
}

class MemoryTransport implements LinkTransport {
  closed = false;

  constructor(
    private readonly network: Network,
    private readonly node: NodeState,
  ) {}

  createLink(options: LinkOptions): Link {
    if (this.closed) throw new Error('transport is closed');
    const link = new MemoryLink(this.network, this.node, options);
    this.node.links.add(link);
    return link;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const link of [...this.node.links]) link.close();
  }
}

class MemoryLink implements Link {
  readonly id: string;
  readonly fingerprint: string;
  readonly initiator: boolean;
  phase: Phase = 'new';
  remoteLinkId: string | undefined;
  remoteFingerprintValue: string | undefined;
  hasRemoteCandidate = false;
  /** The link at the other end, known once the two named each other. */
  peer: MemoryLink | undefined;
  /** One-way delay to `peer`, set when the two pair. */
  private latencyToPeer: (() => number) | undefined;
  connectTimer: TimerHandle | undefined;
  private localDescription: string | undefined;
  private readonly heldCandidates: string[] = [];
  private readonly handlers: LinkHandlers;
  private readonly threshold: number;
  private readonly outbox: Flight[] = [];
  private outboxHead = 0;
  private outboxTimer: TimerHandle | undefined;
  private lastDeliverAt = 0;
  private buffered = 0;
  private readonly signals: LinkSignal[] = [];
  private signalTimer: TimerHandle | undefined;
  private silenced = false;

  constructor(
    private readonly network: Network,
    readonly node: NodeState,
    options: LinkOptions,
  ) {
    this.id = network.newLinkId();
    this.fingerprint = network.newFingerprint();
    this.initiator = options.initiator;
    this.handlers = options.handlers;
    this.threshold = Math.max(0, options.bufferedAmountLowThreshold);
    network.register(this);
    if (node.crashed) this.silenced = true;
    if (this.initiator) {
      this.localDescription = `memsdp:v1:${this.id}:${this.fingerprint}`;
      this.emit({ type: 'offer', sdp: this.localDescription });
      this.emit({ type: 'candidate', candidate: `memcand:v1:${this.id}`, mid: '0' });
    }
  }

  remoteNode(): string | undefined {
    return this.peer?.node.name;
  }

  pairWith(peer: MemoryLink): void {
    this.peer = peer;
    this.latencyToPeer = this.network.pairLatency(this.node.name, peer.node.name);
  }

  applySignal(signal: LinkSignal): void {
    if (this.phase === 'closed' || this.silenced) return;
    if (typeof signal !== 'object' || signal === null) throw new Error('a signal must be an object');
    if (signal.type === 'candidate') {
      this.applyCandidate(signal);
      return;
    }
    if (signal.type !== 'offer' && signal.type !== 'answer') throw new Error(`unknown signal type ${JSON.stringify((signal as { type: unknown }).type)}`);
    const match = typeof signal.sdp === 'string' ? SDP_PATTERN.exec(signal.sdp) : null;
    if (!match) throw new Error(`malformed ${signal.type} description`);
    if (this.remoteLinkId !== undefined) throw new Error(`unexpected remote ${signal.type} in signaling state stable`);
    if (signal.type === 'offer' && this.initiator) throw new Error('unexpected remote offer in signaling state have-local-offer');
    if (signal.type === 'answer' && !this.initiator) throw new Error('unexpected remote answer: this side has made no offer');
    const [, remoteLinkId, remoteFingerprint] = match as unknown as [string, string, string];
    if (remoteLinkId === this.id) throw new Error('the remote description describes this very link');
    this.remoteLinkId = remoteLinkId;
    this.remoteFingerprintValue = remoteFingerprint;
    this.network.watch(remoteLinkId, this);
    if (!this.initiator) {
      this.localDescription = `memsdp:v1:${this.id}:${this.fingerprint}`;
      this.emit({ type: 'answer', sdp: this.localDescription });
      this.emit({ type: 'candidate', candidate: `memcand:v1:${this.id}`, mid: '0' });
    }
    for (const candidate of this.heldCandidates.splice(0)) this.noteCandidate(candidate);
    this.network.tryConnect(this);
  }

  private applyCandidate(signal: Extract<LinkSignal, { type: 'candidate' }>): void {
    if (typeof signal.candidate !== 'string' || typeof signal.mid !== 'string') throw new Error('malformed candidate');
    const match = CANDIDATE_PATTERN.exec(signal.candidate);
    if (!match) throw new Error('malformed candidate');
    if (this.remoteLinkId === undefined) {
      // Candidates may overtake the description on some relays; hold a bounded few.
      if (this.heldCandidates.length < MAX_HELD_CANDIDATES) this.heldCandidates.push(match[1]!);
      return;
    }
    this.noteCandidate(match[1]!);
    this.network.tryConnect(this);
  }

  private noteCandidate(linkId: string): void {
    if (linkId === this.remoteLinkId) this.hasRemoteCandidate = true;
    else this.network.counters.candidatesIgnored += 1;
  }

  send(data: Uint8Array): void {
    if (this.phase !== 'open') throw new Error('link is not open');
    if (!(data instanceof Uint8Array)) throw new TypeError('a link carries Uint8Array messages');
    if (data.length > this.network.maxMessageSize) {
      throw new Error(`message of ${data.length} bytes exceeds the link's ${this.network.maxMessageSize}-byte limit`);
    }
    // A vanished node's leftovers go nowhere.
    if (this.silenced) {
      this.network.counters.messagesDropped += 1;
      return;
    }
    this.network.counters.messagesSent += 1;
    this.network.counters.bytesSent += data.length;
    this.buffered += data.length;
    // Copied: the caller may reuse its buffer, as with a real socket. (Not `data.slice()`:
    // on a Buffer that is a view of the same memory.)
    this.enqueue({ deliverAt: 0, data: new Uint8Array(data), close: false });
  }

  bufferedAmount(): number {
    return this.phase === 'closed' ? 0 : this.buffered;
  }

  maxMessageSize(): number {
    return this.network.maxMessageSize;
  }

  localFingerprint(): string | undefined {
    return this.localDescription === undefined ? undefined : this.fingerprint;
  }

  remoteFingerprint(): string | undefined {
    return this.phase === 'open' ? this.remoteFingerprintValue : undefined;
  }

  close(): void {
    this.finish('closed locally', true);
  }

  /** Called by the network when the DTLS check fails. */
  fail(reason: string): void {
    this.finish(reason, false);
  }

  /** The node crashed: no more callbacks, no more traffic. */
  silence(): void {
    if (this.silenced) return;
    this.silenced = true;
    this.clearTimers();
    this.dropOutbox();
  }

  inFlight(): number {
    return this.outbox.length - this.outboxHead - (this.hasCloseMarker() ? 1 : 0);
  }

  handler(where: string, call: (handlers: LinkHandlers) => void): void {
    if (this.silenced || this.phase === 'closed') return;
    this.network.guard(where, () => call(this.handlers));
  }

  /** A partition healed: restamp held traffic one latency from now and deliver it. */
  resumeOutbox(): void {
    if (this.outboxHead === this.outbox.length || this.silenced || !this.peer) return;
    const earliest = this.network.clock.now() + this.latencyToPeer!();
    for (let i = this.outboxHead; i < this.outbox.length; i += 1) {
      const flight = this.outbox[i]!;
      if (flight.deliverAt < earliest) flight.deliverAt = earliest;
    }
    this.lastDeliverAt = Math.max(this.lastDeliverAt, earliest);
    if (this.outboxTimer !== undefined) {
      this.network.clock.clearTimeout(this.outboxTimer);
      this.outboxTimer = undefined;
    }
    this.armOutbox();
  }

  private finish(reason: string, local: boolean): void {
    if (this.phase === 'closed') return;
    const wasOpen = this.phase === 'open';
    this.phase = 'closed';
    if (this.signalTimer !== undefined) this.network.clock.clearTimeout(this.signalTimer);
    this.signalTimer = undefined;
    if (this.connectTimer !== undefined) this.network.clock.clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    const watchers = this.network.watchersOf(this);
    this.network.forget(this);
    if (this.silenced) {
      this.retireIfDone();
      return;
    }
    if (local && wasOpen && this.peer && this.peer.node.crashed) {
      this.dropOutbox();
    } else if (local && wasOpen && this.peer) {
      // The goodbye travels behind the data already sent, like an SCTP shutdown.
      this.enqueue({ deliverAt: 0, data: undefined, close: true });
    } else if (local) {
      // Not open yet: whoever named this link in a description notices its handshake fail.
      for (const watcher of watchers) {
        if (watcher.phase !== 'new' && watcher.phase !== 'connecting') continue;
        const delay = this.network.latencyBetween(this.node.name, watcher.node.name);
        this.network.clock.setTimeout(() => {
          if (this.node.crashed || this.network.isPartitioned(this.node.name, watcher.node.name)) return;
          watcher.remoteClosed('the remote closed the connection before it opened');
        }, delay);
      }
    }
    if (!local) this.dropOutbox();
    this.retireIfDone();
    this.network.guard('onClose', () => this.handlers.onClose(reason));
  }

  /** The remote end closed (its goodbye arrived) or its handshake was abandoned. */
  remoteClosed(reason: string): void {
    if (this.phase === 'closed' || this.silenced) return;
    this.finish(reason, false);
  }

  /** Onto the outbox toward `peer` (set: a link sends only once paired). */
  private enqueue(flight: Flight): void {
    const now = this.network.clock.now();
    // Later than the previous flight whatever the jitter or loss: the link is ordered, so a
    // retransmitted message holds back everything behind it.
    const delay = this.latencyToPeer!() + this.network.retransmitDelay();
    flight.deliverAt = Math.max(now + delay, this.lastDeliverAt);
    this.lastDeliverAt = flight.deliverAt;
    this.outbox.push(flight);
    this.armOutbox();
  }

  private armOutbox(): void {
    if (this.outboxTimer !== undefined || this.outboxHead === this.outbox.length || this.silenced || !this.peer) return;
    if (this.network.isPartitioned(this.node.name, this.peer.node.name) || this.peer.node.crashed) return;
    const delay = Math.max(0, this.outbox[this.outboxHead]!.deliverAt - this.network.clock.now());
    this.outboxTimer = this.network.clock.setTimeout(() => {
      this.outboxTimer = undefined;
      this.flushOutbox();
    }, delay);
  }

  private flushOutbox(): void {
    const peer = this.peer;
    if (this.silenced || !peer) return;
    if (this.node.crashed) {
      this.silence();
      return;
    }
    // Held: a partition may heal; toward a crashed node nothing is ever acknowledged, so
    // the bytes stay buffered (and backpressure builds) until this side gives up and closes.
    if (this.network.isPartitioned(this.node.name, peer.node.name) || peer.node.crashed) return;
    const now = this.network.clock.now();
    while (this.outboxHead < this.outbox.length && this.outbox[this.outboxHead]!.deliverAt <= now) {
      const flight = this.outbox[this.outboxHead]!;
      this.outbox[this.outboxHead] = undefined as unknown as Flight;
      this.outboxHead += 1;
      this.deliver(flight, peer);
    }
    if (this.outboxHead === this.outbox.length) {
      this.outbox.length = 0;
      this.outboxHead = 0;
      this.retireIfDone();
    }
    this.armOutbox();
  }

  /** A closed link stays with its node until its last flight left, so crash and heal still reach it. */
  private retireIfDone(): void {
    if (this.phase === 'closed' && this.outboxHead === this.outbox.length) this.node.links.delete(this);
  }

  private deliver(flight: Flight, peer: MemoryLink): void {
    const counters = this.network.counters;
    const reachable = peer.phase === 'open' && !peer.silenced && !peer.node.crashed;
    if (flight.close) {
      if (reachable) peer.remoteClosed('the remote closed the connection');
      return;
    }
    const data = flight.data!;
    const before = this.buffered;
    this.buffered -= data.length;
    if (reachable) {
      counters.messagesDelivered += 1;
      counters.bytesDelivered += data.length;
      peer.handler('onMessage', (handlers) => handlers.onMessage(data));
    } else {
      counters.messagesDropped += 1;
    }
    if (this.phase === 'open' && before > this.threshold && this.buffered <= this.threshold) {
      this.handler('onBufferedAmountLow', (handlers) => handlers.onBufferedAmountLow());
    }
  }

  private hasCloseMarker(): boolean {
    return this.outbox.length > this.outboxHead && this.outbox[this.outbox.length - 1]!.close;
  }

  private dropOutbox(): void {
    if (this.outboxTimer !== undefined) this.network.clock.clearTimeout(this.outboxTimer);
    this.outboxTimer = undefined;
    this.network.counters.messagesDropped += this.inFlight();
    this.outbox.length = 0;
    this.outboxHead = 0;
    this.buffered = 0;
    this.retireIfDone();
  }

  private clearTimers(): void {
    for (const timer of [this.signalTimer, this.connectTimer, this.outboxTimer]) {
      if (timer !== undefined) this.network.clock.clearTimeout(timer);
    }
    this.signalTimer = undefined;
    this.connectTimer = undefined;
    this.outboxTimer = undefined;
  }

  /** Local descriptions and candidates come out asynchronously, in order, as from a real stack. */
  private emit(signal: LinkSignal): void {
    if (this.silenced) return;
    this.signals.push(signal);
    if (this.signalTimer !== undefined) return;
    this.signalTimer = this.network.clock.setTimeout(() => {
      this.signalTimer = undefined;
      for (const next of this.signals.splice(0)) this.handler('onSignal', (handlers) => handlers.onSignal(next));
    }, 0);
  }
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`;
}
