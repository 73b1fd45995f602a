/**
 * The DHT simulator benchmark's arithmetic (bench/dht-sim-*.ts): percentiles, what counts as a
 * successful lookup or a delivered routed message, and the churn that starts from a formed
 * network. The benchmark's figures are only as right as these.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { lookupFigures, percentile, sendFigures } from '../../bench/dht-sim-figures.js';
import { churnFrom } from '../../bench/dht-sim-network.js';
import type { LookupRecord, SendRecord } from '../../bench/dht-sim-probes.js';
import type { Position } from '../../src/actors/ring/id-space.js';
import type { PeerId } from '../../src/identity/peer-id.js';

const peer = 'p' as PeerId;
const target = '0'.repeat(64) as Position;
const lookup = (extra: Partial<LookupRecord>): LookupRecord => ({ origin: peer, target, issuedAt: 0, result: 'pending', ...extra });
const send = (extra: Partial<SendRecord>): SendRecord => ({ from: peer, to: peer, issuedAt: 0, result: 'pending', ...extra });

describe('percentile (nearest rank)', () => {
  it('picks the ranked sample, not an interpolation', () => {
    const hundred = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(hundred, 50)).toBe(50);
    expect(percentile(hundred, 99)).toBe(99);
    expect(percentile(hundred, 100)).toBe(100);
    expect(percentile([1, 2, 3, 1_000], 99)).toBe(1_000);
    expect(percentile([7], 50)).toBe(7);
    expect(percentile([], 50)).toBeNull();
  });

  it('returns a sample with at least p% of the samples at or below it and fewer than p% below it', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 200 }), fc.integer({ min: 1, max: 100 }), (values, p) => {
        const value = percentile(values, p)!;
        expect(values).toContain(value);
        expect(values.filter((v) => v <= value).length).toBeGreaterThanOrEqual((p / 100) * values.length);
        expect(values.filter((v) => v < value).length).toBeLessThan((p / 100) * values.length);
      }),
    );
  });
});

describe('lookupFigures', () => {
  it('counts a lookup as successful only when resolved with the right first peer, and leaves out departed origins', () => {
    const records = [
      lookup({ result: 'exact', settledAt: 100, hops: 2, topExact: true }),
      lookup({ result: 'firstRight', settledAt: 300, hops: 3, topExact: false }),
      lookup({ result: 'wrong', settledAt: 200, hops: 5, cause: 'answeredDeparted' }),
      lookup({ result: 'rejected', settledAt: 5_000, code: 'TIMEOUT' }),
      lookup({ result: 'pending' }),
      lookup({ result: 'excluded', settledAt: 50 }),
    ];
    const figures = lookupFigures(records);
    expect(figures.counted).toBe(5);
    expect(figures.excluded).toBe(1);
    expect(figures.success).toBe(0.4);
    expect(figures.exact).toBe(0.2);
    expect(figures.exactTop).toBe(0.2);
    // Latency and hops over the resolved lookups only: a rejection's 5 s is not a latency.
    expect(figures.latencyMedianMs).toBe(200);
    expect(figures.latencyP99Ms).toBe(300);
    expect([figures.hopsMedian, figures.hopsP99, figures.hopsMax]).toEqual([3, 5, 5]);
    expect(figures.failures).toEqual({ 'wrong:answeredDeparted': 1, 'rejected:TIMEOUT': 1, pending: 1 });
  });

  it('has no rates without lookups that count', () => {
    expect(lookupFigures([lookup({ result: 'excluded' })])).toMatchObject({ counted: 0, success: null, latencyMedianMs: null });
  });
});

describe('sendFigures', () => {
  it('delivery is acked over counted; timeouts and other failures are told apart; departed ends are left out', () => {
    const records = [
      send({ result: 'acked', settledAt: 400, deliveredAt: 150 }),
      send({ result: 'acked', settledAt: 600, deliveredAt: 250 }),
      send({ result: 'timeout', code: 'TIMEOUT', settledAt: 10_000, deliveredAt: 300 }),
      send({ result: 'failed', code: 'UNREACHABLE', settledAt: 90 }),
      send({ result: 'failed', code: 'TTL_EXPIRED', settledAt: 90 }),
      send({ result: 'excluded', settledAt: 10 }),
    ];
    const figures = sendFigures(records);
    expect(figures).toMatchObject({ counted: 5, excluded: 1, acked: 2, timeout: 1, failed: { UNREACHABLE: 1, TTL_EXPIRED: 1 }, pending: 0 });
    expect(figures.delivery).toBe(0.4);
    expect(figures.reachedTarget).toBe(0.6);
    expect([figures.oneWayMedianMs, figures.oneWayP99Ms]).toEqual([250, 300]);
    expect([figures.ackMedianMs, figures.ackP99Ms]).toEqual([400, 600]);
  });
});

describe('churnFrom', () => {
  it('starts at the given instant from the formed nodes, keeps N constant, and names only nodes alive then', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000 }), fc.integer({ min: 2, max: 60 }), (seed, nodes) => {
        const startAt = 123_456;
        const steps = churnFrom(startAt, nodes, 60_000, 10 * 60_000, seed);
        let alive = nodes;
        let last = startAt;
        for (const step of steps) {
          expect(step.at).toBeGreaterThanOrEqual(last);
          expect(step.at).toBeLessThan(startAt + 10 * 60_000);
          last = step.at;
          if (step.op === 'join') alive += 1;
          else {
            expect(['leave', 'crash']).toContain(step.op);
            expect((step as { pick: number }).pick).toBeLessThan(alive);
            alive -= 1;
          }
          expect(alive).toBeGreaterThanOrEqual(nodes - 1);
          expect(alive).toBeLessThanOrEqual(nodes);
        }
        // A 1-min median over 10 min: every run has departures.
        expect(steps.some((step) => step.op !== 'join')).toBe(true);
      }),
      { numRuns: 50 },
    );
  });
});
