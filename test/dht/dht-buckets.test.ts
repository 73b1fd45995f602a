/**
 * The DHT actor with its k-bucket actors: spawned per non-empty bucket and stopped when it
 * empties, liveness checks of the least-recently-seen contact when a newcomer finds the bucket
 * full (over its link; no link → unreachable), and refresh lookups of idle buckets.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AnyActorRef } from 'xstate';
import type { DhtConfig } from '../../src/actors/dht/dht-config.js';
import type { DhtMessage } from '../../src/actors/dht/dht-messages.js';
import type { KBucketTiming } from '../../src/actors/dht/k-bucket.machine.js';
import { bucketIndex } from '../../src/actors/dht/xor-distance.js';
import { contactOf } from '../../src/actors/ring/contact.js';
import type { PeerId } from '../../src/identity/peer-id.js';
import { startDht } from '../helpers/dht-harness.js';
import { cpl, idOf } from './arbitraries.js';

const SELF = idOf(0x5e1f);
const SELF_POSITION = contactOf(SELF).position;
const PING_TIMEOUT = 3_000;
const TIMING: Partial<KBucketTiming> = { refreshMs: 60_000, refreshTimeoutMs: 30_000 };

/** Peers by the bucket they fall in (from SELF), in id order: positions are hashes, so search. */
const byBucket = new Map<number, PeerId[]>();
for (let n = 1; n < 400; n += 1) {
  const id = idOf(n);
  const index = bucketIndex(SELF_POSITION, contactOf(id).position);
  byBucket.set(index, [...(byBucket.get(index) ?? []), id]);
}
const inBucket = (index: number, count: number): PeerId[] => {
  const peers = byBucket.get(index) ?? [];
  if (peers.length < count) throw new Error(`test setup: only ${peers.length} peers in bucket ${index}`);
  return peers.slice(0, count);
};

function start(options: { config?: Partial<DhtConfig>; timing?: Partial<KBucketTiming> } = {}) {
  const t = startDht({
    self: SELF,
    inspect: true,
    // Lookups never re-sent (retry at the timeout): these tests count the refresh lookups sent.
    config: { k: 2, replication: 2, planIntervalMs: 10_000, lookupTimeoutMs: 5_000, lookupRetryMs: 5_000, pingTimeoutMs: PING_TIMEOUT, ...options.config },
    bucketTiming: { ...TIMING, ...options.timing },
  });
  const table = () => t.state().table;
  return {
    ...t,
    table,
    /** The bucket actor of `index`, if it exists. */
    bucket: (index: number) => t.actor.getSnapshot().children[`bucket-${index}`] as AnyActorRef | undefined,
    bucketIds: () => Object.keys(t.actor.getSnapshot().children).sort(),
    pings: (to: PeerId) => t.sent.filter((s) => s.to === to && s.message.t === 'ping'),
    bucketIdsOfTable: () => table().nonEmptyBuckets().map((index) => `bucket-${index}`).sort(),
  };
}

const stateOf = (ref: AnyActorRef | undefined) => ref?.getSnapshot().value as string | undefined;
const sizeOf = (ref: AnyActorRef | undefined) => (ref?.getSnapshot().context as { size: number } | undefined)?.size;

describe('DHT bucket actors: one per non-empty bucket', () => {
  it('spawns a bucket actor with the first contact, tells it the size, stops it when the bucket empties', () => {
    const n = start();
    const [a, b] = inBucket(0, 2);
    const [c] = inBucket(1, 1);
    expect(n.bucketIds()).toEqual([]);
    n.up(a!);
    expect(n.bucketIds()).toEqual(['bucket-0']);
    expect(sizeOf(n.bucket(0))).toBe(1);
    expect(stateOf(n.bucket(0))).toBe('available');
    n.up(b!);
    n.up(c!);
    expect(n.bucketIds()).toEqual(['bucket-0', 'bucket-1']);
    expect(sizeOf(n.bucket(0))).toBe(2);
    expect(stateOf(n.bucket(0))).toBe('full');
    n.down(a!, true);
    expect(sizeOf(n.bucket(0))).toBe(1);
    n.down(b!, true);
    expect(n.bucketIds()).toEqual(['bucket-1']);
    // The inspection stream names them by stable ids under the DHT's systemId.
    expect([...n.inspection.snapshot().keys()].filter((id) => id.includes('bucket'))).toEqual(['dht/bucket-1']);
  });

  it('the bucket actors follow the table through any sequence of links up and down', () => {
    const peers = [...inBucket(0, 5), ...inBucket(1, 4), ...inBucket(2, 3), ...inBucket(3, 2)];
    const step = fc.record({ peer: fc.integer({ min: 0, max: peers.length - 1 }), failed: fc.boolean(), waitMs: fc.integer({ min: 0, max: 4_000 }) });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const n = start({ config: { k: 3 } });
        for (const { peer: i, failed, waitMs } of steps) {
          const peer = peers[i]!;
          if (n.linked.has(peer)) n.down(peer, failed);
          else n.up(peer);
          n.clock.advance(waitMs);
          expect(n.bucketIds()).toEqual(n.bucketIdsOfTable());
          for (const index of n.table().nonEmptyBuckets()) expect(sizeOf(n.bucket(index))).toBe(n.table().bucket(index).length);
        }
        n.actor.stop();
      }),
      { numRuns: 60 },
    );
  });
});

describe('DHT bucket actors: a newcomer finds the bucket full', () => {
  it('pings a silent least-recently-seen contact over its link, then evicts it and admits the newcomer from the cache', () => {
    const n = start();
    const [old, mid, newcomer] = inBucket(0, 3);
    n.up(old!);
    n.clock.advance(1_000);
    n.up(mid!);
    n.clock.advance(1_000);
    n.up(newcomer!);
    expect(n.table().replacements(0).map((c) => c.id)).toEqual([newcomer]);
    expect(stateOf(n.bucket(0))).toBe('checkingLiveness');
    expect(n.pings(old!)).toHaveLength(1);
    expect(n.pings(mid!)).toHaveLength(0);
    n.clock.advance(PING_TIMEOUT - 1);
    expect(n.table().bucket(0).map((c) => c.id)).toEqual([old, mid]);
    n.clock.advance(1);
    expect(n.table().bucket(0).map((c) => c.id)).toEqual([mid, newcomer]);
    expect(n.table().replacements(0)).toEqual([]);
    expect(stateOf(n.bucket(0))).toBe('full');
  });

  it('keeps a least-recently-seen contact that answers; the newcomer waits in the cache', () => {
    const n = start();
    const [old, mid, newcomer] = inBucket(0, 3);
    n.up(old!);
    n.clock.advance(1_000);
    n.up(mid!);
    n.clock.advance(1_000);
    n.up(newcomer!);
    const [ping] = n.pings(old!);
    n.clock.advance(500);
    // A pong with the wrong nonce, or from someone else, is no answer.
    const nonce = (ping!.message as { nonce: number }).nonce;
    n.actor.send({ type: 'dht.message', from: old!, message: { t: 'pong', nonce: nonce + 1 } });
    n.actor.send({ type: 'dht.message', from: mid!, message: { t: 'pong', nonce } });
    expect(stateOf(n.bucket(0))).toBe('checkingLiveness');
    n.actor.send({ type: 'dht.message', from: old!, message: { t: 'pong', nonce } });
    expect(stateOf(n.bucket(0))).toBe('full');
    // The answer refreshed it: now the bucket's freshest contact.
    expect(n.table().bucket(0).map((c) => c.id)).toEqual([mid, old]);
    expect(n.table().get(old!)?.lastSeen).toBe(2_500);
    n.clock.advance(PING_TIMEOUT * 3);
    expect(n.table().bucket(0).map((c) => c.id)).toEqual([mid, old]);
    expect(n.table().replacements(0).map((c) => c.id)).toEqual([newcomer]);
  });

  it('an unlinked least-recently-seen contact cannot be pinged: it loses its place to the linked newcomer at once', () => {
    const n = start();
    const [old, mid, newcomer] = inBucket(0, 3);
    n.up(old!);
    n.clock.advance(1_000);
    n.up(mid!);
    // A graceful close keeps the contact in the table, unlinked.
    n.down(old!, false);
    n.down(mid!, false);
    n.clock.advance(1_000);
    n.up(newcomer!);
    expect(n.pings(old!)).toEqual([]);
    expect(n.table().bucket(0).map((c) => c.id)).toEqual([mid, newcomer]);
    expect(stateOf(n.bucket(0))).toBe('full');
  });

  it('a suspect whose link fails during the check is replaced without waiting for the timeout', () => {
    const n = start();
    const [old, mid, newcomer] = inBucket(0, 3);
    n.up(old!);
    n.clock.advance(1_000);
    n.up(mid!);
    n.clock.advance(1_000);
    n.up(newcomer!);
    expect(stateOf(n.bucket(0))).toBe('checkingLiveness');
    n.down(old!, true);
    expect(stateOf(n.bucket(0))).toBe('full');
    expect(n.table().bucket(0).map((c) => c.id)).toEqual([mid, newcomer]);
  });
});

describe('DHT bucket actors: refresh when idle', () => {
  it('an idle bucket looks up a random id in its range through the lookup path, and settles when it is answered', () => {
    const n = start({ config: { k: 3 } });
    const peers = inBucket(0, 2);
    for (const peer of peers) n.up(peer);
    const lookupsIn = (index: number) =>
      n.sent.filter((s) => s.message.t === 'lookup' && cpl(SELF_POSITION, (s.message as { target: string }).target) === index);
    n.clock.advance(60_000 * 0.75 - 1);
    expect(lookupsIn(0)).toEqual([]);
    n.clock.advance(60_000 * 0.5 + 1);
    const [request] = lookupsIn(0);
    expect(request).toBeDefined();
    expect(n.sentAt[n.sent.indexOf(request!)]).toBeGreaterThanOrEqual(45_000);
    expect(stateOf(n.bucket(0))).toBe('refreshing');
    const lookup = request!.message as Extract<DhtMessage, { t: 'lookup' }>;
    const heard = idOf(0xfff1);
    n.actor.send({ type: 'dht.message', from: request!.to, message: { t: 'closest', rid: lookup.rid, target: lookup.target, peers: [heard], path: [SELF] } });
    expect(stateOf(n.bucket(0))).toBe('available');
    // The answer feeds the planner's candidates; it does not enter the table unverified.
    expect(n.actor.getSnapshot().context.state.candidates.has(heard)).toBe(true);
    expect(n.table().has(heard)).toBe(false);
  });

  it('a refresh lookup nobody answers ends with the lookup timeout, and the bucket refreshes again after the next idle period', () => {
    const n = start({ config: { k: 3 } });
    for (const peer of inBucket(0, 2)) n.up(peer);
    const refreshes = () => n.sent.filter((s) => s.message.t === 'lookup').length;
    n.clock.advance(75_000);
    expect(refreshes()).toBe(1);
    expect(stateOf(n.bucket(0))).toBe('refreshing');
    n.clock.advance(5_000);
    expect(stateOf(n.bucket(0))).toBe('available');
    n.clock.advance(75_000);
    expect(refreshes()).toBe(2);
  });

  it('a lookup through a bucket range restarts that bucket idle timer', () => {
    const n = start({ config: { k: 3 } });
    for (const peer of inBucket(0, 2)) n.up(peer);
    const target = contactOf(inBucket(0, 3)[2]!).position;
    for (let i = 0; i < 10; i += 1) {
      n.clock.advance(30_000);
      n.actor.send({ type: 'lookup', rid: i, target, count: 2 });
    }
    const lookups = n.sent.filter((s) => s.message.t === 'lookup');
    // Only the ten lookups asked for: none of them a refresh.
    expect(lookups).toHaveLength(10);
    expect(lookups.every((s) => (s.message as { target: string }).target === target)).toBe(true);
  });
});
