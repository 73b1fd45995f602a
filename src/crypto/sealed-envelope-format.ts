import { createHash } from 'node:crypto';
import { PeerSockError } from '../errors.js';
import { isPeerId, publicKeyOf, type PeerId } from '../identity/peer-id.js';
import { DEFAULT_WIRE_LIMITS } from '../wire/limits.js';
import { isProtocolTag } from '../wire/protocol-tag.js';
import { is, isRecord } from '../wire/validate.js';

/**
 * The routed-message envelope as it travels (a CBOR map, the body of a routed frame), and the
 * exact bytes that get signed and authenticated. sealed-envelope.ts does the cryptography.
 *
 *   v       1
 *   origin  PeerId     who sealed it                      ┐
 *   target  PeerId     who can open it                    │ the routing header: hops read
 *   msgId   16 bytes   random, for dedup / replay checks  │ these, nothing else; signed and
 *   sentAt  uint       origin's wall clock, ms since 1970 │ bound into the AEAD as
 *   eph     32 bytes   ephemeral X25519 public key        ┘ associated data
 *   ttl     uint       hops left: NOT signed, NOT authenticated (see below)
 *   ct      bytes      ChaCha20-Poly1305(protocol, payload) ‖ 16-byte tag
 *   sig     64 bytes   ed25519 by origin over SIG_CONTEXT ‖ header ‖ SHA-256(ct)
 *
 * Why ttl is outside everything: every hop decrements it, and a hop cannot re-sign for the
 * origin, so a signed or AAD-bound ttl could never change in transit. The cost is that a
 * hostile hop can reset it; it can equally drop or loop the message, so ttl was never a
 * security property, only a brake on routing loops among honest nodes. The recipient ignores it.
 *
 * sentAt sits in the header rather than inside the ciphertext: hops see the time anyway, and
 * there it lets a recipient run its replay check (msgId, sentAt) before paying for a signature
 * check. The application protocol tag is inside: hops do not learn what the message is.
 *
 * Why the signature covers SHA-256(ct) and not ct itself: verification runs on worker threads
 * in batches (crypto/verify-pool.ts) and every signed message is copied there; hashing first
 * ships ~170 bytes instead of up to 1 MiB. Forging then also needs a SHA-256 collision:
 * 2^128 work, the same level as ed25519 itself.
 */
export const ENVELOPE_VERSION = 1;

export interface SealedEnvelope {
  v: typeof ENVELOPE_VERSION;
  origin: PeerId;
  target: PeerId;
  msgId: Uint8Array;
  sentAt: number;
  eph: Uint8Array;
  ttl: number;
  ct: Uint8Array;
  sig: Uint8Array;
}

/** The part of an envelope that is signed and used as associated data. */
export type EnvelopeHeader = Pick<SealedEnvelope, 'v' | 'origin' | 'target' | 'msgId' | 'sentAt' | 'eph'>;

export const MSG_ID_BYTES = 16;
export const EPHEMERAL_KEY_BYTES = 32;
export const AEAD_TAG_BYTES = 16;
export const SIGNATURE_BYTES = 64;
/** Largest ttl a sender may set or a hop may see; ring routing needs ~14 hops at 10,000 nodes. */
export const MAX_ENVELOPE_TTL = 255;
/** A ciphertext fills at most one wire string, so a sealed message always fits in one frame. */
export const MAX_CIPHERTEXT_BYTES = DEFAULT_WIRE_LIMITS.maxStringBytes;
/** Largest payload any protocol tag can carry: the tag's length byte, a 64-byte tag, the AEAD tag. */
export const MAX_SEALED_PAYLOAD_BYTES = MAX_CIPHERTEXT_BYTES - AEAD_TAG_BYTES - 1 - 64;

/** Header: version 1 + origin 32 + target 32 + msgId 16 + sentAt 8 + eph 32. */
export const HEADER_BYTES = 1 + 32 + 32 + MSG_ID_BYTES + 8 + EPHEMERAL_KEY_BYTES;

// A different prefix from every other thing this key signs (handshake transcripts, module
// manifests): a routed-message signature can never be replayed as one of those.
const SIG_CONTEXT = new TextEncoder().encode('peersock/e2e/v1/sig\0');

const envelopeShape = {
  v: is.literal(ENVELOPE_VERSION),
  origin: isPeerId,
  target: isPeerId,
  msgId: is.bytes(MSG_ID_BYTES),
  sentAt: is.uint(),
  eph: is.bytes(EPHEMERAL_KEY_BYTES),
  ttl: is.uint(MAX_ENVELOPE_TTL),
  ct: (value: unknown): value is Uint8Array =>
    value instanceof Uint8Array && value.length > AEAD_TAG_BYTES && value.length <= MAX_CIPHERTEXT_BYTES,
  sig: is.bytes(SIGNATURE_BYTES),
} as const;

/**
 * Validates a decoded envelope; throws FRAME_SCHEMA naming the first bad field. Hops call it
 * too, before reading the routing header. Returns a new object holding only the known fields.
 */
export function parseSealedEnvelope(value: unknown): SealedEnvelope {
  if (!isRecord(value)) throw schema('must be a map');
  for (const key of Object.keys(envelopeShape) as (keyof typeof envelopeShape)[]) {
    const field = Object.hasOwn(value, key) ? value[key] : undefined;
    if (!envelopeShape[key](field)) {
      if (key === 'v' && field !== undefined) throw schema(`version ${String(field).slice(0, 20)} is not supported (this peer speaks ${ENVELOPE_VERSION})`);
      throw schema(`${key} is ${field === undefined ? 'missing' : 'invalid'}`);
    }
  }
  const v = value as unknown as SealedEnvelope;
  return { v: v.v, origin: v.origin, target: v.target, msgId: v.msgId, sentAt: v.sentAt, eph: v.eph, ttl: v.ttl, ct: v.ct, sig: v.sig };
}

/** The header in its one byte form (fixed widths, so no two headers share an encoding). */
export function headerBytes(header: EnvelopeHeader): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES);
  const view = new DataView(out.buffer);
  out[0] = header.v;
  out.set(publicKeyOf(header.origin), 1);
  out.set(publicKeyOf(header.target), 33);
  out.set(header.msgId, 65);
  view.setBigUint64(65 + MSG_ID_BYTES, BigInt(header.sentAt));
  out.set(header.eph, 65 + MSG_ID_BYTES + 8);
  return out;
}

/** What the origin signs. */
export function signedBytes(header: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  const digest = createHash('sha256').update(ciphertext).digest();
  const out = new Uint8Array(SIG_CONTEXT.length + header.length + digest.length);
  out.set(SIG_CONTEXT, 0);
  out.set(header, SIG_CONTEXT.length);
  out.set(digest, SIG_CONTEXT.length + header.length);
  return out;
}

/** Plaintext inside the AEAD: protocol tag length (1 byte), tag (ASCII), payload. */
export function encodeInner(protocol: string, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + protocol.length + payload.length);
  out[0] = protocol.length;
  for (let i = 0; i < protocol.length; i++) out[1 + i] = protocol.charCodeAt(i);
  out.set(payload, 1 + protocol.length);
  return out;
}

/** Throws FRAME_SCHEMA: the plaintext is authentic (the origin wrote it) but malformed. */
export function decodeInner(plaintext: Uint8Array): { protocol: string; payload: Uint8Array } {
  const length = plaintext[0];
  if (length === undefined || 1 + length > plaintext.length) throw schema('sealed content is truncated');
  const protocol = Buffer.from(plaintext.buffer, plaintext.byteOffset + 1, length).toString('latin1');
  if (!isProtocolTag(protocol)) throw schema('sealed content names no valid protocol tag');
  return { protocol, payload: plaintext.subarray(1 + length) };
}

function schema(message: string): PeerSockError {
  return new PeerSockError('FRAME_SCHEMA', `sealed envelope: ${message}`);
}
