import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Candidates } from '../../src/actors/dht/candidates.js';
import { DEFAULT_DHT_CONFIG, dhtConfig } from '../../src/actors/dht/dht-config.js';
import { closestVouched } from '../../src/actors/dht/lookup-answer.js';
import { planningTable } from '../../src/actors/dht/planning-table.js';
import { RoutingTable } from '../../src/actors/dht/routing-table.js';
import { closest } from '../../src/actors/dht/xor-distance.js';
import { contactOf } from '../../src/actors/ring/contact.js';
import { isPeerSockError } from '../../src/errors.js';
import { idOf, positionArb, xor } from './arbitraries.js';

const ids = (n: number, from = 1) => Array.from({ length: n }, (_, i) => idOf(from + i));

describe('dhtConfig', () => {
  it('fills in the defaults', () => {
    expect(dhtConfig()).toEqual(DEFAULT_DHT_CONFIG);
    expect(dhtConfig({ k: 8 }).k).toBe(8);
  });

  it('refuses out-of-range fields with INVALID_ARGUMENT naming the field', () => {
    const bad: [Partial<Record<keyof typeof DEFAULT_DHT_CONFIG, number>>, RegExp][] = [
      [{ k: 0 }, /k/],
      [{ k: 33 }, /k/],
      [{ k: 1.5 }, /k/],
      [{ linkBudget: 0 }, /linkBudget/],
      [{ lookupTimeoutMs: -1 }, /lookupTimeoutMs/],
      [{ maxPendingLookups: 0 }, /maxPendingLookups/],
      [{ planIntervalMs: Number.NaN }, /planIntervalMs/],
      [{ pingTimeoutMs: 0 }, /pingTimeoutMs/],
    ];
    for (const [partial, pattern] of bad) {
      let caught: unknown;
      try {
        dhtConfig(partial);
      } catch (error) {
        caught = error;
      }
      expect(isPeerSockError(caught, 'INVALID_ARGUMENT')).toBe(true);
      expect((caught as Error).message).toMatch(pattern);
    }
  });
});

describe('closestVouched', () => {
  it('with every table contact fresh: the count XOR-nearest of self, links and table, each once, nearest first', () => {
    fc.assert(
      fc.property(positionArb, fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 20 }), (target, count, split) => {
        const self = contactOf(idOf(0));
        const all = ids(30).map(contactOf);
        const links = all.slice(0, split);
        const table = new RoutingTable(self.position, 0, { k: 20 });
        // Overlapping on purpose: a link may also be in the table.
        for (const contact of all.slice(Math.max(0, split - 3))) table.observe(contact, 0, { verified: true });
        const known = [self, ...all];
        const expected = closest(target, known, count, (c) => c.position).map((c) => c.id);
        const answer = closestVouched({ self, target, count, links, linkSets: new Map(), table: table.closest(target, 30), now: 0, freshMs: 1 });
        expect(answer).toEqual(expected);
        for (let i = 1; i < answer.length; i += 1) {
          expect(xor(contactOf(answer[i - 1]!).position, target) < xor(contactOf(answer[i]!).position, target)).toBe(true);
        }
      }),
    );
  });
});

describe('Candidates', () => {
  it('skips self and the introducer, forgets on request and drops the oldest rumour beyond its bound', () => {
    const candidates = new Candidates(3);
    const self = idOf(100);
    const introducer = idOf(101);
    candidates.hear([self, introducer, ...ids(2)].map(contactOf), introducer, self);
    expect(candidates.list().map((c) => c.id)).toEqual(ids(2));
    expect(candidates.list()[0]!.introducer).toBe(introducer);
    candidates.hear(ids(2, 3).map(contactOf), introducer, self);
    expect(candidates.list().map((c) => c.id)).toEqual(ids(3, 2));
    // Heard again: now the freshest, so not the next one dropped.
    candidates.hear([contactOf(idOf(2))], introducer, self);
    candidates.hear([contactOf(idOf(9))], introducer, self);
    expect(candidates.list().map((c) => c.id)).toEqual([idOf(4), idOf(2), idOf(9)]);
    candidates.forget(idOf(2));
    expect(candidates.has(idOf(2))).toBe(false);
    expect(candidates.size).toBe(2);
  });
});

describe('planningTable', () => {
  it('holds the verified contacts (failures kept) and the candidates, leaving the real table untouched', () => {
    const self = contactOf(idOf(0));
    const table = new RoutingTable(self.position, 0, { k: 20 });
    for (const id of ids(5)) table.observe(contactOf(id), 10, { verified: true });
    table.markFailed(idOf(1));
    const candidates = new Candidates();
    candidates.hear(ids(5, 6).map(contactOf), idOf(3), self.id);
    const version = table.version;
    const plan = planningTable(table, candidates.list(), 50, 100);
    expect(plan.size).toBe(10);
    expect(plan.get(idOf(1))!.failures).toBe(1);
    expect(plan.get(idOf(7))!.addedAt).toBeGreaterThan(plan.get(idOf(2))!.addedAt);
    expect(table.version).toBe(version);
    expect(table.has(idOf(7))).toBe(false);
  });

  it('caps the candidates one introducer places per bucket', () => {
    const self = contactOf(idOf(0));
    const table = new RoutingTable(self.position, 0, { k: 20 });
    const candidates = new Candidates();
    candidates.hear(ids(40).map(contactOf), idOf(999), self.id);
    const plan = planningTable(table, candidates.list(), 0, 2);
    for (const index of plan.nonEmptyBuckets()) expect(plan.bucket(index).length).toBeLessThanOrEqual(2);
  });
});
