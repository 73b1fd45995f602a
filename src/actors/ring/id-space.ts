import { createHash } from 'node:crypto';
import { PeerSockError } from '../../errors.js';
import type { PeerId } from '../../identity/peer-id.js';

/**
 * A point on the 256-bit ring, as 64 lowercase hex characters. For equal-length lowercase hex,
 * string order is numeric order, so ordering and interval tests are plain string comparisons:
 * no bigint and no allocation on the hot paths (routing, list maintenance). Bigint is used only
 * where real arithmetic is needed (distances, offsets).
 */
export type Position = string & { readonly __brand: 'Position' };

export const RING_BITS = 256;
export const RING_SIZE: bigint = 1n << 256n;
export const RING_MASK: bigint = RING_SIZE - 1n;
export const POSITION_HEX_LENGTH = 64;
export const ZERO_POSITION = '0'.repeat(POSITION_HEX_LENGTH) as Position;
export const MAX_POSITION = 'f'.repeat(POSITION_HEX_LENGTH) as Position;

const POSITION_PATTERN = /^[0-9a-f]{64}$/;

export function isPosition(value: unknown): value is Position {
  return typeof value === 'string' && POSITION_PATTERN.test(value);
}

/** For positions that arrive from outside (network, CLI); normalises upper case. */
export function parsePosition(text: string): Position {
  const normalised = typeof text === 'string' ? text.trim().toLowerCase() : '';
  if (!POSITION_PATTERN.test(normalised)) {
    throw new PeerSockError(
      'INVALID_ARGUMENT',
      `a ring position is 64 hex characters; got ${JSON.stringify(String(text).slice(0, 80))}`,
    );
  }
  return normalised as Position;
}

export function positionFromBytes(bytes: Uint8Array): Position {
  if (bytes.length !== 32) {
    throw new PeerSockError('INVALID_ARGUMENT', `a ring position has 32 bytes, got ${bytes.length}`);
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex') as Position;
}

export function positionToBigint(p: Position): bigint {
  return BigInt('0x' + p);
}

/** Reduces modulo 2^256, so any bigint (negative too) names a point on the ring. */
export function positionFromBigint(n: bigint): Position {
  return ((n % RING_SIZE + RING_SIZE) % RING_SIZE).toString(16).padStart(POSITION_HEX_LENGTH, '0') as Position;
}

/**
 * Hashing is the one costly step from a PeerId to a position, and the same few thousand ids are
 * looked up over and over (every list merge, every routed hop). The cap bounds memory when ids
 * come from the network. Two generations instead of a strict LRU: a hit in the current one is a
 * plain lookup (moving each hit to the back of one Map was 1.6–2.4% of a large simulation's
 * time), a hit in the previous one moves the id up, and a full current generation becomes the
 * previous one, dropping the ids not used since. At most 2 × 16 Ki entries of two 64-char
 * strings: a few MiB, enough to hold a 10,000-node simulation entirely.
 */
export const POSITION_CACHE_CAPACITY = 32_768;

/**
 * What the cache holds for an id: its position and one shared `{ id, position }` object (the
 * ring's Contact), so successor lists and DHT entries that name a peer point to the same object
 * and id string instead of a fresh pair per message parsed (a stabilize reply made eight new
 * contacts each round). The effect measured was small (3,000 simulated nodes at rest: heap
 * per node 155.4 vs 156.7 KiB; the simulator already shared each id string): less garbage, no
 * figure to show for it.
 */
export interface PlacedId {
  readonly id: PeerId;
  readonly position: Position;
}

let currentPositions = new Map<string, PlacedId>();
let previousPositions = new Map<string, PlacedId>();

/** The shared, frozen `{ id, position }` of `id` (see PlacedId); computes and caches it if needed. */
export function placedId(id: PeerId): PlacedId {
  const cached = currentPositions.get(id);
  if (cached !== undefined) return cached;
  const placed =
    previousPositions.get(id) ?? Object.freeze({ id, position: createHash('sha256').update(Buffer.from(id, 'hex')).digest('hex') as Position });
  if (currentPositions.size >= POSITION_CACHE_CAPACITY / 2) {
    previousPositions = currentPositions;
    currentPositions = new Map();
  }
  currentPositions.set(id, placed);
  return placed;
}

/** SHA-256 of the public key behind `id`, as hex: the node's place on the ring and in the DHT. */
export function positionHex(id: PeerId): Position {
  return placedId(id).position;
}

/** For tests and memory probes. */
/** Ids held by the position cache (both generations; at most POSITION_CACHE_CAPACITY). */
export function positionCacheSize(): number {
  return currentPositions.size + previousPositions.size;
}

/** Whether `id`'s position is cached (for tests of the eviction policy). */
export function isPositionCached(id: PeerId): boolean {
  return currentPositions.has(id) || previousPositions.has(id);
}

export function clearPositionCache(): void {
  currentPositions = new Map();
  previousPositions = new Map();
}

export function compare(a: Position, b: Position): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Is x inside the clockwise interval from a to b — (a, b), or (a, b] with `inclusiveEnd`?
 * Wraps past the top of the ring when b <= a.
 * a == b is the Chord convention: (a, a) is the whole ring except a, and (a, a] the whole ring.
 * That is what a lone node needs: its own successor interval covers everything.
 */
export function between(x: Position, a: Position, b: Position, options?: { inclusiveEnd?: boolean }): boolean {
  const inclusiveEnd = options?.inclusiveEnd === true;
  if (x === b) return inclusiveEnd;
  if (a < b) return a < x && x < b;
  // a > b wraps past the top; a == b leaves every x except a itself (x == a fails both tests).
  return x > a || x < b;
}

/** Same as `between(x, a, b, { inclusiveEnd: true })`, spelt out because it is the responsibility test. */
export function betweenRightInclusive(x: Position, a: Position, b: Position): boolean {
  return between(x, a, b, { inclusiveEnd: true });
}

/**
 * Orders a and b by clockwise distance from `origin` (origin itself is distance 0, first).
 * String comparisons only: the candidates past the origin come first, then the wrapped ones.
 */
export function compareClockwise(origin: Position, a: Position, b: Position): number {
  const aWrapped = a < origin;
  const bWrapped = b < origin;
  if (aWrapped !== bWrapped) return aWrapped ? 1 : -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** (b - a) mod 2^256: how far clockwise b lies from a. 0 when a == b. */
export function clockwiseDistance(a: Position, b: Position): bigint {
  const d = positionToBigint(b) - positionToBigint(a);
  return d >= 0n ? d : d + RING_SIZE;
}

/** a + offset mod 2^256; offset may be negative or exceed the ring. */
export function ringAdd(a: Position, offset: bigint): Position {
  return positionFromBigint(positionToBigint(a) + offset);
}
