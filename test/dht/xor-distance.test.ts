import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  bucketIndex,
  closest,
  commonPrefixLength,
  compareDistance,
  randomPositionInBucket,
  sortByDistance,
  xorDistance,
} from '../../src/actors/dht/xor-distance.js';
import type { Position } from '../../src/actors/ring/id-space.js';
import { createSeededRandom } from '../../sim/seeded-random.js';
import { clusterArb, cpl, nearArb, positionArb, referenceSort, toBig, toPos, xor } from './arbitraries.js';

const pairArb = positionArb.chain((a) => fc.tuple(fc.constant(a), fc.oneof(nearArb(a), positionArb)));

describe('xorDistance', () => {
  it('is a XOR b, as 64 hex whose string order is numeric order', () => {
    fc.assert(
      fc.property(pairArb, positionArb, ([a, b], c) => {
        expect(toBig(xorDistance(a, b))).toBe(xor(a, b));
        expect(xorDistance(a, b)).toMatch(/^[0-9a-f]{64}$/);
        const ab = xorDistance(a, b);
        const ac = xorDistance(a, c);
        expect(ab < ac).toBe(xor(a, b) < xor(a, c));
      }),
      { numRuns: 500 },
    );
  });
});

describe('compareDistance', () => {
  it('has the sign of d(target, a) - d(target, b)', () => {
    fc.assert(
      fc.property(positionArb.chain((t) => fc.tuple(fc.constant(t), nearArb(t), fc.oneof(nearArb(t), positionArb))), ([t, a, b]) => {
        const expected = xor(t, a) < xor(t, b) ? -1 : xor(t, a) > xor(t, b) ? 1 : 0;
        expect(Math.sign(compareDistance(t, a, b))).toBe(expected);
        expect(Math.sign(compareDistance(t, b, a))).toBe(expected === 0 ? 0 : -expected);
      }),
      { numRuns: 1_000 },
    );
  });

  it('decides on the first differing nibble, not on string order of the candidates', () => {
    const t = toPos(0xfn << 252n); // f000…
    const a = toPos(0xen << 252n); // e000…: distance 1000… (bit 3 of the first nibble)
    const b = toPos(0x1n << 252n); // 1000…: distance e000…
    expect(compareDistance(t, a, b)).toBeLessThan(0);
    expect(compareDistance(t, a, a)).toBe(0);
  });
});

describe('commonPrefixLength / bucketIndex', () => {
  it('equals 256 minus the bit length of a XOR b', () => {
    fc.assert(
      fc.property(pairArb, ([a, b]) => {
        expect(commonPrefixLength(a, b)).toBe(cpl(a, b));
        expect(bucketIndex(a, b)).toBe(cpl(a, b));
      }),
      { numRuns: 1_000 },
    );
  });

  it('is 256 for equal positions, 0 when the top bit differs and 255 when only the last does', () => {
    const zero = toPos(0n);
    expect(commonPrefixLength(zero, zero)).toBe(256);
    expect(commonPrefixLength(zero, toPos(1n << 255n))).toBe(0);
    expect(commonPrefixLength(zero, toPos(1n))).toBe(255);
    expect(commonPrefixLength(zero, toPos(0x10n))).toBe(251);
  });
});

describe('sortByDistance and closest', () => {
  it('sortByDistance equals the brute-force bigint sort', () => {
    fc.assert(
      fc.property(clusterArb(0, 40), ({ target, positions }) => {
        expect(sortByDistance(target, positions)).toEqual(referenceSort(target, positions, (p) => p));
      }),
      { numRuns: 300 },
    );
  });

  it('closest(count) equals the first count of the brute-force sort, for any count', () => {
    fc.assert(
      fc.property(clusterArb(0, 60), fc.integer({ min: -1, max: 70 }), ({ target, positions }, count) => {
        const expected = referenceSort(target, positions, (p) => p).slice(0, Math.max(0, count));
        expect(closest(target, positions, count)).toEqual(expected);
      }),
      { numRuns: 500 },
    );
  });

  it('sorts arbitrary items through a position key, keeping equal positions in input order', () => {
    fc.assert(
      fc.property(clusterArb(1, 30), fc.integer({ min: 1, max: 10 }), ({ target, positions }, count) => {
        const items = [...positions, ...positions].map((position, i) => ({ position, i }));
        const expected = referenceSort(target, items, (x) => x.position);
        expect(sortByDistance(target, items, (x) => x.position)).toEqual(expected);
        expect(closest(target, items, count, (x) => x.position)).toEqual(expected.slice(0, count));
      }),
      { numRuns: 200 },
    );
  });
});

describe('randomPositionInBucket', () => {
  it('lands in the asked bucket of self, for every index', () => {
    const random = createSeededRandom(7);
    fc.assert(
      fc.property(positionArb, fc.integer({ min: 0, max: 255 }), (self, index) => {
        const p = randomPositionInBucket(self, index, random);
        expect(p).toMatch(/^[0-9a-f]{64}$/);
        expect(cpl(self, p)).toBe(index);
      }),
      { numRuns: 2_000 },
    );
  });

  it('varies the bits after the bucket prefix', () => {
    const random = createSeededRandom(8);
    const self = toPos(0n);
    const seen = new Set<Position>();
    for (let i = 0; i < 64; i += 1) seen.add(randomPositionInBucket(self, 250, random));
    // 5 free bits below bit 250: 32 values, 64 draws see most of them.
    expect(seen.size).toBeGreaterThan(16);
    for (const p of seen) expect(toBig(p) >> 5n).toBe(1n);
  });

  it('refuses an index outside 0..255', () => {
    const random = createSeededRandom(9);
    for (const index of [-1, 256, 1.5, Number.NaN]) {
      expect(() => randomPositionInBucket(toPos(0n), index, random)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }) as Error,
      );
    }
  });
});
