import { sign } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nativePublicKeyFromSecret } from '../../src/crypto/ed25519-native.js';
import { ed } from '../../src/crypto/noble-setup.js';
import { okpPrivateKeyFromDer, okpRawPublicKey } from '../../src/crypto/okp-jwk.js';
import { x25519PrivateKey, x25519RawPublicKey } from '../../src/crypto/x25519-native.js';

// okpPrivateKey imports keys as JWK where Node allows the empty `x` (20, 24) and through PKCS#8
// DER where it does not (26): whichever Node runs the suite, the DER route is checked here.
describe('private OKP keys through PKCS#8 DER', () => {
  it('an Ed25519 key signs as noble does with the same secret (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 64 }), (secret, message) => {
        const key = okpPrivateKeyFromDer('Ed25519', secret);
        expect(okpRawPublicKey(key, 'Ed25519')).toEqual(nativePublicKeyFromSecret(secret));
        expect(new Uint8Array(sign(null, message, key))).toEqual(ed.sign(message, secret));
      }),
      { numRuns: 50 },
    );
  });

  it('an X25519 key has the public key of the same secret imported the default way', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (secret) => {
        expect(okpRawPublicKey(okpPrivateKeyFromDer('X25519', secret), 'X25519')).toEqual(x25519RawPublicKey(x25519PrivateKey(secret)));
      }),
      { numRuns: 50 },
    );
  });

  it('refuses a secret that is not 32 bytes', () => {
    expect(() => okpPrivateKeyFromDer('Ed25519', new Uint8Array(31))).toThrow(/32 bytes, got 31/);
  });
});
