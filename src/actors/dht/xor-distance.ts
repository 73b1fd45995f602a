import { PeerSockError } from '../../errors.js';
import type { Random } from '../../ports/random.js';
import { POSITION_HEX_LENGTH, RING_BITS, type Position } from '../ring/id-space.js';

/**
 * Kademlia's XOR metric over the ring's 256-bit positions (64 lowercase hex characters).
 *
 * Everything here works nibble by nibble on the hex text: the first nibble where two positions
 * differ decides every comparison, so no bigint and no allocation is needed on the hot paths
 * (bucket choice, next hop, closest-k). Like positions, a distance written as 64 lowercase hex
 * compares numerically by plain string order.
 */

/** d(a, b) = a XOR b as 64 lowercase hex. Same ordering trick as `Position`: string order is numeric order. */
export type Distance = string & { readonly __brand: 'Distance' };

/** Number of k-buckets: one per possible common-prefix length with self (256 would be self itself). */
export const BUCKET_COUNT = RING_BITS;

const HEX_DIGITS = '0123456789abcdef';

/** '0'..'9' → 0..9, 'a'..'f' → 10..15. Inputs are validated positions, so no other codes occur. */
function nibble(code: number): number {
  return code <= 57 ? code - 48 : code - 87;
}

export function xorDistance(a: Position, b: Position): Distance {
  let out = '';
  for (let i = 0; i < POSITION_HEX_LENGTH; i += 1) {
    out += HEX_DIGITS[nibble(a.charCodeAt(i)) ^ nibble(b.charCodeAt(i))];
  }
  return out as Distance;
}

/**
 * Sign of d(target, a) - d(target, b). Where a and b first differ, target XOR a and target XOR b
 * first differ too, with every earlier nibble equal, so that one nibble decides.
 */
export function compareDistance(target: Position, a: Position, b: Position): number {
  for (let i = 0; i < POSITION_HEX_LENGTH; i += 1) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca !== cb) {
      const t = nibble(target.charCodeAt(i));
      return (nibble(ca) ^ t) - (nibble(cb) ^ t);
    }
  }
  return 0;
}

/** Leading bits a and b share: 0..256 (256 when equal). Relative to self, this is the bucket index. */
export function commonPrefixLength(a: Position, b: Position): number {
  for (let i = 0; i < POSITION_HEX_LENGTH; i += 1) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca !== cb) return i * 4 + Math.clz32(nibble(ca) ^ nibble(cb)) - 28;
  }
  return RING_BITS;
}

/** The k-bucket `other` belongs in, seen from `self`; 256 (no bucket) for self. */
export function bucketIndex(self: Position, other: Position): number {
  return commonPrefixLength(self, other);
}

const identity = (p: Position): Position => p;

/** A copy in ascending XOR distance from `target`. Stable: equal positions keep their order. */
export function sortByDistance(target: Position, ids: readonly Position[]): Position[];
export function sortByDistance<T>(target: Position, items: readonly T[], positionOf: (item: T) => Position): T[];
export function sortByDistance<T>(target: Position, items: readonly T[], positionOf?: (item: T) => Position): T[] {
  const key = positionOf ?? (identity as unknown as (item: T) => Position);
  return [...items].sort((a, b) => compareDistance(target, key(a), key(b)));
}

/**
 * The `count` items nearest `target` by XOR, nearest first; ties keep input order.
 * A bounded insertion list: O(n · count) with count ~ 20 and no full sort of n.
 */
export function closest(target: Position, ids: readonly Position[], count: number): Position[];
export function closest<T>(target: Position, items: readonly T[], count: number, positionOf: (item: T) => Position): T[];
export function closest<T>(target: Position, items: readonly T[], count: number, positionOf?: (item: T) => Position): T[] {
  const key = positionOf ?? (identity as unknown as (item: T) => Position);
  const best: T[] = [];
  if (!(count > 0)) return best;
  for (const item of items) {
    const p = key(item);
    if (best.length === count && compareDistance(target, p, key(best[count - 1]!)) >= 0) continue;
    let i = best.length;
    while (i > 0 && compareDistance(target, p, key(best[i - 1]!)) < 0) i -= 1;
    best.splice(i, 0, item);
    if (best.length > count) best.pop();
  }
  return best;
}

/**
 * A uniformly random position in bucket `index` of `self`: the first `index` bits equal self's,
 * bit `index` differs, the rest random. A bucket refresh looks this up.
 */
export function randomPositionInBucket(self: Position, index: number, random: Random): Position {
  if (!Number.isInteger(index) || index < 0 || index >= BUCKET_COUNT) {
    throw new PeerSockError('INVALID_ARGUMENT', `a bucket index is an integer in 0..${BUCKET_COUNT - 1}, got ${index}`);
  }
  const own = Buffer.from(self, 'hex');
  const out = Buffer.from(random.bytes(32));
  const byte = index >> 3;
  const flip = 0x80 >> (index & 7);
  const prefixMask = (0xff00 >> (index & 7)) & 0xff;
  own.copy(out, 0, 0, byte);
  out[byte] = (own[byte]! & prefixMask) | (~own[byte]! & flip) | (out[byte]! & (flip - 1));
  return out.toString('hex') as Position;
}
