import { PeerSockError } from '../../errors.js';
import { DEFAULT_WIRE_LIMITS, type WireLimits } from '../../wire/index.js';

/** Timeouts and budgets of one peer connection. Every transient state has a timeout. */
export interface ConnectionConfig {
  /** Offer sent (or received) until the description exchange completes. */
  signalingTimeoutMs: number;
  /** Descriptions exchanged until the DataChannel opens (ICE + DTLS + SCTP). */
  connectTimeoutMs: number;
  /** DataChannel open until both identity proofs are verified. */
  authTimeoutMs: number;
  /** Goodbye sent until the link is closed regardless. */
  closeTimeoutMs: number;
  /** A ping goes out this often while open. */
  heartbeatIntervalMs: number;
  /** Silence longer than this fails the connection with HEARTBEAT_TIMEOUT. */
  heartbeatTimeoutMs: number;
  /**
   * A link this node does not watch closely (TransportPorts.watched: e.g. a ring node's links
   * other than its predecessor and successor) is kept alive this many times less often, and its
   * silence tolerated for `unwatchedTimeoutMs`; each side tells the other which links it watches
   * (`ps/watch`). Keepalives were three quarters of a calm ring's messages with every link beating
   * every interval. Default 8; 1 = every link watched closely. With the DHT on, every link is
   * watched whatever the factor (node-runtime.ts). Peers tell each other their factor in the
   * handshake (`done.every`) and keep unwatched links alive at the smaller of the two.
   * A crashed peer's unwatched link stays up for unwatchedTimeoutMs (50 s at 8), but a frame
   * relying on it once the peer has been silent past heartbeatTimeoutMs first probes it
   * (PeerChannelOptions.staleAfterMs), and it fails within watchAnswerTimeoutMs.
   */
  unwatchedHeartbeatFactor: number;
  /**
   * A link watched anew after a spell unwatched (a ring node's new predecessor, say) must show
   * a sign of life within this long, or it fails with HEARTBEAT_TIMEOUT: its remote answers the
   * watch at once (PeerChannel.setWatching). As long as the ring's request timeout: a live peer
   * answers both within a round trip.
   */
  watchAnswerTimeoutMs: number;
  /** Dial attempts before giving up (only failures before the connection opened are retried). */
  maxDialAttempts: number;
  /** Backoff before retry n is retryBaseMs × 2^(n-1), jittered by ±50%. */
  retryBaseMs: number;
  /** Bytes the DataChannel may buffer before sends wait. */
  sendBudgetBytes: number;
  /** Bytes that may wait beyond the budget before sends reject with BACKPRESSURE. */
  maxQueuedBytes: number;
  /** How long a send may wait for the link to drain. */
  sendTimeoutMs: number;
  /** Malformed or forbidden frames tolerated from one peer before it is disconnected. */
  violationThreshold: number;
  limits: WireLimits;
}

export const DEFAULT_CONNECTION_CONFIG: ConnectionConfig = {
  signalingTimeoutMs: 10_000,
  connectTimeoutMs: 15_000,
  authTimeoutMs: 5_000,
  closeTimeoutMs: 1_000,
  heartbeatIntervalMs: 5_000,
  heartbeatTimeoutMs: 15_000,
  // A calm ring sends ~62% fewer messages at 4 than with every link beating every interval (1),
  // and 8 took 15% of the timers of a 1,000-node simulation with churn on top; it heals as fast
  // because a neighbour taken from the unwatched links must answer its watch within
  // watchAnswerTimeoutMs (PeerChannel.awaitWatchAnswer; README, "Watched links"), and a stale
  // link is probed before it is relied on (PeerChannelOptions.staleAfterMs).
  unwatchedHeartbeatFactor: 8,
  watchAnswerTimeoutMs: 3_000,
  maxDialAttempts: 3,
  retryBaseMs: 500,
  sendBudgetBytes: 4 * 1024 * 1024,
  maxQueuedBytes: 16 * 1024 * 1024,
  sendTimeoutMs: 30_000,
  violationThreshold: 10,
  limits: DEFAULT_WIRE_LIMITS,
};

/** The longest delay a Node timer keeps (2^31 − 1 ms). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Refuses configurations that would stall or misbehave, with a message that says why. */
export function validateConnectionConfig(config: ConnectionConfig): ConnectionConfig {
  const problem = (message: string) => new PeerSockError('INVALID_ARGUMENT', `connection config: ${message}`);
  for (const key of [
    'signalingTimeoutMs',
    'connectTimeoutMs',
    'authTimeoutMs',
    'closeTimeoutMs',
    'heartbeatIntervalMs',
    'heartbeatTimeoutMs',
    'watchAnswerTimeoutMs',
    'retryBaseMs',
    'sendTimeoutMs',
  ] as const) {
    if (!Number.isFinite(config[key]) || config[key] <= 0) throw problem(`${key} must be a positive number of milliseconds`);
    // Node fires a timer set past this at once (with a warning): a "very long" timeout would be none.
    if (config[key] > MAX_TIMER_MS) throw problem(`${key} must be at most ${MAX_TIMER_MS} ms (about 24.8 days)`);
  }
  if (!Number.isInteger(config.unwatchedHeartbeatFactor) || config.unwatchedHeartbeatFactor < 1) throw problem('unwatchedHeartbeatFactor must be an integer ≥ 1');
  if (!Number.isInteger(config.maxDialAttempts) || config.maxDialAttempts < 1) throw problem('maxDialAttempts must be an integer ≥ 1');
  if (!Number.isInteger(config.violationThreshold) || config.violationThreshold < 1) throw problem('violationThreshold must be an integer ≥ 1');
  if (config.heartbeatTimeoutMs <= config.heartbeatIntervalMs) {
    throw problem('heartbeatTimeoutMs must exceed heartbeatIntervalMs, or a live but idle peer would time out');
  }
  // The link reports "buffer low" only when it falls past half the budget; a frame that does not
  // fit in the other half could then wait for an event that never comes.
  if (config.sendBudgetBytes < 2 * config.limits.maxFrameBytes) {
    throw problem(`sendBudgetBytes (${config.sendBudgetBytes}) must be at least twice limits.maxFrameBytes (${config.limits.maxFrameBytes})`);
  }
  if (config.maxQueuedBytes < config.limits.maxFrameBytes) {
    throw problem(`maxQueuedBytes (${config.maxQueuedBytes}) must hold at least one maximal frame (${config.limits.maxFrameBytes})`);
  }
  return config;
}

/**
 * Silence tolerated on an unwatched link. Its remote sends a frame at least every
 * (factor + 1) intervals (PeerChannel.keepAlive), as a watched one does every 2, so the timeout
 * keeps the same margin over that gap: heartbeatTimeoutMs + (factor − 1) × heartbeatIntervalMs
 * (30 s at factor 4). Failure is noticed up to one interval later (the heartbeat tick).
 */
export function unwatchedTimeoutMs(config: Pick<ConnectionConfig, 'heartbeatIntervalMs' | 'heartbeatTimeoutMs' | 'unwatchedHeartbeatFactor'>): number {
  return config.heartbeatTimeoutMs + (config.unwatchedHeartbeatFactor - 1) * config.heartbeatIntervalMs;
}
