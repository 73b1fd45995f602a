import { DEFAULT_CONNECTION_CONFIG, validateConnectionConfig, type ConnectionConfig } from '../actors/transport/connection-config.js';
import { DEFAULT_RING_CONFIG, type RingConfig } from '../actors/ring/ring-config.js';
import type { UpgradeConfig } from '../actors/links/upgrade-config.js';
import type { RouterConfig } from '../actors/routing/router-config.js';
import type { DhtConfig } from '../actors/dht/dht-config.js';
import { createCryptoPort } from '../crypto/crypto-port.js';
import { generateIdentity, type Identity } from '../identity/identity.js';
import { loadOrCreateIdentity } from '../identity/key-store.js';
import { assertOwnPuzzle, generateIdentityMeetingPuzzle } from '../identity/position-puzzle.js';
import { createSystemClock, type Clock } from '../ports/clock.js';
import type { CryptoPort } from '../ports/crypto.js';
import { silentLogger, type Logger } from '../ports/logger.js';
import { createSystemRandom, type Random } from '../ports/random.js';
import type { LinkTransport } from '../ports/transport.js';
import { createSignalingClient, type SignalingClient } from '../signaling/client.js';
import { DEFAULT_RESTART_POLICY, type RestartPolicy } from '../supervisor/restart-policy.js';
import { createWebRtcTransport } from '../transport/webrtc-transport.js';
import type { PeerSockNode } from './node-api.js';
import { createNodeRuntime } from './node-runtime.js';

export interface StartNodeOptions {
  /** Signaling server URLs (`ws://host:port`) used to find first peers; any one that answers will do. */
  signaling?: readonly string[];
  /** Directory holding `identity.json` (created, mode 0600). Without it the identity lives only in memory. */
  dataDir?: string;
  /** Use this identity instead of one from `dataDir`. */
  identity?: Identity;
  /** Most simultaneous connections (any state). Default 64. */
  maxConnections?: number;
  /** Most inbound connections still being set up (not yet authenticated). Default 16. */
  maxPendingInbound?: number;
  /**
   * Position-puzzle difficulty of the network (leading zero bits; src/identity/position-puzzle.ts):
   * peers whose key does not solve it are neither dialled nor answered, and a fresh identity is
   * ground until it solves it (2^d keys: d = 12 ~0.1 s, d = 20 ~30 s). Network-wide: every node
   * must use the same value. Default 0 (no puzzle); 20 is recommended for public networks.
   * An identity given or loaded from `dataDir` that does not solve it is refused with PUZZLE_UNSOLVED.
   */
  puzzleBits?: number;
  /** Timeouts, heartbeat, budgets and wire limits of each connection. */
  connection?: Partial<ConnectionConfig>;
  /** How the supervisor restarts failed subsystems. */
  restartPolicy?: Partial<RestartPolicy>;
  /**
   * Join the ID-ordered ring (predecessor + successor list, healed automatically): `true` for
   * the defaults, or a partial RingConfig. Off by default for now: with it, the node opens
   * connections on its own (to its ring neighbours).
   */
  ring?: boolean | Partial<RingConfig>;
  /**
   * Routed messages (send() to a peer without a direct link; needs `ring`), a partial
   * RouterConfig: ackTimeoutMs (10 s), retransmitIntervalMs (3 s: the same sealed message is sent
   * again until acked; 0 never), maxPending (1024 awaiting an ack), maxPayloadBytes
   * (64 KiB), ttl (32 links), returnTtl (64 links, for acks and failure notices), maxOpening
   * (256 envelopes being opened at once), replayWindowMs (5 min) and replayMaxEntries (16,384).
   */
  routing?: Partial<RouterConfig>;
  /**
   * Upgrade busy routed conversations to direct links (with `ring`; on by default): a peer with
   * `threshold` (32) application messages routed to or from it within `windowMs` (10 s) gets a
   * link of its own, signaled like any other; it closes after `idleMs` (60 s) without an
   * application message; at most `maxLinks` (4) at once; `maxTracked` (256) peers' traffic is
   * counted at once. `false`: never.
   */
  upgrade?: Partial<UpgradeConfig> | false;
  /**
   * Run the DHT (closestPeers, provide / findProviders; needs `ring`): `true` for the defaults,
   * or a partial DhtConfig (src/actors/dht/dht-config.ts): k 20, linkBudget 32 links in total,
   * lookupTimeoutMs 5 s, lookupRetryMs 1 s (a silent lookup is re-sent, routed around its silent
   * tries), maxPendingLookups 256, planIntervalMs 10 s, pingTimeoutMs 3 s, replication 8,
   * recordTtlMs 20 min, reannounceIntervalMs 10 min, providerQueryFanout 3, maxStoredRecords
   * 10,000, maxProvidersPerService 20.
   */
  dht?: boolean | Partial<DhtConfig>;
  /**
   * Signal new connections through the overlay (routed, sealed for the target, signed), so the
   * network keeps opening the links it needs when every server is gone; needs `ring`.
   * 'first': through the overlay once the ring is formed; 'fallback' (default): through a server
   * while one answers, the overlay when none does; false: servers only. While servers answer
   * they are far cheaper than a routed path of sealed messages per signal (see node-runtime.ts).
   */
  overlaySignaling?: boolean | 'first' | 'fallback';
  /** Upper bound on `connect()` when the caller gives none. Default 60 s. */
  connectTimeoutMs?: number;
  /** ICE: local address to gather candidates on (e.g. 127.0.0.1) and STUN/TURN servers. */
  bindAddress?: string;
  iceServers?: string[];
  /** Worker threads verifying signatures. Default: cores, at most 4. */
  verifyThreads?: number;
  logger?: Logger;
  /** Ports, for the simulator and tests; production ones are made when omitted. */
  clock?: Clock;
  random?: Random;
  transport?: LinkTransport;
  crypto?: CryptoPort;
  /** Wall clock (ms since the Unix epoch) dating routed messages; default Date.now. */
  wallClock?: () => number;
}

/** Starts a node: identity, worker pool, signaling session and the supervised actor tree. */
export async function startNode(options: StartNodeOptions = {}): Promise<PeerSockNode> {
  const logger = options.logger ?? silentLogger;
  const clock = options.clock ?? createSystemClock();
  const random = options.random ?? createSystemRandom();
  const puzzleBits = options.puzzleBits ?? 0;
  const create = () => (puzzleBits > 0 ? generateIdentityMeetingPuzzle(puzzleBits) : generateIdentity());
  const identity = options.identity ?? (options.dataDir !== undefined ? await loadOrCreateIdentity(options.dataDir, create) : create());
  // Before any socket or thread exists: every peer would refuse this identity.
  assertOwnPuzzle(identity.peerId, puzzleBits);
  const config: ConnectionConfig = validateConnectionConfig({ ...DEFAULT_CONNECTION_CONFIG, ...options.connection });
  const crypto =
    options.crypto ??
    createCryptoPort({ identity, poolOptions: options.verifyThreads ? { threads: options.verifyThreads } : {} });
  const transport =
    options.transport ??
    createWebRtcTransport({
      ...(options.bindAddress ? { bindAddress: options.bindAddress } : {}),
      ...(options.iceServers ? { iceServers: options.iceServers } : {}),
    });

  const signaling: SignalingClient | undefined =
    options.signaling && options.signaling.length > 0
      ? createSignalingClient({ urls: options.signaling, crypto, clock, random, logger: logger.child({ part: 'signaling' }) })
      : undefined;
  try {
    await signaling?.start();
  } catch (error) {
    await Promise.allSettled([signaling?.close(), transport.close(), crypto.close()]);
    throw error;
  }

  return createNodeRuntime({
    identity,
    clock,
    random,
    transport,
    crypto,
    ...(signaling ? { signaling } : {}),
    logger,
    config,
    maxConnections: options.maxConnections ?? 64,
    maxPendingInbound: options.maxPendingInbound ?? 16,
    puzzleBits,
    restartPolicy: { ...DEFAULT_RESTART_POLICY, ...options.restartPolicy },
    connectTimeoutMs: options.connectTimeoutMs ?? 60_000,
    ...(options.ring ? { ring: { ...DEFAULT_RING_CONFIG, ...(options.ring === true ? {} : options.ring) } } : {}),
    ...(options.routing ? { routing: options.routing } : {}),
    ...(options.upgrade !== undefined ? { upgrade: options.upgrade } : {}),
    ...(options.dht ? { dht: options.dht === true ? {} : options.dht } : {}),
    ...(options.overlaySignaling !== undefined ? { overlaySignaling: options.overlaySignaling } : {}),
    // The production edge: routed messages are dated in real time, comparable across machines.
    wallClock: options.wallClock ?? Date.now,
    release: async () => {
      await Promise.allSettled([signaling?.close(), transport.close(), crypto.close()]);
    },
  });
}

export type { InboundMessage, NodeEvent, PeerSockNode } from './node-api.js';
