import { describe, it, expect } from 'vitest';
import { createSeededRandom } from '../../sim/seeded-random.js';
import fc from 'fast-check';
import { generateIdentity, identityFromSecretKey, identityFromSecretKeyNative } from '../../src/identity/identity.js';
import { nativePublicKeyFromSecret } from '../../src/crypto/ed25519-native.js';
import { isPeerId, publicKeyOf } from '../../src/identity/peer-id.js';
import { isPeerSockError } from '../../src/errors.js';

const hex = (data: Uint8Array) => Buffer.from(data).toString('hex');


describe('identity', () => {
  it('generates a 32-byte seed whose public key and PeerId match', () => {
    const identity = generateIdentity();
    expect(identity.secretKey).toHaveLength(32);
    expect(hex(identity.publicKey)).toBe(hex(nativePublicKeyFromSecret(identity.secretKey)));
    expect(isPeerId(identity.peerId)).toBe(true);
    expect(hex(publicKeyOf(identity.peerId))).toBe(hex(identity.publicKey));
    expect(generateIdentity().peerId).not.toBe(identity.peerId);
  });

  it('is reproducible from the Random port', () => {
    expect(generateIdentity(createSeededRandom(7)).peerId).toBe(generateIdentity(createSeededRandom(7)).peerId);
    expect(generateIdentity(createSeededRandom(7)).peerId).not.toBe(generateIdentity(createSeededRandom(8)).peerId);
  });

  it('derives the RFC 8032 TEST 1 public key from its secret key', () => {
    const identity = identityFromSecretKey(new Uint8Array(Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex')));
    expect(identity.peerId).toBe('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
  });

  it('keeps its own copy of the secret key', () => {
    const seed = new Uint8Array(32).fill(9);
    const identity = identityFromSecretKey(seed);
    seed.fill(0);
    expect(identity.secretKey.every((b) => b === 9)).toBe(true);
  });

  it('rejects secret keys that are not 32 bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }).filter((b) => b.length !== 32), (bytes) => {
        let error: unknown;
        try {
          identityFromSecretKey(bytes);
        } catch (caught) {
          error = caught;
        }
        expect(isPeerSockError(error, 'INVALID_ARGUMENT')).toBe(true);
        expect(() => identityFromSecretKeyNative(bytes)).toThrow(/an ed25519 secret key is 32 bytes/);
      }),
    );
  });

  it('derives the same identity through OpenSSL as through noble (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (seed) => {
        expect(identityFromSecretKeyNative(seed)).toEqual(identityFromSecretKey(seed));
      }),
    );
  });
});
