import { sign, verify, type KeyObject } from 'node:crypto';
import { okpPrivateKey, okpPublicKey, okpRawPublicKey } from './okp-jwk.js';

/**
 * ed25519 through node:crypto (OpenSSL): ~13x faster than @noble/ed25519 here.
 * ed25519 is deterministic, so native and noble must produce byte-identical
 * signatures; test/crypto/rfc8032.test.ts proves it on the RFC 8032 vectors.
 */

// Raw keys enter node:crypto by okp-jwk.ts's fastest route for the running Node (JWK on Node 20,
// where OpenSSL 3's DER decoder made parsing a key cost ~9× as long: a timing of 1,000 keys, not a
// benchmark; DER for private keys on Node 26, which refuses that JWK). Each simulated node parses
// its own key and every peer key it verifies, and the simulator runs ~12,000 nodes in a
// 10,000-node churn run.

export function nativePrivateKey(secretKey: Uint8Array): KeyObject {
  if (secretKey.length !== 32) throw new RangeError('ed25519 secret key must be 32 bytes');
  return okpPrivateKey('Ed25519', secretKey);
}

export function nativePublicKey(publicKey: Uint8Array): KeyObject {
  if (publicKey.length !== 32) throw new RangeError('ed25519 public key must be 32 bytes');
  return okpPublicKey('Ed25519', publicKey);
}

export function nativeSign(privateKey: KeyObject, message: Uint8Array): Uint8Array {
  return new Uint8Array(sign(null, message, privateKey));
}

/**
 * y-coordinates (mod p) of the 8 points of small order. A public key among them is
 * not a real key: with it, one signature verifies for many messages. OpenSSL's
 * cofactorless check accepts such keys; noble (strict) and libsodium reject them, and
 * so do we, so both paths agree. verify-worker.js keeps a copy of this list.
 */
const FIELD_P = (1n << 255n) - 19n;
const SMALL_ORDER_Y = new Set<bigint>([
  0n, // order 4
  1n, // identity
  FIELD_P - 1n, // order 2
  0x05fc536d880238b13933c6d305acdfd5f098eff289f4c345b027b2c28f95e826n, // order 8
  FIELD_P - 0x05fc536d880238b13933c6d305acdfd5f098eff289f4c345b027b2c28f95e826n, // order 8
]);

/** True for the encodings (canonical or not) of the small-order points; false otherwise. */
export function isSmallOrderPublicKey(publicKey: Uint8Array): boolean {
  if (publicKey.length !== 32) return false;
  let y = 0n;
  for (let i = 31; i >= 0; i--) y = (y << 8n) | BigInt((publicKey[i] as number) & (i === 31 ? 0x7f : 0xff));
  return SMALL_ORDER_Y.has(y >= FIELD_P ? y - FIELD_P : y);
}

/** Never throws: malformed keys or signatures, and small-order keys, verify as false. */
export function nativeVerify(publicKey: Uint8Array | KeyObject, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    if (signature.length !== 64) return false;
    if (publicKey instanceof Uint8Array && isSmallOrderPublicKey(publicKey)) return false;
    const key = publicKey instanceof Uint8Array ? nativePublicKey(publicKey) : publicKey;
    return verify(null, message, key, signature);
  } catch {
    return false;
  }
}

/** Derives the raw 32-byte public key from a raw secret key. */
export function nativePublicKeyFromSecret(secretKey: Uint8Array): Uint8Array {
  return okpRawPublicKey(nativePrivateKey(secretKey), 'Ed25519');
}
