import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';

/**
 * Raw 32-byte Ed25519 and X25519 keys in and out of node:crypto. Public keys go in as JWK. Private
 * keys go in as JWK where Node allows it and as PKCS#8 DER where it does not (see PKCS8_PREFIX):
 * each Node's fast route. Node 20 and 24 read only `d` from a private OKP JWK (they derive the
 * public half themselves) but insist that `x` is a string, hence the empty one. Every simulated
 * node parses its own key and each peer key it checks, and every sealed message a fresh ephemeral
 * X25519 key, so the route matters. The RFC 8032 and RFC 7748 vectors (test/crypto) go through
 * these functions.
 */
export type OkpCurve = 'Ed25519' | 'X25519';

/**
 * PKCS#8 DER of a raw OKP private key: this prefix, then the 32 secret bytes (RFC 8410). Node 26
 * checks a private JWK's `x` against the key it derives, so the empty `x` is refused there
 * (ERR_CRYPTO_INVALID_JWK), and the first refusal switches this process to DER for good. Timings
 * of 20,000 Ed25519 imports here (2026-12-07, one run each, not a benchmark): Node 20, JWK 48 µs
 * and DER 530 µs each; Node 26, DER 57 µs (its `raw-private` format, which Node 20 lacks, 49 µs).
 */
const PKCS8_PREFIX: Record<OkpCurve, Buffer> = {
  Ed25519: Buffer.from('302e020100300506032b657004220420', 'hex'),
  X25519: Buffer.from('302e020100300506032b656e04220420', 'hex'),
};
let privateJwkRefused = false;

export function okpPrivateKey(crv: OkpCurve, secret: Uint8Array): KeyObject {
  // Checked first: a wrong length must fail the same way on either route, and must not switch a
  // Node that refuses only a bad JWK (Node 20 refuses a 31-byte `d` with the same code) to DER.
  if (secret.length !== 32) throw new RangeError(`an ${crv} private key is 32 bytes, got ${secret.length}`);
  if (!privateJwkRefused) {
    try {
      return createPrivateKey({ key: { kty: 'OKP', crv, d: base64url(secret), x: '' }, format: 'jwk' });
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'ERR_CRYPTO_INVALID_JWK') throw error;
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
