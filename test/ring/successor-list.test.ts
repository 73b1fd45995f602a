import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  adoptSuccessorsPredecessor,
  mergeCandidates,
  promoteNextSuccessor,
  reconcileSuccessors,
  successorListProblem,
} from '../../src/actors/ring/successor-list.js';
import type { Contact } from '../../src/actors/ring/contact.js';
import { sortByPosition } from '../../src/actors/ring/contact.js';
import { isPeerSockError } from '../../src/errors.js';
import type { PeerId } from '../../src/identity/peer-id.js';
import { assertWellFormed, closestR, dist, ids, listFrom, poolArb } from './arbitraries.js';

/**
 * The reconcile rule restated with bigint distances: keep ours before the reporter, drop ours
 * inside the stretch it reported on unless listed, keep ours beyond it; then the r closest.
 */
function referenceReconcile(
  self: Contact,
  current: readonly Contact[],
  from: Contact,
  list: readonly Contact[],
  r: number,
  alive: (c: Contact) => boolean,
): Contact[] {
  if (from.id === self.id) return closestR(self, current.filter(alive), r);
  const fromToSelf = dist(from.position, self.position);
  let wraps = false;
  let span = 0n;
  for (const e of list) {
    if (e.id === from.id) continue;
    const d = dist(from.position, e.position);
    if (e.id === self.id || d >= fromToSelf) wraps = true;
    else if (d > span) span = d;
  }
  const selfToFrom = dist(self.position, from.position);
  const kept = current.filter((c) => {
    if (c.id === from.id) return false;
    const ds = dist(self.position, c.position);
    if (ds > 0n && ds < selfToFrom) return true;
    const df = dist(from.position, c.position);
    return !(wraps || (span > 0n && df > 0n && df <= span));
  });
  return closestR(self, [...kept, from, ...list].filter(alive), r);
}

/** Scenario: a pool (pool[0] = self), our list, a report, r and a set of dead pool members. */
const scenarioArb = poolArb(2, 24).chain((pool) =>
  fc.record({
    pool: fc.constant(pool),
    current: listFrom(pool, 12),
    from: fc.nat({ max: pool.length - 1 }).map((i) => pool[i]!),
    list: listFrom(pool, 14),
    r: fc.integer({ min: 1, max: 10 }),
    dead: fc.uniqueArray(fc.nat({ max: pool.length - 1 }), { maxLength: pool.length }),
    useAlive: fc.boolean(),
  }),
);

describe('reconcileSuccessors', () => {
  it('always returns at most r distinct live contacts, never self, in clockwise order, drawn from its inputs', () => {
    fc.assert(
      fc.property(scenarioArb, ({ pool, current, from, list, r, dead, useAlive }) => {
        const self = pool[0]!;
        const deadIds = new Set(dead.map((i) => pool[i]!.id));
        const isAlive = useAlive ? (id: PeerId) => !deadIds.has(id) : undefined;
        const out = reconcileSuccessors(self, current, { from, list }, r, isAlive);
        assertWellFormed(self, out, r);
        const inputs = new Set(ids([...current, from, ...list]));
        for (const c of out) {
          expect(inputs.has(c.id)).toBe(true);
          if (useAlive) expect(deadIds.has(c.id)).toBe(false);
        }
        expect(successorListProblem(self, out, r)).toBeUndefined();
      }),
      { numRuns: 1_000 },
    );
  });

  it('matches the bigint reference model of the rule', () => {
    fc.assert(
      fc.property(scenarioArb, ({ pool, current, from, list, r, dead, useAlive }) => {
        const self = pool[0]!;
        const deadIds = new Set(dead.map((i) => pool[i]!.id));
        const out = reconcileSuccessors(self, current, { from, list }, r, useAlive ? (id) => !deadIds.has(id) : undefined);
        const expected = referenceReconcile(self, current, from, list, r, (c) => !useAlive || !deadIds.has(c.id));
        expect(ids(out)).toEqual(ids(expected));
      }),
      { numRuns: 1_000 },
    );
  });

  // A fixed ring for readable examples: self = s[0], the rest clockwise after it.
  const ringArb = poolArb(10, 10).map((pool) => {
    const sorted = sortByPosition(pool);
    const start = sorted.indexOf(pool[0]!);
    return [...sorted.slice(start), ...sorted.slice(0, start)];
  });

  it('takes [successor] + successor’s list, truncated to r (plain Chord)', () => {
    fc.assert(
      fc.property(ringArb, (s) => {
        const out = reconcileSuccessors(s[0]!, [s[1]!], { from: s[1]!, list: [s[2]!, s[3]!, s[4]!, s[5]!] }, 4);
        expect(ids(out)).toEqual(ids([s[1]!, s[2]!, s[3]!, s[4]!]));
      }),
      { numRuns: 20 },
    );
  });

  it('drops a peer the successor no longer lists, and keeps peers beyond what it reported', () => {
    fc.assert(
      fc.property(ringArb, (s) => {
        const current = [s[1]!, s[2]!, s[3]!, s[4]!, s[6]!, s[7]!];
        // s[1] vouches for (s1, s4]: s2 is gone from its list; s6 and s7 lie beyond its stretch.
        const out = reconcileSuccessors(s[0]!, current, { from: s[1]!, list: [s[3]!, s[4]!] }, 8);
        expect(ids(out)).toEqual(ids([s[1]!, s[3]!, s[4]!, s[6]!, s[7]!]));
      }),
      { numRuns: 20 },
    );
  });

  it('does not let a successor with an empty list wipe the backups', () => {
    fc.assert(
      fc.property(ringArb, (s) => {
        const current = [s[1]!, s[2]!, s[3]!];
        expect(ids(reconcileSuccessors(s[0]!, current, { from: s[1]!, list: [] }, 8))).toEqual(ids(current));
      }),
      { numRuns: 20 },
    );
  });

  it('keeps the closer entries when a later successor reports, and ignores a report claiming to be from self', () => {
    fc.assert(
      fc.property(ringArb, (s) => {
        const current = [s[1]!, s[2]!, s[3]!, s[4]!];
        const out = reconcileSuccessors(s[0]!, current, { from: s[3]!, list: [s[5]!] }, 8);
        expect(ids(out)).toEqual(ids([s[1]!, s[2]!, s[3]!, s[5]!]));
        const fake = reconcileSuccessors(s[0]!, current, { from: s[0]!, list: [s[9]!] }, 8);
        expect(ids(fake)).toEqual(ids(current));
      }),
      { numRuns: 20 },
    );
  });

  it('in a small ring a wrapped list vouches for everything and yields every other node', () => {
    fc.assert(
      fc.property(ringArb, (s) => {
        const [a, b, c] = [s[0]!, s[4]!, s[8]!];
        // Ring of three: a's successor b lists c and then a itself.
        const stale = s[6]!; // in (b, a) but not listed by b: dropped
        const out = reconcileSuccessors(a, [b, stale], { from: b, list: [c, a] }, 8);
        expect(ids(out)).toEqual(ids([b, c]));
      }),
      { numRuns: 20 },
    );
  });

  it('rejects a non-positive or fractional r with INVALID_ARGUMENT', () => {
    fc.assert(
      fc.property(ringArb, fc.oneof(fc.integer({ max: 0 }), fc.double({ noInteger: true })), (s, r) => {
        let caught: unknown;
        try {
          reconcileSuccessors(s[0]!, [], { from: s[1]!, list: [] }, r);
        } catch (error) {
          caught = error;
        }
        expect(isPeerSockError(caught, 'INVALID_ARGUMENT')).toBe(true);
      }),
      { numRuns: 20 },
    );
  });
});

describe('mergeCandidates', () => {
  it('is exactly the r closest live contacts clockwise from self among all lists', () => {
    fc.assert(
      fc.property(
        poolArb(1, 30).chain((pool) =>
          fc.tuple(
            fc.constant(pool),
            fc.array(listFrom(pool, 10), { maxLength: 4 }),
            fc.integer({ min: 1, max: 12 }),
            fc.uniqueArray(fc.nat({ max: pool.length - 1 })),
          ),
        ),
        ([pool, lists, r, dead]) => {
          const self = pool[0]!;
          const deadIds = new Set(dead.map((i) => pool[i]!.id));
          const out = mergeCandidates(self, lists, r, (id) => !deadIds.has(id));
          const expected = closestR(self, lists.flat().filter((c) => !deadIds.has(c.id)), r);
          expect(ids(out)).toEqual(ids(expected));
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('adoptSuccessorsPredecessor', () => {
  it('adopts the reported predecessor exactly when it lies between self and the successor (or self is alone)', () => {
    fc.assert(
      fc.property(
        poolArb(2, 16).chain((pool) =>
          fc.tuple(fc.constant(pool), fc.nat({ max: pool.length - 1 }), fc.integer({ min: 1, max: 8 }), fc.boolean()),
        ),
        ([pool, reportedIndex, r, reportedDead]) => {
          const self = pool[0]!;
          const list = closestR(self, pool.slice(1, 1 + (reportedIndex % 5)), r);
          const reported = pool[reportedIndex]!;
          const out = adoptSuccessorsPredecessor(self, list, reported, r, (id) => !(reportedDead && id === reported.id));
          const d = dist(self.position, reported.position);
          const closer = reported.id !== self.id && (list.length === 0 || d < dist(self.position, list[0]!.position));
          if (closer && !reportedDead) {
            expect(ids(out)).toEqual(ids(closestR(self, [reported, ...list], r)));
            expect(out[0]!.id).toBe(reported.id);
          } else {
            expect(out).toBe(list);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('leaves the list alone when nothing is reported', () => {
    fc.assert(
      fc.property(poolArb(3, 6), (pool) => {
        const list = closestR(pool[0]!, pool.slice(1), 8);
        expect(adoptSuccessorsPredecessor(pool[0]!, list, undefined, 8)).toBe(list);
      }),
      { numRuns: 20 },
    );
  });
});

describe('promoteNextSuccessor', () => {
  it('removes exactly the failed entry, keeping order; returns the same list when it is absent', () => {
    fc.assert(
      fc.property(poolArb(2, 12), fc.nat(), (pool, k) => {
        const self = pool[0]!;
        const list = closestR(self, pool.slice(1), 12);
        const failed = pool[k % pool.length]!;
        const out = promoteNextSuccessor(list, failed.id);
        if (list.some((c) => c.id === failed.id)) {
          expect(ids(out)).toEqual(ids(list).filter((id) => id !== failed.id));
          expect(out).not.toBe(list);
        } else {
          expect(out).toBe(list);
        }
      }),
    );
  });
});

describe('successorListProblem', () => {
  it('accepts well-formed lists and names each kind of malformation', () => {
    fc.assert(
      fc.property(poolArb(4, 12), (pool) => {
        const self = pool[0]!;
        const list = closestR(self, pool.slice(1), 8);
        expect(successorListProblem(self, list, 8)).toBeUndefined();
        expect(successorListProblem(self, list, list.length - 1)).toMatch(/more than r/);
        expect(successorListProblem(self, [...list, self], 20)).toMatch(/self/);
        expect(successorListProblem(self, [...list, list[0]!], 20)).toMatch(/twice/);
        expect(successorListProblem(self, [list[1]!, list[0]!, ...list.slice(2)], 20)).toMatch(/clockwise/);
      }),
    );
  });
});
