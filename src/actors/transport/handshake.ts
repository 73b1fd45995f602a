import { PeerSockError } from '../../errors.js';

/**
 * Identity binding over an open DataChannel (DESIGN §3, "Transport security").
 *
 * DTLS encrypts the channel but does not say *who* is at the other end: whoever relays
 * the SDP can swap fingerprints and sit in the middle. So, once the channel is open, each
 * side signs a transcript binding both identity keys (the peer ids), both DTLS certificate
 * fingerprints *as this side sees them locally*, and both sides' nonces for the attempt, and
 * sends `proof { sig }`. A man in the middle terminates two different DTLS sessions, so the two
 * ends see different fingerprint pairs, build different transcripts, and the signatures fail.
 *
 * The nonces travel in the offer and the answer (signal-envelope.ts `nonce`), fresh for each
 * attempt: a proof covers the verifier's own nonce, so no proof recorded from another attempt
 * passes. They used to go in a `hello { key, nonce }` on the open channel, which cost each
 * connection half a round trip (and two frames) before either side could sign; the key it
 * carried was the peer id both sides already dialled or answered.
 */
export const AUTH_PROTOCOL = 'ps/auth';

export type Role = 'dialer' | 'listener';

export interface ProofMessage {
  t: 'proof';
  sig: Uint8Array;
  /**
   * The signer's public key: not trusted (the proof is checked against the peer id dialled or
   * answered), only a diagnosis. A proof by another key than the expected one fails the
   * connection with PEER_ID_MISMATCH ("the peer that answered is not the one you asked for")
   * rather than AUTH_FAILED, and without a verification.
   */
  key?: Uint8Array;
}

/**
 * "I verified your proof." A side opens only after verifying the remote proof *and*
 * receiving the remote `done`, so neither sends application data before the other
 * has accepted it (verification is asynchronous and may finish at different times).
 */
export interface DoneMessage {
  t: 'done';
  /**
   * The sender's unwatchedHeartbeatFactor: "on a link I do not watch, send me something at least
   * every `every` heartbeat intervals" (PeerChannel.keepAlive). Without it, a node with a larger
   * factor than ours kept our unwatched links alive too rarely for our timeout (8 beside 4: a
   * frame every 45 s against 30 s). Absent from older peers: then each side uses its own.
   */
  every?: number;
}

/** The largest `every` accepted in `done` (ConnectionConfig.unwatchedHeartbeatFactor has no cap, the wire does). */
export const MAX_KEEPALIVE_EVERY = 64;

export type AuthMessage = ProofMessage | DoneMessage;

export const NONCE_BYTES = 32;

/** A nonce as the signal envelope carries it: lowercase hex. */
export function nonceToText(nonce: Uint8Array): string {
  return Buffer.from(nonce.buffer, nonce.byteOffset, nonce.byteLength).toString('hex');
}

/** The envelope's nonce as bytes (signal-envelope.ts checked it is 64 hex digits). */
export function nonceFromText(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'hex'));
}

/** Validates an auth body decoded from the network. */
export function parseAuthMessage(body: unknown): AuthMessage {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new PeerSockError('FRAME_SCHEMA', 'auth message must be a map');
  }
  const record = body as Record<string, unknown>;
  if (record.t === 'proof') {
    const sig = bytesField(record, 'sig', 64);
    return record.key === undefined ? { t: 'proof', sig } : { t: 'proof', sig, key: bytesField(record, 'key', 32) };
  }
  if (record.t === 'done') {
    if (record.every === undefined) return { t: 'done' };
    const every = record.every;
    if (!Number.isInteger(every) || (every as number) < 1 || (every as number) > MAX_KEEPALIVE_EVERY) {
      throw new PeerSockError('FRAME_SCHEMA', `auth field "every" must be an integer from 1 to ${MAX_KEEPALIVE_EVERY}`);
    }
    return { t: 'done', every: every as number };
  }
  throw new PeerSockError('FRAME_SCHEMA', 'auth message type must be "proof" or "done"');
}

function bytesField(record: Record<string, unknown>, field: string, length: number): Uint8Array {
  const value = record[field];
  if (!(value instanceof Uint8Array) || value.length !== length) {
    throw new PeerSockError('FRAME_SCHEMA', `auth field "${field}" must be ${length} bytes`);
  }
  return value;
}

/** What one side knows once the offer and answer are exchanged and the channel is open, arranged by role, not by "me/them". */
export interface TranscriptView {
  dialerKey: Uint8Array;
  listenerKey: Uint8Array;
  dialerFingerprint: string;
  listenerFingerprint: string;
  dialerNonce: Uint8Array;
  listenerNonce: Uint8Array;
}

const DOMAIN = 'peersock-auth-v1';
// Made once: every connection signs and checks a transcript on each side.
const encoder = new TextEncoder();
const DOMAIN_BYTES = encoder.encode(DOMAIN);
const ROLE_BYTES: Record<Role, Uint8Array> = { dialer: encoder.encode('dialer'), listener: encoder.encode('listener') };

/**
 * The bytes a side signs. The signer's role is included so a proof can never be
 * reflected back as the other role's proof. Every field is length-prefixed so no two
 * different views encode to the same bytes.
 */
export function transcriptBytes(view: TranscriptView, signer: Role): Uint8Array {
  const parts: Uint8Array[] = [
    DOMAIN_BYTES,
    ROLE_BYTES[signer],
    view.dialerKey,
    view.listenerKey,
    encoder.encode(view.dialerFingerprint),
    encoder.encode(view.listenerFingerprint),
    view.dialerNonce,
    view.listenerNonce,
  ];
  const total = parts.reduce((sum, part) => sum + 4 + part.length, 0);
  const out = new Uint8Array(total);
  const data = new DataView(out.buffer);
  let offset = 0;
  for (const part of parts) {
    data.setUint32(offset, part.length);
    out.set(part, offset + 4);
    offset += 4 + part.length;
  }
  return out;
}

/** Arranges local knowledge into the role-ordered view both honest sides agree on. */
export function transcriptView(args: {
  role: Role;
  localKey: Uint8Array;
  remoteKey: Uint8Array;
  localFingerprint: string;
  remoteFingerprint: string;
  localNonce: Uint8Array;
  remoteNonce: Uint8Array;
}): TranscriptView {
  const local = { key: args.localKey, fingerprint: args.localFingerprint, nonce: args.localNonce };
  const remote = { key: args.remoteKey, fingerprint: args.remoteFingerprint, nonce: args.remoteNonce };
  const [dialer, listener] = args.role === 'dialer' ? [local, remote] : [remote, local];
  return {
    dialerKey: dialer.key,
    listenerKey: listener.key,
    dialerFingerprint: dialer.fingerprint,
    listenerFingerprint: listener.fingerprint,
    dialerNonce: dialer.nonce,
    listenerNonce: listener.nonce,
  };
}

export function otherRole(role: Role): Role {
  return role === 'dialer' ? 'listener' : 'dialer';
}
