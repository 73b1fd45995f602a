import type { Observable } from 'rxjs';
import type { InboundMessage } from '../actors/transport/peer-channel.js';
import type { TransportNotice } from '../actors/transport/connection-manager.machine.js';
import type { RingView } from '../actors/ring/ring-view.js';
import type { ErrorCode } from '../errors.js';
import type { PeerId } from '../identity/peer-id.js';
import type { ActorStateView, TraceEvent } from '../supervisor/inspection.js';
import type { SignalRelayStats } from './signal-relay.js';

/** The handle a host application holds: what `startNode` returns. */
export type NodeEvent =
  | TransportNotice
  | { type: 'peer.violation'; peer: PeerId; code: ErrorCode; message: string }
  | { type: 'node.failed'; code: ErrorCode; message: string }
  /** A closestPeers lookup answered: how many links it crossed (0: answered from this node's own knowledge). */
  | { type: 'dht.lookup'; target: string; hops: number; peers: number };

export interface PeerSockNode {
  readonly id: PeerId;
  /** Resolves once an authenticated connection to `peer` is open; rejects with a coded PeerSockError. */
  connect(peer: PeerId | string, options?: { timeoutMs?: number }): Promise<void>;
  /** Closes the connection gracefully (the remote is told). Resolves when it is gone. */
  disconnect(peer: PeerId | string): Promise<void>;
  /**
   * Over a direct connection: resolves when the frame is handed to the channel; waits while
   * the channel's byte budget is used up; rejects with NOT_CONNECTED, BACKPRESSURE,
   * SEND_TIMEOUT, MESSAGE_TOO_LARGE or INVALID_PROTOCOL.
   * Without one, on a ring node: routed hop by hop, sealed for `peer` and signed; resolves when
   * `peer`'s signed ack comes back; rejects with UNREACHABLE, TTL_EXPIRED, TIMEOUT (fate
   * unknown: it may have been delivered), BACKPRESSURE (too many awaiting their ack),
   * MESSAGE_TOO_LARGE, INVALID_PROTOCOL or INVALID_ARGUMENT. Without a ring: NOT_CONNECTED.
   */
  send(peer: PeerId | string, protocol: string, data: Uint8Array): Promise<void>;
  /** Application messages from authenticated peers (hot: nothing is buffered for late subscribers). */
  readonly messages$: Observable<InboundMessage>;
  /** PeerIds with an open, authenticated connection. */
  readonly peers$: Observable<readonly PeerId[]>;
  peers(): readonly PeerId[];
  /** Connection lifecycle, refusals, protocol violations, supervisor escalation. */
  readonly events$: Observable<NodeEvent>;
  /** Every actor event and state change, with stable actor ids. */
  readonly inspect$: Observable<TraceEvent>;
  /** State of every live actor, keyed by stable id. */
  readonly states$: Observable<ReadonlyMap<string, ActorStateView>>;
  states(): ReadonlyMap<string, ActorStateView>;
  /** This node's view of the ring (predecessor, successors, ring state); undefined before the ring starts. */
  ring(): RingView | undefined;
  /**
   * With the DHT: the `count` (default k, at most 32) peers nearest `target` by XOR, nearest
   * first (this node too when it is among them). `target` is a PeerId (its position is used) or
   * `{ position }`, 64 hex digits. Routed over existing links, no new connection per hop.
   * Rejects with TIMEOUT (no answer in time), BACKPRESSURE (too many lookups pending),
   * NOT_CONNECTED (no DHT, or no peer known yet), INVALID_ARGUMENT, NODE_STOPPED.
   */
  closestPeers(target: PeerId | string | { position: string }, count?: number): Promise<PeerId[]>;
  /**
   * How this node's connection signals (offers, answers, candidates) travelled since it
   * started: through the overlay (routed, sealed) or through a signaling server.
   */
  signalPaths(): SignalRelayStats;
  /** Up to n random PeerIds registered at the signaling server (bootstrap). */
  samplePeers(n: number): Promise<PeerId[]>;
  /** Graceful: closes channels (telling peers), the signaling session and worker threads. */
  stop(): Promise<void>;
}

export type { InboundMessage } from '../actors/transport/peer-channel.js';
