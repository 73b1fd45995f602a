import { assign, sendParent, setup } from 'xstate';
import type { PeerId } from '../../identity/peer-id.js';
import type { Random } from '../../ports/random.js';
import type { Position } from '../ring/id-space.js';
import { randomPositionInBucket } from './xor-distance.js';

/**
 * One k-bucket's life, as its own actor (the design card: "each k-bucket an XState actor"):
 *
 *   available ⇄ full                      room / no room, as the DHT actor reports it
 *   full ── bucket.full ──▶ checkingLiveness ── pong ──▶ (keep the old contact)
 *                                         └── timeout / unreachable ──▶ dht.bucket.evict
 *   available | full ── idle refreshMs (jittered) ──▶ refreshing ── done / timeout ──▶ back
 *
 * The contacts live in the RoutingTable in the parent's context; this actor holds only the
 * bucket's state (its size, the contact under suspicion), so 10 buckets × 10,000 nodes stay
 * small. It owns no data to mutate: it decides, and asks the parent.
 *
 * Effects go to the parent with `sendParent` (the DHT actor spawns one per non-empty bucket as
 * `dht/bucket-<index>` and serves the requests: dht.machine.ts, dht-buckets.ts), through
 * three named actions a test or the simulator can swap with `machine.provide()`:
 *   dht.bucket.ping    {index, peer}    ping the least-recently-seen contact; forward the answer
 *                                       as `bucket.pong` (its pong echoing our nonce), or
 *                                       `bucket.unreachable` when it cannot even be sent (no
 *                                       link: an unlinked contact is never pinged, see
 *                                       dht-buckets.ts) or its link fails meanwhile
 *   dht.bucket.evict   {index, peer}    `table.evict(peer)`: the table promotes the freshest
 *                                       replacement (the newcomer, or one seen even later),
 *                                       then the parent reports `bucket.activity` with the size
 *   dht.bucket.refresh {index, target}  look up `target` (random, inside this bucket's range)
 *                                       and report `bucket.refreshed` when the lookup ends
 * On a pong nothing is asked: the parent has already moved the contact to the bucket's tail
 * (`table.observe`) and the newcomer stays in the replacement cache, where the table put it.
 *
 * One liveness check at a time per bucket: a `bucket.full` during a check is ignored (its
 * newcomer waits in the cache), which also rate-limits pings under a flood of newcomers.
 * All waits are named delays on the actor system's clock.
 */

export interface KBucketTiming {
  /** How long the least-recently-seen contact has to answer a liveness ping. */
  livenessTimeoutMs: number;
  /** Mean idle time before a refresh lookup (jittered ±25% so nodes do not synchronise). */
  refreshMs: number;
  /** A refresh lookup that has not ended by then is given up. */
  refreshTimeoutMs: number;
}

export const DEFAULT_K_BUCKET_TIMING: KBucketTiming = Object.freeze({
  livenessTimeoutMs: 5_000,
  refreshMs: 15 * 60_000,
  refreshTimeoutMs: 30_000,
});

export interface KBucketInput {
  /** Common-prefix length with self: which bucket this is. */
  index: number;
  self: Position;
  /** Capacity: `size >= k` means full. */
  k: number;
  timing: KBucketTiming;
  random: Random;
  /** Contacts already in the bucket when the actor starts. */
  size?: number;
}

export interface KBucketContext {
  index: number;
  self: Position;
  k: number;
  /** Shared with every bucket of the node, not copied. */
  timing: KBucketTiming;
  random: Random;
  size: number;
  /** The contact being checked in `checkingLiveness`. */
  suspect: PeerId | undefined;
}

/** From the DHT actor. */
export type KBucketEvent =
  /** The bucket's contents changed, a contact in it was seen or a lookup went through its range. */
  | { type: 'bucket.activity'; size: number }
  /** `table.observe` said `full`: check `suspect`, its least-recently-seen contact. */
  | { type: 'bucket.full'; suspect: PeerId }
  | { type: 'bucket.pong'; peer: PeerId }
  | { type: 'bucket.unreachable'; peer: PeerId }
  | { type: 'bucket.refreshed' };

/** To the DHT actor. */
export type KBucketRequest =
  | { type: 'dht.bucket.ping'; index: number; peer: PeerId }
  | { type: 'dht.bucket.evict'; index: number; peer: PeerId }
  | { type: 'dht.bucket.refresh'; index: number; target: Position };

export const kBucketMachine = setup({
  types: {
    context: {} as KBucketContext,
    events: {} as KBucketEvent,
    input: {} as KBucketInput,
  },
  delays: {
    refreshDelay: ({ context }) => Math.round(context.timing.refreshMs * (0.75 + 0.5 * context.random.float())),
    livenessTimeout: ({ context }) => context.timing.livenessTimeoutMs,
    refreshTimeout: ({ context }) => context.timing.refreshTimeoutMs,
  },
  guards: {
    isFull: ({ context }) => context.size >= context.k,
    fromSuspect: ({ context, event }) => (event.type === 'bucket.pong' || event.type === 'bucket.unreachable') && event.peer === context.suspect,
  },
  actions: {
    takeSize: assign(({ event }) => (event.type === 'bucket.activity' ? { size: Math.max(0, event.size) } : {})),
    takeSuspect: assign(({ context, event }) => (event.type === 'bucket.full' ? { suspect: event.suspect, size: Math.max(context.size, context.k) } : {})),
    clearSuspect: assign({ suspect: undefined }),
    requestPing: sendParent(({ context }): KBucketRequest => ({ type: 'dht.bucket.ping', index: context.index, peer: context.suspect! })),
    requestEviction: sendParent(({ context }): KBucketRequest => ({ type: 'dht.bucket.evict', index: context.index, peer: context.suspect! })),
    requestRefresh: sendParent(({ context }): KBucketRequest => ({
      type: 'dht.bucket.refresh',
      index: context.index,
      target: randomPositionInBucket(context.self, context.index, context.random),
    })),
  },
}).createMachine({
  id: 'kBucket',
  context: ({ input }) => ({
    index: input.index,
    self: input.self,
    k: input.k,
    timing: input.timing,
    random: input.random,
    size: input.size ?? 0,
    suspect: undefined,
  }),
  initial: 'settling',
  states: {
    /** Transient: picks available or full from the size; entering either restarts the idle timer. */
    settling: {
      always: [{ guard: 'isFull', target: 'full' }, { target: 'available' }],
    },
    available: {
      after: { refreshDelay: 'refreshing' },
      on: {
        'bucket.activity': { target: 'settling', actions: 'takeSize' },
        'bucket.full': { target: 'checkingLiveness', actions: 'takeSuspect' },
      },
    },
    full: {
      after: { refreshDelay: 'refreshing' },
      on: {
        'bucket.activity': { target: 'settling', actions: 'takeSize' },
        'bucket.full': { target: 'checkingLiveness', actions: 'takeSuspect' },
      },
    },
    checkingLiveness: {
      entry: 'requestPing',
      after: { livenessTimeout: { target: 'settling', actions: ['requestEviction', 'clearSuspect'] } },
      on: {
        'bucket.pong': { guard: 'fromSuspect', target: 'settling', actions: 'clearSuspect' },
        'bucket.unreachable': { guard: 'fromSuspect', target: 'settling', actions: ['requestEviction', 'clearSuspect'] },
        'bucket.activity': { actions: 'takeSize' },
      },
    },
    refreshing: {
      entry: 'requestRefresh',
      after: { refreshTimeout: 'settling' },
      on: {
        'bucket.refreshed': 'settling',
        'bucket.activity': { actions: 'takeSize' },
        // A liveness check is more urgent than a refresh; the lookup runs on in the parent
        // and its late `bucket.refreshed` is ignored.
        'bucket.full': { target: 'checkingLiveness', actions: 'takeSuspect' },
      },
    },
  },
});
