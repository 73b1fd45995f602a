import { assign, enqueueActions, setup, type ActorRefFrom } from 'xstate';
import { PeerSockError, type ErrorCode } from '../../errors.js';
import type { PeerId } from '../../identity/peer-id.js';
import { assertPuzzle } from '../../identity/position-puzzle.js';
import type { LinkSignal } from '../../ports/transport.js';
import type { ConnectionConfig } from './connection-config.js';
import { heartbeatActor, type HeartbeatEvent } from './heartbeat.js';
import { PeerChannel, type InboundMessage, type InternalProtocols } from './peer-channel.js';
import { peerConnectionMachine, takesRemoteCandidate, type PeerConnectionInput, type PeerConnectionOutput, type PeerPorts } from './peer-connection.machine.js';
import { isOffer, parseSignalEnvelope, type SignalEnvelope } from './signal-envelope.js';

/**
 * The transport subsystem: one peer-connection actor per remote peer, the connection
 * limit, routing of inbound signals to the right attempt, and glare resolution (when
 * both sides dial at once, the lower PeerId's offer wins). It reports every change to
 * the node through `notify`; the node's `send` path uses `channels` directly.
 *
 * The winner of a glare keeps the offer it ignored (one per peer, see WaitingOffer): the
 * loser now waits for an answer to that offer, so if the winner's own dial fails before it
 * opens (e.g. its offer found no route), the winner answers the kept offer at once. Before,
 * the loser waited out its whole signaling timeout for an answer that was never coming
 * (test/transport/glare-stall.test.ts: open after 10.7 s, now 0.75 s, for an offer that
 * failed after 0.5 s). An offer lost without a word is noticed only at the winner's own
 * signaling timeout, by when the loser's has about run out too: that case is not helped.
 */
export type TransportNotice =
  | { type: 'peer.connecting'; peer: PeerId; role: 'dialer' | 'listener' }
  | { type: 'peer.open'; peer: PeerId }
  /**
   * `left`: the remote closed it saying its node is leaving the network (it is gone, not pruning
   * a link). `byeUnanswered`: we closed it and nothing came from the remote meanwhile (it may
   * have crashed).
   * `redialing`: a connect() came while it was closing; a fresh dial follows (see dial).
   */
  | {
      type: 'peer.closed';
      peer: PeerId;
      wasOpen: boolean;
      failure?: { code: ErrorCode; message: string };
      left?: true;
      byeUnanswered?: true;
      redialing?: true;
    }
  | { type: 'connect.refused'; peer: PeerId; code: ErrorCode; message: string }
  | { type: 'signal.dropped'; from: PeerId; reason: string };

export interface TransportPorts extends PeerPorts {
  notify(notice: TransportNotice): void;
  /**
   * Whether this node needs the link to `peer` watched closely: its failure noticed within
   * heartbeatTimeoutMs rather than unwatchedTimeoutMs (connection-config.ts). Absent: every link is.
   */
  watched?(peer: PeerId): boolean;
  deliver(message: InboundMessage): void;
  reportViolation(remote: PeerId, error: PeerSockError): void;
  internal?: InternalProtocols;
}

export interface ConnectionManagerInput {
  self: PeerId;
  maxConnections: number;
  /** Inbound attempts not yet authenticated, counted apart from (and within) maxConnections. */
  maxPendingInbound: number;
  /**
   * Position-puzzle difficulty of the network (src/identity/position-puzzle.ts): peers whose key
   * does not solve it are neither dialled nor answered. 0: no puzzle. Absent: 0.
   */
  puzzleBits?: number;
  config: ConnectionConfig;
  ports: TransportPorts;
  /** Live channels by peer, shared with the node's data path. */
  channels: Map<PeerId, PeerChannel>;
}

interface PeerEntry {
  childId: string;
  /** Which of the actors that bore childId this is (PeerConnectionInput.serial; see spawnPeer). */
  serial: number;
  role: 'dialer' | 'listener';
  /** This node asked to close it (`disconnect`); it is gone once its actor finishes. */
  closing?: true;
  /** A `connect` came while it was closing: dial afresh once it is gone (see forgetFinished). */
  redial?: true;
}

/**
 * A remote's offer this node ignored because its own dial to that peer won the glare. Kept
 * only while that dial waits for its answer: cleared when the answer comes (the remote
 * yielded, so its offer is void), when the dial fails (answered, or dropped if older than a
 * signaling timeout), when the peer's entry goes, or when another attempt to the peer
 * starts. So there are at most as many as peer entries, one bounded offer each. The offer
 * alone is enough: an offerer sends its candidates only once answered (webrtc-transport.ts),
 * and the memory network needs the answerer's alone.
 */
interface WaitingOffer {
  /** As it arrived (with the offerer's handshake nonce, see signal-envelope.ts). */
  offer: Extract<SignalEnvelope, { signal: LinkSignal }>;
  /** When it arrived; the remote's signaling timer started a little earlier. */
  at: number;
}

/**
 * `peers` and `waitingOffers` are Maps replaced on change, not objects keyed by peer id: such an
 * object gets a hidden class per set of keys, and dropping a key by rest destructuring
 * (`const { [peer]: gone, ...rest }`) took V8's slow generic path — ~18 µs per connection
 * closed in sim-scale's 1,000-node run.
 */
interface Context extends ConnectionManagerInput {
  peers: ReadonlyMap<PeerId, PeerEntry>;
  generation: number;
  waitingOffers: ReadonlyMap<PeerId, WaitingOffer>;
}

type Event =
  | { type: 'connect'; peer: PeerId }
  | { type: 'disconnect'; peer: PeerId }
  | { type: 'signal.in'; from: PeerId; data: unknown }
  | { type: 'peer.opened'; remote: PeerId }
  /** From a connection actor: its dial failed before opening (it may retry next). */
  | { type: 'peer.dialFailed'; remote: PeerId }
  /**
   * What TransportPorts.watched says of these peers may have changed (e.g. the ring has a new
   * predecessor): apply it now rather than at the next heartbeat tick, so a new neighbour's
   * failure is judged from now (PeerChannel.setWatching).
   */
  | { type: 'watch.changed'; peers: readonly PeerId[] }
  | { type: 'shutdown' }
  | HeartbeatEvent
  | { type: `xstate.done.actor.${string}`; output: PeerConnectionOutput }
  | { type: `xstate.error.actor.${string}`; error: unknown };

type PeerActor = ActorRefFrom<typeof peerConnectionMachine>;

export const connectionManagerMachine = setup({
  types: {
    context: {} as Context,
    events: {} as Event,
    input: {} as ConnectionManagerInput,
  },
  actors: { peerConnection: peerConnectionMachine, heartbeat: heartbeatActor },
  delays: {
    drainTimeout: ({ context }) => context.config.closeTimeoutMs * 2,
  },
  guards: {
    noPeersLeft: ({ context }) => context.peers.size === 0,
  },
  actions: {
    /** A silent peer (see heartbeat.ts): its connection actor fails it as HEARTBEAT_TIMEOUT. */
    tellSilent: enqueueActions(({ context, event, enqueue, self }) => {
      if (event.type !== 'heartbeat.silent') return;
      const entry = context.peers.get(event.peer);
      // Checked: a child that finished is gone from `children` before its entry goes (sendTo by id would throw).
      const child = entry ? (self.getSnapshot().children[entry.childId] as PeerActor | undefined) : undefined;
      if (child) enqueue.sendTo(child, { type: 'heartbeat.silent' });
    }),
    /** The beat threw (a host's `watched` port, say): the manager fails, and its supervisor restarts it. */
    failHeartbeat: ({ event }) => {
      if (event.type === 'heartbeat.failed') throw event.error;
    },
    applyWatch: ({ context, event }) => {
      if (event.type !== 'watch.changed') return;
      for (const peer of event.peers) context.channels.get(peer)?.setWatching(isWatched(context, peer));
    },
    // After a supervisor restart, channels of the crashed instance are dead: report them closed.
    forgetPreviousLife: ({ context }) => {
      for (const [peer, channel] of context.channels) {
        channel.detach(() => new PeerSockError('LINK_CLOSED', `transport restarted; connection to ${peer} lost`));
        context.ports.notify({
          type: 'peer.closed',
          peer,
          wasOpen: true,
          failure: { code: 'LINK_FAILED', message: 'the transport subsystem restarted' },
        });
      }
      context.channels.clear();
    },
    dial: enqueueActions(({ context, event, enqueue, self }) => {
      if (event.type !== 'connect') return;
      const { peer } = event;
      if (peer === context.self) {
        context.ports.notify({ type: 'connect.refused', peer, code: 'SELF_CONNECT', message: 'a node cannot connect to itself' });
        return;
      }
      const existing = context.peers.get(peer);
      if (existing) {
        // connect() after disconnect(), or as the connection ends, must give a connection:
        // remember it for when the ending one is gone. Ignored, the caller waited for a link
        // that never came (the ring closes a link it stopped wanting and may want it again a
        // moment later; it asks again on the closed notice, which comes before the entry goes).
        if (endingWithoutRedial(existing, self.getSnapshot().children)) {
          enqueue.assign({ peers: withEntry(context.peers, peer, { ...existing, redial: true }) });
        }
        return;
      }
      const weak = puzzleProblem(context, peer);
      if (weak) {
        context.ports.notify({ type: 'connect.refused', peer, code: 'PUZZLE_UNSOLVED', message: weak });
        return;
      }
      if (atLimit(context)) {
        context.ports.notify({
          type: 'connect.refused',
          peer,
          code: 'CONNECTION_LIMIT',
          message: `this node already has ${context.maxConnections} connections (maxConnections)`,
        });
        return;
      }
      enqueue.assign(spawnPeer(context, peer, 'dialer'));
    }),
    routeSignal: enqueueActions(({ context, event, enqueue, self }) => {
      if (event.type !== 'signal.in') return;
      const { from } = event;
      const envelope = parseSignalEnvelope(event.data);
      if (!envelope || from === context.self) {
        context.ports.notify({ type: 'signal.dropped', from, reason: envelope ? 'signal from self' : 'malformed signal envelope' });
        return;
      }
      const entry = context.peers.get(from);
      const child = entry ? (self.getSnapshot().children[entry.childId] as PeerActor | undefined) : undefined;
      if (!entry || !child) {
        if (!isOffer(envelope)) return; // a late candidate or answer for an attempt that is gone
        // Checked on every contact: an identity that skipped the puzzle gets no connection.
        const weak = puzzleProblem(context, from);
        if (weak) {
          context.ports.notify({ type: 'signal.dropped', from, reason: weak });
          reject(context, from, envelope.cid, 'PUZZLE_UNSOLVED', `this network's position puzzle: ${weak}`);
          return;
        }
        if (atLimit(context)) {
          reject(context, from, envelope.cid, 'CONNECTION_LIMIT', 'the remote node is at its connection limit');
          return;
        }
        // Unauthenticated inbound attempts are cheap to make: cap them apart, so throwaway
        // identities cannot fill every slot and lock this node out of its own dials.
        if (pendingInbound(context, self.getSnapshot().children) >= context.maxPendingInbound) {
          reject(context, from, envelope.cid, 'CONNECTION_LIMIT', 'the remote node has too many connections being set up');
          return;
        }
        enqueue.assign(spawnPeer(context, from, 'listener', envelope));
        return;
      }
      const snapshot = child.getSnapshot();
      if (envelope.cid === snapshot.context.cid) {
        // The remote answered our offer, so it yielded: its own offer is void.
        if (context.waitingOffers.has(from) && 'signal' in envelope && envelope.signal.type === 'answer') {
          enqueue.assign({ waitingOffers: withoutEntry(context.waitingOffers, from) });
        }
        child.send({ type: 'signal.in', envelope });
        return;
      }
      // The remote abandoned the offer we kept from a glare (it yielded to ours, see below).
      if ('reject' in envelope && context.waitingOffers.get(from)?.offer.cid === envelope.cid) {
        enqueue.assign({ waitingOffers: withoutEntry(context.waitingOffers, from) });
        return;
      }
      if (!isOffer(envelope)) return;
      if (snapshot.matches({ attempt: 'open' }) || snapshot.matches({ attempt: 'closing' })) {
        // Keep the authenticated link: a forged offer must not be able to displace it.
        reject(context, from, envelope.cid, 'CONNECTION_REJECTED', 'already connected');
        return;
      }
      // Glare: both sides dialled. The lower PeerId keeps its offer and keeps the other's in
      // reserve (answerWaitingOffer); the other yields. Between two attempts of our dial
      // (retrying) no offer of ours is out: nothing to keep, the remote's is answered now.
      if (entry.role === 'dialer' && context.self < from && !snapshot.matches('retrying')) {
        const waiting: WaitingOffer = { offer: envelope, at: context.ports.clock.now() };
        enqueue.assign({ waitingOffers: withEntry(context.waitingOffers, from, waiting) });
        return;
      }
      // Our offer is void from now on: say so, or a remote that has meanwhile given up its own
      // dial takes ours as a fresh offer and answers it, then waits out its connect timeout.
      if (entry.role === 'dialer' && snapshot.context.cid) {
        reject(context, from, snapshot.context.cid, 'CONNECT_ABANDONED', 'yielded to your offer (glare)');
      }
      enqueue.stopChild(entry.childId);
      enqueue.assign(spawnPeer(context, from, 'listener', envelope));
    }),
    /**
     * Our dial to a peer failed before it opened: answer the offer of that peer's we ignored
     * in a glare, if it is younger than a signaling timeout (the remote may still be waiting
     * for an answer), instead of retrying our own. An older one is dropped.
     */
    answerWaitingOffer: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'peer.dialFailed') return;
      const peer = event.remote;
      const waiting = context.waitingOffers.get(peer);
      if (!waiting) return;
      const entry = context.peers.get(peer);
      const fresh = context.ports.clock.now() - waiting.at < context.config.signalingTimeoutMs;
      if (!entry || entry.role !== 'dialer' || !fresh) {
        enqueue.assign({ waitingOffers: withoutEntry(context.waitingOffers, peer) });
        return;
      }
      // The dial's slot is reused: no limit is checked, and the failed dial is not reported
      // closed (as when the higher PeerId yields in a glare); its connect() waits for this one.
      enqueue.stopChild(entry.childId);
      enqueue.assign(spawnPeer(context, peer, 'listener', waiting.offer));
    }),
    closePeer: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'disconnect') return;
      const entry = context.peers.get(event.peer);
      if (!entry) return;
      // A disconnect also cancels a redial asked for while the connection was closing.
      const { redial: _cancelled, ...closing } = entry;
      enqueue.assign({ peers: withEntry(context.peers, event.peer, { ...closing, closing: true }) });
      enqueue.sendTo(entry.childId, { type: 'close' });
    }),
    // Only on shutdown: the goodbyes say this node is leaving.
    closeAll: enqueueActions(({ context, enqueue }) => {
      for (const entry of context.peers.values()) enqueue.sendTo(entry.childId, { type: 'close', leaving: true });
    }),
    // enqueueActions, not a plain custom action: notify drives the ring and DHT actors at once,
    // and their assigns inside a custom action made XState warn "Custom actions should not call
    // assign()" thousands of times per simulation (its executing-custom-action flag is global,
    // statelyai/xstate#5343).
    announceOpen: enqueueActions(({ context, event }) => {
      if (event.type !== 'peer.opened') return;
      // Watched from the start, not from the next heartbeat tick.
      context.channels.get(event.remote)?.setWatching(isWatched(context, event.remote));
      context.ports.notify({ type: 'peer.open', peer: event.remote });
    }),
    // XState keeps a spawned child that finished in `children` until it is stopped: without
    // this, every connection a long-lived node ever had stays in memory (seen: ~75 dead
    // connection actors per node after two simulated minutes).
    forgetFinished: enqueueActions(({ context, event, enqueue }) => {
      const childId = finishedChildId(event.type);
      // The child id names its peer (see spawnPeer): one lookup, not a scan of every entry.
      const peer = peerOfChildId(childId);
      const entry = peer === undefined ? undefined : context.peers.get(peer);
      // A late output of an actor replaced under the same id (its dial failed as it finished,
      // and a kept offer was answered at once): its successor lives on, and is not stopped.
      // An actor that crashed has no output to tell; its error counts as the current one's.
      if (entry && 'output' in event && event.output.serial !== entry.serial) return;
      enqueue.stopChild(childId);
      // Not one of ours, or already forgotten (an entry's child id is always `peer:<its peer>`).
      if (peer === undefined || entry === undefined) return;
      const output: PeerConnectionOutput =
        'output' in event
          ? event.output
          : {
              remote: peer,
              serial: entry.serial,
              outcome: 'failed',
              wasOpen: false,
              failure: { code: 'LINK_FAILED', message: `connection actor crashed: ${String((event as { error: unknown }).error)}` },
            };
      context.channels.get(peer)?.detach(() => new PeerSockError('LINK_CLOSED', `connection to ${peer} closed`));
      context.channels.delete(peer);
      context.ports.notify({
        type: 'peer.closed',
        peer,
        wasOpen: output.wasOpen,
        ...(output.failure ? { failure: output.failure } : {}),
        ...(output.remoteLeft ? { left: true as const } : {}),
        ...(output.byeUnanswered ? { byeUnanswered: true as const } : {}),
        ...(entry.redial ? { redialing: true as const } : {}),
      });
      enqueue.assign({ peers: withoutEntry(context.peers, peer), waitingOffers: withoutEntry(context.waitingOffers, peer) });
      // A connect() came while it was closing: dial afresh now (ignored while draining).
      if (entry.redial) enqueue.raise({ type: 'connect', peer });
    }),
  },
}).createMachine({
  id: 'transport',
  context: ({ input }) => ({ ...input, peers: new Map(), generation: 0, waitingOffers: new Map() }),
  entry: 'forgetPreviousLife',
  initial: 'running',
  states: {
    running: {
      // One timer per node beats every authenticated connection (heartbeat.ts). It stops when the manager
      // leaves `running` or stops; a manager that fails leaves it to its parent to stop (XState
      // stops no children of an actor that errors: the supervisor reaps them).
      invoke: {
        id: 'heartbeat',
        src: 'heartbeat',
        input: ({ context }) => ({
          channels: context.channels,
          config: context.config,
          clock: context.ports.clock,
          // The manager's own rule (isWatched calls a host's port through the ports object: it may use `this`).
          watched: (peer: PeerId) => isWatched(context, peer),
        }),
      },
      on: {
        'heartbeat.silent': { actions: 'tellSilent' },
        'heartbeat.failed': { actions: 'failHeartbeat' },
        connect: { actions: 'dial' },
        disconnect: { actions: 'closePeer' },
        'signal.in': { actions: 'routeSignal' },
        'peer.opened': { actions: 'announceOpen' },
        'peer.dialFailed': { actions: 'answerWaitingOffer' },
        'watch.changed': { actions: 'applyWatch' },
        'xstate.done.actor.*': { actions: 'forgetFinished' },
        'xstate.error.actor.*': { actions: 'forgetFinished' },
        shutdown: 'draining',
      },
    },
    draining: {
      entry: 'closeAll',
      always: { guard: 'noPeersLeft', target: 'stopped' },
      on: {
        'xstate.done.actor.*': { actions: 'forgetFinished' },
        'xstate.error.actor.*': { actions: 'forgetFinished' },
      },
      after: { drainTimeout: 'stopped' },
    },
    stopped: { type: 'final' },
  },
});

/**
 * Whether a `connect` for `peer` would make the manager do anything: no connection, or one
 * that is ending (closed by this node, or its actor finished and about to be forgotten) with no
 * redial asked yet. For callers that skip redundant requests (the node runtime): the snapshot
 * they read can be one transition old, e.g. while the manager reports a closed connection.
 */
export function connectWouldDial(snapshot: { context: { peers: ReadonlyMap<PeerId, PeerEntry> }; children: Record<string, unknown> }, peer: PeerId): boolean {
  const entry = snapshot.context.peers.get(peer);
  return entry === undefined || endingWithoutRedial(entry, snapshot.children);
}

/**
 * A remote signal for the current attempt of a connection goes straight to it, without the
 * manager's `signal.in` (one actor event per signal, each only to hand the signal on):
 * - an ICE candidate for an attempt still negotiating, to that attempt's link, as the connection
 *   actor's applyRemoteSignal would (takesRemoteCandidate says when), with no event at all: 4 of
 *   the ~35 actor events per connection opened while a crowd joins (both ends; README, Benchmarks);
 * - anything else naming the attempt's cid (the dialer's answer, a refusal, a candidate past
 *   negotiation), to the connection actor as its `signal.in`, which is all routeSignal does with
 *   it, unless the manager holds that peer's offer from a glare (an answer voids it: routeSignal's).
 * (The mirror of openAttemptLink relaying local signals without an event.)
 * Returns false for anything else — a signal for no current attempt (a new offer among them), a
 * malformed envelope, a manager no longer running —, which the caller sends as `signal.in` for
 * routeSignal to handle (or ignore). (A replayed offer naming the listener's current attempt goes
 * to the connection actor, which ignores a repeated description, as routeSignal would have it.)
 */
export function deliverSignalInPlace(
  snapshot: {
    status: string;
    value: unknown;
    context: { self: PeerId; peers: ReadonlyMap<PeerId, PeerEntry>; waitingOffers: ReadonlyMap<PeerId, unknown> };
    children: Record<string, unknown>;
  },
  from: PeerId,
  data: unknown,
): boolean {
  if (snapshot.status !== 'active' || snapshot.value !== 'running' || from === snapshot.context.self) return false;
  const entry = snapshot.context.peers.get(from);
  const child = entry ? (snapshot.children[entry.childId] as PeerActor | undefined) : undefined;
  if (!child) return false;
  const envelope = parseSignalEnvelope(data);
  if (!envelope) return false;
  const state = child.getSnapshot();
  if (state.status !== 'active' || state.context.cid !== envelope.cid) return false;
  if ('signal' in envelope && envelope.signal.type === 'candidate' && takesRemoteCandidate(state, envelope.cid)) {
    state.context.link.current?.apply(envelope.signal);
    return true;
  }
  if (snapshot.context.waitingOffers.has(from)) return false;
  child.send({ type: 'signal.in', envelope });
  return true;
}

function endingWithoutRedial(entry: PeerEntry, children: Record<string, unknown>): boolean {
  if (entry.redial) return false;
  const child = children[entry.childId] as PeerActor | undefined;
  return entry.closing === true || child === undefined || child.getSnapshot().status !== 'active';
}

function isWatched(context: Context, peer: PeerId): boolean {
  return context.ports.watched?.(peer) ?? true;
}

function finishedChildId(eventType: string): string {
  return eventType.replace(/^xstate\.(done|error)\.actor\./, '');
}

const CHILD_ID_PREFIX = 'peer:';

/** `peer:<peerId>` → the peer id (undefined for any other id). */
function peerOfChildId(childId: string): PeerId | undefined {
  return childId.startsWith(CHILD_ID_PREFIX) && childId.length > CHILD_ID_PREFIX.length ? (childId.slice(CHILD_ID_PREFIX.length) as PeerId) : undefined;
}

function pendingInbound(context: Context, children: Record<string, unknown>): number {
  let pending = 0;
  for (const entry of context.peers.values()) {
    if (entry.role !== 'listener') continue;
    const child = children[entry.childId] as PeerActor | undefined;
    if (child && !child.getSnapshot().matches({ attempt: 'open' })) pending += 1;
  }
  return pending;
}

/** Why `peer` may not connect under the network's position puzzle, or undefined when it may. */
function puzzleProblem(context: Context, peer: PeerId): string | undefined {
  if (!context.puzzleBits) return undefined;
  try {
    assertPuzzle(peer, context.puzzleBits);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** `map` with `key` set to `value`: a new Map (the context's maps are replaced, never changed). */
function withEntry<V>(map: ReadonlyMap<PeerId, V>, key: PeerId, value: V): ReadonlyMap<PeerId, V> {
  return new Map(map).set(key, value);
}

/** `map` without `key`: the same Map when it has no such key. */
function withoutEntry<V>(map: ReadonlyMap<PeerId, V>, key: PeerId): ReadonlyMap<PeerId, V> {
  if (!map.has(key)) return map;
  const rest = new Map(map);
  rest.delete(key);
  return rest;
}

function atLimit(context: Context): boolean {
  return context.peers.size >= context.maxConnections;
}

function reject(context: Context, to: PeerId, cid: string, code: ErrorCode, reason: string): void {
  const envelope: SignalEnvelope = { cid, reject: code, reason };
  context.ports.sendSignal(to, envelope).catch(() => {
    // The refusal is a courtesy; the remote's own timeout covers a lost one.
  });
}

/**
 * The assigner that opens a connection to `peer`: its channel (shared with the node's data path
 * through `channels`), its entry in `peers`, and its connection actor, spawned in the same
 * assign (a separate spawnChild action made a second new snapshot on every connection this node
 * opens or answers). A new attempt supersedes any offer of that peer's still kept from a glare.
 * The channel is made and `peer.connecting` told when the manager's actions are resolved.
 *
 * The child id is the same for every connection to one peer, `peer:<peerId>`, and the serial
 * tells them apart (forgetFinished). XState memoizes, on each state node of the machine, the
 * transitions an event type selects, for good: with a generation in the id (`peer:<id>#<n>`)
 * every connection a node ever opened left a key like `candidates-xstate.done.actor.peer:…#n`
 * behind, in the machine definition every node of the process shares (24,844 of them after
 * sim-scale's 1,000 nodes ran 600 virtual s; ~400 bytes per connection, for the process's life).
 * Now they grow only with the peers ever met.
 */
function spawnPeer(context: Context, peer: PeerId, role: 'dialer' | 'listener', offer?: SignalEnvelope) {
  const generation = context.generation + 1;
  const childId = `${CHILD_ID_PREFIX}${peer}`;
  const channel = new PeerChannel({
    remote: peer,
    limits: context.config.limits,
    clock: context.ports.clock,
    sendBudgetBytes: context.config.sendBudgetBytes,
    maxQueuedBytes: context.config.maxQueuedBytes,
    sendTimeoutMs: context.config.sendTimeoutMs,
    violationThreshold: context.config.violationThreshold,
    deliver: context.ports.deliver,
    reportViolation: context.ports.reportViolation,
    ...(context.ports.internal ? { internal: context.ports.internal } : {}),
    watchAnswerTimeoutMs: context.config.watchAnswerTimeoutMs,
    staleAfterMs: context.config.heartbeatTimeoutMs,
  });
  context.channels.set(peer, channel);
  context.ports.notify({ type: 'peer.connecting', peer, role });
  const input: PeerConnectionInput = {
    remote: peer,
    role,
    serial: generation,
    ...(offer && 'signal' in offer ? { offer } : {}),
    channel,
    config: context.config,
    ports: context.ports,
  };
  const update = { generation, peers: withEntry(context.peers, peer, { childId, serial: generation, role }), waitingOffers: withoutEntry(context.waitingOffers, peer) };
  return ({ spawn }: { spawn: (src: 'peerConnection', options: { id: string; input: PeerConnectionInput }) => unknown }) => {
    spawn('peerConnection', { id: childId, input });
    // The actor took the offer into its context as it was made (and drops it once open:
    // markOpen). XState keeps the input itself as long as the actor, and with it the offer: a
    // few KB of SDP on real WebRTC, for the connection's life. (Set, not deleted: a delete
    // would turn every listener's input into a slower, larger dictionary-mode object.)
    input.offer = undefined;
    return update;
  };
}
