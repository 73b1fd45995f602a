import { MAX_ENVELOPE_TTL, parseSealedEnvelope, type SealedEnvelope } from '../../crypto/sealed-envelope.js';
import { MSG_ID_BYTES } from '../../crypto/sealed-envelope-format.js';
import { PeerSockError } from '../../errors.js';
import type { PeerId } from '../../identity/peer-id.js';
import { isRecord } from '../../wire/validate.js';

/**
 * The routed-message protocol (`ps/route` frames between authenticated neighbours):
 *
 *   msg   {t, env, ccw?}                    a sealed envelope on its way to env.target; `ccw`: a
 *                                           hop found no way forward clockwise, and from there on
 *                                           it approaches the target from behind (route-choice.ts)
 *   ack   {t, env, ccw?}                    a sealed envelope from the message's target back to
 *                                           its origin; inside: protocol ACK_PROTOCOL, payload =
 *                                           the acknowledged msgId. Sealed and signed like any
 *                                           message, so no hop can forge or alter one.
 *   fail  {t, to, origin, msgId, code, ttl, ccw?} a hop could not move the message from `origin` to
 *                                           `to` closer to `to` (UNREACHABLE) or its ttl ran out
 *                                           (TTL_EXPIRED); routed back toward `origin`
 *
 * `fail` is plain and unauthenticated on purpose: the hop that sends it is the one that gave up,
 * and it has no key the origin could check. A forged `fail` can only make a send reject that
 * might have succeeded, which a hop on the path can cause anyway by dropping the message. It can
 * never make a send resolve: only an ack signed by the target does.
 *
 * On the wire the envelope's origin and target are 32 raw bytes, like every id in PeerSock's
 * own protocols (the envelope's signature covers its binary header, not this encoding); inside
 * the engine they are hex PeerIds, as `parseSealedEnvelope` wants them.
 */
export const ROUTE_PROTOCOL = 'ps/route';
/** Inner protocol of an ack envelope; an application can never send on `ps/`, so it cannot fake one. */
export const ACK_PROTOCOL = 'ps/ack';

export type RouteFailCode = 'UNREACHABLE' | 'TTL_EXPIRED';
const FAIL_CODES: ReadonlySet<string> = new Set<RouteFailCode>(['UNREACHABLE', 'TTL_EXPIRED']);

export type RouteMessage =
  | { t: 'msg'; env: SealedEnvelope; ccw?: true }
  | { t: 'ack'; env: SealedEnvelope; ccw?: true }
  | { t: 'fail'; to: PeerId; origin: PeerId; msgId: Uint8Array; code: RouteFailCode; ttl: number; ccw?: true };

const ID_BYTES = 32;

function fail(message: string): never {
  throw new PeerSockError('FRAME_SCHEMA', `route message: ${message}`);
}

function hexId(value: unknown, field: string): PeerId {
  if (!(value instanceof Uint8Array) || value.length !== ID_BYTES) fail(`${field} must be a 32-byte PeerId`);
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex') as PeerId;
}

function wireId(id: PeerId): Uint8Array {
  return Buffer.from(id, 'hex');
}

function envelopeToWire(env: SealedEnvelope): Record<string, unknown> {
  return { v: env.v, origin: wireId(env.origin), target: wireId(env.target), msgId: env.msgId, sentAt: env.sentAt, eph: env.eph, ttl: env.ttl, ct: env.ct, sig: env.sig };
}

function envelopeFromWire(value: unknown): SealedEnvelope {
  if (!isRecord(value)) fail('env must be a map');
  const origin = hexId(Object.hasOwn(value, 'origin') ? value.origin : undefined, 'env.origin');
  const target = hexId(Object.hasOwn(value, 'target') ? value.target : undefined, 'env.target');
  // parseSealedEnvelope checks every other field (and throws FRAME_SCHEMA naming it).
  return parseSealedEnvelope({ ...value, origin, target });
}

/** The wire form of a message: ids as raw bytes. */
export function routeMessageToWire(message: RouteMessage): Record<string, unknown> {
  switch (message.t) {
    case 'msg':
    case 'ack':
      return withCcw({ t: message.t, env: envelopeToWire(message.env) }, message.ccw);
    case 'fail':
      return withCcw({ t: 'fail', to: wireId(message.to), origin: wireId(message.origin), msgId: message.msgId, code: message.code, ttl: message.ttl }, message.ccw);
  }
}

function withCcw(out: Record<string, unknown>, ccw: true | undefined): Record<string, unknown> {
  if (ccw) out.ccw = true;
  return out;
}

/** The optional `ccw` flag: absent, or exactly true. */
function ccwFlag(body: Record<string, unknown>): { ccw?: true } {
  if (body.ccw === undefined) return {};
  if (body.ccw !== true) fail('ccw must be true when present');
  return { ccw: true };
}

/** Validates a decoded `ps/route` body. Throws PeerSockError FRAME_SCHEMA. */
export function parseRouteMessage(body: unknown): RouteMessage {
  if (!isRecord(body)) fail('must be a map');
  switch (body.t) {
    case 'msg':
    case 'ack':
      return { t: body.t, env: envelopeFromWire(body.env), ...ccwFlag(body) };
    case 'fail': {
      const to = hexId(body.to, 'to');
      const origin = hexId(body.origin, 'origin');
      const msgId = body.msgId;
      if (!(msgId instanceof Uint8Array) || msgId.length !== MSG_ID_BYTES) fail(`msgId must be ${MSG_ID_BYTES} bytes`);
      if (typeof body.code !== 'string' || !FAIL_CODES.has(body.code)) fail('code must be UNREACHABLE or TTL_EXPIRED');
      const ttl = body.ttl;
      if (!Number.isSafeInteger(ttl) || (ttl as number) < 0 || (ttl as number) > MAX_ENVELOPE_TTL) fail(`ttl must be an integer in 0..${MAX_ENVELOPE_TTL}`);
      return { t: 'fail', to, origin, msgId, code: body.code as RouteFailCode, ttl: ttl as number, ...ccwFlag(body) };
    }
    default:
      fail('unknown type');
  }
}

/** The key a pending send is filed under at its origin: the msgId in hex. */
export function msgKey(msgId: Uint8Array): string {
  return Buffer.from(msgId.buffer, msgId.byteOffset, msgId.byteLength).toString('hex');
}
