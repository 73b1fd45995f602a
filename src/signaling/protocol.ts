import type { ErrorCode } from '../errors.js';
import { isPeerId, type PeerId } from '../identity/peer-id.js';

/**
 * # Signaling protocol (v1)
 *
 * JSON text frames over one WebSocket. The server only introduces peers: it relays
 * opaque signaling data between registered peers and hands out random samples of
 * registered PeerIds. It stores nothing, and nothing it says proves anything about
 * identity: peers authenticate each other after their DataChannel opens.
 *
 * Server → client
 *   {t:'challenge', nonce}          on connect; nonce = 32 random bytes, 64 lowercase hex
 *   {t:'registered', id}            the registration was proven; id = your PeerId
 *   {t:'signal', from, data}        relayed; `from` is the sender's *proven* PeerId,
 *                                   set by the server (a client-supplied `from` is never used)
 *   {t:'relayed', rid}              the server accepted the `signal` with this rid and passed
 *                                   it on (not proof of delivery: a peer may be gone already)
 *   {t:'sample', rid, peers}        up to min(n, sampleMax) other registered PeerIds: first
 *                                   the ring members nearest before the asker's position, up
 *                                   to `near` of them (nearest first), then random ones: ring
 *                                   members (see `member`) when any other is registered,
 *                                   otherwise any registered peers
 *   {t:'error', code, message, rid?}  code is one of SignalErrorCode; rid when the error
 *                                   answers a request that carried one
 *
 * Client → server
 *   {t:'register', id, sig}         sig = ed25519 signature, 128 lowercase hex, by the key `id`
 *                                   over the UTF-8 bytes of "peersock-signal-register-v1:" + nonce
 *   {t:'signal', to, data, rid?}    data: any JSON object (≤ MAX_DATA_DEPTH nesting), opaque to
 *                                   the server; with a rid the server answers `relayed` or `error`
 *   {t:'sample', n, rid, near?}     n: integer 0..MAX_SAMPLE_REQUEST; near: integer 0..n
 *                                   (default 0). A joiner looks its own position up from
 *                                   the nearest member before it: a hop or two, where from a
 *                                   random member the lookup crosses the ring (see
 *                                   IdsByPosition). A server that predates `near` ignores it
 *   {t:'member', on}                on: boolean; "I am on a ring now" (or no longer). Samples
 *                                   name members first: a joiner that picked another joiner
 *                                   as its way in would have its lookup declined. Not
 *                                   answered; a new registration starts as a non-member
 *
 * rid: a string of 1..64 printable ASCII characters chosen by the client to correlate answers.
 * Whole frames are limited in size by the server (default 64 KiB; beyond it the socket is
 * closed with 1009). Unknown fields are ignored; an unknown `t` is a bad message.
 *
 * Registration: a PeerId is registered by at most one connection. A newer connection that
 * proves the same key replaces the older one, which receives
 * {t:'error', code:'SIGNAL_ALREADY_REGISTERED'} and is closed (4001): the newest holder of the
 * key is most likely the live one (a reconnect after a silent network drop). Registering twice
 * on one connection is a bad message.
 */

export const REGISTER_PREFIX = 'peersock-signal-register-v1:';
export const NONCE_BYTES = 32;
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024;
/** SDP and ICE candidates are shallow; deep nesting only costs stack when re-serialised. */
export const MAX_DATA_DEPTH = 32;
export const MAX_SAMPLE_REQUEST = 1024;
export const MAX_RID_LENGTH = 64;

/** WebSocket close codes the server uses. */
export const CloseCode = {
  normal: 1000,
  policyViolation: 1008,
  messageTooBig: 1009,
  tryAgainLater: 1013,
  registrationFailed: 4000,
  replaced: 4001,
  registerTimeout: 4002,
} as const;

export type SignalErrorCode = Extract<
  ErrorCode,
  | 'SIGNAL_BAD_MESSAGE'
  | 'SIGNAL_NOT_REGISTERED'
  | 'SIGNAL_REGISTRATION_FAILED'
  | 'SIGNAL_UNKNOWN_PEER'
  | 'SIGNAL_RATE_LIMITED'
  | 'SIGNAL_SERVER_FULL'
  | 'SIGNAL_ALREADY_REGISTERED'
>;

const SIGNAL_ERROR_CODES: ReadonlySet<string> = new Set<SignalErrorCode>([
  'SIGNAL_BAD_MESSAGE',
  'SIGNAL_NOT_REGISTERED',
  'SIGNAL_REGISTRATION_FAILED',
  'SIGNAL_UNKNOWN_PEER',
  'SIGNAL_RATE_LIMITED',
  'SIGNAL_SERVER_FULL',
  'SIGNAL_ALREADY_REGISTERED',
]);

export type SignalData = Record<string, unknown>;

export type ServerMessage =
  | { t: 'challenge'; nonce: string }
  | { t: 'registered'; id: PeerId }
  | { t: 'signal'; from: PeerId; data: SignalData }
  | { t: 'relayed'; rid: string }
  | { t: 'sample'; rid: string; peers: PeerId[] }
  | { t: 'error'; code: SignalErrorCode; message: string; rid?: string };

export type ClientMessage =
  | { t: 'register'; id: PeerId; sig: string }
  | { t: 'signal'; to: PeerId; data: SignalData; rid?: string }
  | { t: 'sample'; n: number; rid: string; near?: number }
  | { t: 'member'; on: boolean };

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string; rid?: string };

const NONCE_PATTERN = /^[0-9a-f]{64}$/;
const SIG_PATTERN = /^[0-9a-f]{128}$/;
const RID_PATTERN = /^[\x20-\x7e]{1,64}$/;
const MAX_ERROR_MESSAGE_LENGTH = 1024;

/** The bytes a client signs to register: domain-separated so the signature is useless elsewhere. */
export function registerMessageBytes(nonce: string): Uint8Array {
  return new TextEncoder().encode(REGISTER_PREFIX + nonce);
}

export function isNonce(value: unknown): value is string {
  return typeof value === 'string' && NONCE_PATTERN.test(value);
}

export function isRid(value: unknown): value is string {
  return typeof value === 'string' && RID_PATTERN.test(value);
}

export function isSignalErrorCode(value: unknown): value is SignalErrorCode {
  return typeof value === 'string' && SIGNAL_ERROR_CODES.has(value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** True iff `value` nests no deeper than `maxDepth` (recursion itself bounded by the limit). */
export function withinDepth(value: unknown, maxDepth: number): boolean {
  if (typeof value !== 'object' || value === null) return true;
  if (maxDepth <= 0) return false;
  const children = Array.isArray(value) ? value : Object.values(value);
  for (const child of children) {
    if (!withinDepth(child, maxDepth - 1)) return false;
  }
  return true;
}

export function isSignalData(value: unknown): value is SignalData {
  return isPlainObject(value) && withinDepth(value, MAX_DATA_DEPTH);
}

function parseJson(text: string): Parsed<Record<string, unknown>> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'not valid JSON' };
  }
  if (!isPlainObject(value)) return { ok: false, reason: 'a message is a JSON object' };
  return { ok: true, value };
}

// String() on a parsed object can throw (`{"toString":1}`): describe without converting.
function describeType(t: unknown): string {
  return typeof t === 'string' ? JSON.stringify(t.slice(0, 32)) : `(${t === null ? 'null' : typeof t})`;
}

const bad = <T>(reason: string, rid?: string): Parsed<T> =>
  rid === undefined ? { ok: false, reason } : { ok: false, reason, rid };

/** Validates one text frame from a client. Never throws. */
export function parseClientMessage(text: string): Parsed<ClientMessage> {
  const json = parseJson(text);
  if (!json.ok) return json;
  const m = json.value;
  // Echo the rid on errors when it is well-formed, so the client can fail the right request.
  const rid = isRid(m.rid) ? m.rid : undefined;
  switch (m.t) {
    case 'register':
      if (!isPeerId(m.id)) return bad('register.id must be a PeerId (64 lowercase hex)');
      if (typeof m.sig !== 'string' || !SIG_PATTERN.test(m.sig)) return bad('register.sig must be 128 lowercase hex');
      return { ok: true, value: { t: 'register', id: m.id, sig: m.sig } };
    case 'signal': {
      if (m.rid !== undefined && rid === undefined) return bad('signal.rid must be 1..64 printable ASCII characters');
      if (!isPeerId(m.to)) return bad('signal.to must be a PeerId (64 lowercase hex)', rid);
      if (!isSignalData(m.data)) return bad(`signal.data must be a JSON object nested at most ${MAX_DATA_DEPTH} deep`, rid);
      const value: ClientMessage = { t: 'signal', to: m.to, data: m.data };
      if (rid !== undefined) value.rid = rid;
      return { ok: true, value };
    }
    case 'sample':
      if (rid === undefined) return bad('sample.rid must be 1..64 printable ASCII characters');
      if (typeof m.n !== 'number' || !Number.isInteger(m.n) || m.n < 0 || m.n > MAX_SAMPLE_REQUEST) {
        return bad(`sample.n must be an integer in 0..${MAX_SAMPLE_REQUEST}`, rid);
      }
      if (m.near === undefined) return { ok: true, value: { t: 'sample', n: m.n, rid } };
      if (typeof m.near !== 'number' || !Number.isInteger(m.near) || m.near < 0 || m.near > m.n) {
        return bad('sample.near must be an integer in 0..n', rid);
      }
      return { ok: true, value: { t: 'sample', n: m.n, rid, near: m.near } };
    case 'member':
      if (typeof m.on !== 'boolean') return bad('member.on must be true or false');
      return { ok: true, value: { t: 'member', on: m.on } };
    default:
      return bad(`unknown message type ${describeType(m.t)}`, rid);
  }
}

/** Validates one text frame from a server. Never throws. */
export function parseServerMessage(text: string): Parsed<ServerMessage> {
  const json = parseJson(text);
  if (!json.ok) return json;
  const m = json.value;
  switch (m.t) {
    case 'challenge':
      if (!isNonce(m.nonce)) return bad('challenge.nonce must be 64 lowercase hex');
      return { ok: true, value: { t: 'challenge', nonce: m.nonce } };
    case 'registered':
      if (!isPeerId(m.id)) return bad('registered.id must be a PeerId');
      return { ok: true, value: { t: 'registered', id: m.id } };
    case 'signal':
      if (!isPeerId(m.from)) return bad('signal.from must be a PeerId');
      if (!isSignalData(m.data)) return bad('signal.data must be a JSON object of bounded depth');
      return { ok: true, value: { t: 'signal', from: m.from, data: m.data } };
    case 'relayed':
      if (!isRid(m.rid)) return bad('relayed.rid must be a rid');
      return { ok: true, value: { t: 'relayed', rid: m.rid } };
    case 'sample': {
      if (!isRid(m.rid)) return bad('sample.rid must be a rid');
      const peers = m.peers;
      if (!Array.isArray(peers) || peers.length > MAX_SAMPLE_REQUEST || !peers.every(isPeerId)) {
        return bad(`sample.peers must be an array of at most ${MAX_SAMPLE_REQUEST} PeerIds`, m.rid);
      }
      return { ok: true, value: { t: 'sample', rid: m.rid, peers: [...new Set(peers)] } };
    }
    case 'error': {
      if (!isSignalErrorCode(m.code)) return bad('error.code must be a known signaling error code');
      if (typeof m.message !== 'string') return bad('error.message must be a string');
      if (m.rid !== undefined && !isRid(m.rid)) return bad('error.rid must be a rid');
      const value: ServerMessage = { t: 'error', code: m.code, message: m.message.slice(0, MAX_ERROR_MESSAGE_LENGTH) };
      if (m.rid !== undefined) value.rid = m.rid;
      return { ok: true, value };
    }
    default:
      return bad(`unknown message type ${describeType(m.t)}`);
  }
}

export function encode(message: ServerMessage | ClientMessage): string {
  return JSON.stringify(message);
}
