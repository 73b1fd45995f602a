import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { randomInt } from 'node:crypto';
import { pickRandom } from '../../src/signaling/sample.js';
import { addStrike, createBucket, take } from '../../src/signaling/token-bucket.js';
import { backoffDelay } from '../../src/signaling/backoff.js';
import { Registry } from '../../src/signaling/registry.js';
import type { PeerId } from '../../src/identity/peer-id.js';

describe('pickRandom', () => {
  it('returns min(k, others) distinct members of the pool, never the excluded one', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer(), { maxLength: 60 }), fc.nat(80), fc.option(fc.integer(), { nil: undefined }), (pool, k, exclude) => {
        const picked = pickRandom(pool, k, exclude, (max) => randomInt(max));
        const others = pool.filter((x) => x !== exclude);
        expect(picked).toHaveLength(Math.min(k, others.length));
        expect(new Set(picked).size).toBe(picked.length);
        for (const x of picked) expect(others).toContain(x);
      }),
    );
  });

  it('is roughly uniform (each of 20 items picked ~k/20 of the time)', () => {
    const pool = Array.from({ length: 20 }, (_, i) => i);
    const counts = new Array<number>(20).fill(0);
    const rounds = 4_000;
    for (let r = 0; r < rounds; r++) for (const x of pickRandom(pool, 3, 0, (max) => randomInt(max))) counts[x]!++;
    expect(counts[0]).toBe(0);
    const expected = (rounds * 3) / 19;
    for (const c of counts.slice(1)) expect(Math.abs(c - expected)).toBeLessThan(expected * 0.25);
  });

  it('still terminates with a degenerate random source', () => {
    const pool = Array.from({ length: 100 }, (_, i) => i);
    expect(pickRandom(pool, 10, undefined, () => 0)).toHaveLength(10);
  });
});

describe('token bucket and strikes', () => {
  it('allows the burst at once, then perSecond', () => {
    const limit = { perSecond: 10, burst: 5 };
    const bucket = createBucket(limit, 0);
    const first = Array.from({ length: 8 }, () => take(bucket, limit, 0)).filter(Boolean).length;
    expect(first).toBe(5);
    expect(take(bucket, limit, 50)).toBe(false);
    expect(take(bucket, limit, 100)).toBe(true);
    expect(take(bucket, limit, 100)).toBe(false);
    // Idle time refills up to the burst, no further.
    const later = Array.from({ length: 10 }, () => take(bucket, limit, 60_000)).filter(Boolean).length;
    expect(later).toBe(5);
  });

  it('never lets through more than burst + rate × time', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(100), { maxLength: 300 }), fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: 20 }), (gaps, perSecond, burst) => {
        const limit = { perSecond, burst };
        const bucket = createBucket(limit, 0);
        let now = 0;
        let passed = 0;
        for (const gap of gaps) {
          now += gap;
          if (take(bucket, limit, now)) passed++;
        }
        expect(passed).toBeLessThanOrEqual(burst + Math.floor((now * perSecond) / 1000));
      }),
    );
  });

  it('strikes add up in a burst and leak away one per decay period', () => {
    const strikes = { count: 0, updatedAt: 0 };
    for (let i = 1; i <= 10; i++) expect(addStrike(strikes, 1_000, i)).toBe(i);
    expect(addStrike(strikes, 1_000, 10 + 3_500)).toBe(8);
    expect(addStrike(strikes, 1_000, 1_000_000)).toBe(1);
  });
});

describe('backoff', () => {
  it('grows by the factor up to the cap, with jitter only ever shortening it', () => {
    const options = { initialMs: 100, maxMs: 1_000, factor: 2, jitter: 0.5 };
    const none = { bytes: () => new Uint8Array(), float: () => 0 };
    const most = { bytes: () => new Uint8Array(), float: () => 0.999 };
    expect([0, 1, 2, 3, 4, 10, 1_000].map((a) => backoffDelay(a, options, none))).toEqual([100, 200, 400, 800, 1_000, 1_000, 1_000]);
    expect(backoffDelay(2, options, most)).toBe(200);
    fc.assert(
      fc.property(fc.nat(100), fc.double({ min: 0, max: 0.9999, noNaN: true }), (attempt, f) => {
        const d = backoffDelay(attempt, options, { bytes: () => new Uint8Array(), float: () => f });
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThanOrEqual(1_000);
      }),
    );
  });
});

describe('registry', () => {
  it('keeps ids and lookups consistent through any sequence of sets and deletes', () => {
    const id = fc.integer({ min: 0, max: 15 }).map((i) => i.toString(16).padStart(64, '0') as PeerId);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), id), { maxLength: 200 }), (ops) => {
        const registry = new Registry<number>();
        const model = new Map<PeerId, number>();
        ops.forEach(([add, key], i) => {
          if (add) {
            registry.set(key, i);
            model.set(key, i);
          } else {
            expect(registry.delete(key)).toBe(model.delete(key));
          }
        });
        expect(registry.size).toBe(model.size);
        expect([...registry.ids].sort()).toEqual([...model.keys()].sort());
        for (const [key, value] of model) expect(registry.get(key)).toBe(value);
      }),
    );
  });
});
