/**
 * Provider records in the DHT actor, over recording ports on virtual time: announcement rounds,
 * holding (only verified records), answering, and findProviders with its fallbacks. The desk is
 * a recorder here: the test plays its verdicts (provider-desk.test.ts checks the real one).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createSeededRandom } from '../../sim/seeded-random.js';
import type { DhtConfig } from '../../src/actors/dht/dht-config.js';
import type { ProvidedService } from '../../src/actors/dht/dht-providers.js';
import { dhtBootstrapContacts } from '../../src/actors/dht/dht.machine.js';
import { createProviderRecord, serviceKey, type ProviderRecord } from '../../src/actors/dht/provider-record.js';
import { closest } from '../../src/actors/dht/xor-distance.js';
import { contactOf } from '../../src/actors/ring/contact.js';
import { createCryptoPort } from '../../src/crypto/crypto-port.js';
import { generateIdentity } from '../../src/identity/identity.js';
import type { PeerId } from '../../src/identity/peer-id.js';
import { startDht } from '../helpers/dht-harness.js';
import { idOf } from './arbitraries.js';

const crypto = createCryptoPort({ identity: generateIdentity(createSeededRandom(9)) });
afterAll(() => crypto.close());

const SELF = idOf(0x5e1f);
const T0 = 1_700_000_000_000;
const SERVICE = 'module:abc';
const KEY = serviceKey(SERVICE);
const ids = (n: number, from = 1) => Array.from({ length: n }, (_, i) => idOf(from + i));
const CONFIG: Partial<DhtConfig> = { planIntervalMs: 1_000, lookupTimeoutMs: 5_000, replication: 3, recordTtlMs: 60_000, reannounceIntervalMs: 20_000, providerQueryFanout: 2 };

const record = (issuedAt = T0, service = SERVICE): Promise<ProviderRecord> => createProviderRecord(crypto, { service, issuedAt, ttlMs: 60_000 });

function start(options: { open?: PeerId[]; config?: Partial<DhtConfig>; provided?: ProvidedService[] } = {}) {
  const t = startDht({ self: SELF, ...options, config: { ...CONFIG, ...options.config }, wallClockAt: T0 });
  return { ...t, store: () => t.state().providers.store };
}

describe('dht provider records', () => {
  it('announces: signs, looks the holders up, stores at each (itself directly), and re-announces until stopped', async () => {
    const holders = ids(6);
    const t = start({ open: holders });
    t.actor.send({ type: 'provide', service: SERVICE, epoch: 1, ttlMs: 60_000 });
    expect(t.signs).toEqual([{ service: SERVICE, ttlMs: 60_000, epoch: 1 }]);
    const mine = await record();
    t.actor.send({ type: 'provider.signed', service: SERVICE, epoch: 1, record: mine });
    const [lookup] = t.of('lookup');
    expect(lookup!.message).toMatchObject({ target: KEY, count: 3 });
    const chosen = [SELF, idOf(2), idOf(5)];
    t.actor.send({ type: 'dht.message', from: lookup!.to, message: { t: 'closest', rid: lookup!.message.rid, target: KEY, peers: chosen, path: [SELF] } });
    expect(t.of('store').map((s) => [s.to, s.message.to])).toEqual([
      [idOf(2), idOf(2)],
      [idOf(5), idOf(5)],
    ]);
    expect(t.of('store')[0]!.message).toMatchObject({ record: mine, path: [SELF] });
    expect(t.store().get(KEY, T0)).toEqual([mine]);
    expect(t.announced).toEqual([{ service: SERVICE, epoch: 1, outcome: { ok: true, holders: chosen } }]);

    // The next round is due within (0.9..1) × the interval, and is driven by the plan round.
    t.clock.advance(17_000);
    expect(t.signs).toHaveLength(1);
    t.clock.advance(4_000);
    expect(t.signs).toHaveLength(2);
    t.actor.send({ type: 'unprovide', service: SERVICE });
    t.actor.send({ type: 'provider.signed', service: SERVICE, epoch: 1, record: await record(T0 + 20_000) });
    expect(t.of('lookup')).toHaveLength(1);
    t.clock.advance(60_000);
    expect(t.signs).toHaveLength(2);
  });

  it('a DHT actor that starts (or is restarted) picks up the services the node announces', () => {
    const t = start({ open: ids(2), provided: [{ service: SERVICE, epoch: 5, ttlMs: 60_000 }] });
    expect(t.signs).toEqual([{ service: SERVICE, ttlMs: 60_000, epoch: 5 }]);
  });

  it('a round whose holder lookup times out is reported and tried again after a quarter interval', async () => {
    const t = start({ open: ids(4) });
    t.actor.send({ type: 'provide', service: SERVICE, epoch: 2, ttlMs: 60_000 });
    t.actor.send({ type: 'provider.signed', service: SERVICE, epoch: 2, record: await record() });
    t.clock.advance(5_000);
    expect(t.announced).toEqual([{ service: SERVICE, epoch: 2, outcome: expect.objectContaining({ ok: false, code: 'TIMEOUT' }) }]);
    t.clock.advance(4_000);
    expect(t.signs).toHaveLength(1);
    t.clock.advance(3_000);
    expect(t.signs).toHaveLength(2);
  });

  it('holds a record addressed to it only once the desk passed it, and forwards one addressed to another', async () => {
    const t = start({ open: ids(4) });
    const theirs = await record();
    const origin = idOf(1);
    t.actor.send({ type: 'dht.message', from: origin, message: { t: 'store', record: theirs, to: SELF, ttl: 5, path: [origin] } });
    expect(t.verifies).toEqual([{ from: origin, records: [theirs], tag: { kind: 'store' } }]);
    expect(t.store().size).toBe(0);
    t.actor.send({ type: 'records.verified', tag: { kind: 'store' }, from: origin, records: [theirs] });
    expect(t.store().get(KEY, T0)).toEqual([theirs]);

    t.actor.send({ type: 'dht.message', from: origin, message: { t: 'store', record: theirs, to: idOf(3), ttl: 5, path: [origin] } });
    expect(t.of('store').at(-1)).toEqual({ to: idOf(3), message: { t: 'store', record: theirs, to: idOf(3), ttl: 4, path: [origin, SELF] } });
    // A path that does not end with its sender is dropped.
    t.actor.send({ type: 'dht.message', from: origin, message: { t: 'store', record: theirs, to: SELF, ttl: 5, path: [idOf(2)] } });
    expect(t.verifies).toHaveLength(1);
  });

  it('answers a find-providers where it stops: its records, or its closest peers when it has none', async () => {
    const links = ids(5);
    const t = start({ open: links });
    const origin = idOf(1);
    const query = { t: 'find-providers' as const, rid: 4, key: KEY, count: 3, ttl: 0, path: [origin] };
    t.actor.send({ type: 'dht.message', from: origin, message: query });
    const expected = closest(KEY, [contactOf(SELF), ...links.map(contactOf)], 3, (c) => c.position).map((c) => c.id);
    expect(t.sent.at(-1)).toEqual({ to: origin, message: { t: 'providers', rid: 4, key: KEY, records: [], peers: expected, path: [origin] } });
    const theirs = await record();
    t.actor.send({ type: 'records.verified', tag: { kind: 'store' }, from: origin, records: [theirs] });
    t.actor.send({ type: 'dht.message', from: origin, message: query });
    expect(t.sent.at(-1)).toEqual({ to: origin, message: { t: 'providers', rid: 4, key: KEY, records: [theirs], peers: [], path: [origin] } });
    // Addressed to us: answered here even with ttl left.
    t.actor.send({ type: 'dht.message', from: origin, message: { ...query, ttl: 9, to: SELF } });
    expect(t.sent.at(-1)!.message).toMatchObject({ t: 'providers', records: [theirs] });
  });

  it('findProviders: routes toward the key and resolves with the records the desk passed', async () => {
    const t = start({ open: ids(6) });
    t.actor.send({ type: 'providers.find', rid: 11, key: KEY, count: 5 });
    const [query] = t.of('find-providers');
    expect(query!.message).toMatchObject({ key: KEY, count: 5, path: [SELF] });
    expect(query!.message.to).toBeUndefined();
    const theirs = await record();
    t.actor.send({ type: 'dht.message', from: query!.to, message: { t: 'providers', rid: query!.message.rid, key: KEY, records: [theirs], peers: [], path: [SELF] } });
    expect(t.verifies).toEqual([{ from: query!.to, records: [theirs], tag: { kind: 'answer', rid: query!.message.rid } }]);
    expect(t.found).toEqual([]);
    t.actor.send({ type: 'records.verified', tag: { kind: 'answer', rid: query!.message.rid }, from: query!.to, records: [theirs] });
    expect(t.found).toEqual([{ rid: 11, outcome: { ok: true, records: [theirs] } }]);
  });

  it('findProviders: an answer without records sends the query to the named holders in turn (fanout), then resolves with []', () => {
    const t = start({ open: ids(6) });
    t.actor.send({ type: 'providers.find', rid: 12, key: KEY, count: 5 });
    const [query] = t.of('find-providers');
    const named = [idOf(2), idOf(40), idOf(41), idOf(42)];
    t.actor.send({ type: 'dht.message', from: query!.to, message: { t: 'providers', rid: query!.message.rid, key: KEY, records: [], peers: named, path: [SELF] } });
    const asked = t.of('find-providers').slice(1);
    expect(asked.map((s) => s.message.to)).toEqual([idOf(2), idOf(40)]);
    for (const { to, message } of asked) {
      t.actor.send({ type: 'dht.message', from: to, message: { t: 'providers', rid: message.rid, key: KEY, records: [], peers: [idOf(50)], path: [SELF] } });
    }
    expect(t.found).toEqual([{ rid: 12, outcome: { ok: true, records: [] } }]);
    expect(t.of('find-providers')).toHaveLength(3);
  });

  it('findProviders: its own store answers at once; TIMEOUT when nobody answers; NOT_CONNECTED knowing nobody', async () => {
    const t = start({ open: ids(6) });
    const theirs = await record();
    t.actor.send({ type: 'records.verified', tag: { kind: 'store' }, from: idOf(1), records: [theirs] });
    t.actor.send({ type: 'providers.find', rid: 1, key: KEY, count: 5 });
    expect(t.found).toEqual([{ rid: 1, outcome: { ok: true, records: [theirs] } }]);
    t.actor.send({ type: 'providers.find', rid: 2, key: serviceKey('module:none'), count: 5 });
    t.clock.advance(5_000);
    expect(t.found[1]).toEqual({ rid: 2, outcome: expect.objectContaining({ ok: false, code: 'TIMEOUT' }) });

    const alone = start();
    alone.actor.send({ type: 'providers.find', rid: 3, key: KEY, count: 5 });
    expect(alone.found).toEqual([{ rid: 3, outcome: expect.objectContaining({ ok: false, code: 'NOT_CONNECTED' }) }]);
  });

  it('the store drops records at expiry on the plan round and stays within its bounds', async () => {
    const t = start({ open: ids(2), config: { maxStoredRecords: 2 } });
    const records = await Promise.all(['module:a', 'module:b', 'module:c'].map((service) => record(T0, service)));
    t.actor.send({ type: 'records.verified', tag: { kind: 'store' }, from: idOf(1), records });
    expect(t.store().size).toBe(2);
    t.clock.advance(61_000);
    expect(t.store().size).toBe(0);
  });

  it('dhtBootstrapContacts: links and unfailed table contacts nearest our own position, never ourselves', () => {
    const links = ids(10);
    const t = start({ open: links });
    const context = t.actor.getSnapshot().context;
    const expected = closest(contactOf(SELF).position, links.map(contactOf), 4, (c) => c.position).map((c) => c.id);
    expect(dhtBootstrapContacts(context, 4)).toEqual(expected);
    // A contact with a failure counted (a dial that never opened) is no longer offered.
    context.state.table.markFailed(expected[0]!);
    context.state.links.delete(expected[0]!);
    expect(dhtBootstrapContacts(context, 4)).not.toContain(expected[0]);
  });
});
