import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { IdsByPosition } from '../../src/signaling/ids-by-position.js';
import { compareClockwise, positionHex, type Position } from '../../src/actors/ring/id-space.js';
import type { PeerId } from '../../src/identity/peer-id.js';

const id = (n: number) => n.toString(16).padStart(64, '0') as PeerId;

/** The reference: every id sorted by how far counter-clockwise it lies from `position`. */
function byDistanceBefore(ids: PeerId[], position: Position): PeerId[] {
  // Clockwise from `position`, the farthest comes last; counter-clockwise is the reverse, except
  // that an id at `position` itself is the farthest before it.
  const clockwise = [...ids].sort((a, b) => compareClockwise(position, positionHex(a), positionHex(b)));
  const atPosition = clockwise.filter((peer) => positionHex(peer) === position);
  return [...clockwise.filter((peer) => positionHex(peer) !== position).reverse(), ...atPosition];
}

describe('IdsByPosition: ids in ring order', () => {
  it('names the ids nearest before a position, nearest first, wrapping past zero, as a full sort would', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 5_000 }), { minLength: 0, maxLength: 60 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 59 }), { maxLength: 20 }),
        fc.integer({ min: 1, max: 5_000 }),
        fc.integer({ min: 0, max: 70 }),
        (numbers, removals, asker, k) => {
          const index = new IdsByPosition();
          const ids = numbers.map(id);
          for (const peer of ids) index.add(peer);
          for (const peer of ids) index.add(peer); // idempotent
          const removed = new Set(removals.filter((i) => i < ids.length).map((i) => ids[i]!));
          for (const peer of removed) expect(index.delete(peer)).toBe(true);
          for (const peer of removed) expect(index.delete(peer)).toBe(false);
          const left = ids.filter((peer) => !removed.has(peer));
          expect(index.size).toBe(left.length);
          for (const peer of ids) expect(index.has(peer)).toBe(!removed.has(peer));
          const position = positionHex(id(asker));
          const expected = byDistanceBefore(left, position).filter((peer) => peer !== id(asker)).slice(0, k);
          expect(index.nearestBefore(position, k, (peer) => peer !== id(asker), Infinity)).toEqual(expected);
          // Unfiltered, an id at the position itself is the farthest before it: last of all.
          if (index.has(id(asker))) expect(index.nearestBefore(position, left.length, undefined, Infinity).at(-1)).toBe(id(asker));
        },
      ),
    );
  });

  it('skips what the filter refuses and looks at no more than maxScanned entries', () => {
    const index = new IdsByPosition();
    const ids = Array.from({ length: 100 }, (_, i) => id(i + 1));
    for (const peer of ids) index.add(peer);
    const position = positionHex(id(500));
    const everyOther = new Set(byDistanceBefore(ids, position).filter((_, i) => i % 2 === 1));
    const seen: PeerId[] = [];
    const picked = index.nearestBefore(position, 3, (peer) => (seen.push(peer), everyOther.has(peer)), 10);
    expect(picked).toEqual(byDistanceBefore(ids, position).filter((peer) => everyOther.has(peer)).slice(0, 3));
    expect(seen).toHaveLength(6);
    // Refusing everything stops after maxScanned, not after the whole index.
    seen.length = 0;
    expect(index.nearestBefore(position, 3, (peer) => (seen.push(peer), false), 10)).toEqual([]);
    expect(seen).toHaveLength(10);
  });
});
