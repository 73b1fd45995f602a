import { generateKeyPairSync, sign } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nativePublicKeyFromSecret } from '../../src/crypto/ed25519-native.js';
import { ed } from '../../src/crypto/noble-setup.js';
import { okpPrivateKeyFromDer, okpRawPublicKey } from '../../src/crypto/okp-jwk.js';

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

  it("an X25519 key has the public key OpenSSL gave that secret when it made the pair", () => {
    // Against generateKeyPairSync, not x25519PrivateKey: on Node 26 that is this very route.
    for (let i = 0; i < 50; i += 1) {
      const { privateKey } = generateKeyPairSync('x25519');
      const jwk = privateKey.export({ format: 'jwk' });
      const secret = new Uint8Array(Buffer.from(jwk.d!, 'base64url'));
      expect(okpRawPublicKey(okpPrivateKeyFromDer('X25519', secret), 'X25519')).toEqual(new Uint8Array(Buffer.from(jwk.x!, 'base64url')));
    }
  });

  it('refuses a secret that is not 32 bytes', () => {
    expect(() => okpPrivateKeyFromDer('Ed25519', new Uint8Array(31))).toThrow(/32 bytes, got 31/);
  });
});
