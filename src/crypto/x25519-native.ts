import { diffieHellman, type KeyObject } from 'node:crypto';
import { okpPrivateKey, okpPublicKey, okpRawPublicKey } from './okp-jwk.js';

/*
 * X25519 through node:crypto (OpenSSL), with raw 32-byte keys in and out.
 *
 * Keys are imported by okp-jwk.ts's fastest route for the running Node: measured here on Node 20,
 * a DER import ran ~3,500/s and a JWK import ~50,000/s (private) / ~200,000/s (public), which
 * matters when every sealed message imports a fresh ephemeral key; Node 26 refuses the private
 * JWK and imports DER at ~16,000/s (okp-jwk.ts). test/crypto/sealed-envelope.test.ts checks the
 * RFC 7748 vector through these functions.
 */

export function x25519PrivateKey(secret: Uint8Array): KeyObject {
  if (secret.length !== 32) throw new RangeError('an X25519 secret key is 32 bytes');
  return okpPrivateKey('X25519', secret);
}

export function x25519PublicKey(publicKey: Uint8Array): KeyObject {
  if (publicKey.length !== 32) throw new RangeError('an X25519 public key is 32 bytes');
  return okpPublicKey('X25519', publicKey);
}

/** The raw public key of a private (or public) X25519 KeyObject. */
export function x25519RawPublicKey(key: KeyObject): Uint8Array {
  return okpRawPublicKey(key, 'X25519');
}

/**
 * The shared secret, or undefined when there is none worth using: an all-zero result
 * (the peer's key had small order, RFC 7748 §6.1) or a key OpenSSL refuses. Never throws.
 */
export function x25519SharedSecret(privateKey: KeyObject, publicKey: Uint8Array): Uint8Array | undefined {
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey, publicKey: x25519PublicKey(publicKey) });
  } catch {
    return undefined; // OpenSSL itself refuses an all-zero output
  }
  let bits = 0;
  for (const byte of shared) bits |= byte; // constant time: no early exit on secret bytes
  return bits === 0 ? undefined : new Uint8Array(shared);
}
