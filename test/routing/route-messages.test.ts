import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ROUTE_PROTOCOL,
  msgKey,
  parseRouteMessage,
  routeMessageToWire,
  type RouteMessage,
} from '../../src/actors/routing/route-messages.js';
import { createCryptoPort } from '../../src/crypto/crypto-port.js';
import { MAX_ENVELOPE_TTL, sealEnvelope, type SealedEnvelope } from '../../src/crypto/sealed-envelope.js';
import { generateIdentity } from '../../src/identity/identity.js';
import type { PeerId } from '../../src/identity/peer-id.js';
import type { CryptoPort } from '../../src/ports/crypto.js';
import { createSystemRandom } from '../../src/ports/random.js';
import { decodeFrame, encodeFrame } from '../../src/wire/index.js';

const idArb = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex') as PeerId);
const failArb: fc.Arbitrary<RouteMessage> = fc.record({
  t: fc.constant('fail' as const),
  to: idArb,
  origin: idArb,
  msgId: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  code: fc.constantFrom('UNREACHABLE' as const, 'TTL_EXPIRED' as const),
  ttl: fc.integer({ min: 0, max: MAX_ENVELOPE_TTL }),
  ccw: fc.constant(true as const),
}, { requiredKeys: ['t', 'to', 'origin', 'msgId', 'code', 'ttl'] });

/** Buffers (what the decoder makes) as plain Uint8Arrays, so toEqual compares bytes only. */
function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return Uint8Array.from(value);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

/** Through a real frame, as a neighbour would receive it. */
function overTheWire(message: RouteMessage): unknown {
  return decodeFrame(encodeFrame(ROUTE_PROTOCOL, routeMessageToWire(message))).body;
}

let port: CryptoPort;
let env: SealedEnvelope;
beforeAll(async () => {
  const origin = generateIdentity();
  port = createCryptoPort({ identity: origin });
  env = await sealEnvelope({ signer: port, random: createSystemRandom(), recipient: generateIdentity().peerId, protocol: 'app/chat', payload: new Uint8Array([1, 2, 3]), sentAt: 1_760_000_000_000 });
});
afterAll(async () => {
  await port.close();
});

describe('ps/route messages on the wire', () => {
  it('round-trips msg and ack envelopes, ttl included', () => {
    for (const t of ['msg', 'ack'] as const) {
      for (const ttl of [0, 1, 32, MAX_ENVELOPE_TTL]) {
        expect(plain(parseRouteMessage(overTheWire({ t, env: { ...env, ttl } })))).toEqual({ t, env: { ...env, ttl } });
      }
      // A message that turned counter-clockwise (route-choice.ts) says so to the next hop.
      expect(plain(parseRouteMessage(overTheWire({ t, env, ccw: true })))).toEqual({ t, env, ccw: true });
    }
  });

  it('round-trips every fail notice', () => {
    fc.assert(fc.property(failArb, (message) => {
        expect(plain(parseRouteMessage(overTheWire(message)))).toEqual(message);
      }));
  });

  it('carries ids as 32 raw bytes: 64 bytes less than the envelope with hex ids', () => {
    const wire = encodeFrame(ROUTE_PROTOCOL, routeMessageToWire({ t: 'msg', env }));
    const hexIds = encodeFrame(ROUTE_PROTOCOL, { t: 'msg', env });
    expect(hexIds.length - wire.length).toBe(2 * (64 - 32) + 2 * (2 - 2));
  });

  it('refuses hostile or malformed bodies with FRAME_SCHEMA', () => {
    const wireEnv = routeMessageToWire({ t: 'msg', env }).env as Record<string, unknown>;
    const id = new Uint8Array(32);
    const fail = { t: 'fail', to: id, origin: id, msgId: new Uint8Array(16), code: 'UNREACHABLE', ttl: 3 };
    const bad: unknown[] = [
      null,
      [1, 2],
      'msg',
      { t: 'gossip' },
      { t: 'msg' },
      { t: 'msg', env: [] },
      { t: 'msg', env: { ...wireEnv, origin: env.origin } }, // hex id where bytes belong
      { t: 'msg', env: { ...wireEnv, target: new Uint8Array(31) } },
      { t: 'ack', env: { ...wireEnv, sig: new Uint8Array(63) } },
      { t: 'ack', env: { ...wireEnv, ttl: MAX_ENVELOPE_TTL + 1 } },
      { t: 'msg', env: { ...wireEnv, v: 2 } },
      { t: 'msg', env: { ...wireEnv, ct: new Uint8Array(16) } },
      { t: 'msg', env: { ...wireEnv, sentAt: -1 } },
      { ...fail, code: 'TIMEOUT' },
      { ...fail, code: 7 },
      { ...fail, msgId: new Uint8Array(17) },
      { ...fail, to: new Uint8Array(33) },
      { ...fail, origin: undefined },
      { ...fail, ttl: -1 },
      { ...fail, ttl: 1.5 },
      { ...fail, ttl: MAX_ENVELOPE_TTL + 1 },
      { ...fail, ccw: false },
      { t: 'msg', env: wireEnv, ccw: 1 },
    ];
    for (const body of bad) expect(() => parseRouteMessage(body), String(JSON.stringify(body))?.slice(0, 120)).toThrow(expect.objectContaining({ code: 'FRAME_SCHEMA' }));
  });

  it('never throws anything but FRAME_SCHEMA on arbitrary input', () => {
    fc.assert(
      fc.property(fc.anything({ withTypedArray: true }), fc.constantFrom('msg', 'ack', 'fail', 'x'), (value, t) => {
        for (const body of [value, { t, env: value }, { ...(typeof value === 'object' && value !== null ? value : {}), t }]) {
          try {
            parseRouteMessage(body);
          } catch (error) {
            expect(error).toMatchObject({ code: 'FRAME_SCHEMA' });
          }
        }
      }),
    );
  });

  it('files pending sends under the msgId in hex', () => {
    expect(msgKey(new Uint8Array([0, 1, 254, 255]))).toBe('0001feff');
  });
});
