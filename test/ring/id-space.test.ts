import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import {
  MAX_POSITION,
  POSITION_CACHE_CAPACITY,
  RING_SIZE,
  ZERO_POSITION,
  between,
  clearPositionCache,
  clockwiseDistance,
  compare,
  compareClockwise,
  isPosition,
  parsePosition,
  positionCacheSize,
  isPositionCached,
  positionFromBigint,
  positionFromBytes,
  positionHex,
  positionToBigint,
  ringAdd,
} from '../../src/actors/ring/id-space.js';
import { contactOf } from '../../src/actors/ring/contact.js';
import type { Position } from '../../src/actors/ring/id-space.js';
import { positionOf } from '../../src/identity/peer-id.js';
import type { PeerId } from '../../src/identity/peer-id.js';
import { isPeerSockError } from '../../src/errors.js';
import { N, dist, positionArb, toBig, toPos, tripleArb } from './arbitraries.js';

/** The interval by distances: x ∈ (a, b) iff 0 < d(a,x) < d(a,b), where d(a,a) counts as a full turn. */
function referenceBetween(x: Position, a: Position, b: Position, inclusiveEnd: boolean): boolean {
  const dx = dist(a, x);
  const db = dist(a, b) === 0n ? N : dist(a, b);
  if (inclusiveEnd && x === b) return true;
  return dx > 0n && dx < db;
}

describe('between', () => {
  it('agrees with a bigint model, open and half-open, wraparound and equal endpoints included', () => {
    fc.assert(
      fc.property(tripleArb, ([x, a, b]) => {
        expect(between(x, a, b)).toBe(referenceBetween(x, a, b, false));
        expect(between(x, a, b, { inclusiveEnd: true })).toBe(referenceBetween(x, a, b, true));
      }),
      { numRuns: 2_000 },
    );
  });

  it('follows the Chord convention when the endpoints meet', () => {
    const a = toPos(5n);
    expect(between(a, a, a)).toBe(false);
    expect(between(toPos(6n), a, a)).toBe(true);
    expect(between(toPos(4n), a, a)).toBe(true);
    expect(between(a, a, a, { inclusiveEnd: true })).toBe(true);
  });

  it('wraps past the top of the ring', () => {
    const a = toPos(N - 10n);
    const b = toPos(10n);
    expect(between(ZERO_POSITION, a, b)).toBe(true);
    expect(between(MAX_POSITION, a, b)).toBe(true);
    expect(between(toPos(10n), a, b)).toBe(false);
    expect(between(toPos(10n), a, b, { inclusiveEnd: true })).toBe(true);
    expect(between(toPos(N / 2n), a, b)).toBe(false);
    expect(between(toPos(N - 10n), a, b, { inclusiveEnd: true })).toBe(false);
  });
});

describe('ordering', () => {
  it('compare agrees with numeric order', () => {
    fc.assert(
      fc.property(positionArb, positionArb, (a, b) => {
        expect(Math.sign(compare(a, b))).toBe(toBig(a) < toBig(b) ? -1 : toBig(a) > toBig(b) ? 1 : 0);
      }),
    );
  });

  it('compareClockwise orders by clockwise distance from the origin', () => {
    fc.assert(
      fc.property(tripleArb, ([origin, a, b]) => {
        const da = dist(origin, a);
        const db = dist(origin, b);
        expect(Math.sign(compareClockwise(origin, a, b))).toBe(da < db ? -1 : da > db ? 1 : 0);
      }),
      { numRuns: 1_000 },
    );
  });
});

describe('clockwiseDistance and ringAdd', () => {
  it('distance matches (b - a) mod 2^256', () => {
    fc.assert(
      fc.property(positionArb, positionArb, (a, b) => {
        expect(clockwiseDistance(a, b)).toBe(dist(a, b));
      }),
    );
  });

  it('round-trip: ringAdd(a, distance(a, b)) = b and distance(a, ringAdd(a, d)) = d mod 2^256', () => {
    fc.assert(
      fc.property(positionArb, positionArb, fc.bigInt({ min: -2n * N, max: 2n * N }), (a, b, d) => {
        expect(ringAdd(a, clockwiseDistance(a, b))).toBe(b);
        expect(clockwiseDistance(a, ringAdd(a, d))).toBe(((d % N) + N) % N);
        const back = clockwiseDistance(a, b) + clockwiseDistance(b, a);
        expect(back === 0n || back === RING_SIZE).toBe(true);
      }),
    );
  });

  it('positions are 64 lowercase hex characters and survive bigint round trips', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -N, max: 2n * N }), (n) => {
        const p = positionFromBigint(n);
        expect(isPosition(p)).toBe(true);
        expect(positionToBigint(p)).toBe(((n % N) + N) % N);
      }),
    );
    expect(ringAdd(MAX_POSITION, 1n)).toBe(ZERO_POSITION);
    expect(ringAdd(ZERO_POSITION, -1n)).toBe(MAX_POSITION);
  });
});

describe('positionHex', () => {
  const idOf = (i: number): PeerId => createHash('sha256').update(`peer ${i}`).digest('hex') as PeerId;

  it('is SHA-256 of the public key, matching positionOf', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (bytes) => {
        const id = Buffer.from(bytes).toString('hex') as PeerId;
        const expected = Buffer.from(positionOf(id)).toString('hex');
        expect(positionHex(id)).toBe(expected);
        expect(positionHex(id)).toBe(expected); // cached answer, same value
        expect(positionFromBytes(positionOf(id))).toBe(expected);
      }),
    );
  });

  it('keeps an id in use across generations', () => {
    clearPositionCache();
    const hot = idOf(0);
    const hotPosition = positionHex(hot);
    const cold = idOf(1);
    positionHex(cold);
    // Many other ids, with the hot one used now and then: it never drops out; the cold one,
    // never used again, does.
    for (let i = 2; i < 3 * POSITION_CACHE_CAPACITY; i += 1) {
      positionHex(idOf(i));
      if (i % 1_000 === 0) {
        expect(isPositionCached(hot)).toBe(true);
        expect(positionHex(hot)).toBe(hotPosition);
      }
    }
    expect(isPositionCached(hot)).toBe(true);
    expect(isPositionCached(cold)).toBe(false);
    expect(positionCacheSize()).toBeLessThanOrEqual(POSITION_CACHE_CAPACITY);
  });

  it('keeps its cache bounded and stays correct after evictions', () => {
    clearPositionCache();
    const first = idOf(0);
    const firstPosition = positionHex(first);
    for (let i = 1; i < POSITION_CACHE_CAPACITY + 100; i += 1) {
      positionHex(idOf(i));
      expect(positionCacheSize()).toBeLessThanOrEqual(POSITION_CACHE_CAPACITY);
    }
    // idOf(0) was evicted long ago; recomputed, it must be the same.
    expect(positionHex(first)).toBe(firstPosition);
    expect(positionCacheSize()).toBeLessThanOrEqual(POSITION_CACHE_CAPACITY);
    clearPositionCache();
    expect(positionCacheSize()).toBe(0);
  });
});

describe('shared contacts', () => {
  const idOf = (i: number): PeerId => createHash('sha256').update(`shared ${i}`).digest('hex') as PeerId;
  it('every contactOf an id is one frozen object with its position, while the id is cached', () => {
    clearPositionCache();
    const id = idOf(7);
    const copy = (' ' + id).slice(1) as PeerId;
    const contact = contactOf(id);
    expect(contactOf(copy)).toBe(contact);
    expect(contact).toEqual({ id, position: positionHex(id) });
    expect(Object.isFrozen(contact)).toBe(true);
    expect(() => {
      (contact as { position: string }).position = '00'.repeat(32);
    }).toThrow(TypeError);
    // Evicted and recomputed: a new object, the same values.
    clearPositionCache();
    const again = contactOf(id);
    expect(again).not.toBe(contact);
    expect(again).toEqual(contact);
  });
});

describe('parsePosition', () => {
  it('normalises case and rejects anything that is not 64 hex characters with INVALID_ARGUMENT', () => {
    expect(parsePosition('AB'.repeat(32))).toBe('ab'.repeat(32));
    for (const bad of ['', 'ab', 'g'.repeat(64), 'a'.repeat(65), 42 as unknown as string]) {
      let caught: unknown;
      try {
        parsePosition(bad);
      } catch (error) {
        caught = error;
      }
      expect(isPeerSockError(caught, 'INVALID_ARGUMENT')).toBe(true);
    }
    expect(() => positionFromBytes(new Uint8Array(31))).toThrow(/32 bytes/);
  });
});
