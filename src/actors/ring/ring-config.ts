import { unwatchedTimeoutMs, type ConnectionConfig } from '../transport/connection-config.js';

/** Timing and size of ring maintenance. Every wait has a timeout. */
export interface RingConfig {
  /** Successor-list length r: the ring survives r - 1 simultaneous adjacent failures. */
  successorListLength: number;
  /** Mean period of stabilization; each round is jittered ±50% so nodes never synchronise. */
  stabilizeIntervalMs: number;
  /** A neighbour that does not answer a stabilize request within this is suspected. */
  requestTimeoutMs: number;
  /** A lookup (find) that gets no answer within this has failed. */
  lookupTimeoutMs: number;
  /**
   * The join's lookup of our own position is sent again (once, with a new request id; an answer
   * to either counts) when none came within this. A find travels hop by hop and its answer back
   * along the same path, so a link on it that closes loses the lookup; while a network forms,
   * links close often (the demo on loopback: joiners sat out the whole lookupTimeoutMs, then the
   * re-bootstrap, ~6 s, in 2 of 24 runs). ≥ lookupTimeoutMs: never.
   */
  joinLookupResendMs: number;
  /** Opening the link to a bootstrap peer or to the found successor. */
  linkTimeoutMs: number;
  /** Re-bootstrap backoff: base × 2^attempt, capped, jittered. */
  rebootstrapBaseMs: number;
  rebootstrapMaxMs: number;
  /** Mean period of the partition-merge probe (look up our own position via an outside peer). */
  mergeIntervalMs: number;
  /**
   * Past this many nodes (estimated from the successor list's span, see network-size.ts) the
   * merge probe's period grows in proportion, up to mergeMaxIntervalFactor × mergeIntervalMs, so
   * the whole network probes at a bounded rate (~mergeReferenceSize probes per mergeIntervalMs)
   * instead of one per node per period: each probe opens a connection to a sampled peer, and at
   * 10,000 nodes that was ~170 new connections per second, the largest share of a calm network's
   * work in the simulator. A partition is still noticed within seconds, by whichever node of
   * either side probes first; the merge then spreads by links and stabilization. Since probes go
   * through the nearest member before us that we hold no link to (see BOOTSTRAP_NEAR), a probe
   * during a partition nearly always reaches the other side (its nodes lie between ours, and we
   * hold links only to our own side), so a few per second are plenty: at 1,000 nodes and 1,000
   * probes a minute, a calm ring spent ~40% of its simulated work on them (164 → 101 µs of wall
   * time per node-second without them). 1,000 nodes split in two halves for 120 s were one ring
   * 5 s and a correct one 35 s after the heal, with 250 probes a minute as with 1,000.
   */
  mergeReferenceSize: number;
  mergeMaxIntervalFactor: number;
  /**
   * The per-round lookup of the point past our own position backs off while it keeps
   * confirming our successor: every round, then every 2nd, 4th… up to every this many rounds.
   * It returns to every round as soon as our successor changes. At steady state it was over
   * half of all maintenance bytes when run every round.
   */
  probeMaxIntervalRounds: number;
  /**
   * A peer seen failing is not re-adopted from others' reports for this long (see failed-peers.ts)
   * when it answered: it refused our connection (at its limit), closed the link, or left.
   */
  failedMemoryMs: number;
  /**
   * The same, when longer, for a peer that could not be reached: its link went silent, a dial or
   * a request to it timed out. It most likely crashed, and it must stay out for as long as the
   * slowest failure detection of the peers that may still report it: the node runtime raises
   * this to the detection time of unwatched links when it watches only its neighbours (see
   * ringConfigFor). Not for refusals: a remote that answers is alive, and with failedMemoryMs
   * itself raised, joiners refused in a crowd stayed out of lists for 35 s (200 nodes joining
   * at 166/s: a correct ring at ~60 s instead of ~23).
   */
  unreachableMemoryMs: number;
  /**
   * While stabilization rounds keep finding the same predecessor and successor list, the period
   * doubles, up to this many times stabilizeIntervalMs; any change brings it back at once. Joins,
   * leaves and failures reach the neighbours by notify, list pushes, leave messages and the
   * link's failure detector, not by the next round, so a calm ring need not ask every 2 s: at
   * steady state the rounds were most of the ring actor's work and of its bytes. 1 = no back-off.
   * Only a change of the near neighbourhood (see nearSuccessors) brings the base period back, so
   * under churn a node sits at this cap most of the time: 32 (a round every ~64 s) instead of 8 cut
   * the simulated work of 1,000 nodes under churn by ~20% with nearSuccessors (see README).
   */
  stabilizeMaxIntervalFactor: number;
  /**
   * The successors a round watches: a change of the predecessor or of one of the first
   * `nearSuccessors` successors brings rounds back to the base period; a change further out does
   * not. Those reach us by list pushes (each node pushes every change of its list to its
   * predecessor), and under churn a list of 8 changes every ~2.4 min (sessions of 30 min median),
   * so restarting the back-off on each kept rounds near the base period. The first successor is
   * the one a round asks, the second its failover. ≥ successorListLength: every change counts.
   */
  nearSuccessors: number;
  /**
   * Successors listed past the first eagerSuccessorLinks are linked only once they have stayed
   * listed this long (see link-settling.ts): while a network grows, most links to the far end of
   * a list were pruned again within seconds (1,000 nodes joining in 60 s: half of the links
   * opened, at a median of 6 s). 0 = link every neighbour at once.
   */
  linkSettleMs: number;
  /** Successors linked as soon as listed (the first is the one stabilization asks; the next is its failover). */
  eagerSuccessorLinks: number;
}

export const DEFAULT_RING_CONFIG: RingConfig = {
  successorListLength: 8,
  stabilizeIntervalMs: 2_000,
  requestTimeoutMs: 3_000,
  lookupTimeoutMs: 5_000,
  joinLookupResendMs: 1_500,
  linkTimeoutMs: 20_000,
  rebootstrapBaseMs: 500,
  rebootstrapMaxMs: 30_000,
  mergeIntervalMs: 60_000,
  mergeReferenceSize: 250,
  mergeMaxIntervalFactor: 64,
  probeMaxIntervalRounds: 64,
  failedMemoryMs: 10_000,
  unreachableMemoryMs: 10_000,
  stabilizeMaxIntervalFactor: 32,
  nearSuccessors: 2,
  linkSettleMs: 20_000,
  eagerSuccessorLinks: 2,
};

/**
 * The ring configuration a node runs with. When some of its links are unwatched (the transport
 * notices their failure only after unwatchedTimeoutMs + one heartbeat interval),
 * other nodes report a crashed peer in their lists for that long, so the memory of an unreachable
 * peer must last at least as long: with the 10-s default and (a first version's) 65-s
 * detection, crashed ids came back and 300 simulated nodes under churn (5-min sessions) had 3.1%
 * wrong successors instead of 2.0%.
 */
export function ringConfigFor(
  ring: RingConfig,
  unwatched?: Pick<ConnectionConfig, 'heartbeatIntervalMs' | 'heartbeatTimeoutMs' | 'unwatchedHeartbeatFactor'>,
): RingConfig {
  if (unwatched === undefined) return ring;
  const detectionMs = unwatchedTimeoutMs(unwatched) + unwatched.heartbeatIntervalMs;
  return ring.unreachableMemoryMs >= detectionMs ? ring : { ...ring, unreachableMemoryMs: detectionMs };
}
