import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { ProviderStore } from '../../src/actors/dht/provider-store.js';
import { serviceKey, type ProviderRecord } from '../../src/actors/dht/provider-record.js';
import { idOf } from './arbitraries.js';

/** The store trusts its caller to have verified records, so these need no real signature. */
function record(service: string, provider: number, issuedAt: number, expiresAt: number): ProviderRecord {
  return { service, provider: idOf(provider), issuedAt, expiresAt, signature: new Uint8Array(64) };
}

const key = serviceKey('chat');

describe('ProviderStore', () => {
  it('keeps one record per (service, provider): the one issued last', () => {
    const store = new ProviderStore();
    expect(store.put(record('chat', 1, 100, 1_000), 0)).toBe('added');
    expect(store.put(record('chat', 1, 100, 2_000), 0)).toBe('stale');
    expect(store.put(record('chat', 1, 50, 2_000), 0)).toBe('stale');
    expect(store.put(record('chat', 1, 200, 900), 0)).toBe('replaced');
    expect(store.get(key, 0)).toEqual([record('chat', 1, 200, 900)]);
    expect(store.put(record('chat', 2, 10, 1_000), 0)).toBe('added');
    expect(store.size).toBe(2);
  });

  it('refuses expired records and never returns one; sweep drops them', () => {
    const store = new ProviderStore();
    expect(store.put(record('chat', 1, 0, 500), 500)).toBe('expired');
    store.put(record('chat', 1, 0, 1_000), 0);
    store.put(record('chat', 2, 0, 3_000), 0);
    store.put(record('other', 3, 0, 1_000), 0);
    expect(store.get(key, 1_000).map((r) => r.provider)).toEqual([idOf(2)]);
    expect(store.size).toBe(3);
    expect(store.sweep(999)).toBe(0);
    expect(store.sweep(1_000)).toBe(2);
    expect(store.size).toBe(1);
    expect(store.keys()).toEqual([key]);
    expect(store.sweep(2_000)).toBe(0);
  });

  it('returns live records latest expiry first, at most limit', () => {
    const store = new ProviderStore();
    for (const [p, exp] of [[1, 300], [2, 500], [3, 400]] as const) store.put(record('chat', p, 0, exp), 0);
    expect(store.get(key, 0).map((r) => r.expiresAt)).toEqual([500, 400, 300]);
    expect(store.get(key, 0, 2).map((r) => r.expiresAt)).toEqual([500, 400]);
    expect(store.get(serviceKey('nothing'), 0)).toEqual([]);
  });

  it('a full service makes room only for a record that outlives its soonest-expiring one', () => {
    const store = new ProviderStore({ maxPerService: 2 });
    store.put(record('chat', 1, 0, 300), 0);
    store.put(record('chat', 2, 0, 500), 0);
    expect(store.put(record('chat', 3, 0, 300), 0)).toBe('full');
    expect(store.put(record('chat', 3, 0, 400), 0)).toBe('added');
    expect(store.get(key, 0).map((r) => r.provider)).toEqual([idOf(2), idOf(3)]);
    expect(store.size).toBe(2);
    // A known provider's newer record is a replacement, not a newcomer: no cap applies.
    expect(store.put(record('chat', 2, 1, 200), 0)).toBe('replaced');
  });

  it('caps the total, making room by sweeping expired records first', () => {
    const store = new ProviderStore({ maxTotal: 2 });
    store.put(record('a', 1, 0, 100), 0);
    store.put(record('b', 1, 0, 1_000), 0);
    expect(store.put(record('c', 1, 0, 1_000), 50)).toBe('full');
    expect(store.put(record('c', 1, 0, 1_000), 100)).toBe('added');
    expect(store.size).toBe(2);
  });

  it('validates its configuration', () => {
    for (const bad of [{ maxPerService: 0 }, { maxTotal: -1 }, { maxTotal: 1.5 }]) {
      expect(() => new ProviderStore(bad)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }) as Error);
    }
  });

  it('stays within its caps, returns only live records and lets the latest issue win, under random traffic', () => {
    const services = ['a', 'b', 'c'];
    const opArb = fc.oneof(
      fc.record({ op: fc.constant('put' as const), s: fc.nat(2), p: fc.nat(5), issuedAt: fc.nat(50), ttl: fc.integer({ min: 1, max: 60 }) }),
      fc.record({ op: fc.constant('tick' as const), dt: fc.nat(10) }),
      fc.record({ op: fc.constant('sweep' as const) }),
    );
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 20, maxLength: 150 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 10 }), (ops, maxPerService, maxTotal) => {
        const store = new ProviderStore({ maxPerService, maxTotal });
        let now = 0;
        for (const o of ops) {
          if (o.op === 'tick') now += o.dt;
          else if (o.op === 'sweep') store.sweep(now);
          else {
            const r = record(services[o.s]!, o.p, o.issuedAt, o.issuedAt + o.ttl);
            const k = serviceKey(r.service);
            // Time -∞: every stored record, expired-but-unswept ones included.
            const before = store.get(k, Number.NEGATIVE_INFINITY, 100).find((x) => x.provider === r.provider);
            const result = store.put(r, now);
            const after = store.get(k, now, 100).find((x) => x.provider === r.provider);
            if (result === 'added' || result === 'replaced') expect(after).toBe(r);
            if (result === 'stale') expect(before!.issuedAt).toBeGreaterThanOrEqual(r.issuedAt);
            if (result === 'replaced') expect(before === undefined || before.issuedAt < r.issuedAt).toBe(true);
            if (result === 'expired') expect(r.expiresAt).toBeLessThanOrEqual(now);
          }
          expect(store.size).toBeLessThanOrEqual(maxTotal);
          let live = 0;
          for (const service of services) {
            const records = store.get(serviceKey(service), now, 100);
            expect(records.length).toBeLessThanOrEqual(maxPerService);
            for (const r of records) expect(r.expiresAt).toBeGreaterThan(now);
            expect(new Set(records.map((r) => r.provider)).size).toBe(records.length);
            live += records.length;
          }
          expect(live).toBeLessThanOrEqual(store.size);
          const stored = store.keys().reduce((n, k) => n + store.get(k, Number.NEGATIVE_INFINITY, 100).length, 0);
          expect(stored).toBe(store.size);
        }
      }),
      { numRuns: 300 },
    );
  });
});
