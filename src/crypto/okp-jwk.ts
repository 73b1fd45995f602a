import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';

/**
 * Raw 32-byte Ed25519 and X25519 keys in and out of node:crypto, as JWK. The DER route (PKCS#8 /
 * SPKI) parses a key several times more slowly in OpenSSL 3 (x25519-native.ts and
 * ed25519-native.ts give the measurements), and every simulated node parses its own key and each
 * peer key it checks. Node reads only `d` from a private OKP JWK (it derives the public half
 * itself) but insists that `x` is a string, hence the empty one; the RFC 8032 and RFC 7748
 * vectors (test/crypto) go through these functions.
 */
export type OkpCurve = 'Ed25519' | 'X25519';

/**
 * PKCS#8 DER of a raw OKP private key: this prefix, then the 32 secret bytes (RFC 8410). Node 26
 * checks a private JWK's `x` against the key it derives, so the empty `x` is refused there
 * (ERR_CRYPTO_INVALID_JWK); its DER import is as fast as the JWK one (~57 µs against ~530 µs on
 * Node 20). The first refusal switches this process to DER for good.
 */
const PKCS8_PREFIX: Record<OkpCurve, Buffer> = {
  Ed25519: Buffer.from('302e020100300506032b657004220420', 'hex'),
  X25519: Buffer.from('302e020100300506032b656e04220420', 'hex'),
};
let privateJwkRefused = false;

export function okpPrivateKey(crv: OkpCurve, secret: Uint8Array): KeyObject {
  if (!privateJwkRefused) {
    try {
      return createPrivateKey({ key: { kty: 'OKP', crv, d: base64url(secret), x: '' }, format: 'jwk' });
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'ERR_CRYPTO_INVALID_JWK' || secret.length !== 32) throw error;
      privateJwkRefused = true;
    }
  }
  return okpPrivateKeyFromDer(crv, secret);
}

/** The DER route okpPrivateKey falls back to (exported so that it is tested on every Node, not only where the JWK is refused). */
export function okpPrivateKeyFromDer(crv: OkpCurve, secret: Uint8Array): KeyObject {
  if (secret.length !== 32) throw new RangeError(`an ${crv} private key is 32 bytes, got ${secret.length}`);
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX[crv], secret]), format: 'der', type: 'pkcs8' });
}

export function okpPublicKey(crv: OkpCurve, publicKey: Uint8Array): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv, x: base64url(publicKey) }, format: 'jwk' });
}

/** The raw public key of a private or public OKP KeyObject; throws RangeError if it has none. */
export function okpRawPublicKey(key: KeyObject, crv: OkpCurve): Uint8Array {
  const x = createPublicKey(key).export({ format: 'jwk' }).x;
  if (typeof x !== 'string') throw new RangeError(`not an ${crv} key`);
  return new Uint8Array(Buffer.from(x, 'base64url'));
}

function base64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}
