import type { UpgradeNotice } from '../actors/links/upgrade.machine.js';
import type { Observable } from 'rxjs';
import type { InboundMessage } from '../actors/transport/peer-channel.js';
import type { TransportNotice } from '../actors/transport/connection-manager.machine.js';
import type { ProviderRecord } from '../actors/dht/provider-record.js';
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
  | { type: 'dht.lookup'; target: string; hops: number; peers: number }
  /** A round announcing a service this node provides: `holders` the record was sent to (0 when the round failed). */
  | { type: 'dht.announced'; service: string; ok: boolean; holders: number }
  /** A busy routed conversation got its own link, or that link closed again (see NodeOptions.upgrade). */
  | UpgradeNotice;

/** A running announcement (see PeerSockNode.provide). */
export interface ProvideHandle {
  readonly service: string;
  /** Where in the ID space the records are stored: SHA-256 of the domain-separated service name, 64 hex. */
  readonly key: string;
  /** The peers the first round stored the record at (this node too when it is among the nearest). */
  readonly holders: readonly PeerId[];
  /** Ends re-announcing (idempotent). Records already stored live until they expire. */
  stop(): void;
}

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
   * With the DHT: announces that this node provides `service` (1..128 visible ASCII characters,
   * e.g. "module:<hash>"). A record signed by this node, living `ttlMs` (default the DHT's
   * recordTtlMs), is stored at the `replication` peers nearest the service key, and again every
   * re-announce interval until `stop()` / `unprovide`. Resolves after the first round; rejects
   * with that round's error (TIMEOUT, NOT_CONNECTED, BACKPRESSURE), which ends the announcement,
   * or with INVALID_ARGUMENT, NOT_CONNECTED (no DHT), NODE_STOPPED. Providing a service again
   * replaces the earlier announcement.
   */
  provide(service: string, options?: { ttlMs?: number }): Promise<ProvideHandle>;
  /** Ends the announcement of `service`, if any (no error when there is none). */
  unprovide(service: string): void;
  /**
   * With the DHT: the providers of `service` as their signed records (provider, issuedAt,
   * expiresAt, signature), each verified here (signature, expiry, key), latest expiry first, at
   * most `count` (default the DHT's maxProvidersPerService, at most 20). Resolves with [] when
   * the holders asked know none. Rejects with TIMEOUT (no holder answered in time),
   * BACKPRESSURE, NOT_CONNECTED (no DHT, or no peer known yet), INVALID_ARGUMENT, NODE_STOPPED.
   */
  findProviders(service: string, options?: { count?: number }): Promise<ProviderRecord[]>;
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
