import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { isResponsible, nextHop } from '../../src/actors/ring/routing.js';
import { expectedPredecessor, expectedResponsible, expectedSuccessors } from '../../src/actors/ring/expected-neighbours.js';
import { sortByPosition } from '../../src/actors/ring/contact.js';
import type { Contact } from '../../src/actors/ring/contact.js';
import { createSeededRandom } from '../../sim/seeded-random.js';
import type { Position } from '../../src/actors/ring/id-space.js';
import { dist, poolArb, positionArb, toPos, toBig, tripleArb } from './arbitraries.js';
import { pick, randomContacts } from './ring-model.js';

describe('nextHop', () => {
  it('is the link in (self, target) closest to the target, or undefined when none lies there', () => {
    fc.assert(
      fc.property(positionArb, positionArb, poolArb(0, 32), fc.boolean(), (self, target, links, includeExact) => {
        const all = includeExact && links.length > 0 ? [...links, { ...links[0]!, position: target }] : links;
        const inside = all.filter((c) => {
          const d = dist(self, c.position);
          const span = dist(self, target) === 0n ? 2n ** 256n : dist(self, target);
          return d > 0n && d < span;
        });
        const hop = nextHop(self, target, all);
        if (inside.length === 0) {
          expect(hop).toBeUndefined();
        } else {
          const best = inside.reduce((a, b) => (dist(b.position, target) < dist(a.position, target) ? b : a));
          expect(hop?.position).toBe(best.position);
          expect(dist(hop!.position, target)).toBeLessThan(dist(self, target) === 0n ? 2n ** 256n : dist(self, target));
        }
      }),
      { numRuns: 1_000 },
    );
  });
});

describe('isResponsible', () => {
  it('holds exactly for targets in (predecessor, self]', () => {
    fc.assert(
      fc.property(tripleArb, ([target, predecessor, self]) => {
        const d = dist(predecessor, target);
        const span = dist(predecessor, self) === 0n ? 2n ** 256n : dist(predecessor, self);
        expect(isResponsible(self, predecessor, target)).toBe(target === self || (d > 0n && d <= span));
      }),
      { numRuns: 1_000 },
    );
  });

  it('without a predecessor answers only for its own position', () => {
    const self = toPos(100n);
    expect(isResponsible(self, undefined, self)).toBe(true);
    expect(isResponsible(self, undefined, toPos(99n))).toBe(false);
  });
});

interface Route {
  readonly answer: Contact;
  readonly hops: number;
}

/**
 * A lookup as the ring actor would run it: at each node, answer if responsible, otherwise go to
 * nextHop, and when there is none the answer is the node's successor. Asserts the distance to
 * the target shrinks at every hop.
 */
function route(
  start: Contact,
  target: Position,
  linksOf: (c: Contact) => readonly Contact[],
  predecessorOf: (c: Contact) => Contact | undefined,
  successorOf: (c: Contact) => Contact,
  maxHops: number,
): Route {
  let current = start;
  let hops = 0;
  for (;;) {
    if (isResponsible(current.position, predecessorOf(current)?.position, target)) return { answer: current, hops };
    const hop = nextHop(current.position, target, linksOf(current));
    if (hop === undefined) return { answer: successorOf(current), hops: hops + 1 };
    const before = dist(current.position, target);
    const after = dist(hop.position, target);
    if (!(after < before) || hop.id === current.id) throw new Error(`hop ${hops} does not approach the target`);
    current = hop;
    hops += 1;
    if (hops > maxHops) throw new Error(`more than ${maxHops} hops`);
  }
}

function staticRing(seed: number, n: number, r: number, randomLinks: number, fingers: boolean) {
  const random = createSeededRandom(seed);
  const contacts = randomContacts(random, n);
  const sorted = sortByPosition(contacts);
  const links = new Map<string, Contact[]>();
  for (const c of contacts) {
    const own = [...expectedSuccessors(sorted, c, r)];
    const predecessor = expectedPredecessor(sorted, c);
    if (predecessor !== undefined) own.push(predecessor);
    for (let i = 0; i < randomLinks; i += 1) own.push(pick(random, contacts));
    if (fingers) {
      for (let bit = 0; bit < 256; bit += 1) {
        const finger = expectedResponsible(sorted, toPos(toBig(c.position) + (1n << BigInt(bit))));
        if (finger !== undefined && finger.id !== c.id) own.push(finger);
      }
    }
    links.set(c.id, own);
  }
  return {
    contacts,
    sorted,
    random,
    linksOf: (c: Contact) => links.get(c.id)!,
    predecessorOf: (c: Contact) => expectedPredecessor(sorted, c),
    successorOf: (c: Contact) => expectedSuccessors(sorted, c, 1)[0] ?? c,
  };
}

describe('greedy routing on a static ring', () => {
  it('reaches the responsible node from anywhere; distance shrinks every hop; ≤ ⌈n/r⌉ + 1 hops', () => {
    fc.assert(
      fc.property(
        fc.integer(),
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 0, max: 4 }),
        (seed, n, r, randomLinks) => {
          const ring = staticRing(seed, n, r, randomLinks, false);
          // Each hop over a correct successor list skips at least r nodes unless it lands.
          const bound = Math.ceil(n / r) + 1;
          for (let i = 0; i < 20; i += 1) {
            const target = toPos(toBig(Buffer.from(ring.random.bytes(32)).toString('hex')));
            const start = pick(ring.random, ring.contacts);
            const { answer, hops } = route(start, target, ring.linksOf, ring.predecessorOf, ring.successorOf, bound);
            expect(answer.id).toBe(expectedResponsible(ring.sorted, target)!.id);
            expect(hops).toBeLessThanOrEqual(bound);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('also finds nodes by their exact position (routed messages to a peer id)', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 2, max: 100 }), (seed, n) => {
        const ring = staticRing(seed, n, 4, 2, false);
        const to = pick(ring.random, ring.contacts);
        const from = pick(ring.random, ring.contacts);
        const { answer } = route(from, to.position, ring.linksOf, ring.predecessorOf, ring.successorOf, n + 1);
        expect(answer.id).toBe(to.id);
      }),
      { numRuns: 200 },
    );
  });

  it('with Chord fingers the hop count is logarithmic (n = 2,000, fixed seed)', () => {
    const n = 2_000;
    const ring = staticRing(20_240_601, n, 8, 0, true);
    const counts: number[] = [];
    for (let i = 0; i < 2_000; i += 1) {
      const target = toPos(toBig(Buffer.from(ring.random.bytes(32)).toString('hex')));
      const { answer, hops } = route(pick(ring.random, ring.contacts), target, ring.linksOf, ring.predecessorOf, ring.successorOf, n);
      expect(answer.id).toBe(expectedResponsible(ring.sorted, target)!.id);
      counts.push(hops);
    }
    counts.sort((a, b) => a - b);
    const log2n = Math.log2(n);
    // Chord: each finger hop at least halves the remaining distance, ~½·log2 n hops on average.
    expect(counts[counts.length >> 1]!).toBeLessThanOrEqual(Math.ceil(log2n / 2) + 1);
    expect(counts[counts.length - 1]!).toBeLessThanOrEqual(Math.ceil(log2n) + 2);
  });
});
