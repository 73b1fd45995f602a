import { describe, it, expect, afterAll } from 'vitest';
import fc from 'fast-check';
import { DHT_PROTOCOL, MAX_AVOID, MAX_LINK_SET, MAX_PATH, MAX_PEERS, MAX_RECORDS, MAX_TTL, dhtMessageToWire, parseDhtMessage, type DhtMessage } from '../../src/actors/dht/dht-messages.js';
import { createProviderRecord, serviceKey, type ProviderRecord } from '../../src/actors/dht/provider-record.js';
import { createCryptoPort } from '../../src/crypto/crypto-port.js';
import { generateIdentity } from '../../src/identity/identity.js';
import { isPeerSockError } from '../../src/errors.js';
import { decodeFrame, encodeFrame } from '../../src/wire/frame.js';
import { createSeededRandom } from '../../sim/seeded-random.js';
import { idOf, toPos } from './arbitraries.js';

const crypto = createCryptoPort({ identity: generateIdentity(createSeededRandom(5)) });
afterAll(() => crypto.close());

const target = toPos(0xabcdef12345n);
const ids = (n: number, from = 1) => Array.from({ length: n }, (_, i) => idOf(from + i));
const key = serviceKey('chat/v1');
const T0 = 1_700_000_000_000;
let record: ProviderRecord;
const recordReady = createProviderRecord(crypto, { service: 'chat/v1', issuedAt: T0, ttlMs: 60_000 }).then((r) => (record = r));

function wire(message: DhtMessage): unknown {
  return decodeFrame(encodeFrame(DHT_PROTOCOL, dhtMessageToWire(message))).body;
}

/** Ids as they travel: 32 raw bytes. */
const bytes = (hex: string) => new Uint8Array(Buffer.from(hex, 'hex'));
const wireIds = (n: number, from = 1) => ids(n, from).map(bytes);

function schemaError(body: unknown): string {
  try {
    parseDhtMessage(body);
  } catch (error) {
    if (isPeerSockError(error, 'FRAME_SCHEMA')) return error.message;
    throw error;
  }
  throw new Error(`accepted ${JSON.stringify(body)}`);
}

describe('ps/dht messages', () => {
  it('every message type, at its largest, survives a CBOR frame round trip within the default wire limits', async () => {
    await recordReady;
    const messages: DhtMessage[] = [
      { t: 'lookup', rid: 2 ** 40, target, count: MAX_PEERS, ttl: MAX_TTL, path: ids(MAX_PATH) },
      { t: 'lookup', rid: 2 ** 40, target, count: MAX_PEERS, ttl: MAX_TTL, path: ids(MAX_PATH), avoid: ids(MAX_AVOID, 100) },
      { t: 'closest', rid: 0, target, peers: ids(MAX_PEERS), path: ids(MAX_PATH, 100) },
      { t: 'store', record, to: idOf(3), ttl: MAX_TTL, path: ids(MAX_PATH, 100) },
      { t: 'find-providers', rid: 9, key, count: 1, ttl: 0, path: ids(1) },
      { t: 'find-providers', rid: 9, key, count: MAX_PEERS, ttl: MAX_TTL, path: ids(MAX_PATH), to: idOf(200) },
      { t: 'providers', rid: 9, key, records: Array.from({ length: MAX_RECORDS }, () => record), peers: ids(MAX_PEERS), path: ids(MAX_PATH, 100) },
      { t: 'ping', nonce: 77 },
      { t: 'pong', nonce: 77 },
      { t: 'links', peers: ids(MAX_LINK_SET) },
      { t: 'links', peers: ids(MAX_LINK_SET), own: MAX_LINK_SET },
    ];
    for (const message of messages) expect(parseDhtMessage(wire(message))).toEqual(message);
  });

  it('refuses every bound and malformed field with FRAME_SCHEMA naming it', async () => {
    await recordReady;
    const lookup = { t: 'lookup', rid: 1, target: bytes(target), count: 20, ttl: 10, path: wireIds(2) };
    const providers = { t: 'providers', rid: 1, key: bytes(key), records: [record], peers: [], path: wireIds(1) };
    const cases: [unknown, RegExp][] = [
      [null, /map/],
      [[lookup], /map/],
      [{ ...lookup, t: 'nope' }, /unknown type/],
      [{ ...lookup, rid: -1 }, /rid/],
      [{ ...lookup, rid: '1' }, /rid/],
      [{ ...lookup, target }, /target/],
      [{ ...lookup, target: bytes(target).subarray(1) }, /target/],
      [{ ...lookup, count: 0 }, /count/],
      [{ ...lookup, count: MAX_PEERS + 1 }, /count/],
      [{ ...lookup, ttl: MAX_TTL + 1 }, /ttl/],
      [{ ...lookup, ttl: -1 }, /ttl/],
      [{ ...lookup, path: [] }, /origin/],
      [{ ...lookup, path: wireIds(MAX_PATH + 1) }, /path/],
      [{ ...lookup, path: ids(2) }, /path/],
      [{ ...lookup, path: [idOf(1), idOf(2), idOf(1)].map(bytes) }, /repeat/],
      [{ ...lookup, path: ['not a peer'] }, /path/],
      [{ ...lookup, avoid: wireIds(MAX_AVOID + 1) }, /avoid/],
      [{ ...lookup, avoid: ids(1) }, /avoid/],
      [{ ...lookup, avoid: 'x' }, /avoid/],
      [{ t: 'closest', rid: 1, target: bytes(target), peers: wireIds(MAX_PEERS + 1), path: wireIds(1) }, /peers/],
      [{ t: 'closest', rid: 1, target: bytes(target), peers: 'x', path: wireIds(1) }, /peers/],
      [{ t: 'links', peers: wireIds(MAX_LINK_SET + 1) }, /peers/],
      [{ t: 'links', peers: [new Uint8Array(32), 'x'] }, /peers/],
      [{ t: 'links', peers: wireIds(2), own: 3 }, /own/],
      [{ t: 'links', peers: wireIds(2), own: -1 }, /own/],
      [{ t: 'links', peers: wireIds(2), own: '1' }, /own/],
      [{ t: 'store', to: bytes(idOf(3)), ttl: 1, path: wireIds(1) }, /record/],
      [{ t: 'store', record: { ...record, signature: new Uint8Array(3) }, to: bytes(idOf(3)), ttl: 1, path: wireIds(1) }, /signature/],
      [{ t: 'store', record, to: idOf(3), ttl: 1, path: wireIds(1) }, /to/],
      [{ t: 'store', record, to: bytes(idOf(3)), ttl: 1, path: [] }, /origin/],
      [{ t: 'find-providers', rid: 1, key: bytes(key), count: 1, ttl: 1, path: wireIds(1), to: 'x' }, /to/],
      [{ ...providers, records: Array.from({ length: MAX_RECORDS + 1 }, () => record) }, /records/],
      [{ ...providers, key: bytes(serviceKey('other')) }, /another key/],
      [{ ...providers, records: [{ ...record, service: '' }] }, /records\[0\]/],
      [{ t: 'find-providers', rid: 1, key: 'k', count: 1, ttl: 1, path: wireIds(1) }, /key/],
      [{ t: 'ping' }, /nonce/],
      [{ t: 'pong', nonce: 1.5 }, /nonce/],
    ];
    for (const [body, pattern] of cases) expect(schemaError(body)).toMatch(pattern);
  });

  it('throws nothing but FRAME_SCHEMA on arbitrary input', () => {
    const fieldArb = fc.oneof(fc.anything(), fc.constant(bytes(target)), fc.constant(wireIds(3)), fc.uint8Array({ minLength: 31, maxLength: 33 }), fc.nat());
    fc.assert(
      fc.property(
        fc.oneof(
          fc.anything(),
          fc.record({
            t: fc.constantFrom('lookup', 'closest', 'store', 'find-providers', 'providers', 'ping', 'pong', 'links', 'x'),
            rid: fieldArb,
            target: fieldArb,
            key: fieldArb,
            count: fieldArb,
            ttl: fieldArb,
            path: fieldArb,
            peers: fieldArb,
            records: fieldArb,
            record: fieldArb,
            nonce: fieldArb,
            to: fieldArb,
          }),
        ),
        (body) => {
          try {
            parseDhtMessage(body);
          } catch (error) {
            expect(isPeerSockError(error, 'FRAME_SCHEMA')).toBe(true);
          }
        },
      ),
      { numRuns: 1_000 },
    );
  });
});
