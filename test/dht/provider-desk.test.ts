/** The provider desk: signs our records and passes only valid ones, reporting the senders of bad ones. */
import { afterAll, describe, expect, it } from 'vitest';
import { createProviderDesk, type ProviderDeskEvent } from '../../src/actors/dht/provider-desk.js';
import { createProviderRecord, serviceKey, type ProviderRecord } from '../../src/actors/dht/provider-record.js';
import { createCryptoPort } from '../../src/crypto/crypto-port.js';
import type { PeerSockError } from '../../src/errors.js';
import { generateIdentity } from '../../src/identity/identity.js';
import type { PeerId } from '../../src/identity/peer-id.js';
import { silentLogger } from '../../src/ports/logger.js';
import { createSeededRandom } from '../../sim/seeded-random.js';
import { idOf } from './arbitraries.js';

const alice = createCryptoPort({ identity: generateIdentity(createSeededRandom(1)) });
const mallory = createCryptoPort({ identity: generateIdentity(createSeededRandom(2)) });
afterAll(async () => {
  await alice.close();
  await mallory.close();
});

const T0 = 1_700_000_000_000;
const SERVICE = 'module:abc';
const FROM = idOf(7);

function desk(options: { now?: number; maxVerifying?: number } = {}) {
  const events: ProviderDeskEvent[] = [];
  const violations: { peer: PeerId; code: string }[] = [];
  let wall = options.now ?? T0;
  const instance = createProviderDesk({
    crypto: alice,
    wallClock: () => wall + 0.4,
    logger: silentLogger,
    ...(options.maxVerifying !== undefined ? { maxVerifying: options.maxVerifying } : {}),
    report: (event) => events.push(event),
    reportViolation: (peer, error: PeerSockError) => violations.push({ peer, code: error.code }),
  });
  const next = async (): Promise<ProviderDeskEvent> => {
    for (let i = 0; i < 50 && events.length === 0; i += 1) await new Promise((resolve) => setImmediate(resolve));
    const event = events.shift();
    if (!event) throw new Error('no desk event');
    return event;
  };
  return { desk: instance, events, violations, next, setNow: (now: number) => (wall = now) };
}

describe('provider desk', () => {
  it('signs a record issued now (whole ms) that verifies, for the epoch it was asked with', async () => {
    const { desk: d, next } = desk();
    d.sign(SERVICE, 60_000, 4);
    const event = await next();
    expect(event).toMatchObject({ type: 'provider.signed', service: SERVICE, epoch: 4 });
    const record = (event as Extract<ProviderDeskEvent, { type: 'provider.signed' }>).record;
    expect(record).toMatchObject({ issuedAt: T0, expiresAt: T0 + 60_000, provider: Buffer.from(alice.publicKey).toString('hex') });
  });

  it('reports a bad name as provider.sign.failed with INVALID_ARGUMENT', async () => {
    const { desk: d, next } = desk();
    d.sign('has space', 60_000, 1);
    expect(await next()).toMatchObject({ type: 'provider.sign.failed', code: 'INVALID_ARGUMENT', epoch: 1 });
  });

  it('passes valid records, drops forged, over-long and foreign-key ones as the sender\'s violations, and expired ones quietly', async () => {
    const { desk: d, next, violations } = desk();
    const good = await createProviderRecord(alice, { service: SERVICE, issuedAt: T0, ttlMs: 60_000 });
    const forged: ProviderRecord = { ...(await createProviderRecord(mallory, { service: SERVICE, issuedAt: T0, ttlMs: 60_000 })), provider: good.provider };
    const tooLong = await createProviderRecord(alice, { service: SERVICE, issuedAt: T0, ttlMs: 24 * 3_600_000 });
    const expired = await createProviderRecord(alice, { service: SERVICE, issuedAt: T0 - 120_000, ttlMs: 60_000 });
    const otherKey = await createProviderRecord(alice, { service: 'module:other', issuedAt: T0, ttlMs: 60_000 });
    d.verify(FROM, serviceKey(SERVICE), [good, forged, tooLong, expired, otherKey], { kind: 'answer', rid: 3 });
    const event = await next();
    expect(event).toEqual({ type: 'records.verified', tag: { kind: 'answer', rid: 3 }, from: FROM, records: [good] });
    // Checks run concurrently: the order of the reports is not the order of the records.
    expect(violations.map((v) => v.peer)).toEqual([FROM, FROM, FROM]);
    expect(violations.map((v) => v.code).sort()).toEqual(['FRAME_SCHEMA', 'RECORD_EXPIRED', 'SIGNATURE_INVALID']);
  });

  it('drops a batch beyond maxVerifying but still reports it (with no record), so a waiting query moves on', async () => {
    const { desk: d, next } = desk({ maxVerifying: 1 });
    const good = await createProviderRecord(alice, { service: SERVICE, issuedAt: T0, ttlMs: 60_000 });
    d.verify(FROM, serviceKey(SERVICE), [good, good], { kind: 'store' });
    expect(await next()).toEqual({ type: 'records.verified', tag: { kind: 'store' }, from: FROM, records: [] });
    d.verify(FROM, serviceKey(SERVICE), [good], { kind: 'store' });
    expect(await next()).toEqual({ type: 'records.verified', tag: { kind: 'store' }, from: FROM, records: [good] });
  });
});
