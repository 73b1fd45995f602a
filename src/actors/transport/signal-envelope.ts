import type { ErrorCode } from '../../errors.js';
import type { LinkSignal } from '../../ports/transport.js';

/**
 * What peers put inside a signaling relay's opaque `data`: one WebRTC signal for one
 * connection attempt (`cid`), or a refusal of that attempt. The relay (a signaling
 * server today, the overlay later) is untrusted, so everything is validated here.
 *
 * An offer and its answer carry their sender's handshake nonce for the attempt (`nonce`, 64 hex
 * digits: see handshake.ts), so the identity proofs can be signed as soon as the channel opens.
 * A relay that alters one only makes both proofs fail, as it would by swapping a fingerprint.
 */
export type SignalEnvelope =
  | { cid: string; signal: LinkSignal; nonce?: string }
  | { cid: string; reject: ErrorCode; reason: string };

const CID_PATTERN = /^[0-9a-f]{16}$/;
const NONCE_PATTERN = /^[0-9a-f]{64}$/;
const MAX_SDP_CHARS = 16_384;
const MAX_CANDIDATE_CHARS = 1_024;
/** CONNECT_ABANDONED: the remote closed this attempt before it opened (see peer-connection's abandonAttempt). */
const REJECT_CODES: ReadonlySet<string> = new Set(['CONNECTION_LIMIT', 'CONNECTION_REJECTED', 'CONNECT_ABANDONED', 'SELF_CONNECT', 'PUZZLE_UNSOLVED']);

export function parseSignalEnvelope(data: unknown): SignalEnvelope | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const record = data as Record<string, unknown>;
  if (typeof record.cid !== 'string' || !CID_PATTERN.test(record.cid)) return undefined;
  if (typeof record.reject === 'string') {
    if (!REJECT_CODES.has(record.reject)) return undefined;
    const reason = typeof record.reason === 'string' ? record.reason.slice(0, 200) : '';
    return { cid: record.cid, reject: record.reject as ErrorCode, reason };
  }
  const signal = parseLinkSignal(record.signal);
  if (!signal) return undefined;
  if (signal.type === 'candidate') return { cid: record.cid, signal };
  // A description without the sender's nonce cannot lead to a handshake: dropped like any malformed signal.
  if (typeof record.nonce !== 'string' || !NONCE_PATTERN.test(record.nonce)) return undefined;
  return { cid: record.cid, signal, nonce: record.nonce };
}

function parseLinkSignal(value: unknown): LinkSignal | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  if ((record.type === 'offer' || record.type === 'answer') && typeof record.sdp === 'string') {
    return record.sdp.length <= MAX_SDP_CHARS ? { type: record.type, sdp: record.sdp } : undefined;
  }
  if (record.type === 'candidate' && typeof record.candidate === 'string' && typeof record.mid === 'string') {
    if (record.candidate.length > MAX_CANDIDATE_CHARS || record.mid.length > 64) return undefined;
    return { type: 'candidate', candidate: record.candidate, mid: record.mid };
  }
  return undefined;
}

export function isOffer(envelope: SignalEnvelope): envelope is Extract<SignalEnvelope, { signal: LinkSignal }> {
  return 'signal' in envelope && envelope.signal.type === 'offer';
}
