import { DEFAULT_ENVELOPE_TTL, MAX_ENVELOPE_TTL, MAX_SEALED_PAYLOAD_BYTES } from '../../crypto/sealed-envelope.js';
import { DEFAULT_REPLAY_MAX_ENTRIES, DEFAULT_REPLAY_WINDOW_MS } from '../../crypto/replay-window.js';
import { PeerSockError } from '../../errors.js';

/** Limits and timing of routed messages (sends to peers without a direct link). Every wait has a timeout. */
export interface RouterConfig {
  /** A routed send that gets neither an ack nor a failure notice within this rejects with TIMEOUT. */
  ackTimeoutMs: number;
  /**
   * While a routed send awaits its ack, the same sealed envelope is sent again every this many
   * ms (0: never), until the ack comes or ackTimeoutMs runs out. A copy may take another path (the
   * links changed meanwhile); the target delivers one copy only and acks each again from a cache.
   * A message lost with a closing link used to be lost for good: TIMEOUT after 10 s.
   */
  retransmitIntervalMs: number;
  /** Routed sends awaiting their ack at once; beyond this, send() rejects with BACKPRESSURE. */
  maxPending: number;
  /**
   * Largest routed payload. Routed frames travel as control frames, outside the per-link byte
   * budget (an internal protocol cannot use the data path), so they are kept small: bulk data
   * should go over a direct connection. At most MAX_SEALED_PAYLOAD_BYTES.
   */
  maxPayloadBytes: number;
  /** Links a message (and its ack, and a failure notice) may cross. */
  ttl: number;
  /**
   * Links an ack or a failure notice may cross. Greedy ring routing runs clockwise, so the way
   * back from the target to the origin is the rest of the ring, not the forward path reversed:
   * often longer. A loop brake only (see sealed-envelope-format.ts on ttl), so it can be generous.
   */
  returnTtl: number;
  /** Envelopes for us being opened at once (signature checks queued on the verify pool); beyond this they are dropped. */
  maxOpening: number;
  /** Replay protection: how far an envelope's sentAt may be from our wall clock, and how many msgIds are remembered. */
  replayWindowMs: number;
  replayMaxEntries: number;
}

export const DEFAULT_ROUTER_CONFIG: RouterConfig = Object.freeze({
  ackTimeoutMs: 10_000,
  retransmitIntervalMs: 3_000,
  maxPending: 1024,
  maxPayloadBytes: 64 * 1024,
  ttl: DEFAULT_ENVELOPE_TTL,
  returnTtl: 2 * DEFAULT_ENVELOPE_TTL,
  maxOpening: 256,
  replayWindowMs: DEFAULT_REPLAY_WINDOW_MS,
  replayMaxEntries: DEFAULT_REPLAY_MAX_ENTRIES,
});

/** Defaults filled in and every field checked; throws INVALID_ARGUMENT naming the field. */
export function routerConfig(partial: Partial<RouterConfig> = {}): RouterConfig {
  const config: RouterConfig = { ...DEFAULT_ROUTER_CONFIG, ...partial };
  const check = (field: keyof RouterConfig, min: number, max = Number.MAX_SAFE_INTEGER) => {
    const value = config[field];
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      throw new PeerSockError('INVALID_ARGUMENT', `routing.${field} must be an integer in ${min}..${max}, got ${String(value)}`);
    }
  };
  check('ackTimeoutMs', 1);
  check('retransmitIntervalMs', 0);
  check('maxPending', 1);
  check('maxPayloadBytes', 0, MAX_SEALED_PAYLOAD_BYTES);
  check('ttl', 1, MAX_ENVELOPE_TTL);
  check('returnTtl', 1, MAX_ENVELOPE_TTL);
  check('maxOpening', 1);
  check('replayWindowMs', 0);
  check('replayMaxEntries', 1);
  return config;
}

/** Copies of a routed send after the first: as many intervals as fit before its ack timeout. */
export function maxRetransmits(config: Pick<RouterConfig, 'ackTimeoutMs' | 'retransmitIntervalMs'>): number {
  return config.retransmitIntervalMs > 0 ? Math.max(0, Math.ceil(config.ackTimeoutMs / config.retransmitIntervalMs) - 1) : 0;
}
