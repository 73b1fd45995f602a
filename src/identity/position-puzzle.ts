import { createHash } from 'node:crypto';
import { nativePublicKeyFromSecret } from '../crypto/ed25519-native.js';
import { PeerSockError, isPeerSockError } from '../errors.js';
import { createSystemRandom, type Random } from '../ports/random.js';
import { identityFromSecretKey, type Identity } from './identity.js';
import { isPeerId, publicKeyOf, shortId, type PeerId } from './peer-id.js';

/**
 * Position puzzle (S/Kademlia's static crypto puzzle): a position in the ID space is
 * SHA-256(public key), so a free key is a free position and an attacker could grind keys until
 * it lands right next to a victim or a DHT key. A public key is admissible at difficulty d
 * only if SHA-256('peersock/puzzle/v1' ‖ key) starts with d zero bits, which costs 2^d key
 * generations on average to find and one hash to check.
 *
 * The puzzle hash is domain-separated from the position hash on purpose: were it the same
 * hash, every admissible node would sit in the first 2^-d of the ring.
 *
 * Cost, measured here (Node 20, node:crypto, one core of a busy 2-core machine): ~33,000
 * keys/s, so d = 12 takes ~0.1 s, d = 16 ~2 s, d = 20 ~30 s, d = 24 ~8 min (expected; the
 * number of attempts is geometric, so twice that is not unusual). An attacker aiming at one
 * spot among N nodes needs ~N · 2^d keys: at N = 10,000 and d = 20, ~4 core-days per position,
 * against 30 s once per identity for an honest node.
 *
 * Recommended: DEMO_PUZZLE_BITS (12) for the demo and tests, PRODUCTION_PUZZLE_BITS (20) for
 * real networks, 0 (no puzzle) for the simulator, where 10,000 identities at d = 12 alone
 * would be 40 million keys. d is network-wide configuration, not a per-node choice: every node
 * checks every contact against it, so a node with a lower d admits the cheap identities the
 * others refuse (the weakest node sets the network's cost), and one with a higher d refuses
 * honest peers and splits the ring. Nor can it be negotiated: an attacker would claim the
 * lowest value on offer. Raising it later means every identity below the new d must be remade.
 */
export const PUZZLE_DOMAIN = 'peersock/puzzle/v1';
export const DEMO_PUZZLE_BITS = 12;
export const PRODUCTION_PUZZLE_BITS = 20;
export const MAX_PUZZLE_BITS = 256;

const DOMAIN_BYTES = new TextEncoder().encode(PUZZLE_DOMAIN);
/** onProgress is called after this many attempts, and again after each further batch of them. */
export const PUZZLE_PROGRESS_INTERVAL = 4096;

export interface PuzzleProgress {
  attempts: number;
  /** 2^difficulty: the mean number of attempts. */
  expectedAttempts: number;
}

export interface PuzzleSearchOptions {
  onProgress?: (progress: PuzzleProgress) => void;
  /**
   * Give up (PUZZLE_UNSOLVED) after this many keys. Default 64 · 2^d: the chance of needing
   * more is e^-64, so reaching it means something is broken, not unlucky.
   */
  maxAttempts?: number;
  /** Where seeds come from: the simulator's seeded Random makes the result reproducible. Default: the system CSPRNG. */
  random?: Random;
}

/** Leading zero bits of SHA-256(PUZZLE_DOMAIN ‖ publicKey), 0..256. Throws INVALID_ARGUMENT for a non-32-byte key. */
export function puzzleBits(publicKey: Uint8Array): number {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) {
    throw new PeerSockError('INVALID_ARGUMENT', 'the position puzzle is defined on 32-byte ed25519 public keys');
  }
  const digest = createHash('sha256').update(DOMAIN_BYTES).update(publicKey).digest();
  let bits = 0;
  for (const byte of digest) {
    if (byte !== 0) return bits + Math.clz32(byte) - 24;
    bits += 8;
  }
  return bits;
}

/** Whether `publicKey` is admissible at `difficulty`. False for anything that is not a 32-byte key. */
export function meetsPuzzle(publicKey: Uint8Array, difficulty: number): boolean {
  checkDifficulty(difficulty);
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) return false;
  return difficulty === 0 || puzzleBits(publicKey) >= difficulty;
}

/** Throws PUZZLE_UNSOLVED unless `peerId` is admissible at `difficulty` (INVALID_PEER_ID if it is no PeerId). */
export function assertPuzzle(peerId: PeerId, difficulty: number): void {
  checkDifficulty(difficulty);
  if (!isPeerId(peerId)) throw new PeerSockError('INVALID_PEER_ID', `${JSON.stringify(String(peerId).slice(0, 80))} is not a PeerId`);
  if (difficulty === 0) return;
  const found = puzzleBits(publicKeyOf(peerId));
  if (found < difficulty) {
    throw new PeerSockError(
      'PUZZLE_UNSOLVED',
      `peer ${shortId(peerId)} does not solve the position puzzle: difficulty ${difficulty} needs ${difficulty} leading zero bits, its key has ${found}`,
    );
  }
}

/** assertPuzzle for the node's own identity, with a message that says what to do about it. */
export function assertOwnPuzzle(peerId: PeerId, difficulty: number): void {
  try {
    assertPuzzle(peerId, difficulty);
  } catch (error) {
    if (!isPeerSockError(error, 'PUZZLE_UNSOLVED')) throw error;
    throw new PeerSockError(
      'PUZZLE_UNSOLVED',
      `this node's identity ${shortId(peerId)} does not solve the network's position puzzle (difficulty ${difficulty}): every peer would refuse it; create a new identity (generateIdentityMeetingPuzzle) or use another data directory`,
      { cause: error },
    );
  }
}

/**
 * Grinds fresh identities until one is admissible at `difficulty` (2^d attempts on average).
 * Synchronous and CPU-bound: ~30 s at d = 20, so run large difficulties off the event loop.
 * Throws INVALID_ARGUMENT for a bad difficulty or maxAttempts, PUZZLE_UNSOLVED when maxAttempts runs out.
 */
export function generateIdentityMeetingPuzzle(difficulty: number, options: PuzzleSearchOptions = {}): Identity {
  checkDifficulty(difficulty);
  const expectedAttempts = 2 ** difficulty;
  const maxAttempts = options.maxAttempts ?? 64 * expectedAttempts;
  if (!(maxAttempts >= 1) || !(Number.isInteger(maxAttempts) || maxAttempts === Number.POSITIVE_INFINITY)) {
    throw new PeerSockError('INVALID_ARGUMENT', `maxAttempts must be a positive integer, got ${maxAttempts}`);
  }
  const random = options.random ?? createSystemRandom();
  for (let attempts = 1; attempts <= maxAttempts; attempts++) {
    const seed = random.bytes(32);
    // OpenSSL (~4× noble), through a key import (okp-jwk.ts) and a JWK export: not generateKeyPairSync('ed25519') +
    // export, as fast but it deadlocks Node 20.20 when a GC during the export finalises the
    // key-generation job (seen here: ~KeyGenJob waits on the mutex ExportJWK holds).
    const publicKey = nativePublicKeyFromSecret(seed);
    if (difficulty === 0 || puzzleBits(publicKey) >= difficulty) {
      const identity = identityFromSecretKey(seed);
      // Two implementations (OpenSSL here, noble in identity.ts) must agree, or the grind was for nothing.
      if (Buffer.compare(identity.publicKey, publicKey) !== 0) throw new Error('ed25519 implementations disagree on a public key');
      return identity;
    }
    seed.fill(0);
    if (attempts % PUZZLE_PROGRESS_INTERVAL === 0) options.onProgress?.({ attempts, expectedAttempts });
  }
  throw new PeerSockError(
    'PUZZLE_UNSOLVED',
    `no key with ${difficulty} leading zero bits after ${maxAttempts} attempts (expected ${expectedAttempts})`,
  );
}

function checkDifficulty(difficulty: number): void {
  if (!Number.isInteger(difficulty) || difficulty < 0 || difficulty > MAX_PUZZLE_BITS) {
    throw new PeerSockError('INVALID_ARGUMENT', `puzzle difficulty must be an integer 0..${MAX_PUZZLE_BITS}, got ${difficulty}`);
  }
}
