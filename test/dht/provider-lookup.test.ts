/** Merging holders' answers, and the simulator's provider invariant as a pure check. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { providerViolations, type ProviderQueryResult } from '../../sim/dht-invariants.js';
import { mergeRecords, sortRecords } from '../../src/actors/dht/provider-lookup.js';
import type { ProviderRecord } from '../../src/actors/dht/provider-record.js';
import type { PeerId } from '../../src/identity/peer-id.js';
import { idOf } from './arbitraries.js';

const fake = (provider: number, issuedAt: number, expiresAt: number): ProviderRecord => ({
  service: 'module:x',
  provider: idOf(provider),
  issuedAt,
  expiresAt,
  signature: new Uint8Array(64),
});

describe('mergeRecords', () => {
  it('keeps, per provider, the latest-issued unexpired record, whatever the order of the answers', () => {
    const recordArb = fc.tuple(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 100 }), fc.integer({ min: 1, max: 100 })).map(([p, issued, life]) => fake(p, issued, issued + life));
    fc.assert(
      fc.property(fc.array(fc.array(recordArb, { maxLength: 6 }), { maxLength: 5 }), fc.integer({ min: 0, max: 200 }), (answers, now) => {
        const merged = new Map<PeerId, ProviderRecord>();
        for (const answer of answers) mergeRecords(merged, answer, now);
        const all = answers.flat().filter((r) => r.expiresAt > now);
        for (const provider of new Set(all.map((r) => r.provider))) {
          const latest = Math.max(...all.filter((r) => r.provider === provider).map((r) => r.issuedAt));
          expect(merged.get(provider)?.issuedAt).toBe(latest);
        }
        expect(merged.size).toBe(new Set(all.map((r) => r.provider)).size);
        const sorted = sortRecords([...merged.values()]);
        for (let i = 1; i < sorted.length; i += 1) expect(sorted[i - 1]!.expiresAt).toBeGreaterThanOrEqual(sorted[i]!.expiresAt);
      }),
    );
  });
});

describe('providerViolations', () => {
  const provided = [
    { service: 'module:x', provider: idOf(1) },
    { service: 'module:x', provider: idOf(2) },
  ];
  const truth = { now: 1_000, alive: new Set([idOf(1), idOf(9)]), goneAt: new Map([[idOf(2), 100]]), ttlMs: 500 };
  const result = (records: ProviderRecord[] | string): ProviderQueryResult => ({
    asker: idOf(9),
    service: 'module:x',
    outcome: typeof records === 'string' ? { error: records } : { records },
  });

  it('holds when every live provider is named and nobody gone longer than a lifetime is', () => {
    expect(providerViolations([result([fake(1, 900, 1_400)])], provided, truth)).toEqual([]);
  });

  it('names a missing live provider, a failed query, an expired record and one from a provider gone too long', () => {
    const kinds = (r: ProviderQueryResult) => providerViolations([r], provided, truth).map((v) => v.kind);
    expect(kinds(result([]))).toEqual(['provider-missing']);
    expect(kinds(result('TIMEOUT'))).toEqual(['provider-query-failed']);
    expect(kinds(result([fake(1, 900, 1_400), fake(2, 50, 1_200)]))).toEqual(['provider-stale']);
    expect(kinds(result([fake(1, 500, 1_000)]))).toEqual(['provider-missing', 'provider-stale']);
  });
});
