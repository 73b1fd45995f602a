import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { RoutingTable, type TableContact } from '../../src/actors/dht/routing-table.js';
import { randomPositionInBucket } from '../../src/actors/dht/xor-distance.js';
import type { Contact } from '../../src/actors/ring/contact.js';
import type { PeerId } from '../../src/identity/peer-id.js';
import type { Position } from '../../src/actors/ring/id-space.js';
import { createSeededRandom } from '../../sim/seeded-random.js';
import { cpl, idOf, positionArb, referenceSort, syntheticContact, toPos } from './arbitraries.js';

const SELF = toPos(0n);

/** Contacts `first..first+n-1`, all in bucket `index` of SELF. */
function inBucket(index: number, n: number, first: number, seed = index * 1_000 + first): Contact[] {
  const random = createSeededRandom(seed);
  return Array.from({ length: n }, (_, i) => syntheticContact(idOf(first + i), randomPositionInBucket(SELF, index, random)));
}

const ids = (list: readonly { id: PeerId }[]): PeerId[] => list.map((c) => c.id);
const verified = { verified: true } as const;

describe('RoutingTable.observe', () => {
  it('adds verified contacts to the bucket of their common prefix with self, then moves a re-seen one to the tail', () => {
    const table = new RoutingTable(SELF, 0, { k: 3 });
    const [a, b, c] = inBucket(0, 3, 1);
    const [d] = inBucket(5, 1, 10);
    expect(table.observe(a!, 1, verified)).toEqual({ kind: 'added', bucket: 0 });
    expect(table.observe(b!, 2, verified)).toEqual({ kind: 'added', bucket: 0 });
    expect(table.observe(d!, 3, verified)).toEqual({ kind: 'added', bucket: 5 });
    expect(table.observe(a!, 4, verified)).toEqual({ kind: 'updated', bucket: 0 });
    expect(table.observe(c!, 5, verified)).toEqual({ kind: 'added', bucket: 0 });
    expect(ids(table.bucket(0))).toEqual([b!.id, a!.id, c!.id]);
    expect(table.get(a!.id)?.lastSeen).toBe(4);
    expect(table.get(a!.id)?.addedAt).toBe(1);
    expect(table.size).toBe(4);
    expect(table.nonEmptyBuckets()).toEqual([0, 5]);
    expect(ids(table.contacts())).toEqual([b!.id, a!.id, c!.id, d!.id]);
  });

  it('refuses self and unverified contacts, and an unverified sighting does not refresh a known one', () => {
    const table = new RoutingTable(SELF, 0, { k: 3 });
    const [a, b] = inBucket(1, 2, 1);
    expect(table.observe(syntheticContact(idOf(99), SELF), 1, verified)).toEqual({ kind: 'rejected', reason: 'self' });
    expect(table.observe(a!, 1, { verified: false })).toEqual({ kind: 'rejected', reason: 'unverified' });
    expect(table.has(a!.id)).toBe(false);
    table.observe(a!, 2, verified);
    table.observe(b!, 3, verified);
    const version = table.version;
    expect(table.observe(a!, 9, { verified: false })).toEqual({ kind: 'rejected', reason: 'unverified' });
    expect(ids(table.bucket(1))).toEqual([a!.id, b!.id]);
    expect(table.get(a!.id)?.lastSeen).toBe(2);
    expect(table.version).toBe(version);
  });

  it('reports a full bucket with its least-recently-seen contact and keeps the newcomer as a replacement', () => {
    const table = new RoutingTable(SELF, 0, { k: 2, replacementCacheSize: 2 });
    const [a, b, c, d, e] = inBucket(0, 5, 1);
    table.observe(a!, 1, verified);
    table.observe(b!, 2, verified);
    const full = table.observe(c!, 3, verified);
    expect(full.kind).toBe('full');
    expect(full.kind === 'full' && full.leastRecentlySeen.id).toBe(a!.id);
    expect(table.has(c!.id)).toBe(false);
    expect(ids(table.replacements(0))).toEqual([c!.id]);
    // The cache is bounded: the least recently seen waiting entry goes first.
    table.observe(d!, 4, verified);
    table.observe(e!, 5, verified);
    expect(ids(table.replacements(0))).toEqual([d!.id, e!.id]);
    // A waiting contact seen again stays waiting, now the freshest.
    const again = table.observe(d!, 6, verified);
    expect(again.kind).toBe('full');
    expect(ids(table.replacements(0))).toEqual([e!.id, d!.id]);
    expect(table.size).toBe(2);
  });
});

describe('RoutingTable.evict and markFailed', () => {
  it('evicting a bucket contact promotes the freshest replacement; evicting a waiting one just drops it', () => {
    const table = new RoutingTable(SELF, 0, { k: 2 });
    const [a, b, c, d] = inBucket(2, 4, 1);
    for (const [i, contact] of [a, b, c, d].entries()) table.observe(contact!, i + 1, verified);
    const result = table.evict(a!.id);
    expect(result.evicted?.id).toBe(a!.id);
    expect(result.promoted?.id).toBe(d!.id);
    expect(ids(table.bucket(2))).toEqual([b!.id, d!.id]);
    expect(ids(table.replacements(2))).toEqual([c!.id]);
    expect(table.evict(c!.id)).toEqual({ evicted: expect.objectContaining({ id: c!.id }) as TableContact, promoted: undefined });
    expect(table.evict(c!.id)).toEqual({ evicted: undefined, promoted: undefined });
    expect(table.evict(b!.id).promoted).toBeUndefined();
    expect(ids(table.bucket(2))).toEqual([d!.id]);
    expect(table.size).toBe(1);
  });

  it('counts failures and evicts at the threshold; a verified sighting resets the count', () => {
    const table = new RoutingTable(SELF, 0, { k: 2, failureThreshold: 3 });
    const [a, b, c] = inBucket(0, 3, 1);
    table.observe(a!, 1, verified);
    table.observe(b!, 2, verified);
    table.observe(c!, 3, verified);
    expect(table.markFailed(a!.id)).toEqual({ kind: 'counted', failures: 1 });
    expect(table.markFailed(a!.id)).toEqual({ kind: 'counted', failures: 2 });
    table.observe(a!, 4, verified);
    expect(table.get(a!.id)?.failures).toBe(0);
    expect(table.markFailed(a!.id)).toEqual({ kind: 'counted', failures: 1 });
    table.markFailed(a!.id);
    const third = table.markFailed(a!.id);
    expect(third.kind).toBe('evicted');
    expect(third.kind === 'evicted' && third.promoted?.id).toBe(c!.id);
    expect(table.has(a!.id)).toBe(false);
    expect(table.markFailed(a!.id)).toEqual({ kind: 'unknown' });
  });
});

describe('RoutingTable Sybil hygiene: introducer cap', () => {
  it('lets one introducer place at most maxPerIntroducer contacts in a bucket, replacement cache included', () => {
    const table = new RoutingTable(SELF, 0, { k: 3, maxPerIntroducer: 2 });
    const mallory = idOf(0xbad);
    const sybils = inBucket(0, 6, 100);
    const honest = inBucket(0, 2, 200);
    expect(table.observe(sybils[0]!, 1, { verified: true, introducer: mallory }).kind).toBe('added');
    expect(table.observe(sybils[1]!, 2, { verified: true, introducer: mallory }).kind).toBe('added');
    expect(table.observe(sybils[2]!, 3, { verified: true, introducer: mallory })).toEqual({ kind: 'rejected', reason: 'introducer-cap' });
    // Other buckets have their own allowance.
    const elsewhere = inBucket(1, 1, 300)[0]!;
    expect(table.observe(elsewhere, 4, { verified: true, introducer: mallory }).kind).toBe('added');
    // Contacts that reached us themselves count against nobody's cap.
    table.observe(honest[0]!, 5, verified);
    expect(table.observe(honest[1]!, 6, verified).kind).toBe('full');
    // Mallory's cap covers the replacement cache too.
    expect(table.observe(sybils[3]!, 7, { verified: true, introducer: mallory })).toEqual({ kind: 'rejected', reason: 'introducer-cap' });
    expect(table.get(sybils[0]!.id)?.introducer).toBe(mallory);
    expect(table.get(honest[0]!.id)?.introducer).toBe(honest[0]!.id);
    // Once one of Mallory's contacts is gone, she may introduce another.
    table.evict(sybils[0]!.id);
    expect(table.observe(sybils[4]!, 8, { verified: true, introducer: mallory }).kind).not.toBe('rejected');
  });
});

describe('RoutingTable.closest and refresh bookkeeping', () => {
  it('closest(target, n) equals the brute-force sort of the bucket contacts', () => {
    fc.assert(
      fc.property(positionArb, fc.array(positionArb, { maxLength: 80 }), positionArb, fc.integer({ min: 0, max: 30 }), (self, positions, target, n) => {
        const table = new RoutingTable(self, 0, { k: 4 });
        positions.forEach((p, i) => table.observe(syntheticContact(idOf(i + 1), p), i, verified));
        const all = table.contacts();
        expect(ids(table.closest(target, n))).toEqual(ids(referenceSort(target, all, (c) => c.position).slice(0, n)));
      }),
      { numRuns: 200 },
    );
  });

  it('bucketsNeedingRefresh lists untouched buckets from 0 to the deepest non-empty one', () => {
    const table = new RoutingTable(SELF, 1_000, { k: 3 });
    expect(table.bucketsNeedingRefresh(10_000_000, 60_000)).toEqual([]);
    table.observe(inBucket(3, 1, 1)[0]!, 50_000, verified);
    expect(table.bucketsNeedingRefresh(60_999, 60_000)).toEqual([]);
    expect(table.bucketsNeedingRefresh(61_000, 60_000)).toEqual([0, 1, 2]);
    table.touch(1, 70_000);
    expect(table.bucketsNeedingRefresh(110_000, 60_000)).toEqual([0, 2, 3]);
    expect(table.bucketsNeedingRefresh(130_000, 60_000)).toEqual([0, 1, 2, 3]);
  });

  it('validates its configuration', () => {
    for (const bad of [{ k: 0 }, { k: 1.5 }, { maxPerIntroducer: 0 }, { failureThreshold: 0 }, { replacementCacheSize: -1 }]) {
      expect(() => new RoutingTable(SELF, 0, bad)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }) as Error);
    }
  });

  it('toJSON is plain data for inspection', () => {
    const table = new RoutingTable(SELF, 0, { k: 1 });
    const [a, b] = inBucket(0, 2, 1);
    table.observe(a!, 1, verified);
    table.observe(b!, 2, verified);
    const json = JSON.parse(JSON.stringify(table)) as ReturnType<RoutingTable['toJSON']>;
    expect(json.buckets).toEqual([
      {
        index: 0,
        contacts: [{ id: a!.id, position: a!.position, introducer: a!.id, addedAt: 1, lastSeen: 1, failures: 0 }],
        replacements: [{ id: b!.id, position: b!.position, introducer: b!.id, addedAt: 2, lastSeen: 2, failures: 0 }],
        lastTouched: 1,
      },
    ]);
  });
});

type Op =
  | { op: 'observe'; c: number; verified: boolean; introducer: number; dt: number }
  | { op: 'evict'; c: number }
  | { op: 'fail'; c: number }
  | { op: 'touch'; bucket: number; dt: number };

describe('RoutingTable invariants under random operations', () => {
  const K = 4;
  const CACHE = 3;
  const CAP = 2;
  const THRESHOLD = 2;
  // Contacts crowded into the first buckets so buckets fill, caches overflow and caps bite.
  const poolArb = fc.tuple(positionArb, fc.integer({ min: 0, max: 2 ** 31 })).map(([self, seed]) => {
    const random = createSeededRandom(seed);
    const pool = Array.from({ length: 40 }, (_, i) =>
      syntheticContact(idOf(i + 1), randomPositionInBucket(self, Math.floor(random.float() * 4), random)),
    );
    return { self, pool };
  });
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    { weight: 6, arbitrary: fc.record({ op: fc.constant('observe' as const), c: fc.nat(39), verified: fc.boolean(), introducer: fc.integer({ min: -1, max: 2 }), dt: fc.integer({ min: -2, max: 5 }) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('evict' as const), c: fc.nat(39) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('fail' as const), c: fc.nat(39) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('touch' as const), bucket: fc.nat(5), dt: fc.nat(5) }) },
  );
  const introducers = [idOf(0xa1), idOf(0xa2), idOf(0xa3)];

  it('keeps every bucket ≤ k, caches bounded, caps respected, LRS order, and admits only verified contacts', () => {
    fc.assert(
      fc.property(poolArb, fc.array(opArb, { minLength: 40, maxLength: 200 }), positionArb, ({ self, pool }, ops, target) => {
        const table = new RoutingTable(self, 0, { k: K, replacementCacheSize: CACHE, maxPerIntroducer: CAP, failureThreshold: THRESHOLD });
        const everVerified = new Set<PeerId>();
        let now = 0;
        for (const o of ops) {
          if (o.op === 'observe') {
            // Mostly forward, sometimes a little back: the table must not assume a monotonic caller.
            now = Math.max(0, now + o.dt);
            const contact = pool[o.c]!;
            const before = { present: table.has(contact.id), version: table.version };
            const introducer = o.introducer < 0 ? undefined : introducers[o.introducer];
            const result = table.observe(contact, now, { verified: o.verified, introducer });
            if (o.verified) everVerified.add(contact.id);
            if (!o.verified) {
              expect(result).toEqual({ kind: 'rejected', reason: 'unverified' });
              expect(table.has(contact.id)).toBe(before.present);
              expect(table.version).toBe(before.version);
            }
            if (result.kind === 'added' || result.kind === 'updated') {
              expect(table.has(contact.id)).toBe(true);
              // Most recently seen: behind every contact not seen later (the tail when time only moves forward).
              const bucket = table.bucket(result.bucket);
              const at = bucket.findIndex((c) => c.id === contact.id);
              expect(bucket.slice(at + 1).every((c) => c.lastSeen > bucket[at]!.lastSeen)).toBe(true);
            }
            if (result.kind === 'full') {
              expect(table.bucket(result.bucket)).toHaveLength(K);
              expect(result.leastRecentlySeen).toBe(table.bucket(result.bucket)[0]);
            }
          } else if (o.op === 'evict') {
            const contact = pool[o.c]!;
            const index = cpl(self, contact.position);
            const freshest = table.has(contact.id) ? table.replacements(index).at(-1) : undefined;
            const result = table.evict(contact.id);
            expect(table.has(contact.id)).toBe(false);
            expect(table.replacements(index).some((c) => c.id === contact.id)).toBe(false);
            expect(result.promoted?.id).toBe(freshest?.id);
          } else if (o.op === 'fail') {
            const result = table.markFailed(pool[o.c]!.id);
            if (result.kind === 'counted') expect(result.failures).toBeLessThan(THRESHOLD);
            if (result.kind === 'evicted') expect(table.has(pool[o.c]!.id)).toBe(false);
          } else {
            now += o.dt;
            table.touch(o.bucket, now);
          }
          checkInvariants(table, self, everVerified);
        }
        expect(ids(table.closest(target, 7))).toEqual(ids(referenceSort(target, table.contacts(), (c) => c.position).slice(0, 7)));
      }),
      { numRuns: 150 },
    );
  });

  /** Plain throws, not expect(): this runs after every operation and expect() is slow in bulk. */
  function checkInvariants(table: RoutingTable, self: Position, everVerified: ReadonlySet<PeerId>): void {
    const fail = (message: string): never => {
      throw new Error(message);
    };
    const seen = new Set<PeerId>();
    let total = 0;
    for (let index = 0; index < 256; index += 1) {
      const bucket = table.bucket(index);
      const cache = table.replacements(index);
      if (bucket.length === 0 && cache.length === 0) continue;
      if (bucket.length > K) fail(`bucket ${index} holds ${bucket.length} > k`);
      if (cache.length > CACHE) fail(`cache ${index} holds ${cache.length} > ${CACHE}`);
      if (cache.length > 0 && bucket.length !== K) fail(`cache ${index} waits while its bucket has room`);
      total += bucket.length;
      const perIntroducer = new Map<PeerId, number>();
      for (const list of [bucket, cache]) {
        for (let i = 0; i < list.length; i += 1) {
          const c = list[i]!;
          if (cpl(self, c.position) !== index) fail(`${c.id} in bucket ${index}, belongs in ${cpl(self, c.position)}`);
          if (seen.has(c.id)) fail(`${c.id} held twice`);
          seen.add(c.id);
          if (!everVerified.has(c.id)) fail(`${c.id} admitted without verification`);
          if (i > 0 && list[i - 1]!.lastSeen > c.lastSeen) fail(`bucket ${index} out of least-recently-seen order`);
          if (c.introducer !== c.id) perIntroducer.set(c.introducer, (perIntroducer.get(c.introducer) ?? 0) + 1);
        }
      }
      for (const [introducer, n] of perIntroducer) if (n > CAP) fail(`${introducer} placed ${n} > ${CAP} in bucket ${index}`);
    }
    if (table.size !== total) fail(`size ${table.size} != ${total}`);
    if (table.contacts().length !== total) fail('contacts() disagrees with the buckets');
  }
});
