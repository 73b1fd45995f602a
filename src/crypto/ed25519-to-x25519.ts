import { createHash } from 'node:crypto';
import { PeerSockError } from '../errors.js';
import { ed } from './noble-setup.js';

/*
 * One identity key for signing and for encryption: the ed25519 key pair is mapped onto
 * X25519, exactly as libsodium's crypto_sign_ed25519_{pk,sk}_to_curve25519 do (tested on
 * libsodium's ed25519_convert vector), so a peer needs no second key and no key announcement.
 * Both halves commute: X25519(secret derived here) has the public key derived here.
 */

const FIELD_P = (1n << 255n) - 19n;

/**
 * The X25519 public key (Montgomery u, 32 bytes little-endian) of an ed25519 public key,
 * by the birational map u = (1 + y) / (1 − y) mod p.
 *
 * Throws INVALID_ARGUMENT for anything libsodium refuses: encodings that are not canonical
 * (y ≥ p, or x = 0 with the sign bit set), points not on the curve, points of small order
 * (their u would make every shared secret guessable, and y = 1 would divide by zero) and
 * points outside the prime-order subgroup (no honest key is one). The subgroup check costs
 * ~0.5 ms, so callers that convert the same key repeatedly should cache (X25519KeyCache).
 */
export function x25519PublicFromEd25519(publicKey: Uint8Array): Uint8Array {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) {
    throw new PeerSockError('INVALID_ARGUMENT', 'an ed25519 public key is 32 bytes');
  }
  let point: ReturnType<typeof ed.Point.fromBytes>;
  try {
    point = ed.Point.fromBytes(publicKey, false); // strict RFC 8032 decoding: canonical only
  } catch {
    throw new PeerSockError('INVALID_ARGUMENT', 'the ed25519 public key is not a canonical curve point');
  }
  if (point.isSmallOrder()) throw new PeerSockError('INVALID_ARGUMENT', 'the ed25519 public key is a point of small order');
  if (!point.isTorsionFree()) throw new PeerSockError('INVALID_ARGUMENT', 'the ed25519 public key is not in the prime-order subgroup');
  const { y } = point.toAffine();
  const u = ed.etc.mod((1n + y) * ed.etc.invert(ed.etc.mod(1n - y, FIELD_P), FIELD_P), FIELD_P);
  return littleEndian32(u);
}

/**
 * The X25519 secret key of an ed25519 seed: SHA-512(seed)[0..32], clamped (RFC 7748 §5).
 * That is the ed25519 signing scalar itself, which is why the public halves correspond.
 * The caller owns the result and should not keep it longer than needed.
 */
export function x25519SecretFromEd25519Seed(seed: Uint8Array): Uint8Array {
  if (!(seed instanceof Uint8Array) || seed.length !== 32) {
    throw new PeerSockError('INVALID_ARGUMENT', 'an ed25519 secret key (seed) is 32 bytes');
  }
  const scalar = new Uint8Array(createHash('sha512').update(seed).digest().subarray(0, 32));
  scalar[0] = (scalar[0] as number) & 248;
  scalar[31] = ((scalar[31] as number) & 127) | 64;
  return scalar;
}

function littleEndian32(value: bigint): Uint8Array {
  const out = new Uint8Array(32);
  let v = value;
  for (let i = 0; i < 32; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}
