import { createHash } from 'node:crypto';
import { PeerSockError } from '../errors.js';

/**
 * A PeerId is the peer's ed25519 public key, written as 64 lowercase hex characters.
 * Hex is unambiguous, case-normalised and needs no codec beyond Buffer.
 */
export type PeerId = string & { readonly __brand: 'PeerId' };

const PEER_ID_PATTERN = /^[0-9a-f]{64}$/;

export function peerIdFromPublicKey(publicKey: Uint8Array): PeerId {
  if (publicKey.length !== 32) {
    throw new PeerSockError('INVALID_PEER_ID', `an ed25519 public key has 32 bytes, got ${publicKey.length}`);
  }
  return Buffer.from(publicKey).toString('hex') as PeerId;
}

export function isPeerId(value: unknown): value is PeerId {
  return typeof value === 'string' && PEER_ID_PATTERN.test(value);
}

/** Parses user or network input; accepts upper case hex and normalises it. */
export function parsePeerId(text: string): PeerId {
  const normalised = typeof text === 'string' ? text.trim().toLowerCase() : '';
  if (!PEER_ID_PATTERN.test(normalised)) {
    throw new PeerSockError('INVALID_PEER_ID', `a PeerId is 64 hex characters (an ed25519 public key); got ${JSON.stringify(String(text).slice(0, 80))}`);
  }
  return normalised as PeerId;
}

export function publicKeyOf(id: PeerId): Uint8Array {
  return new Uint8Array(Buffer.from(id, 'hex'));
}

/** Position in the 256-bit ID space shared by the ring and the DHT: SHA-256(public key). */
export function positionOf(id: PeerId): Uint8Array {
  return new Uint8Array(createHash('sha256').update(publicKeyOf(id)).digest());
}

/** First 8 hex characters: enough to tell peers apart in logs and the demo. */
export function shortId(id: PeerId | string): string {
  return id.slice(0, 8);
}
