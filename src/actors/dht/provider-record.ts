import { createHash } from 'node:crypto';
import { PeerSockError } from '../../errors.js';
import { isPeerId, peerIdFromPublicKey, publicKeyOf, type PeerId } from '../../identity/peer-id.js';
import type { CryptoPort } from '../../ports/crypto.js';
import { expectShape, is, isUint } from '../../wire/validate.js';
import type { Position } from '../ring/id-space.js';

/**
 * Provider records: "peer P provides service S until T", signed by P. They are stored at the
 * nodes closest to `serviceKey(S)` and handed to whoever asks, so every receiver checks them
 * itself: the signature binds the record to the provider's key, so nobody can announce a
 * provider that did not sign, and the expiry bounds how long a replayed record lives.
 *
 * Times are wall-clock milliseconds since the Unix epoch (the provider's clock), because
 * receivers compare them with their own: the per-process monotonic `Clock.now()` is not
 * comparable across nodes. The simulator's shared virtual time is. `issuedAt` doubles as the
 * sequence number: for one (service, provider), the record issued last wins.
 */
export interface ProviderRecord {
  /** 1..128 visible ASCII characters. */
  readonly service: string;
  readonly provider: PeerId;
  readonly issuedAt: number;
  readonly expiresAt: number;
  /** ed25519 by `provider` over `encodeForSigning(record)`: 64 bytes. */
  readonly signature: Uint8Array;
}

export type UnsignedProviderRecord = Omit<ProviderRecord, 'signature'>;

export const MAX_SERVICE_LENGTH = 128;
/** Signed-message prefix: a provider signature can never be mistaken for any other PeerSock signature. */
export const PROVIDER_SIGNING_DOMAIN = 'peersock/provider/v1';
/** Hash prefix of service keys, so a service key never collides with a key made for another purpose. */
export const SERVICE_KEY_DOMAIN = 'peersock/service/v1';
export const SIGNATURE_BYTES = 64;

export interface ProviderPolicy {
  /** Longest lifetime (expiresAt - issuedAt) accepted: bounds how long a stale record can be replayed. */
  maxTtlMs: number;
  /** How far in the future `issuedAt` may lie, for a provider whose clock runs ahead of ours. */
  clockSkewMs: number;
}

export const DEFAULT_PROVIDER_POLICY: ProviderPolicy = Object.freeze({
  maxTtlMs: 30 * 60_000,
  clockSkewMs: 60_000,
});

/*
 * Visible ASCII only: no spaces, controls or Unicode. Service names are compared byte for byte
 * and shown to people; homoglyphs and invisible characters would let two names look alike.
 */
const SERVICE_PATTERN = /^[\x21-\x7e]{1,128}$/;

export function isServiceName(value: unknown): value is string {
  return typeof value === 'string' && SERVICE_PATTERN.test(value);
}

function expectServiceName(service: string): void {
  if (!isServiceName(service)) {
    throw new PeerSockError(
      'INVALID_ARGUMENT',
      `a service name is 1..${MAX_SERVICE_LENGTH} visible ASCII characters; got ${JSON.stringify(String(service).slice(0, 80))}`,
    );
  }
}

/** Where in the DHT a service's providers are stored: SHA-256 of the domain-separated name. */
export function serviceKey(service: string): Position {
  expectServiceName(service);
  return createHash('sha256').update(SERVICE_KEY_DOMAIN).update(Uint8Array.of(0)).update(service, 'ascii').digest('hex') as Position;
}

const DOMAIN_BYTES = Buffer.from(`${PROVIDER_SIGNING_DOMAIN}\0`, 'ascii');

/**
 * The bytes the provider signs: domain ‖ NUL ‖ u16 service length ‖ service ‖ provider key (32)
 * ‖ issuedAt (u64) ‖ expiresAt (u64), integers big-endian. Every field has a fixed size or a
 * length prefix, so two different records never encode alike.
 */
export function encodeForSigning(record: UnsignedProviderRecord): Uint8Array {
  expectServiceName(record.service);
  if (!isPeerId(record.provider)) throw new PeerSockError('INVALID_ARGUMENT', 'provider must be a PeerId');
  if (!isUint(record.issuedAt) || !isUint(record.expiresAt)) {
    throw new PeerSockError('INVALID_ARGUMENT', 'issuedAt and expiresAt must be non-negative integers (ms)');
  }
  const service = Buffer.from(record.service, 'ascii');
  const out = Buffer.alloc(DOMAIN_BYTES.length + 2 + service.length + 32 + 8 + 8);
  let at = DOMAIN_BYTES.copy(out, 0);
  at = out.writeUInt16BE(service.length, at);
  at += service.copy(out, at);
  at += Buffer.from(record.provider, 'hex').copy(out, at);
  out.writeBigUInt64BE(BigInt(record.issuedAt), at);
  out.writeBigUInt64BE(BigInt(record.expiresAt), at + 8);
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

/** A record for this node (the crypto port's key) providing `service` from `issuedAt` for `ttlMs`. */
export async function createProviderRecord(
  crypto: Pick<CryptoPort, 'publicKey' | 'sign'>,
  options: { service: string; issuedAt: number; ttlMs: number },
): Promise<ProviderRecord> {
  if (!Number.isSafeInteger(options.ttlMs) || options.ttlMs <= 0) {
    throw new PeerSockError('INVALID_ARGUMENT', `ttlMs must be a positive integer, got ${options.ttlMs}`);
  }
  const unsigned: UnsignedProviderRecord = {
    service: options.service,
    provider: peerIdFromPublicKey(crypto.publicKey),
    issuedAt: options.issuedAt,
    expiresAt: options.issuedAt + options.ttlMs,
  };
  const signature = await crypto.sign(encodeForSigning(unsigned));
  return { ...unsigned, signature };
}

const RECORD_SHAPE = {
  service: isServiceName,
  provider: isPeerId,
  issuedAt: is.uint(),
  expiresAt: is.uint(),
  signature: is.bytes(SIGNATURE_BYTES),
} as const;

/**
 * Validates a decoded record (schema only; `verifyProviderRecord` checks signature and time).
 * Throws PeerSockError FRAME_SCHEMA. The signature is copied: a view into the received frame
 * would keep the whole frame buffer alive for as long as the record is stored.
 */
export function parseProviderRecord(value: unknown, what = 'provider record'): ProviderRecord {
  const r = expectShape(value, RECORD_SHAPE, what);
  if (r.expiresAt <= r.issuedAt) throw new PeerSockError('FRAME_SCHEMA', `${what}: expiresAt must be after issuedAt`);
  return { service: r.service, provider: r.provider, issuedAt: r.issuedAt, expiresAt: r.expiresAt, signature: Uint8Array.from(r.signature) };
}

export type ProviderVerdict = { ok: true } | { ok: false; error: PeerSockError };

/**
 * Whether `record` may be stored or used at `now` (wall-clock ms): not expired, not issued
 * beyond the allowed clock skew in the future, no longer-lived than `maxTtlMs`, and signed by
 * its provider. Cheap checks first: the signature is checked only for a record that could be
 * used. Never throws for a bad record; the verdict says what is wrong (RECORD_EXPIRED or
 * SIGNATURE_INVALID).
 */
export async function verifyProviderRecord(
  crypto: Pick<CryptoPort, 'verify'>,
  record: ProviderRecord,
  now: number,
  policy: ProviderPolicy = DEFAULT_PROVIDER_POLICY,
): Promise<ProviderVerdict> {
  const expired = (message: string): ProviderVerdict => ({ ok: false, error: new PeerSockError('RECORD_EXPIRED', `provider record for ${JSON.stringify(record.service)}: ${message}`) });
  if (record.expiresAt <= now) return expired(`expired at ${record.expiresAt}, now ${now}`);
  if (record.issuedAt > now + policy.clockSkewMs) return expired(`issued at ${record.issuedAt}, beyond the ${policy.clockSkewMs} ms clock skew allowed at ${now}`);
  if (record.expiresAt - record.issuedAt > policy.maxTtlMs) return expired(`lifetime ${record.expiresAt - record.issuedAt} ms exceeds the ${policy.maxTtlMs} ms allowed`);
  let message: Uint8Array;
  try {
    message = encodeForSigning(record);
  } catch (error) {
    return { ok: false, error: new PeerSockError('SIGNATURE_INVALID', 'provider record cannot be encoded for verification', { cause: error }) };
  }
  // The provider's own key is the only one tried: a record signed by anyone else fails here.
  const valid = await crypto.verify(publicKeyOf(record.provider), message, record.signature);
  if (!valid) return { ok: false, error: new PeerSockError('SIGNATURE_INVALID', `provider record for ${JSON.stringify(record.service)}: signature is not the provider's`) };
  return { ok: true };
}
