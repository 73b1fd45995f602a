import { PeerSockError } from '../../errors.js';

/**
 * Identity binding over an open DataChannel (DESIGN §3, "Transport security").
 *
 * DTLS encrypts the channel but does not say *who* is at the other end: whoever relays
 * the SDP can swap fingerprints and sit in the middle. So, once the channel is open,
 * each side sends `hello { key, nonce }`, then signs a transcript binding both identity
 * keys, both DTLS certificate fingerprints *as this side sees them locally*, and both
 * nonces, and sends `proof { sig }`. A man in the middle terminates two different DTLS sessions, so the two ends
 * see different fingerprint pairs, build different transcripts, and the signatures fail.
 */
export const AUTH_PROTOCOL = 'ps/auth';

export type Role = 'dialer' | 'listener';

export interface HelloMessage {
  t: 'hello';
  key: Uint8Array;
  nonce: Uint8Array;
}

export interface ProofMessage {
  t: 'proof';
  sig: Uint8Array;
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

export type AuthMessage = HelloMessage | ProofMessage | DoneMessage;

export const NONCE_BYTES = 32;

export function helloMessage(publicKey: Uint8Array, nonce: Uint8Array): HelloMessage {
  return { t: 'hello', key: publicKey, nonce };
}

/** Validates an auth body decoded from the network. */
export function parseAuthMessage(body: unknown): AuthMessage {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new PeerSockError('FRAME_SCHEMA', 'auth message must be a map');
  }
  const record = body as Record<string, unknown>;
  if (record.t === 'hello') {
    return { t: 'hello', key: bytesField(record, 'key', 32), nonce: bytesField(record, 'nonce', NONCE_BYTES) };
  }
  if (record.t === 'proof') {
    return { t: 'proof', sig: bytesField(record, 'sig', 64) };
  }
  if (record.t === 'done') {
    if (record.every === undefined) return { t: 'done' };
    const every = record.every;
    if (!Number.isInteger(every) || (every as number) < 1 || (every as number) > MAX_KEEPALIVE_EVERY) {
      throw new PeerSockError('FRAME_SCHEMA', `auth field "every" must be an integer from 1 to ${MAX_KEEPALIVE_EVERY}`);
    }
    return { t: 'done', every: every as number };
  }
  throw new PeerSockError('FRAME_SCHEMA', 'auth message type must be "hello", "proof" or "done"');
}

function bytesField(record: Record<string, unknown>, field: string, length: number): Uint8Array {
  const value = record[field];
  if (!(value instanceof Uint8Array) || value.length !== length) {
    throw new PeerSockError('FRAME_SCHEMA', `auth field "${field}" must be ${length} bytes`);
  }
  return value;
}

/** What one side knows once both hellos are exchanged, arranged by role, not by "me/them". */
export interface TranscriptView {
  dialerKey: Uint8Array;
  listenerKey: Uint8Array;
  dialerFingerprint: string;
  listenerFingerprint: string;
  dialerNonce: Uint8Array;
  listenerNonce: Uint8Array;
}

const DOMAIN = 'peersock-auth-v1';

/**
 * The bytes a side signs. The signer's role is included so a proof can never be
 * reflected back as the other role's proof. Every field is length-prefixed so no two
 * different views encode to the same bytes.
 */
export function transcriptBytes(view: TranscriptView, signer: Role): Uint8Array {
  const encoder = new TextEncoder();
  const parts: Uint8Array[] = [
    encoder.encode(DOMAIN),
    encoder.encode(signer),
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
