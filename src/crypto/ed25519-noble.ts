import { ed } from './noble-setup.js';

/**
 * ed25519 through @noble/ed25519 (pure JS): the reference the native fast path is
 * checked against, and a fallback where node:crypto lacks ed25519 (browsers).
 */

/** Raw 32-byte public key for a raw 32-byte secret key (seed). */
export function noblePublicKey(secretKey: Uint8Array): Uint8Array {
  if (secretKey.length !== 32) throw new RangeError('ed25519 secret key must be 32 bytes');
  return ed.getPublicKey(secretKey);
}

export function nobleSign(secretKey: Uint8Array, message: Uint8Array): Uint8Array {
  if (secretKey.length !== 32) throw new RangeError('ed25519 secret key must be 32 bytes');
  return ed.sign(message, secretKey);
}

/**
 * Never throws: malformed keys or signatures verify as false. Uses RFC 8032 strict
 * decoding (not noble's ZIP-215 default) so it accepts what OpenSSL accepts.
 */
export function nobleVerify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    if (!(publicKey instanceof Uint8Array) || !(message instanceof Uint8Array) || !(signature instanceof Uint8Array)) return false;
    if (publicKey.length !== 32 || signature.length !== 64) return false;
    return ed.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}
