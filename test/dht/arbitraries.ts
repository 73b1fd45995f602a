/** fast-check generators and bigint reference arithmetic for the DHT tests. */
import fc from 'fast-check';
import type { PeerId } from '../../src/identity/peer-id.js';
import type { Contact } from '../../src/actors/ring/contact.js';
import type { Position } from '../../src/actors/ring/id-space.js';

const N = 2n ** 256n;

/** Independent of the code under test: hex → bigint → hex by hand. */
export function toBig(p: string): bigint {
  return BigInt('0x' + p);
}

export function toPos(n: bigint): Position {
  return (((n % N) + N) % N).toString(16).padStart(64, '0') as Position;
}

/** The reference XOR distance. */
export function xor(a: string, b: string): bigint {
  return toBig(a) ^ toBig(b);
}

/** The reference common prefix length: 256 minus the bit length of a XOR b. */
export function cpl(a: string, b: string): number {
  const d = xor(a, b);
  return d === 0n ? 256 : 256 - d.toString(2).length;
}

export const positionArb: fc.Arbitrary<Position> = fc.oneof(
  fc.bigInt({ min: 0n, max: N - 1n }).map(toPos),
  fc.constantFrom(0n, 1n, N - 1n, N / 2n, N / 2n - 1n).map(toPos),
);

/**
 * A position near `base` in the XOR sense: shares a random-length prefix with it, so long common
 * prefixes (deep buckets, ties broken late in the string) get exercised, not just bit 0.
 */
export const nearArb = (base: Position): fc.Arbitrary<Position> =>
  fc.tuple(fc.integer({ min: 0, max: 256 }), fc.bigInt({ min: 0n, max: N - 1n })).map(([shared, noise]) => {
    if (shared === 256) return base;
    const keepMask = shared === 0 ? 0n : ((1n << BigInt(shared)) - 1n) << BigInt(256 - shared);
    return toPos((toBig(base) & keepMask) | (noise & ~keepMask & (N - 1n)));
  });

/** A target and positions around it, crowded near it and near each other. */
export const clusterArb = (min: number, max: number): fc.Arbitrary<{ target: Position; positions: Position[] }> =>
  positionArb.chain((target) =>
    fc.array(fc.oneof(nearArb(target), positionArb), { minLength: min, maxLength: max }).map((positions) => ({ target, positions })),
  );

export const peerIdArb: fc.Arbitrary<PeerId> = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex') as PeerId);

/** Brute-force reference: ascending XOR distance, stable. */
export function referenceSort<T>(target: string, items: readonly T[], key: (item: T) => string): T[] {
  return [...items].sort((a, b) => {
    const da = xor(target, key(a));
    const db = xor(target, key(b));
    return da < db ? -1 : da > db ? 1 : 0;
  });
}

/** A synthetic contact: id and position independent (the table takes positions as given). */
export function syntheticContact(id: string, position: Position): Contact {
  return { id: id as PeerId, position };
}

/** A PeerId from a small number, readable in failure output. */
export function idOf(n: number): PeerId {
  return n.toString(16).padStart(64, '0') as PeerId;
}
