/** fast-check generators and bigint reference arithmetic for the ring tests. */
import fc from 'fast-check';
import type { PeerId } from '../../src/identity/peer-id.js';
import { contactOf } from '../../src/actors/ring/contact.js';
import type { Contact } from '../../src/actors/ring/contact.js';
import type { Position } from '../../src/actors/ring/id-space.js';

export const N = 2n ** 256n;

/** Independent of the code under test: hex → bigint → hex by hand. */
export function toBig(p: string): bigint {
  return BigInt('0x' + p);
}

export function toPos(n: bigint): Position {
  const m = ((n % N) + N) % N;
  return m.toString(16).padStart(64, '0') as Position;
}

/** Clockwise distance from a to b by bigint arithmetic: the reference everything is checked against. */
export function dist(a: string, b: string): bigint {
  return (((toBig(b) - toBig(a)) % N) + N) % N;
}

/** Uniform positions, the extremes, and points crowded near them (fast-check biases bigints to edges). */
export const positionArb: fc.Arbitrary<Position> = fc.oneof(
  fc.bigInt({ min: 0n, max: N - 1n }).map(toPos),
  fc.constantFrom(0n, 1n, N - 1n, N - 2n, N / 2n, N / 2n - 1n).map(toPos),
);

/**
 * Three positions where the first is often equal or adjacent to one of the others, so interval
 * endpoints and wraparound get exercised, not just the open middle.
 */
export const tripleArb: fc.Arbitrary<[Position, Position, Position]> = fc
  .tuple(positionArb, positionArb, positionArb, fc.integer({ min: 0, max: 6 }), fc.boolean())
  .map(([x, a, b, kind, sameEnds]) => {
    const b2 = sameEnds ? a : b;
    const xs: Position[] = [x, a, b2, toPos(toBig(a) + 1n), toPos(toBig(a) - 1n), toPos(toBig(b2) + 1n), toPos(toBig(b2) - 1n)];
    return [xs[kind]!, a, b2];
  });

export const contactArb: fc.Arbitrary<Contact> = fc
  .uint8Array({ minLength: 32, maxLength: 32 })
  .map((bytes) => contactOf(Buffer.from(bytes).toString('hex') as PeerId));

/** A pool of distinct contacts; pool[0] plays self. */
export const poolArb = (min: number, max: number): fc.Arbitrary<Contact[]> =>
  fc.uniqueArray(contactArb, { minLength: min, maxLength: max, selector: (c) => c.id });

/** A list drawn from the pool by index: duplicates and self included on purpose. */
export const listFrom = (pool: readonly Contact[], maxLength: number): fc.Arbitrary<Contact[]> =>
  fc.array(fc.nat({ max: pool.length - 1 }), { maxLength }).map((ix) => ix.map((i) => pool[i]!));

/** The r nearest clockwise from self among candidates (reference: sort by bigint distance). */
export function closestR(self: Contact, candidates: readonly Contact[], r: number): Contact[] {
  const unique = new Map<string, Contact>();
  for (const c of candidates) if (c.id !== self.id) unique.set(c.id, c);
  return [...unique.values()]
    .sort((a, b) => {
      const d = dist(self.position, a.position) - dist(self.position, b.position);
      return d < 0n ? -1 : d > 0n ? 1 : 0;
    })
    .slice(0, r);
}

export const ids = (list: readonly Contact[]): string[] => list.map((c) => c.id);

/** Independent well-formedness check of a successor list. */
export function assertWellFormed(self: Contact, list: readonly Contact[], r: number): void {
  if (list.length > r) throw new Error(`length ${list.length} > r ${r}`);
  if (new Set(ids(list)).size !== list.length) throw new Error('duplicate entries');
  if (list.some((c) => c.id === self.id)) throw new Error('contains self');
  for (let i = 1; i < list.length; i += 1) {
    if (dist(self.position, list[i - 1]!.position) >= dist(self.position, list[i]!.position)) {
      throw new Error(`entry ${i} not clockwise after entry ${i - 1}`);
    }
  }
}
