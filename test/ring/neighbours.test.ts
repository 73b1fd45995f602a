import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { closerPredecessor } from '../../src/actors/ring/predecessor.js';
import { expectedPredecessor, expectedResponsible, expectedSuccessors } from '../../src/actors/ring/expected-neighbours.js';
import { sortByPosition } from '../../src/actors/ring/contact.js';
import type { Contact } from '../../src/actors/ring/contact.js';
import { closestR, dist, ids, poolArb, positionArb } from './arbitraries.js';

describe('closerPredecessor (Chord notify)', () => {
  it('keeps whichever of the current predecessor and the candidate is closer anticlockwise; never self', () => {
    fc.assert(
      fc.property(poolArb(3, 3), fc.boolean(), fc.boolean(), (pool, hasCurrent, candidateIsSelf) => {
        const [self, a, b] = pool as [Contact, Contact, Contact];
        const current = hasCurrent ? a : undefined;
        const candidate = candidateIsSelf ? self : b;
        const chosen = closerPredecessor(self, current, candidate);
        if (candidateIsSelf) expect(chosen).toBe(current);
        else if (current === undefined) expect(chosen).toBe(candidate);
        else {
          const closer = dist(candidate.position, self.position) < dist(current.position, self.position);
          expect(chosen).toBe(closer ? candidate : current);
        }
      }),
    );
  });

  it('replaces a recorded self-predecessor', () => {
    fc.assert(
      fc.property(poolArb(2, 2), ([self, other]) => {
        expect(closerPredecessor(self!, self!, other!)).toBe(other);
      }),
      { numRuns: 10 },
    );
  });
});

describe('expected neighbours (the global view invariants compare against)', () => {
  const scene = poolArb(1, 40).chain((pool) =>
    fc.record({ pool: fc.constant(pool), self: fc.nat({ max: pool.length - 1 }), selfAlive: fc.boolean(), r: fc.integer({ min: 1, max: 10 }) }),
  );

  it('successors are the r nearest clockwise alive nodes, predecessor the nearest anticlockwise', () => {
    fc.assert(
      fc.property(scene, ({ pool, self: index, selfAlive, r }) => {
        const self = pool[index]!;
        const alive = selfAlive ? pool : pool.filter((c) => c !== self);
        const sorted = sortByPosition(alive);
        expect(ids(expectedSuccessors(sorted, self, r))).toEqual(ids(closestR(self, alive, r)));
        const others = alive.filter((c) => c !== self);
        const nearestBefore = others.reduce<Contact | undefined>(
          (best, c) => (best === undefined || dist(c.position, self.position) < dist(best.position, self.position) ? c : best),
          undefined,
        );
        expect(expectedPredecessor(sorted, self)?.id).toBe(nearestBefore?.id);
      }),
      { numRuns: 500 },
    );
  });

  it('the responsible node for a target is the first alive node at or after it', () => {
    fc.assert(
      fc.property(poolArb(0, 30), positionArb, fc.boolean(), (pool, target, hitExactly) => {
        const t = hitExactly && pool.length > 0 ? pool[0]!.position : target;
        const sorted = sortByPosition(pool);
        const best = pool.reduce<Contact | undefined>(
          (acc, c) => (acc === undefined || dist(t, c.position) < dist(t, acc.position) ? c : acc),
          undefined,
        );
        expect(expectedResponsible(sorted, t)?.id).toBe(best?.id);
      }),
      { numRuns: 500 },
    );
  });
});
