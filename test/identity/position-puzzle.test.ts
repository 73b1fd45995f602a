import { createHash } from 'node:crypto';
import { thrownCode } from '../helpers/error-code.js';
import { createSeededRandom } from '../../sim/seeded-random.js';
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { PeerSockError } from '../../src/errors.js';
import { identityFromSecretKey } from '../../src/identity/identity.js';
import { isPeerId, publicKeyOf, type PeerId } from '../../src/identity/peer-id.js';
import {
  assertPuzzle,
  DEMO_PUZZLE_BITS,
  generateIdentityMeetingPuzzle,
  meetsPuzzle,
  puzzleBits,
  PUZZLE_PROGRESS_INTERVAL,
  type PuzzleProgress,
} from '../../src/identity/position-puzzle.js';

const unhex = (text: string) => new Uint8Array(Buffer.from(text, 'hex'));


/** Independent reference: the digest as a 256-character bit string. */
function referenceBits(publicKey: Uint8Array): number {
  const digest = createHash('sha256').update(Buffer.concat([Buffer.from('peersock/puzzle/v1', 'utf8'), publicKey])).digest();
  const bits = [...digest].map((byte) => byte.toString(2).padStart(8, '0')).join('');
  const firstOne = bits.indexOf('1');
  return firstOne === -1 ? 256 : firstOne;
}


// Found by generateIdentityMeetingPuzzle(14); its digest starts 0000 92..: 16 zero bits.
const GROUND = {
  seed: 'ccf179e5f2a0a32d966eb318854921be515d65cdb22b4631b0cbb55defe32029',
  peerId: 'e71449466a24ac2b17b5c61bba85758e3d0499fed19dbacf72ecbde1dd329b15' as PeerId,
  digest: '000092119ee6eaa65f0e5b84cbb7f1eecf6d6f4340efbf85be0e298d6cf00311',
};
// RFC 8032 TEST 1: an ordinary key, digest 844d..: 0 bits.
const RFC_TEST_1 = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a' as PeerId;

describe('position puzzle', () => {
  it('counts leading zero bits of SHA-256(domain ‖ key) on known keys', () => {
    expect(identityFromSecretKey(unhex(GROUND.seed)).peerId).toBe(GROUND.peerId);
    const key = publicKeyOf(GROUND.peerId);
    expect(createHash('sha256').update('peersock/puzzle/v1').update(key).digest('hex')).toBe(GROUND.digest);
    expect(puzzleBits(key)).toBe(16);
    expect(puzzleBits(publicKeyOf(RFC_TEST_1))).toBe(0);
    // Not the position hash: SHA-256(key) alone does not start with zeros here.
    expect(createHash('sha256').update(key).digest()[0]).not.toBe(0);
  });

  it('agrees with an independent bit count on any key', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (key) => {
        expect(puzzleBits(key)).toBe(referenceBits(key));
      }),
      { numRuns: 500 },
    );
  });

  it('meetsPuzzle is exactly puzzleBits ≥ d at the boundary', () => {
    const key = publicKeyOf(GROUND.peerId);
    expect(meetsPuzzle(key, 0)).toBe(true);
    expect(meetsPuzzle(key, 16)).toBe(true);
    expect(meetsPuzzle(key, 17)).toBe(false);
    expect(meetsPuzzle(key, 256)).toBe(false);
    expect(meetsPuzzle(publicKeyOf(RFC_TEST_1), 0)).toBe(true);
    expect(meetsPuzzle(publicKeyOf(RFC_TEST_1), 1)).toBe(false);
  });

  it('meetsPuzzle(k, d) implies meetsPuzzle(k, d − 1), and matches puzzleBits', () => {
    // Random keys have ~1 zero bit on average: small d are where both sides of the implication vary.
    const difficulty = fc.oneof(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 256 }));
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), difficulty, (key, d) => {
        if (meetsPuzzle(key, d)) expect(meetsPuzzle(key, d - 1)).toBe(true);
        expect(meetsPuzzle(key, d)).toBe(puzzleBits(key) >= d);
      }),
      { numRuns: 500 },
    );
    const key = publicKeyOf(GROUND.peerId);
    for (let d = 1; d <= 16; d++) expect(meetsPuzzle(key, d) && meetsPuzzle(key, d - 1)).toBe(true);
  });

  it('refuses bad difficulties and treats a non-key as inadmissible', () => {
    for (const d of [-1, 257, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(thrownCode(() => meetsPuzzle(publicKeyOf(GROUND.peerId), d)), String(d)).toBe('INVALID_ARGUMENT');
      expect(thrownCode(() => assertPuzzle(GROUND.peerId, d)), String(d)).toBe('INVALID_ARGUMENT');
      expect(thrownCode(() => generateIdentityMeetingPuzzle(d)), String(d)).toBe('INVALID_ARGUMENT');
    }
    expect(meetsPuzzle(new Uint8Array(31), 0)).toBe(false);
    expect(meetsPuzzle('key' as unknown as Uint8Array, 1)).toBe(false);
    expect(thrownCode(() => puzzleBits(new Uint8Array(33)))).toBe('INVALID_ARGUMENT');
  });

  it('assertPuzzle names the difficulty and the bits found', () => {
    expect(() => assertPuzzle(GROUND.peerId, 16)).not.toThrow();
    expect(() => assertPuzzle(RFC_TEST_1, 0)).not.toThrow();
    expect(() => assertPuzzle(GROUND.peerId, 17)).toThrow(
      expect.objectContaining({ code: 'PUZZLE_UNSOLVED', message: expect.stringMatching(/difficulty 17 .*has 16/) }),
    );
    expect(() => assertPuzzle(RFC_TEST_1, DEMO_PUZZLE_BITS)).toThrow(expect.objectContaining({ code: 'PUZZLE_UNSOLVED', message: expect.stringContaining('has 0') }));
    expect(thrownCode(() => assertPuzzle(GROUND.peerId.toUpperCase() as PeerId, 1))).toBe('INVALID_PEER_ID');
  });

  it('generates a consistent identity that meets a small difficulty', () => {
    const identity = generateIdentityMeetingPuzzle(8);
    expect(isPeerId(identity.peerId)).toBe(true);
    expect(identityFromSecretKey(identity.secretKey).peerId).toBe(identity.peerId);
    expect(puzzleBits(identity.publicKey)).toBeGreaterThanOrEqual(8);
    expect(() => assertPuzzle(identity.peerId, 8)).not.toThrow();
    expect(generateIdentityMeetingPuzzle(0).secretKey).toHaveLength(32);
  });

  it('is reproducible from the Random port', () => {
    const a = generateIdentityMeetingPuzzle(6, { random: createSeededRandom(42) });
    const b = generateIdentityMeetingPuzzle(6, { random: createSeededRandom(42) });
    expect(a.peerId).toBe(b.peerId);
    expect(puzzleBits(a.publicKey)).toBeGreaterThanOrEqual(6);
  });

  it('reports progress and gives up after maxAttempts', () => {
    const progress: PuzzleProgress[] = [];
    const attempts = 2 * PUZZLE_PROGRESS_INTERVAL + 5;
    expect(() => generateIdentityMeetingPuzzle(200, { maxAttempts: attempts, onProgress: (p) => progress.push(p) })).toThrow(
      expect.objectContaining({ code: 'PUZZLE_UNSOLVED', message: expect.stringContaining(`after ${attempts} attempts`) }),
    );
    expect(progress.map((p) => p.attempts)).toEqual([PUZZLE_PROGRESS_INTERVAL, 2 * PUZZLE_PROGRESS_INTERVAL]);
    expect(progress[0]?.expectedAttempts).toBe(2 ** 200);
    for (const maxAttempts of [0, -1, 1.5, Number.NaN]) {
      expect(thrownCode(() => generateIdentityMeetingPuzzle(1, { maxAttempts })), String(maxAttempts)).toBe('INVALID_ARGUMENT');
    }
  });
});
